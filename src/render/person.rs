//! `rollcall person`'s view of one person: status, limbo, attributes,
//! records, identities, roles, freezes and changes.

use std::fmt::Write as _;

use rollcall_engine::store::{ChangeRow, FrozenRow, Identity, PersonRow, RoleRow};
use serde::Serialize;

use super::{suffix, terminal_safe};

/// One person as `rollcall person` shows it.
#[derive(Serialize)]
pub struct PersonView {
    /// The person.
    pub person: PersonRow,
    /// Emails and identifiers.
    pub identities: Vec<Identity>,
    /// Roles.
    pub roles: Vec<RoleRow>,
    /// Frozen attributes.
    pub frozen: Vec<FrozenRow>,
    /// Linked records as `pipeline/key`.
    pub records: Vec<String>,
    /// The change log about the person.
    pub changes: Vec<ChangeRow>,
}

/// A person, section by section.
pub fn person_text(view: &PersonView) -> String {
    let mut out = String::new();
    let p = &view.person;
    let _ = writeln!(
        out,
        "person {}: {}{}{}",
        p.id,
        p.status,
        p.limbo
            .as_deref()
            .map(|l| format!(", in limbo {l:?}"))
            .unwrap_or_default(),
        suffix(", purge at ", p.purge_at.as_deref())
    );
    for (name, value) in &p.attributes {
        let _ = writeln!(out, "  {name}: {}", terminal_safe(&value.to_string()));
    }
    let _ = writeln!(out, "records: {}", terminal_safe(&view.records.join(", ")));
    for identity in &view.identities {
        let _ = writeln!(
            out,
            "  {:?} {} {:?}{}",
            identity.kind,
            identity.type_name,
            identity.value,
            if identity.usable {
                ""
            } else {
                " (not matchable)"
            }
        );
    }
    out.push_str("roles:\n");
    for role in &view.roles {
        role_line(&mut out, role);
    }
    for frozen in &view.frozen {
        let _ = writeln!(
            out,
            "frozen {} = {} by {}{}",
            frozen.attribute,
            frozen.value,
            frozen.frozen_by,
            suffix(" until ", frozen.until.as_deref())
        );
    }
    out.push_str("changes:\n");
    for change in &view.changes {
        change_line(&mut out, change);
    }
    out
}

fn role_line(out: &mut String, role: &RoleRow) {
    let v = &role.values;
    let _ = writeln!(
        out,
        "  role {} ({}/{} #{}){}: {}{}{}{}{}",
        role.id,
        role.pipeline,
        terminal_safe(&role.source_key),
        role.ordinal,
        suffix(" in ", role.scope.as_deref()),
        role.status,
        suffix(", ", v.affiliation.as_deref()),
        v.title
            .as_deref()
            .map(|t| format!(", {t:?}"))
            .unwrap_or_default(),
        v.ou.as_deref()
            .map(|o| format!(", ou {}", terminal_safe(o)))
            .unwrap_or_default(),
        match (&v.manager, role.manager_person_id) {
            (Some(m), Some(id)) => format!(", manager {} = person {id}", m.value),
            (Some(m), None) => format!(", manager {} (unresolved)", m.value),
            _ => String::new(),
        }
    );
}

fn change_line(out: &mut String, change: &ChangeRow) {
    let _ = writeln!(
        out,
        "  run {:>4}  {:<13} {}{}",
        change.run_id,
        change.action,
        change
            .source_key
            .as_deref()
            .map(|k| format!("{}/{k} ", change.pipeline))
            .unwrap_or_default(),
        change
            .after
            .as_ref()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
}
