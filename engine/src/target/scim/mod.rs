//! The `scim` target: a SCIM 2.0 service provider (RFC 7643/7644) reached
//! over HTTP. Users (and Groups from roles) are listed page by page until
//! `totalResults`; created with POST, changed with PATCH (200 and 204
//! accepted) under `If-Match`, deactivated with `active=false`, deleted
//! only when the target says so.

mod http;

use serde_json::{Map, Value, json};

use super::{Attributes, Directory, ListingError, Object, ObjectFailure, ObjectKind, Operation};
use http::{Answer, Http};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a SCIM directory needs, resolved (no `(env)` left).
#[derive(Debug, Clone)]
pub struct ScimSettings {
    /// The target's name, for messages.
    pub name: String,
    /// The service's base URL (the one `/Users` is under).
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Resources asked for per listing page.
    pub page_size: u64,
    /// Requests per second at most.
    pub rate: Option<f64>,
    /// The user attributes rollcall writes (paths such as `name.givenName`).
    pub attributes: Vec<String>,
    /// Whether groups are listed and written.
    pub groups: bool,
}

/// A SCIM 2.0 service as a [`Directory`].
pub struct ScimDirectory {
    settings: ScimSettings,
    http: Http,
}

impl ScimDirectory {
    /// A directory for these settings; nothing is sent until it is used.
    pub fn new(settings: ScimSettings) -> ScimDirectory {
        let http = Http::new(&settings.url, settings.token.clone(), settings.rate);
        ScimDirectory { settings, http }
    }

    /// Every resource of one endpoint, page by page until `totalResults`.
    fn list_endpoint(
        &mut self,
        endpoint: &str,
        kind: ObjectKind,
    ) -> Result<Vec<Object>, ListingError> {
        let incomplete = |reason: String| ListingError {
            target: self.settings.name.clone(),
            reason,
        };
        let count = self.settings.page_size;
        let mut objects = Vec::new();
        let mut start = 1u64;
        loop {
            let path = format!("/{endpoint}?startIndex={start}&count={count}");
            let answer = self
                .http
                .send("GET", &path, None, None)
                .map_err(|f| incomplete(format!("{}: {}", f.request, f.answer)))?;
            if answer.status != 200 {
                return Err(incomplete(format!(
                    "GET {path} answered {}: {}",
                    answer.status,
                    short(&answer.body)
                )));
            }
            let page: Value = serde_json::from_str(&answer.body).map_err(|e| {
                incomplete(format!(
                    "GET {path} answered with a body that is not JSON: {e}"
                ))
            })?;
            let total = page
                .get("totalResults")
                .and_then(Value::as_u64)
                .ok_or_else(|| incomplete(format!("GET {path} answered without totalResults")))?;
            let resources = page
                .get("Resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let got = resources.len() as u64;
            objects.extend(resources.iter().filter_map(|r| self.object(kind, r)));
            let read = objects.len() as u64;
            if read >= total {
                return Ok(objects);
            }
            // A page shorter than asked for before the end: the service cut
            // the listing (a page limit), so the rest is unknown.
            if got < count.min(total - (read - got)) {
                return Err(incomplete(format!(
                    "GET {path} returned {got} of {} remaining resources (totalResults {total}); \
                     the listing ended early",
                    total - (read - got)
                )));
            }
            start += got;
        }
    }

    /// A listed resource as an [`Object`]; `None` without an `id`.
    fn object(&self, kind: ObjectKind, resource: &Value) -> Option<Object> {
        let id = resource.get("id")?.as_str()?.to_owned();
        let mut attributes = Attributes::new();
        attributes.insert("externalId".into(), values_at(resource, "externalId"));
        let name = match kind {
            ObjectKind::Person => {
                attributes.insert("active".into(), values_at(resource, "active"));
                for path in &self.settings.attributes {
                    attributes.insert(path.clone(), values_at(resource, path));
                }
                resource.get("userName").and_then(Value::as_str)
            }
            ObjectKind::Group => {
                let mut members = values_at(resource, "members");
                members.sort();
                attributes.insert("members".into(), members);
                resource.get("displayName").and_then(Value::as_str)
            }
        };
        let version = resource
            .pointer("/meta/version")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(Object {
            kind,
            id,
            name: name.unwrap_or_default().to_owned(),
            attributes,
            version,
        })
    }

    /// Sends a PATCH; on `412` (the object changed since it was listed)
    /// reads its current version and tries once more.
    fn patch(
        &mut self,
        kind: ObjectKind,
        id: &str,
        version: Option<&str>,
        operations: Vec<Value>,
    ) -> Result<String, ObjectFailure> {
        let path = format!("/{}/{id}", endpoint(kind));
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": operations});
        let mut answer = self.http.send("PATCH", &path, Some(&body), version)?;
        if answer.status == 412 {
            let current = self.http.send("GET", &path, None, None)?;
            answer = self
                .http
                .send("PATCH", &path, Some(&body), current.etag.as_deref())?;
        }
        match answer.status {
            200 | 204 => Ok(id.to_owned()),
            _ => Err(refused("PATCH", &path, &body, &answer)),
        }
    }
}

impl Directory for ScimDirectory {
    fn list(&mut self) -> Result<Vec<Object>, ListingError> {
        let mut objects = self.list_endpoint("Users", ObjectKind::Person)?;
        if self.settings.groups {
            objects.extend(self.list_endpoint("Groups", ObjectKind::Group)?);
        }
        Ok(objects)
    }

    fn apply(&mut self, operation: &Operation) -> Result<String, ObjectFailure> {
        match operation {
            Operation::Create {
                kind,
                name,
                attributes,
            } => {
                let body = resource_body(*kind, name, attributes);
                let path = format!("/{}", endpoint(*kind));
                let answer = self.http.send("POST", &path, Some(&body), None)?;
                let id = serde_json::from_str::<Value>(&answer.body)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                match (answer.status, id) {
                    (200 | 201, Some(id)) => Ok(id),
                    _ => Err(refused("POST", &path, &body, &answer)),
                }
            }
            Operation::Modify {
                kind,
                id,
                version,
                replace,
            } => {
                let operations = replace
                    .iter()
                    .map(|(path, values)| patch_operation(path, values))
                    .collect();
                self.patch(*kind, id, version.as_deref(), operations)
            }
            Operation::Rename { kind, id, name } => {
                let attribute = match kind {
                    ObjectKind::Person => "userName",
                    ObjectKind::Group => "displayName",
                };
                let operations = vec![json!({"op": "replace", "path": attribute, "value": name})];
                self.patch(*kind, id, None, operations)
            }
            Operation::Delete { kind, id, version } => {
                let path = format!("/{}/{id}", endpoint(*kind));
                let mut answer = self.http.send("DELETE", &path, None, version.as_deref())?;
                if answer.status == 412 {
                    // Changed since it was listed (a group's membership moves
                    // its members' versions on some services): read it again.
                    let current = self.http.send("GET", &path, None, None)?;
                    answer = self
                        .http
                        .send("DELETE", &path, None, current.etag.as_deref())?;
                }
                match answer.status {
                    // Already gone is what was asked for.
                    200 | 204 | 404 => Ok(id.clone()),
                    _ => Err(refused("DELETE", &path, &Value::Null, &answer)),
                }
            }
        }
    }
}

/// The endpoint of a kind of resource.
fn endpoint(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Person => "Users",
        ObjectKind::Group => "Groups",
    }
}

/// A refused request: what was sent (the body's values are the person's
/// attributes, which the operator needs to see) and what the service said.
fn refused(method: &str, path: &str, body: &Value, answer: &Answer) -> ObjectFailure {
    let request = if body.is_null() {
        format!("{method} {path}")
    } else {
        format!("{method} {path} {body}")
    };
    ObjectFailure {
        request,
        answer: format!("{} {}", answer.status, short(&answer.body)),
        transient: matches!(answer.status, 408 | 429 | 500..=599),
    }
}

/// A body cut to a readable length.
fn short(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(500) {
        Some((at, _)) => format!("{}…", &body[..at]),
        None => body.to_owned(),
    }
}

/// The JSON of a new User or Group.
fn resource_body(kind: ObjectKind, name: &str, attributes: &Attributes) -> Value {
    let mut doc = Map::new();
    match kind {
        ObjectKind::Person => {
            doc.insert("schemas".into(), json!([USER_SCHEMA]));
            doc.insert("userName".into(), json!(name));
        }
        ObjectKind::Group => {
            doc.insert("schemas".into(), json!([GROUP_SCHEMA]));
            doc.insert("displayName".into(), json!(name));
        }
    }
    for (path, values) in attributes {
        if values.is_empty() {
            continue;
        }
        let value = json_value(path, values);
        match path.split_once('.') {
            Some((outer, inner)) => {
                let slot = doc.entry(outer.to_owned()).or_insert_with(|| json!({}));
                if let Some(object) = slot.as_object_mut() {
                    object.insert(inner.to_owned(), value);
                }
            }
            None => {
                doc.insert(path.clone(), value);
            }
        }
    }
    Value::Object(doc)
}

/// One PATCH operation setting `path` to `values` (none: removing it).
fn patch_operation(path: &str, values: &[String]) -> Value {
    if values.is_empty() {
        json!({"op": "remove", "path": path})
    } else {
        json!({"op": "replace", "path": path, "value": json_value(path, values)})
    }
}

/// Attribute values as SCIM JSON: `active` a boolean, multi-valued complex
/// attributes (`emails`, `phoneNumbers`, `members`, ...) objects with a
/// `value` (the first one primary), others a string (or a list of them).
fn json_value(path: &str, values: &[String]) -> Value {
    match path {
        "active" => json!(values.first().is_some_and(|v| v == "true")),
        "members" => Value::Array(values.iter().map(|v| json!({"value": v})).collect()),
        "emails" | "phoneNumbers" | "ims" | "photos" | "entitlements" | "roles" => Value::Array(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| json!({"value": v, "primary": i == 0}))
                .collect(),
        ),
        _ if values.len() == 1 => json!(values[0]),
        _ => json!(values),
    }
}

/// The values at a (dotted) path of a resource, as text: a boolean as
/// `true`/`false`, a multi-valued attribute's `value`s.
fn values_at(resource: &Value, path: &str) -> Vec<String> {
    let mut value = Some(resource);
    for part in path.split('.') {
        value = value.and_then(|v| v.get(part));
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("value").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    };
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_user_nests_dotted_paths_and_makes_emails_objects() {
        let mut attributes = Attributes::new();
        attributes.insert("name.givenName".into(), vec!["Ada".into()]);
        attributes.insert("emails".into(), vec!["ada@example.org".into()]);
        attributes.insert("active".into(), vec!["true".into()]);
        attributes.insert("title".into(), vec![]);
        let body = resource_body(ObjectKind::Person, "ada", &attributes);
        assert_eq!(body["name"]["givenName"], "Ada");
        assert_eq!(body["emails"][0]["value"], "ada@example.org");
        assert_eq!(body["active"], true);
        assert!(body.get("title").is_none());
        assert_eq!(values_at(&body, "emails"), vec!["ada@example.org"]);
        assert_eq!(values_at(&body, "active"), vec!["true"]);
        assert_eq!(values_at(&body, "name.givenName"), vec!["Ada"]);
    }
}
