//! `rollcall show`'s text: one stored record and its change log.

use std::fmt::Write as _;

use rollcall_engine::store::{ChangeRow, StoredRecord};

use super::terminal_safe;

/// A stored record: its state and person, its fields, its change log.
pub fn show_text(pipeline: &str, record: &StoredRecord, changes: &[ChangeRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{pipeline} / {}", terminal_safe(&record.key));
    let _ = writeln!(
        out,
        "  state: {:?}, person: {}, first seen in run {}, last changed in run {}",
        record.state,
        record
            .person_id
            .map(|id| format!("{id} ({})", record.person_status.as_deref().unwrap_or("?")))
            .unwrap_or_else(|| "none".into()),
        record.first_seen_run,
        record.changed_run
    );
    for (name, value) in &record.fields {
        let _ = writeln!(out, "  {name}: {}", terminal_safe(&value.to_string()));
    }
    out.push_str(&changes_text(changes));
    out
}

/// The change log of a key the store no longer holds (purged).
pub fn purged_text(pipeline: &str, key: &str, changes: &[ChangeRow]) -> String {
    format!(
        "{pipeline} / {key}: no longer stored\n{}",
        changes_text(changes)
    )
}

fn changes_text(changes: &[ChangeRow]) -> String {
    let mut out = String::from("changes:\n");
    for change in changes {
        let detail = match (&change.before, &change.after) {
            (Some(before), Some(after)) => format!("{before} -> {after}"),
            (None, Some(after)) => after.to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  run {:>4}  {:<9} {}",
            change.run_id,
            change.action,
            terminal_safe(&detail)
        );
    }
    out
}
