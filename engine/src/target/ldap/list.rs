//! The complete listing: every person and group under the target's bases,
//! read page by page with the Simple Paged Results control (RFC 2696). A
//! listing is all or nothing: a size or admin limit, a referral, a lost
//! connection or a server that drops the paging control ends it with a
//! [`ListingError`], never with the entries read so far, because the layer
//! above would take everyone missing for a leaver.

use std::collections::{BTreeMap, HashSet};

use ldap3::controls::{MakeCritical, PagedResults};
use ldap3::{Scope, SearchEntry};

use super::{LdapDirectory, dn, error};
use crate::target::{Attributes, ListingError, Object, ObjectKind};

/// The OID of the paged results control.
const PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";

/// Attributes never carried into a listing (secrets, even hashed).
const WITHHELD: &[&str] = &["userpassword"];

/// Persons under every person base, then groups under the group base.
pub fn list(dir: &mut LdapDirectory) -> Result<Vec<Object>, ListingError> {
    let s = dir.settings.clone();
    let mut seen = HashSet::new();
    let mut objects = Vec::new();
    let person_filter = s.person_filter();
    for base in &s.person_bases {
        for object in search(dir, ObjectKind::Person, base, &person_filter)? {
            // Overlapping bases list an entry twice; it is one object.
            if seen.insert(dn::normalize(&object.id)) {
                objects.push(object);
            }
        }
    }
    if let Some(base) = &s.group_base {
        let filter = format!("(objectClass={})", s.group_object_class);
        for mut group in search(dir, ObjectKind::Group, base, &filter)? {
            if seen.insert(dn::normalize(&group.id)) {
                hide_placeholder(
                    &mut group.attributes,
                    &s.member_attribute,
                    s.empty_group_member.as_deref(),
                );
                objects.push(group);
            }
        }
    }
    Ok(objects)
}

/// Every entry under `base` matching `filter`, all pages read.
fn search(
    dir: &mut LdapDirectory,
    kind: ObjectKind,
    base: &str,
    filter: &str,
) -> Result<Vec<Object>, ListingError> {
    let target = dir.settings.target.clone();
    let incomplete = |reason: String| ListingError {
        target: target.clone(),
        reason,
    };
    let page_size = i32::try_from(dir.settings.page_size.max(1)).unwrap_or(i32::MAX);
    let mut objects = Vec::new();
    let mut cookie = Vec::new();
    loop {
        let conn = dir
            .conn()
            .map_err(|e| incomplete(format!("cannot read {base}: {e}")))?;
        // Critical: a server without paging must refuse, not answer one
        // size-limited page that would pass for the whole listing.
        let control = PagedResults {
            size: page_size,
            cookie: std::mem::take(&mut cookie),
        }
        .critical();
        let found = conn.with_controls(control).search(
            base,
            Scope::Subtree,
            filter,
            vec!["*", "entryUUID"],
        );
        let ldap3::SearchResult(entries, result) = match found {
            Ok(found) => found,
            Err(e) => {
                dir.lost();
                return Err(incomplete(format!(
                    "reading {base} failed after {} entries: {e}",
                    objects.len()
                )));
            }
        };
        if result.rc != 0 {
            return Err(incomplete(format!(
                "the server ended the search of {base} after {} entries: {}",
                objects.len() + entries.len(),
                error::answer(result.rc, &result.text)
            )));
        }
        for entry in entries {
            if entry.is_ref() {
                return Err(incomplete(format!(
                    "the search of {base} returned a referral to another server; rollcall does not follow referrals"
                )));
            }
            if entry.is_intermediate() {
                continue;
            }
            objects.push(object(kind, SearchEntry::construct(entry)));
        }
        cookie = next_cookie(&result.ctrls)
            .map_err(|why| incomplete(format!("paging through {base}: {why}")))?;
        if cookie.is_empty() {
            return Ok(objects);
        }
    }
}

/// The cookie of the server's paged results control: empty on the last page.
fn next_cookie(controls: &[ldap3::controls::Control]) -> Result<Vec<u8>, String> {
    let raw = controls
        .iter()
        .map(|c| &c.1)
        .find(|raw| raw.ctype == PAGED_RESULTS)
        .ok_or("the server's answer has no paged results control (it does not page this search)")?;
    if raw.val.is_none() {
        return Err("the server's paged results control has no value".to_string());
    }
    // ldap3 panics on a malformed control value; that is a broken answer,
    // not a broken rollcall.
    std::panic::catch_unwind(|| raw.parse::<PagedResults>().cookie)
        .map_err(|_| "the server's paged results control is malformed".to_string())
}

/// An entry as an object: textual attributes; binary ones (photos,
/// certificates) and secrets are left out, rollcall never writes them.
fn object(kind: ObjectKind, entry: SearchEntry) -> Object {
    let attributes: Attributes = entry
        .attrs
        .into_iter()
        .filter(|(name, _)| !WITHHELD.contains(&name.to_ascii_lowercase().as_str()))
        .collect::<BTreeMap<_, _>>();
    Object {
        kind,
        id: entry.dn.clone(),
        name: entry.dn,
        attributes,
        version: None,
    }
}

/// Drops the empty-group placeholder from a group's members (and the
/// attribute when nothing else is left).
fn hide_placeholder(
    attributes: &mut Attributes,
    member_attribute: &str,
    placeholder: Option<&str>,
) {
    let Some(placeholder) = placeholder.map(dn::normalize) else {
        return;
    };
    let Some(key) = attributes
        .keys()
        .find(|k| k.eq_ignore_ascii_case(member_attribute))
        .cloned()
    else {
        return;
    };
    let members = attributes.get_mut(&key).expect("found above");
    members.retain(|m| dn::normalize(m) != placeholder);
    if members.is_empty() {
        attributes.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_placeholder_member_is_hidden_and_real_members_stay() {
        let mut attrs = crate::target::Attributes::new();
        attrs.insert(
            "member".into(),
            vec!["CN=Empty-Membership".into(), "uid=a,ou=p".into()],
        );
        super::hide_placeholder(&mut attrs, "Member", Some("cn=empty-membership"));
        assert_eq!(attrs["member"], vec!["uid=a,ou=p".to_string()]);
        attrs.insert("member".into(), vec!["cn=empty-membership".into()]);
        super::hide_placeholder(&mut attrs, "member", Some("cn=empty-membership"));
        assert!(attrs.is_empty());
    }
}
