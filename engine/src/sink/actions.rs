//! `sink actions dialect=cora`: this run's changes as an Ideagen Cora user
//! sync file, a JSON array of actions.
//!
//! Cora's rules, and how the diff meets them:
//! - `status`: Create=0 (a new key), Update=1 (changed fields), Archive=2 (a
//!   key gone from the source), Reinstate=3 (a removed key that came back;
//!   never Create, which Cora would turn into a reinstatement anyway).
//! - Update carries every field, not only the changed ones: Cora clears what
//!   an update omits.
//! - Archive carries `ReassignedUserId`, which must exist or be created in
//!   the same file; [`preflight`] checks it before the run commits.
//! - Groups: no groups field leaves the user's groups as they are, `[]`
//!   removes all but the system groups. A protected group the user had
//!   before is always listed again, so the file never removes anyone from it.

use std::io::Write;

use rollcall_model::ActionSink;
use serde_json::{Map, Value};

use super::SinkError;
use crate::diff::{Action, Change};
use crate::env;
use crate::mapping::value_text;
use crate::plan::Plan;
use crate::store::Tx;

/// The output field that identifies a user across syncs.
const EXTERNAL_ID: &str = "ExternalId";
/// The output field of an archived user's reassignment target.
const REASSIGNED: &str = "ReassignedUserId";
/// The output field of the user's groups.
const GROUPS: &str = "UserGroups";
/// The output field of the action code (spelt as in Cora's own examples).
const STATUS: &str = "status";

/// The mapped field written as `ExternalId`.
fn external_id_field(sink: &ActionSink) -> Result<&str, SinkError> {
    sink.fields
        .iter()
        .find(|(name, _)| name == EXTERNAL_ID)
        .map(|(_, field)| field.value.as_str())
        .ok_or_else(|| SinkError::MissingField {
            name: EXTERNAL_ID.into(),
            why: "Cora identifies users by it, and Archive actions carry nothing else".into(),
        })
}

/// Checks, before the commit, that archived users' reassignment target is a
/// user that stays present (existing, or created in this run).
pub(super) fn preflight(
    plan: &Plan,
    sink: &ActionSink,
    tx: &Tx<'_>,
    changes: &[Change],
) -> Result<(), SinkError> {
    let field = external_id_field(sink)?;
    let archived = changes
        .iter()
        .filter(|c| c.action == Action::Remove)
        .count();
    let Some(setting) = &sink.reassign_to else {
        return Ok(());
    };
    if archived == 0 {
        return Ok(());
    }
    let target = env::resolve(setting, "the action sink's `reassign-to`")?;
    let present = tx
        .present_values(&plan.name, field)?
        .iter()
        .any(|(_, value)| value_text(value) == target);
    if present {
        Ok(())
    } else {
        Err(SinkError::ReassignTarget {
            field: EXTERNAL_ID.into(),
            target,
            archived,
        })
    }
}

/// Writes the action file: one action per change, in the run's order
/// (creations come before removals, so a target created here precedes the
/// archives that name it).
pub(super) fn write(
    plan: &Plan,
    sink: &ActionSink,
    changes: &[Change],
    tx: &Tx<'_>,
    out: &mut dyn Write,
) -> Result<u64, SinkError> {
    let external_id = external_id_field(sink)?;
    let target = env::resolve_opt(sink.reassign_to.as_ref(), "the action sink's `reassign-to`")?;
    let mut actions = Vec::new();
    for change in changes {
        if change.action == Action::Update && change.fields.is_empty() {
            continue;
        }
        let stored = tx
            .record_fields(&plan.name, &change.key)?
            .unwrap_or_default();
        let action = match change.action {
            Action::Remove => archive(&stored, external_id, target.as_deref()),
            Action::Create => full(sink, &stored, change, 0),
            Action::Update => full(sink, &stored, change, 1),
            Action::Reinstate => full(sink, &stored, change, 3),
        };
        actions.push(Value::Object(action));
    }
    serde_json::to_writer_pretty(&mut *out, &actions).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(actions.len() as u64)
}

/// An Archive: the user's ExternalId and who takes over their work.
fn archive(
    stored: &Map<String, Value>,
    external_id: &str,
    target: Option<&str>,
) -> Map<String, Value> {
    let mut action = Map::new();
    action.insert(
        EXTERNAL_ID.into(),
        stored.get(external_id).cloned().unwrap_or(Value::Null),
    );
    if let Some(target) = target {
        action.insert(REASSIGNED.into(), Value::String(target.to_owned()));
    }
    action.insert(STATUS.into(), Value::from(2));
    action
}

/// A Create, Update or Reinstate: every field, defaults, groups, status.
fn full(
    sink: &ActionSink,
    stored: &Map<String, Value>,
    change: &Change,
    status: u8,
) -> Map<String, Value> {
    let default = |name: &str| {
        sink.defaults
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
    };
    let mut action = Map::new();
    for (name, field) in &sink.fields {
        let value = match stored.get(&field.value) {
            Some(value) if !value.is_null() => value.clone(),
            // Cora refuses an update that omits a field: a missing value is
            // the pipeline's default, or empty.
            _ => default(name).unwrap_or_else(|| Value::String(String::new())),
        };
        action.insert(name.clone(), value);
    }
    for (name, value) in &sink.defaults {
        if !action.contains_key(name) {
            action.insert(name.clone(), value.clone());
        }
    }
    if let Some(groups) = &sink.groups
        && let Some(list) = groups_of(sink, stored, change, &groups.value)
    {
        action.insert(GROUPS.into(), list);
    }
    action.insert(STATUS.into(), Value::from(status));
    action
}

/// The groups to send, or `None` to leave the user's groups untouched.
fn groups_of(
    sink: &ActionSink,
    stored: &Map<String, Value>,
    change: &Change,
    field: &str,
) -> Option<Value> {
    let mut list = texts(stored.get(field)?)?;
    let before = change
        .fields
        .iter()
        .find(|f| f.field == field)
        .and_then(|f| texts(&f.before))
        .unwrap_or_default();
    for protected in &sink.protected_groups {
        let had = before.iter().any(|g| g.eq_ignore_ascii_case(protected));
        let has = list.iter().any(|g| g.eq_ignore_ascii_case(protected));
        if had && !has {
            list.push(protected.clone());
        }
    }
    Some(Value::Array(list.into_iter().map(Value::String).collect()))
}

/// A groups value as names: an array of them, or one name; `None` for null.
fn texts(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => None,
        Value::Array(items) => Some(
            items
                .iter()
                .filter(|item| !item.is_null())
                .map(|item| value_text(item).into_owned())
                .collect(),
        ),
        other => Some(vec![value_text(other).into_owned()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::FieldChange;
    use rollcall_model::{ActionDialect, Span, Spanned};
    use serde_json::json;

    fn sink() -> ActionSink {
        let field = |name: &str| Spanned::new(name.to_owned(), Span::default());
        ActionSink {
            dialect: ActionDialect::Cora,
            fields: vec![
                ("Email".into(), field("email")),
                ("ExternalId".into(), field("user_id")),
                ("Culture".into(), field("culture")),
            ],
            defaults: vec![
                ("Culture".into(), json!("en-GB")),
                ("TimeZone".into(), json!("UTC")),
            ],
            reassign_to: None,
            groups: Some(field("groups")),
            protected_groups: vec!["System Wide Access".into()],
        }
    }

    fn change(action: Action, groups_before: Option<Value>) -> Change {
        Change {
            action,
            key: "u1".into(),
            line: Some(1),
            fields: groups_before
                .map(|before| FieldChange {
                    field: "groups".into(),
                    before,
                    after: json!(["A"]),
                })
                .into_iter()
                .collect(),
        }
    }

    fn stored(groups: Value) -> Map<String, Value> {
        json!({"email": "a@x.org", "user_id": "u1", "culture": null, "groups": groups})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn an_update_carries_every_field_defaults_and_status_one() {
        let action = full(
            &sink(),
            &stored(json!(["A"])),
            &change(Action::Update, None),
            1,
        );
        assert_eq!(
            Value::Object(action),
            json!({"Email": "a@x.org", "ExternalId": "u1", "Culture": "en-GB", "TimeZone": "UTC", "UserGroups": ["A"], "status": 1})
        );
    }

    #[test]
    fn a_protected_group_is_never_removed_and_null_groups_are_left_alone() {
        let before = json!(["A", "System Wide Access"]);
        let action = full(
            &sink(),
            &stored(json!(["A"])),
            &change(Action::Update, Some(before)),
            1,
        );
        assert_eq!(action["UserGroups"], json!(["A", "System Wide Access"]));
        let action = full(
            &sink(),
            &stored(json!([])),
            &change(Action::Update, Some(json!(["B"]))),
            1,
        );
        assert_eq!(
            action["UserGroups"],
            json!([]),
            "[] removes all but system groups"
        );
        let action = full(
            &sink(),
            &stored(Value::Null),
            &change(Action::Create, None),
            0,
        );
        assert!(
            !action.contains_key("UserGroups"),
            "absent leaves groups untouched"
        );
    }

    #[test]
    fn an_archive_names_the_user_and_the_reassignment_target() {
        let action = archive(&stored(json!([])), "user_id", Some("boss"));
        assert_eq!(
            Value::Object(action),
            json!({"ExternalId": "u1", "ReassignedUserId": "boss", "status": 2})
        );
    }
}
