//! One operation, one LDAP request: add, modify (replace per attribute),
//! modrdn (new RDN and new superior: a school move keeps the entry and its
//! entryUUID) and delete. A refusal comes back as an [`ObjectFailure`] with
//! the request (operation, DN and attribute names; never values) and the
//! server's answer; the connection is kept for the next object unless it
//! was lost, then the next call opens a new one.

use std::collections::HashSet;

use ldap3::{LdapError, Mod};

use super::{LdapDirectory, dn, error};
use crate::target::{Attributes, ObjectFailure, ObjectKind, Operation};

/// Sends `operation`; the entry's DN afterwards.
pub fn apply(dir: &mut LdapDirectory, operation: &Operation) -> Result<String, ObjectFailure> {
    match operation {
        Operation::Create {
            kind,
            name,
            attributes,
        } => {
            let attrs = creation(dir, *kind, name, attributes);
            let request = format!("add {name}");
            let values: Vec<(&str, HashSet<&str>)> = attrs
                .iter()
                .map(|(a, vs)| (a.as_str(), vs.iter().map(String::as_str).collect()))
                .collect();
            send(dir, request, |c| c.add(name, values))?;
            Ok(name.clone())
        }
        Operation::Modify {
            kind, id, replace, ..
        } => {
            let replace = with_placeholder(dir, *kind, replace);
            let names: Vec<&str> = replace.keys().map(String::as_str).collect();
            let request = format!("modify {id} (replace {})", names.join(", "));
            // Replace with no values removes an attribute, and unlike a
            // delete it is not refused when the attribute is already gone.
            let mods: Vec<Mod<&str>> = replace
                .iter()
                .map(|(a, vs)| Mod::Replace(a.as_str(), vs.iter().map(String::as_str).collect()))
                .collect();
            if mods.is_empty() {
                return Ok(id.clone());
            }
            send(dir, request, |c| c.modify(id, mods))?;
            Ok(id.clone())
        }
        Operation::Rename { id, name, .. } => rename(dir, id, name),
        Operation::Delete { id, .. } => {
            send(dir, format!("delete {id}"), |c| c.delete(id))?;
            Ok(id.clone())
        }
    }
}

/// modrdn with the new RDN, the old RDN's value removed, and the new
/// parent as new superior when it differs.
fn rename(dir: &mut LdapDirectory, id: &str, name: &str) -> Result<String, ObjectFailure> {
    if dn::normalize(id) == dn::normalize(name) {
        return Ok(id.to_string());
    }
    let (_, old_parent) = dn::split(id);
    let (rdn, parent) = dn::split(name);
    let superior = (dn::normalize(parent) != dn::normalize(old_parent)).then_some(parent);
    let request = match superior {
        Some(parent) => format!("modrdn {id} (new rdn {rdn}, new superior {parent})"),
        None => format!("modrdn {id} (new rdn {rdn})"),
    };
    send(dir, request, |c| c.modifydn(id, rdn, true, superior))?;
    Ok(name.to_string())
}

/// A new entry's attributes: its object classes when none are given, the
/// RDN's values (the server refuses an entry without them), no empty
/// attributes, and the placeholder member for an empty group.
fn creation(
    dir: &LdapDirectory,
    kind: ObjectKind,
    name: &str,
    attributes: &Attributes,
) -> Attributes {
    let s = &dir.settings;
    let mut attrs: Attributes = attributes
        .iter()
        .filter(|(_, vs)| !vs.is_empty())
        .map(|(a, vs)| (a.clone(), vs.clone()))
        .collect();
    if key(&attrs, "objectClass").is_none() {
        let classes = match kind {
            ObjectKind::Person => s.person_object_classes.clone(),
            ObjectKind::Group => vec![s.group_object_class.clone()],
        };
        attrs.insert("objectClass".to_string(), classes);
    }
    for (attr, value) in dn::rdn_values(dn::split(name).0) {
        let k = key(&attrs, &attr).unwrap_or(attr);
        let values = attrs.entry(k).or_default();
        if !values.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
            values.push(value);
        }
    }
    if kind == ObjectKind::Group
        && let Some(placeholder) = &s.empty_group_member
        && key(&attrs, &s.member_attribute).is_none()
    {
        attrs.insert(s.member_attribute.clone(), vec![placeholder.clone()]);
    }
    attrs
}

/// A group's replaced members, with the placeholder for an empty list.
fn with_placeholder(dir: &LdapDirectory, kind: ObjectKind, replace: &Attributes) -> Attributes {
    let s = &dir.settings;
    let mut replace = replace.clone();
    if kind == ObjectKind::Group
        && let Some(placeholder) = &s.empty_group_member
        && let Some(k) = key(&replace, &s.member_attribute)
        && replace[&k].is_empty()
    {
        replace.insert(k, vec![placeholder.clone()]);
    }
    replace
}

/// The key of `attrs` naming `attr` (attribute names ignore case).
fn key(attrs: &Attributes, attr: &str) -> Option<String> {
    attrs.keys().find(|k| k.eq_ignore_ascii_case(attr)).cloned()
}

/// Runs one request on the bound connection and names its failure.
fn send<F>(dir: &mut LdapDirectory, request: String, op: F) -> Result<(), ObjectFailure>
where
    F: FnOnce(&mut ldap3::LdapConn) -> ldap3::result::Result<ldap3::LdapResult>,
{
    let conn = match dir.conn() {
        Ok(conn) => conn,
        Err(e) => {
            let transient = matches!(
                e,
                super::ConnectError::Refused { .. } | super::ConnectError::Unreachable { .. }
            );
            return Err(ObjectFailure {
                request,
                answer: e.to_string(),
                transient,
            });
        }
    };
    match op(conn) {
        Ok(result) if result.rc == 0 => Ok(()),
        Ok(result) => Err(ObjectFailure {
            request,
            answer: error::answer(result.rc, &result.text),
            transient: error::is_transient(result.rc),
        }),
        Err(LdapError::LdapResult { result }) => Err(ObjectFailure {
            request,
            answer: error::answer(result.rc, &result.text),
            transient: error::is_transient(result.rc),
        }),
        Err(e) => {
            // Anything but a server's answer means the connection is gone
            // (I/O error, timeout, closed channel): the next call reconnects.
            dir.lost();
            Err(ObjectFailure {
                request,
                answer: format!("connection lost: {e}"),
                transient: true,
            })
        }
    }
}
