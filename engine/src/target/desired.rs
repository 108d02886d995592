//! What a target should hold, from the registry's stored persons and roles:
//! one object per person of the system (its name, attributes and whether
//! it is active) and one group per name the roles give.

use std::collections::{BTreeMap, BTreeSet};

use rollcall_model::{GroupsFromRoles, Target, TargetKind};
use serde_json::Value;

use super::{Attributes, ObjectKind};
use crate::store::{PersonRow, RoleRow, StoreError, Tx};

/// Statuses of a person or role that keep their account active.
const ACTIVE: &[&str] = &["active", "grace-period"];

/// One object as the target should hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaped {
    /// Person or group.
    pub kind: ObjectKind,
    /// What it stands for: a person's id, or a group's name.
    pub key: String,
    /// Its name (userName, displayName or DN).
    pub name: String,
    /// The attributes rollcall manages on it, compared on every delivery.
    pub attributes: Attributes,
    /// Attributes written only when it is created (LDAP object classes).
    pub create_only: Attributes,
    /// Whether the person is active (groups: always).
    pub active: bool,
}

/// A person's object and the groups their roles put them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredPerson {
    /// The person's object.
    pub object: Shaped,
    /// Names of the groups they are a member of.
    pub groups: BTreeSet<String>,
}

/// Everything a target should hold for a system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// One per person that has a name.
    pub persons: Vec<DesiredPerson>,
    /// Persons left out: their name's field is empty (id, why).
    pub unnamed: Vec<(i64, String)>,
}

impl Desired {
    /// Group name to the person keys that are its members.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for person in &self.persons {
            for group in &person.groups {
                groups
                    .entry(group.clone())
                    .or_default()
                    .push(person.object.key.clone());
            }
        }
        groups
    }
}

/// The `externalId` of a person's object when the target does not map one.
pub fn external_id(person: i64) -> String {
    format!("rollcall-{person}")
}

/// What `target` should hold for every person of `system`, read in `tx`.
pub fn desired(tx: &Tx<'_>, system: &str, target: &Target) -> Result<Desired, StoreError> {
    let mut desired = Desired::default();
    for id in tx.system_persons(system)? {
        let Some(person) = tx.person(id)? else {
            continue;
        };
        let roles: Vec<RoleRow> = tx
            .roles_of_person(id)?
            .into_iter()
            .filter(|r| r.system == system)
            .collect();
        match shape_person(target, &person, &roles) {
            Ok(object) => {
                let groups = target
                    .groups
                    .as_ref()
                    .map(|g| group_names(g, &roles))
                    .unwrap_or_default();
                desired.persons.push(DesiredPerson { object, groups });
            }
            Err(why) => desired.unnamed.push((id, why)),
        }
    }
    Ok(desired)
}

/// A person attribute's values as text (a list gives one value per element).
fn texts(value: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::String(_) | Value::Null => None,
        Value::Array(_) | Value::Object(_) => Some(v.to_string()),
        other => Some(other.to_string()),
    };
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A person's object: its name from the target's template or field, the
/// mapped attributes and the activity the target expresses.
fn shape_person(target: &Target, person: &PersonRow, roles: &[RoleRow]) -> Result<Shaped, String> {
    let active = ACTIVE.contains(&person.status.as_str());
    let mut attributes = Attributes::new();
    for (name, field) in &target.attributes {
        attributes.insert(name.clone(), texts(person.attributes.get(&field.value)));
    }
    let mut create_only = Attributes::new();
    let name = match &target.kind {
        TargetKind::Scim(scim) => {
            attributes
                .entry("externalId".into())
                .or_insert_with(|| vec![external_id(person.id)]);
            attributes.insert("active".into(), vec![active.to_string()]);
            texts(person.attributes.get(&scim.user_name.value))
                .into_iter()
                .next()
                .ok_or_else(|| format!("its `{}` is empty", scim.user_name.value))?
        }
        TargetKind::Ldap(ldap) => {
            create_only.insert("objectClass".into(), ldap.object_classes.clone());
            for (name, value) in &ldap.deactivate {
                let values = if active {
                    Vec::new()
                } else {
                    vec![value.clone()]
                };
                attributes.insert(name.clone(), values);
            }
            let scope = roles
                .iter()
                .find(|r| ACTIVE.contains(&r.status.as_str()) && r.scope.is_some())
                .or_else(|| roles.iter().find(|r| r.scope.is_some()))
                .and_then(|r| r.scope.clone());
            let dn = fill(&ldap.person_dn.value, |name| {
                if name == "scope" {
                    scope.clone()
                } else {
                    texts(person.attributes.get(name)).into_iter().next()
                }
            })
            .ok_or_else(|| format!("`{}` has an empty placeholder", ldap.person_dn.value))?;
            match (&ldap.limbo_dn, active) {
                (Some(limbo), false) => {
                    let rdn = dn.split(',').next().unwrap_or(&dn);
                    format!("{rdn},{limbo}")
                }
                _ => dn,
            }
        }
    };
    Ok(Shaped {
        kind: ObjectKind::Person,
        key: person.id.to_string(),
        name,
        attributes,
        create_only,
        active,
    })
}

/// The group names a person's active roles give.
fn group_names(groups: &GroupsFromRoles, roles: &[RoleRow]) -> BTreeSet<String> {
    roles
        .iter()
        .filter(|r| ACTIVE.contains(&r.status.as_str()))
        .filter_map(|r| {
            fill(&groups.name.value, |name| match name {
                "scope" => r.scope.clone(),
                other => r.values.get(other).as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// A `{NAME}` template filled; `None` when a placeholder has no value.
pub fn fill(template: &str, mut value: impl FnMut(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let filled = value(&rest[open + 1..close]).filter(|v| !v.is_empty())?;
        out.push_str(&filled);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A group's object: its name, its members' object handles and its `externalId`.
pub fn shape_group(target: &Target, name: &str, members: Vec<String>) -> Shaped {
    let mut attributes = Attributes::new();
    let mut create_only = Attributes::new();
    let mut members = members;
    members.sort();
    match &target.kind {
        TargetKind::Scim(_) => {
            attributes.insert("externalId".into(), vec![format!("rollcall-group-{name}")]);
            attributes.insert("members".into(), members);
        }
        TargetKind::Ldap(_) => {
            create_only.insert("objectClass".into(), vec!["groupOfNames".into()]);
            let member = target
                .groups
                .as_ref()
                .and_then(|g| g.member_attribute.clone())
                .unwrap_or_else(|| "member".into());
            attributes.insert(member, members);
        }
    }
    Shaped {
        kind: ObjectKind::Group,
        key: name.to_owned(),
        name: name.to_owned(),
        attributes,
        create_only,
        active: true,
    }
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn a_template_is_filled_or_refused_when_a_value_is_missing() {
        let value = |n: &str| (n == "uid").then(|| "ada".to_owned());
        assert_eq!(
            fill("uid={uid},ou=x", value).as_deref(),
            Some("uid=ada,ou=x")
        );
        assert_eq!(fill("uid={uid},ou={scope}", value), None);
    }
}
