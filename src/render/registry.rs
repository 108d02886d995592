//! The registry's findings, as `plan`, `run` and `purge` show them: links to
//! existing persons, ambiguous matches with every candidate, frozen values
//! held, lifecycle transitions, unresolved managers and sponsors, purges.

use std::fmt::Write as _;

use rollcall_engine::registry::RegistryReport;

use super::{person, suffix, terminal_safe};

/// Every finding, one line each (an ambiguous match adds its candidates).
pub fn registry_text(registry: &RegistryReport) -> String {
    let mut out = String::new();
    links(&mut out, registry);
    ambiguous(&mut out, registry);
    frozen(&mut out, registry);
    transitions(&mut out, registry);
    unresolved(&mut out, registry);
    purged(&mut out, registry);
    out
}

/// The findings with at most `limit` lines of each kind, then how many of
/// each were left out: `run`'s text stays short in a scheduler's log.
pub fn registry_text_limited(registry: &RegistryReport, limit: usize) -> String {
    fn keep<T>(list: &mut Vec<T>, limit: usize) -> usize {
        let more = list.len().saturating_sub(limit);
        list.truncate(limit);
        more
    }
    let mut shown = registry.clone();
    let left_out = [
        ("links", keep(&mut shown.links, limit)),
        ("ambiguous matches", keep(&mut shown.ambiguous, limit)),
        ("frozen values held", keep(&mut shown.frozen, limit)),
        ("transitions", keep(&mut shown.transitions, limit)),
        ("unresolved links", keep(&mut shown.unresolved, limit)),
        ("purges", keep(&mut shown.purged, limit)),
    ];
    let mut out = registry_text(&shown);
    for (kind, more) in left_out.into_iter().filter(|(_, more)| *more > 0) {
        let _ = writeln!(
            out,
            "... and {more} more {kind} (`--format json` lists them)"
        );
    }
    out
}

fn links(out: &mut String, registry: &RegistryReport) {
    for link in &registry.links {
        let chosen = link
            .chosen
            .as_deref()
            .map(|c| {
                let all: Vec<String> = link.candidates.iter().map(|c| person(c.person)).collect();
                format!(", the {c} of {}", all.join(", "))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "= link      {}  (line {}) -> {} (by {}{chosen})",
            terminal_safe(&link.key),
            link.line,
            person(link.person),
            link.by.as_str()
        );
    }
}

fn ambiguous(out: &mut String, registry: &RegistryReport) {
    for held in &registry.ambiguous {
        let values: Vec<&str> = held.values.iter().map(|v| v.value.as_str()).collect();
        let _ = writeln!(
            out,
            "? ambiguous {}  (line {}): {} {} matches {} persons; held, nothing changed",
            terminal_safe(&held.key),
            held.line,
            held.by,
            if values.is_empty() {
                "key".to_owned()
            } else {
                format!("{values:?}")
            },
            held.candidates.len()
        );
        for candidate in &held.candidates {
            let _ = writeln!(
                out,
                "      candidate {} ({}{})",
                person(candidate.person),
                candidate.status,
                candidate
                    .created_run
                    .map(|r| format!(", created in run {r}"))
                    .unwrap_or_default()
            );
        }
    }
}

fn frozen(out: &mut String, registry: &RegistryReport) {
    for held in &registry.frozen {
        let _ = writeln!(
            out,
            "* frozen    {}  person {} {}: keeps {}, source says {} (frozen by {}{}{})",
            terminal_safe(&held.key),
            held.person,
            held.attribute,
            terminal_safe(&held.frozen.to_string()),
            terminal_safe(&held.incoming.to_string()),
            held.frozen_by,
            suffix(" until ", held.until.as_deref()),
            suffix(": ", held.reason.as_deref()),
        );
    }
}

fn transitions(out: &mut String, registry: &RegistryReport) {
    for t in &registry.transitions {
        let subject = match &t.role {
            Some(role) => format!(
                "role {} ({}/{}{}) of {}",
                role.id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "new".into()),
                role.pipeline,
                terminal_safe(&role.key),
                suffix(" in ", role.scope.as_deref()),
                person(t.person)
            ),
            None => person(t.person),
        };
        let limbo = match &t.limbo {
            Some(change) => match (&change.from, &change.to) {
                (_, Some(to)) => format!(", into limbo {to:?}"),
                (Some(from), None) => format!(", out of limbo {from:?}"),
                (None, None) => String::new(),
            },
            None => String::new(),
        };
        let purge = suffix(", purge at ", t.purge_at.as_deref());
        let _ = writeln!(
            out,
            "> {subject}: {} -> {} ({}){limbo}{purge}",
            t.from,
            t.to,
            t.cause.as_str()
        );
    }
}

fn unresolved(out: &mut String, registry: &RegistryReport) {
    for u in &registry.unresolved {
        let why = if u.candidates.is_empty() {
            "no person holds it".to_owned()
        } else {
            let all: Vec<String> = u.candidates.iter().map(|c| person(*c)).collect();
            format!("held by {}; left empty", all.join(", "))
        };
        let _ = writeln!(
            out,
            "! unresolved {} role {} {} {} {:?}: {why}",
            terminal_safe(&u.key),
            u.ordinal,
            u.relation.as_str(),
            u.reference.type_name,
            u.reference.value
        );
    }
}

fn purged(out: &mut String, registry: &RegistryReport) {
    for p in &registry.purged {
        let _ = writeln!(
            out,
            "x purge     person {} (inactive since {}, due {}): {}",
            p.person,
            p.inactive_since.as_deref().unwrap_or("?"),
            p.purge_at.as_deref().unwrap_or("?"),
            p.records.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use rollcall_engine::registry::report::Purged;

    use super::*;

    #[test]
    fn a_limited_report_shows_the_first_lines_and_counts_the_rest() {
        let registry = RegistryReport {
            purged: (1..=5)
                .map(|person| Purged {
                    person,
                    inactive_since: None,
                    purge_at: None,
                    records: vec![format!("hr/A-{person}")],
                })
                .collect(),
            ..RegistryReport::default()
        };
        let text = registry_text_limited(&registry, 2);
        assert_eq!(
            text,
            "x purge     person 1 (inactive since ?, due ?): hr/A-1\n\
             x purge     person 2 (inactive since ?, due ?): hr/A-2\n\
             ... and 3 more purges (`--format json` lists them)\n"
        );
        assert_eq!(registry_text(&registry).lines().count(), 5);
    }
}
