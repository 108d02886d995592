//! Frozen attributes: an operator's corrected value that syncs keep.
//!
//! An attribute is addressed as a person attribute (`telephone`), one
//! attribute of a role (`role.7.title`), or a whole role (`role.7`: its own
//! attributes and its status, as seed 001's "freezing a Person Role").
//! Freezing a role never freezes the person's attributes, which are frozen
//! one by one.

use serde_json::Value;

use super::Result;
use super::ledger::Ledger;
use crate::clock::Instant;
use crate::store::{ChangeRow, FrozenRow, ROLE_ATTRIBUTES, StoreError, Tx, Why};

/// What a frozen attribute address names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// A person attribute.
    Person(String),
    /// One attribute of a role.
    RoleAttribute(i64, String),
    /// A whole role.
    Role(i64),
}

impl Attribute {
    /// Parses `NAME`, `role.ID.NAME` or `role.ID`.
    pub fn parse(text: &str) -> std::result::Result<Attribute, FreezeError> {
        let Some(rest) = text.strip_prefix("role.") else {
            if text.is_empty() {
                return Err(FreezeError::BadAttribute {
                    attribute: text.to_owned(),
                });
            }
            return Ok(Attribute::Person(text.to_owned()));
        };
        let (id, name) = match rest.split_once('.') {
            Some((id, name)) => (id, Some(name)),
            None => (rest, None),
        };
        let id: i64 = id.parse().map_err(|_| FreezeError::BadAttribute {
            attribute: text.to_owned(),
        })?;
        match name {
            None => Ok(Attribute::Role(id)),
            Some(name) if ROLE_ATTRIBUTES.contains(&name) => {
                Ok(Attribute::RoleAttribute(id, name.to_owned()))
            }
            Some(name) => Err(FreezeError::UnknownRoleAttribute {
                attribute: text.to_owned(),
                name: name.to_owned(),
            }),
        }
    }
}

/// Why a freeze or unfreeze was refused.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FreezeError {
    /// The store failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// No such person.
    #[error("there is no person {person}")]
    #[diagnostic(
        code("rollcall::freeze::no-person"),
        help("`rollcall show PIPELINE KEY` shows the person a record is linked to")
    )]
    NoPerson {
        /// The id given.
        person: i64,
    },
    /// The address is not `NAME`, `role.ID.NAME` or `role.ID`.
    #[error("{attribute:?} is not an attribute")]
    #[diagnostic(
        code("rollcall::freeze::bad-attribute"),
        help(
            "name a person attribute (`telephone`), a role's attribute (`role.7.title`) or a whole role (`role.7`)"
        )
    )]
    BadAttribute {
        /// The address given.
        attribute: String,
    },
    /// A role attribute that roles do not have.
    #[error("{attribute:?}: roles have no attribute {name:?}")]
    #[diagnostic(
        code("rollcall::freeze::unknown-role-attribute"),
        help(
            "a role's attributes are affiliation, ou, title, valid-from, valid-until, manager and sponsor"
        )
    )]
    UnknownRoleAttribute {
        /// The address given.
        attribute: String,
        /// The attribute name.
        name: String,
    },
    /// The role is not this person's.
    #[error("person {person} has no role {role}")]
    #[diagnostic(
        code("rollcall::freeze::no-role"),
        help("`rollcall person {person}` lists the person's roles with their ids")
    )]
    NoRole {
        /// The person.
        person: i64,
        /// The role id given.
        role: i64,
    },
    /// A person attribute the person does not have, and no value to set.
    #[error("person {person} has no attribute {attribute:?}")]
    #[diagnostic(
        code("rollcall::freeze::no-attribute"),
        help("{known}; or give the value to freeze with `--value`")
    )]
    NoAttribute {
        /// The person.
        person: i64,
        /// The attribute given.
        attribute: String,
        /// The attributes the person has, for the help.
        known: String,
    },
    /// `--value` where it cannot apply.
    #[error("{attribute:?} cannot be given a value")]
    #[diagnostic(
        code("rollcall::freeze::value-not-allowed"),
        help("a whole role, a manager and a sponsor are frozen as they are; leave out `--value`")
    )]
    ValueNotAllowed {
        /// The address given.
        attribute: String,
    },
    /// Nothing frozen under that address.
    #[error("person {person}'s {attribute:?} is not frozen")]
    #[diagnostic(
        code("rollcall::freeze::not-frozen"),
        help("`rollcall frozen` lists what is frozen")
    )]
    NotFrozen {
        /// The person.
        person: i64,
        /// The address given.
        attribute: String,
    },
}

/// An operator's freeze.
#[derive(Debug, Clone)]
pub struct FreezeRequest {
    /// The person.
    pub person: i64,
    /// What to freeze.
    pub attribute: String,
    /// A corrected value to set and freeze (text); `None` keeps the current one.
    pub value: Option<String>,
    /// Who freezes it.
    pub by: String,
    /// Why.
    pub reason: Option<String>,
    /// Until when; `None` for good.
    pub until: Option<Instant>,
}

/// Freezes an attribute in `run`'s transaction (setting the corrected value
/// first, when given), and logs it.
pub fn freeze(
    tx: &Tx<'_>,
    run: i64,
    request: &FreezeRequest,
    now: Instant,
) -> std::result::Result<FrozenRow, FreezeError> {
    let attribute = Attribute::parse(&request.attribute)?;
    let person = tx.person(request.person)?.ok_or(FreezeError::NoPerson {
        person: request.person,
    })?;
    let set = request.value.clone().map(Value::from);
    let (before, value) = match &attribute {
        Attribute::Person(name) => {
            let before = person.attributes.get(name).cloned();
            let value = match (&set, &before) {
                (Some(value), _) => value.clone(),
                (None, Some(current)) => current.clone(),
                (None, None) => {
                    return Err(FreezeError::NoAttribute {
                        person: person.id,
                        attribute: name.clone(),
                        known: known(person.attributes.keys()),
                    });
                }
            };
            if set.is_some() {
                let mut attributes = person.attributes.clone();
                attributes.insert(name.clone(), value.clone());
                tx.set_person_attributes(person.id, &attributes, run)?;
            }
            (before.unwrap_or(Value::Null), value)
        }
        Attribute::RoleAttribute(id, name) => {
            let role = tx
                .role_of_person(person.id, *id)?
                .ok_or(FreezeError::NoRole {
                    person: person.id,
                    role: *id,
                })?;
            let before = role.values.get(name);
            match &request.value {
                Some(text) if name != "manager" && name != "sponsor" => {
                    let mut values = role.values.clone();
                    values.set_text(name, Some(text.clone()));
                    tx.set_role_values(role.id, role.person_id, &values)?;
                    (before, Value::from(text.as_str()))
                }
                Some(_) => {
                    return Err(FreezeError::ValueNotAllowed {
                        attribute: request.attribute.clone(),
                    });
                }
                None => (before.clone(), before),
            }
        }
        Attribute::Role(id) => {
            let role = tx
                .role_of_person(person.id, *id)?
                .ok_or(FreezeError::NoRole {
                    person: person.id,
                    role: *id,
                })?;
            if request.value.is_some() {
                return Err(FreezeError::ValueNotAllowed {
                    attribute: request.attribute.clone(),
                });
            }
            let mut value = serde_json::to_value(&role.values).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("status".into(), Value::from(role.status.as_str()));
            }
            (value.clone(), value)
        }
    };
    let row = FrozenRow {
        person_id: person.id,
        attribute: request.attribute.clone(),
        value: value.clone(),
        frozen_by: request.by.clone(),
        reason: request.reason.clone(),
        until: request.until.map(Instant::text),
        frozen_at: now.text(),
    };
    tx.freeze(&row)?;
    tx.log_change(&ChangeRow {
        run_id: run,
        pipeline: super::operator_pipeline("freeze"),
        source_key: None,
        person_id: Some(person.id),
        action: "freeze".into(),
        before: Some(serde_json::json!({ &request.attribute: before })),
        after: Some(serde_json::json!({
            &request.attribute: value,
            "frozen_by": request.by,
            "reason": request.reason,
            "until": row.until,
        })),
        why: Some(Why::Operator {
            by: request.by.clone(),
            reason: request.reason.clone(),
        }),
    })?;
    Ok(row)
}

/// Unfreezes an attribute in `run`'s transaction and logs it. The value stays
/// as it is until the next sync of the person's record (`run --resync`).
pub fn unfreeze(
    tx: &Tx<'_>,
    run: i64,
    person: i64,
    attribute: &str,
    by: &str,
) -> std::result::Result<FrozenRow, FreezeError> {
    Attribute::parse(attribute)?;
    if tx.person(person)?.is_none() {
        return Err(FreezeError::NoPerson { person });
    }
    let row = tx
        .unfreeze(person, attribute)?
        .ok_or_else(|| FreezeError::NotFrozen {
            person,
            attribute: attribute.to_owned(),
        })?;
    tx.log_change(&ChangeRow {
        run_id: run,
        pipeline: super::operator_pipeline("unfreeze"),
        source_key: None,
        person_id: Some(person),
        action: "unfreeze".into(),
        before: Some(serde_json::json!({ attribute: row.value, "frozen_by": row.frozen_by })),
        after: Some(serde_json::json!({ "unfrozen_by": by })),
        why: Some(Why::Operator {
            by: by.to_owned(),
            reason: None,
        }),
    })?;
    Ok(row)
}

fn known<'k>(names: impl Iterator<Item = &'k String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "the person has no attributes yet".to_owned()
    } else {
        format!("the person's attributes are {}", names.join(", "))
    }
}

impl Ledger<'_, '_> {
    /// A person's freezes that hold now (lapsed ones no longer bind a sync).
    pub(super) fn freezes_of(&self, person: i64) -> Result<Vec<FrozenRow>> {
        if person < 0 {
            return Ok(Vec::new());
        }
        let now = &self.now_text;
        Ok(self
            .tx
            .frozen_of(person)?
            .into_iter()
            .filter(|f| f.holds_at(now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_a_person_attribute_a_role_attribute_or_a_role() {
        assert_eq!(
            Attribute::parse("telephone").unwrap(),
            Attribute::Person("telephone".into())
        );
        assert_eq!(
            Attribute::parse("role.7.title").unwrap(),
            Attribute::RoleAttribute(7, "title".into())
        );
        assert_eq!(Attribute::parse("role.7").unwrap(), Attribute::Role(7));
        assert!(matches!(
            Attribute::parse("role.7.phone"),
            Err(FreezeError::UnknownRoleAttribute { .. })
        ));
        assert!(matches!(
            Attribute::parse("role.x.title"),
            Err(FreezeError::BadAttribute { .. })
        ));
    }
}
