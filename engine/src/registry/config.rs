//! The registry part of a compiled pipeline: identity bindings, the match
//! strategy, roles and scope with field names resolved to value indexes once.

use std::path::{Path, PathBuf};

use rollcall_model::{
    self as model, ExternalMatcher, IdentityKind as ModelKind, Lifecycle, MatchStrategy,
    OnAmbiguous, Pipeline, RoleStatus,
};
use serde_json::Value;

use crate::mapping::{CompileError, value_text};
use crate::store::{Identity, IdentityKind, LinkRef, RoleValues};

/// How a record's values become its person's registry entries.
#[derive(Debug, Clone)]
pub struct Config {
    /// The pipeline whose records these are.
    pub pipeline: String,
    /// The person attributes a record gives: the pipeline's mapped fields,
    /// in order (a record's values start with them).
    pub attributes: Vec<String>,
    /// Every field of a joined record, by value index (for messages).
    pub fields: Vec<String>,
    /// The system of record (pipelines sharing it share external identities).
    pub system: String,
    /// Emails and identifiers each record gives.
    pub identity: Vec<IdentitySlot>,
    /// How a new key finds its person.
    pub strategy: Strategy,
    /// What several candidates lead to.
    pub on_ambiguous: OnAmbiguous,
    /// Role declarations; empty means one plain role per record.
    pub roles: Vec<RoleSlots>,
    /// `(kind, value)` of the scope this pipeline speaks for.
    pub scope: Option<(String, String)>,
    /// What happens to records that disappear or come back.
    pub lifecycle: Lifecycle,
}

/// One `identity` binding.
#[derive(Debug, Clone)]
pub struct IdentitySlot {
    /// Email or identifier.
    pub kind: IdentityKind,
    /// Its type.
    pub type_name: String,
    /// Index of the mapped field holding the value(s).
    pub field: usize,
    /// Emails: the source vouches for them.
    pub verified: bool,
}

/// A match strategy, compiled.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// Every new key creates a person.
    None,
    /// Persons holding a matching identity of this kind and type.
    Identity {
        /// Email or identifier.
        kind: IdentityKind,
        /// The type matched.
        type_name: String,
    },
    /// An external matcher.
    External {
        /// Command or URL.
        target: ExternalMatcher,
        /// Seconds one answer may take.
        timeout: u64,
        /// The folder a command runs in: the pipeline file's.
        dir: PathBuf,
    },
}

impl Strategy {
    /// The word used in reports: `email`, `identifier`, `external`, `none`.
    pub fn word(&self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Identity {
                kind: IdentityKind::Email,
                ..
            } => "email",
            Strategy::Identity {
                kind: IdentityKind::Identifier,
                ..
            } => "identifier",
            Strategy::External { .. } => "external",
        }
    }
}

/// A role attribute: absent, fixed by the pipeline, or a mapped field.
#[derive(Debug, Clone)]
pub enum Slot {
    /// Not declared.
    None,
    /// Fixed text.
    Fixed(String),
    /// Index of a mapped field.
    Field(usize),
}

/// One `role` declaration, compiled.
#[derive(Debug, Clone)]
pub struct RoleSlots {
    /// Affiliation.
    pub affiliation: Slot,
    /// Organisational unit.
    pub ou: Slot,
    /// Title.
    pub title: Slot,
    /// Start of validity.
    pub valid_from: Slot,
    /// End of validity.
    pub valid_until: Slot,
    /// Manager: field index and identifier type.
    pub manager: Option<(usize, String)>,
    /// Sponsor: field index and identifier type.
    pub sponsor: Option<(usize, String)>,
    /// `each`: the list field giving one role per value, and the scope
    /// kind each value is.
    pub each: Option<(usize, Option<String>)>,
    /// `status`: the field holding the record's status and its map.
    pub status: Option<(usize, Vec<(String, RoleStatus)>)>,
}

/// One role a record gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// Which `role` declaration (0-based).
    pub ordinal: i64,
    /// For an `each` declaration, the value this role is for; else empty.
    pub member: String,
    /// `(kind, value)` of the role's scope.
    pub scope: Option<(String, String)>,
    /// Its attributes.
    pub values: RoleValues,
    /// The status the record says it has (`status`), when declared.
    pub status: Option<RoleStatus>,
}

/// A record value a role cannot take: the record is named by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleValueError {
    /// The mapped field.
    pub field: String,
    /// What is wrong with its value.
    pub problem: String,
}

impl Config {
    /// Resolves the pipeline's registry declarations against the mapped
    /// field `names`.
    pub fn compile(pipeline: &Pipeline, names: &[String]) -> Result<Config, CompileError> {
        let index = |field: &str, place: &str| {
            names
                .iter()
                .position(|n| n == field)
                .ok_or_else(|| CompileError::RegistryField {
                    place: place.to_owned(),
                    field: field.to_owned(),
                })
        };
        let identity = pipeline
            .identity
            .iter()
            .map(|binding| {
                Ok(IdentitySlot {
                    kind: kind(binding.kind),
                    type_name: binding.type_name.value.clone(),
                    field: index(&binding.field.value, "`identity`")?,
                    verified: binding.verified,
                })
            })
            .collect::<Result<_, CompileError>>()?;
        let strategy = match &pipeline.matching.strategy {
            MatchStrategy::None => Strategy::None,
            MatchStrategy::Email { type_name } => Strategy::Identity {
                kind: IdentityKind::Email,
                type_name: type_name.value.clone(),
            },
            MatchStrategy::Identifier { type_name } => Strategy::Identity {
                kind: IdentityKind::Identifier,
                type_name: type_name.value.clone(),
            },
            MatchStrategy::External { target, timeout } => Strategy::External {
                target: target.clone(),
                timeout: timeout.value.seconds.max(1),
                // A bare file name's parent is "", which no process can
                // start in: that is the current folder.
                dir: pipeline
                    .file
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            },
        };
        let mut roles = Vec::with_capacity(pipeline.roles.len());
        for (i, role) in pipeline.roles.iter().enumerate() {
            let place = format!("`role` {}", i + 1);
            let slot = |value: &Option<model::Value>| -> Result<Slot, CompileError> {
                Ok(match value {
                    None => Slot::None,
                    Some(model::Value::Fixed(text)) => Slot::Fixed(text.clone()),
                    Some(model::Value::Field(field)) => Slot::Field(index(&field.value, &place)?),
                })
            };
            let relation = |relation: &Option<model::Relation>| {
                relation
                    .as_ref()
                    .map(|r| Ok((index(&r.field.value, &place)?, r.type_name.clone())))
                    .transpose()
            };
            roles.push(RoleSlots {
                affiliation: slot(&role.affiliation)?,
                ou: slot(&role.ou)?,
                title: slot(&role.title)?,
                valid_from: slot(&role.valid_from)?,
                valid_until: slot(&role.valid_until)?,
                manager: relation(&role.manager)?,
                sponsor: relation(&role.sponsor)?,
                each: role
                    .each
                    .as_ref()
                    .map(|e| Ok((index(&e.field.value, &place)?, e.kind.clone())))
                    .transpose()?,
                status: role
                    .status
                    .as_ref()
                    .map(|s| Ok((index(&s.field.value, &place)?, s.map.clone())))
                    .transpose()?,
            });
        }
        Ok(Config {
            pipeline: pipeline.name.value.clone(),
            attributes: pipeline
                .fields
                .iter()
                .map(|field| field.name.value.clone())
                .collect(),
            fields: names.to_vec(),
            system: pipeline.system.clone(),
            identity,
            strategy,
            on_ambiguous: pipeline.matching.on_ambiguous,
            roles,
            scope: pipeline
                .scope
                .as_ref()
                .map(|s| (s.kind.clone(), s.value.clone())),
            lifecycle: pipeline.lifecycle.clone(),
        })
    }

    /// The emails and identifiers a record gives (array fields give one per
    /// element; empty values give none), deduplicated.
    pub fn identities(&self, values: &[Value]) -> Vec<Identity> {
        let mut out = Vec::new();
        for slot in &self.identity {
            for value in texts(&values[slot.field]) {
                let identity = Identity {
                    kind: slot.kind,
                    type_name: slot.type_name.clone(),
                    value,
                    usable: slot.kind == IdentityKind::Identifier || slot.verified,
                };
                // In the source's order, first occurrences: the first is the primary.
                if !out.contains(&identity) {
                    out.push(identity);
                }
            }
        }
        out
    }

    /// The roles a record gives, in declaration order. A declaration that
    /// reads fields, all of them empty in this record, gives no role (a
    /// second appointment column left blank); an `each` declaration gives
    /// one role per distinct value of its list (in a scoped pipeline, only
    /// the value that is its scope); without any declaration each record
    /// gives one plain role, so its person's status still follows it. A
    /// field holding several values where one is expected, or a status the
    /// `status` map does not list, is an error: never a silent pick.
    pub fn roles(&self, values: &[Value]) -> Result<Vec<Given>, RoleValueError> {
        if self.roles.is_empty() {
            return Ok(vec![Given {
                ordinal: 0,
                member: String::new(),
                scope: self.scope.clone(),
                values: RoleValues::default(),
                status: None,
            }]);
        }
        let mut out = Vec::new();
        for (ordinal, slots) in self.roles.iter().enumerate() {
            let members = match &slots.each {
                None => vec![None],
                Some((field, kind)) => {
                    let mut list = texts(&values[*field]);
                    dedup_keeping_first(&mut list);
                    if let (Some(kind), Some((scope_kind, scope))) = (kind, &self.scope)
                        && kind == scope_kind
                    {
                        list.retain(|m| m == scope);
                    }
                    list.into_iter().map(Some).collect()
                }
            };
            for member in members {
                let given = self.role(ordinal, slots, values, member)?;
                out.extend(given);
            }
        }
        Ok(out)
    }

    /// One declaration's role for one member (`None`: a plain declaration).
    fn role(
        &self,
        ordinal: usize,
        slots: &RoleSlots,
        values: &[Value],
        member: Option<String>,
    ) -> Result<Option<Given>, RoleValueError> {
        let each = slots.each.as_ref().map(|(field, _)| *field);
        let mut reads_fields = false;
        let mut any = false;
        let mut one = |i: usize| -> Result<Option<String>, RoleValueError> {
            if Some(i) == each {
                any = true;
                return Ok(member.clone());
            }
            reads_fields = true;
            let value = self.single_text(i, &values[i])?;
            any |= value.is_some();
            Ok(value)
        };
        let mut text = |slot: &Slot| match slot {
            Slot::None => Ok(None),
            Slot::Fixed(text) => Ok(Some(text.clone())),
            Slot::Field(i) => one(*i),
        };
        let affiliation = text(&slots.affiliation)?;
        let ou = text(&slots.ou)?;
        let title = text(&slots.title)?;
        let valid_from = text(&slots.valid_from)?;
        let valid_until = text(&slots.valid_until)?;
        let mut link = |relation: &Option<(usize, String)>| {
            relation
                .as_ref()
                .map(|(i, type_name)| {
                    Ok(one(*i)?.map(|value| LinkRef {
                        type_name: type_name.clone(),
                        value,
                    }))
                })
                .transpose()
                .map(Option::flatten)
        };
        let manager = link(&slots.manager)?;
        let sponsor = link(&slots.sponsor)?;
        // A record's own status is a value too: the role is given.
        if reads_fields && !any && member.is_none() && slots.status.is_none() {
            return Ok(None);
        }
        let status = match &slots.status {
            None => None,
            Some((i, map)) => Some(self.mapped_status(*i, &values[*i], map)?),
        };
        let scope = match (&member, &slots.each) {
            (Some(member), Some((_, Some(kind)))) => Some((kind.clone(), member.clone())),
            _ => self.scope.clone(),
        };
        Ok(Some(Given {
            ordinal: ordinal as i64,
            member: member.unwrap_or_default(),
            scope,
            values: RoleValues {
                affiliation,
                ou,
                title,
                valid_from,
                valid_until,
                manager,
                sponsor,
            },
            status,
        }))
    }

    /// A field's one text value; several distinct values are an error.
    fn single_text(&self, field: usize, value: &Value) -> Result<Option<String>, RoleValueError> {
        let mut list = texts(value);
        dedup_keeping_first(&mut list);
        if list.len() > 1 {
            return Err(RoleValueError {
                field: self.field_name(field),
                problem: format!(
                    "holds {} values ({}) where a role takes one; give one role per value with `each`",
                    list.len(),
                    list.join(", ")
                ),
            });
        }
        Ok(list.pop())
    }

    /// The role status a record's own status word means.
    fn mapped_status(
        &self,
        field: usize,
        value: &Value,
        map: &[(String, RoleStatus)],
    ) -> Result<RoleStatus, RoleValueError> {
        let text = self.single_text(field, value)?.unwrap_or_default();
        map.iter()
            .find(|(from, _)| *from == text)
            .map(|(_, status)| *status)
            .ok_or_else(|| RoleValueError {
                field: self.field_name(field),
                problem: format!(
                    "is {text:?}, which the role's `status` map does not list ({})",
                    map.iter()
                        .map(|(from, _)| from.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    fn field_name(&self, index: usize) -> String {
        self.fields.get(index).cloned().unwrap_or_default()
    }
}

/// Removes repeated values, keeping each one's first place.
fn dedup_keeping_first(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|v| seen.insert(v.clone()));
}

fn kind(kind: ModelKind) -> IdentityKind {
    match kind {
        ModelKind::Email => IdentityKind::Email,
        ModelKind::Identifier => IdentityKind::Identifier,
    }
}

/// The non-empty texts of a value: one for a scalar, one per element for an array.
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(first_text).collect(),
        other => first_text(other).into_iter().collect(),
    }
}

/// A value's text, `None` when null or empty; an array gives its first element.
fn first_text(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().find_map(first_text),
        Value::Null => None,
        other => Some(value_text(other).trim().to_owned()).filter(|t| !t.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(source: &str) -> (Config, Vec<String>) {
        let loaded = rollcall_dsl::load_str("test.kdl", source, std::path::Path::new("."));
        assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
        let pipeline = &loaded.pipelines[0];
        let names: Vec<String> = pipeline
            .fields
            .iter()
            .map(|f| f.name.value.clone())
            .collect();
        (Config::compile(pipeline, &names).unwrap(), names)
    }

    const PIPELINE: &str = r#"
pipeline p {
    source file "x.csv" { format csv; }
    key id
    map {
        id id required=#true
        emails emails
        title title
        second second
    }
    identity {
        email work emails verified=#true
        identifier id id
    }
    role { affiliation "staff"; title field=title; }
    role { affiliation "staff"; title field=second; }
}
"#;

    #[test]
    fn a_role_reading_only_empty_fields_is_not_given_and_fixed_values_stay() {
        let (config, _) = config(PIPELINE);
        let roles = config
            .roles(&[json!("k"), json!([]), json!("Lecturer"), json!("  ")])
            .unwrap();
        assert_eq!(roles.len(), 1, "a blank second title gives no second role");
        let first = &roles[0].values;
        assert_eq!(first.title.as_deref(), Some("Lecturer"));
        assert_eq!(first.affiliation.as_deref(), Some("staff"));
    }

    #[test]
    fn array_fields_give_one_identity_per_element_and_emails_carry_verification() {
        let (config, _) = config(PIPELINE);
        let identities = config.identities(&[
            json!("k"),
            json!(["A@x.example", "", "b@x.example"]),
            Value::Null,
            Value::Null,
        ]);
        let listed: Vec<(IdentityKind, &str, bool)> = identities
            .iter()
            .map(|i| (i.kind, i.value.as_str(), i.usable))
            .collect();
        assert_eq!(
            listed,
            [
                (IdentityKind::Email, "A@x.example", true),
                (IdentityKind::Email, "b@x.example", true),
                (IdentityKind::Identifier, "k", true),
            ]
        );
        assert_eq!(identities[0].match_value(), "a@x.example");
    }

    #[test]
    fn without_a_role_declaration_each_record_gives_one_plain_role() {
        let (config, _) = config(
            r#"pipeline p { source file "x.csv" { format csv; }; key id; map { id id required=#true; }; }"#,
        );
        let roles = config.roles(&[json!("k")]).unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0].values, RoleValues::default());
    }
}
