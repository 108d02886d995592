//! The operations that bring a target from what its listing shows to what
//! it should hold: only for objects rollcall owns (created, or adopted by
//! the declared match), a changed name as a rename, only the attributes
//! that differ, and removals (deactivation, deletion) counted apart so the
//! gate and an incomplete listing can hold them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::desired::Shaped;
use super::{Attributes, Object, ObjectKind, Operation};
use crate::store::OwnedObject;

/// What a step does, as `plan` and the report say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Label {
    /// A new object.
    Create,
    /// Attributes changed.
    Modify,
    /// A new name (userName or DN), the object kept.
    Rename,
    /// An inactive person's account switched off (or moved to limbo).
    Deactivate,
    /// An object deleted (a purged person, with `delete-after-purge`).
    Delete,
}

impl Label {
    /// The word in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Create => "create",
            Label::Modify => "modify",
            Label::Rename => "rename",
            Label::Deactivate => "deactivate",
            Label::Delete => "delete",
        }
    }

    /// Whether the step takes something away (what the gate and an
    /// incomplete listing hold).
    pub fn is_removal(self) -> bool {
        matches!(self, Label::Deactivate | Label::Delete)
    }
}

/// One operation to send, with what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What it does.
    pub label: Label,
    /// The object's kind.
    pub kind: ObjectKind,
    /// What the object stands for (person id or group name).
    pub key: String,
    /// The object's name after the step.
    pub name: String,
    /// The write.
    pub operation: Operation,
}

/// Steps for one kind of object, and what the listing held that is not ours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Operations to send, in order.
    pub steps: Vec<Step>,
    /// Listed objects adopted by the declared match (or a creation that
    /// reached the server before a crash), to be owned before the steps.
    pub adopted: Vec<(String, Object)>,
    /// Listed objects that are not rollcall's: never touched.
    pub foreign: Vec<Object>,
}

/// How a target matches and removes, from its declaration.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `adopt-by`: `user-name` (the name), `external-id`, or an attribute.
    pub adopt_by: Option<String>,
    /// Delete an owned object whose person is gone (purged).
    pub delete_after_purge: bool,
    /// What switches off an object whose person is gone, when it is not deleted.
    pub deactivation: Attributes,
}

/// The operations for objects of `kind`: `desired` against `listed`, for
/// what `owned` says rollcall has.
pub fn reconcile(
    kind: ObjectKind,
    desired: &[Shaped],
    listed: &[Object],
    owned: &[OwnedObject],
    rules: &Rules,
) -> Reconciled {
    let kind_word = kind_word(kind);
    let listed: Vec<&Object> = listed.iter().filter(|o| o.kind == kind).collect();
    let by_id: HashMap<&str, &Object> = listed.iter().map(|o| (o.id.as_str(), *o)).collect();
    let owned: BTreeMap<&str, &OwnedObject> = owned
        .iter()
        .filter(|o| o.kind == kind_word)
        .map(|o| (o.key.as_str(), o))
        .collect();
    // Objects that are ours: owned ids, and those matched below.
    let mut taken: HashSet<&str> = owned
        .values()
        .filter_map(|o| o.object_id.as_deref())
        .collect();
    let mut out = Reconciled::default();
    for want in desired {
        let ours = owned.get(want.key.as_str());
        let found = match ours.and_then(|o| o.object_id.as_deref()) {
            Some(id) => by_id.get(id).copied(),
            None => None,
        };
        let found = found.or_else(|| {
            // A creation in flight (or lost from the table) is recognised by
            // its external id or name; a foreign one only by `adopt-by`.
            let in_flight = ours.is_some_and(|o| o.object_id.is_none());
            let matched = listed.iter().copied().find(|o| {
                !taken.contains(o.id.as_str())
                    && (in_flight && is_same(o, want) || adopts(o, want, rules.adopt_by.as_deref()))
            })?;
            taken.insert(matched.id.as_str());
            out.adopted.push((want.key.clone(), matched.clone()));
            Some(matched)
        });
        match found {
            Some(object) => out.steps.extend(update(want, object, rules)),
            None => out.steps.push(Step {
                label: Label::Create,
                kind,
                key: want.key.clone(),
                name: want.name.clone(),
                operation: Operation::Create {
                    kind,
                    name: want.name.clone(),
                    attributes: creation(want),
                },
            }),
        }
    }
    let wanted: HashSet<&str> = desired.iter().map(|d| d.key.as_str()).collect();
    for (key, row) in &owned {
        if wanted.contains(key) {
            continue;
        }
        let Some(object) = row.object_id.as_deref().and_then(|id| by_id.get(id)) else {
            continue;
        };
        out.steps.extend(gone(kind, key, object, rules));
    }
    out.foreign = listed
        .into_iter()
        .filter(|o| !taken.contains(o.id.as_str()))
        .cloned()
        .collect();
    out
}

/// `person` or `group`, as the ownership table says.
pub fn kind_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Person => "person",
        ObjectKind::Group => "group",
    }
}

/// Whether a listed object is the one a creation made: same external id
/// or, without one, same name.
fn is_same(object: &Object, want: &Shaped) -> bool {
    match want.attributes.get("externalId") {
        Some(ids) if !ids.is_empty() => object.attributes.get("externalId") == Some(ids),
        _ => object.name.eq_ignore_ascii_case(&want.name),
    }
}

/// Whether `adopt-by` matches a listed object to a desired one.
fn adopts(object: &Object, want: &Shaped, adopt_by: Option<&str>) -> bool {
    match adopt_by {
        None => false,
        Some("user-name") => object.name.eq_ignore_ascii_case(&want.name),
        Some("external-id") => {
            let ids = want.attributes.get("externalId");
            ids.is_some_and(|ids| {
                !ids.is_empty() && object.attributes.get("externalId") == Some(ids)
            })
        }
        Some(attribute) => {
            let values = want.attributes.get(attribute);
            values.is_some_and(|v| !v.is_empty() && object.attributes.get(attribute) == Some(v))
                || object.name.eq_ignore_ascii_case(&want.name)
        }
    }
}

/// The attributes of a creation: the managed ones and the create-only ones.
fn creation(want: &Shaped) -> Attributes {
    let mut attributes = want.attributes.clone();
    for (name, values) in &want.create_only {
        attributes
            .entry(name.clone())
            .or_insert_with(|| values.clone());
    }
    attributes
}

/// A rename when the name differs, then a modify of the attributes that differ.
fn update(want: &Shaped, object: &Object, rules: &Rules) -> Vec<Step> {
    let mut steps = Vec::new();
    let renamed = object.name != want.name;
    if renamed {
        steps.push(Step {
            label: if want.active {
                Label::Rename
            } else {
                Label::Deactivate
            },
            kind: want.kind,
            key: want.key.clone(),
            name: want.name.clone(),
            operation: Operation::Rename {
                kind: want.kind,
                id: object.id.clone(),
                name: want.name.clone(),
            },
        });
    }
    let replace: Attributes = want
        .attributes
        .iter()
        .filter(|(name, values)| {
            let has = object
                .attributes
                .get(*name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            !same_values(name, has, values)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    if !replace.is_empty() {
        // Only a change of what expresses activity is a deactivation; an
        // inactive person's other changes are modifications.
        let deactivates =
            !want.active && replace.keys().any(|k| rules.deactivation.contains_key(k));
        steps.push(Step {
            label: if deactivates {
                Label::Deactivate
            } else {
                Label::Modify
            },
            kind: want.kind,
            key: want.key.clone(),
            name: want.name.clone(),
            operation: Operation::Modify {
                kind: want.kind,
                // After a rename the listed version is stale; the rename's
                // own write changed it.
                id: object.id.clone(),
                version: if renamed {
                    None
                } else {
                    object.version.clone()
                },
                replace,
            },
        });
    }
    steps
}

/// Whether two value lists are the same for this attribute: members are a
/// set; names and mail compare without case, as directories do.
fn same_values(name: &str, has: &[String], want: &[String]) -> bool {
    if has.len() != want.len() {
        return false;
    }
    let mut has: Vec<String> = has.iter().map(|v| v.to_lowercase()).collect();
    let mut want: Vec<String> = want.iter().map(|v| v.to_lowercase()).collect();
    if is_membership(name) {
        has.sort();
        want.sort();
    }
    has == want
}

/// Whether an attribute lists a group's members (compared as a set).
fn is_membership(name: &str) -> bool {
    matches!(name, "members" | "member" | "uniqueMember")
}

/// What happens to an owned object whose person (or group) is gone.
fn gone(kind: ObjectKind, key: &str, object: &Object, rules: &Rules) -> Option<Step> {
    if rules.delete_after_purge {
        return Some(Step {
            label: Label::Delete,
            kind,
            key: key.to_owned(),
            name: object.name.clone(),
            operation: Operation::Delete {
                kind,
                id: object.id.clone(),
                version: object.version.clone(),
            },
        });
    }
    // A group no role gives any more is emptied, a person's account
    // switched off; neither is deleted unless the target says so.
    let empty: Attributes = object
        .attributes
        .keys()
        .filter(|name| is_membership(name))
        .map(|name| (name.clone(), Vec::new()))
        .collect();
    let switch_off = if kind == ObjectKind::Group {
        &empty
    } else {
        &rules.deactivation
    };
    let replace: Attributes = switch_off
        .iter()
        .filter(|(name, values)| {
            let has = object
                .attributes
                .get(*name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            !same_values(name, has, values)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    (!replace.is_empty()).then(|| Step {
        label: if kind == ObjectKind::Group {
            Label::Modify
        } else {
            Label::Deactivate
        },
        kind,
        key: key.to_owned(),
        name: object.name.clone(),
        operation: Operation::Modify {
            kind,
            id: object.id.clone(),
            version: object.version.clone(),
            replace,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(key: &str, name: &str, active: bool) -> Shaped {
        let mut attributes = Attributes::new();
        attributes.insert("externalId".into(), vec![format!("rollcall-{key}")]);
        attributes.insert("active".into(), vec![active.to_string()]);
        Shaped {
            kind: ObjectKind::Person,
            key: key.into(),
            name: name.into(),
            attributes,
            create_only: Attributes::new(),
            active,
        }
    }

    fn object(id: &str, want: &Shaped) -> Object {
        Object {
            kind: ObjectKind::Person,
            id: id.into(),
            name: want.name.clone(),
            attributes: want.attributes.clone(),
            version: Some("W/\"1\"".into()),
        }
    }

    fn owned(key: &str, id: Option<&str>) -> OwnedObject {
        OwnedObject {
            target: "t".into(),
            system: "s".into(),
            kind: "person".into(),
            key: key.into(),
            object_id: id.map(str::to_owned),
            name: String::new(),
        }
    }

    #[test]
    fn a_changed_name_is_a_rename_and_an_unchanged_object_sends_nothing() {
        let before = shaped("1", "ada", true);
        let listed = vec![
            object("u1", &before),
            object("u2", &shaped("2", "bob", true)),
        ];
        let want = vec![shaped("1", "ada.l", true), shaped("2", "bob", true)];
        let owned = vec![owned("1", Some("u1")), owned("2", Some("u2"))];
        let out = reconcile(
            ObjectKind::Person,
            &want,
            &listed,
            &owned,
            &Rules::default(),
        );
        assert_eq!(out.steps.len(), 1);
        assert_eq!(out.steps[0].label, Label::Rename);
        assert!(out.foreign.is_empty());
    }

    #[test]
    fn a_foreign_object_is_left_alone_unless_adopted() {
        let listed = vec![object("x", &shaped("9", "ada", true))];
        let mut listed_foreign = listed.clone();
        listed_foreign[0]
            .attributes
            .insert("externalId".into(), vec!["theirs".into()]);
        let want = vec![shaped("1", "ada", true)];
        let out = reconcile(
            ObjectKind::Person,
            &want,
            &listed_foreign,
            &[],
            &Rules::default(),
        );
        assert_eq!(out.steps[0].label, Label::Create);
        assert_eq!(out.foreign.len(), 1);
        let rules = Rules {
            adopt_by: Some("user-name".into()),
            ..Rules::default()
        };
        let out = reconcile(ObjectKind::Person, &want, &listed_foreign, &[], &rules);
        assert_eq!(out.adopted.len(), 1);
        assert_eq!(out.steps[0].label, Label::Modify);
        assert!(out.foreign.is_empty());
    }

    #[test]
    fn a_creation_in_flight_is_found_again_by_its_external_id() {
        let want = shaped("1", "ada", true);
        let listed = vec![object("u1", &want)];
        let out = reconcile(
            ObjectKind::Person,
            &[want],
            &listed,
            &[owned("1", None)],
            &Rules::default(),
        );
        assert!(out.steps.is_empty(), "{:?}", out.steps);
        assert_eq!(out.adopted.len(), 1);
    }

    #[test]
    fn a_person_gone_is_deleted_only_when_declared() {
        let was = shaped("1", "ada", true);
        let listed = vec![object("u1", &was)];
        let owned = vec![owned("1", Some("u1"))];
        let out = reconcile(ObjectKind::Person, &[], &listed, &owned, &Rules::default());
        assert!(out.steps.is_empty());
        let rules = Rules {
            delete_after_purge: true,
            ..Rules::default()
        };
        let out = reconcile(ObjectKind::Person, &[], &listed, &owned, &rules);
        assert_eq!(out.steps[0].label, Label::Delete);
    }
}
