//! What the operator commands confirm: `freeze`, `unfreeze`, `purge` and
//! `deliver`.

use rollcall_engine::registry::PurgeReport;
use rollcall_engine::sink::Delivered;
use rollcall_engine::store::FrozenRow;

use super::registry::registry_text;
use super::report::deliveries;
use super::suffix;

/// `froze person 7 telephone = "..." (by NAME, until DATE: REASON)`.
pub fn froze_text(row: &FrozenRow) -> String {
    format!(
        "froze person {} {} = {} (by {}{}{})\n",
        row.person_id,
        row.attribute,
        row.value,
        row.frozen_by,
        suffix(", until ", row.until.as_deref()),
        suffix(": ", row.reason.as_deref())
    )
}

/// What was unfrozen, and how to have the source's value written again.
pub fn unfroze_text(row: &FrozenRow) -> String {
    format!(
        "unfroze person {} {} (was {}, frozen by {}); `rollcall run --resync KEY` writes the source's value again\n",
        row.person_id, row.attribute, row.value, row.frozen_by
    )
}

/// The registry's findings, then how many persons were (or would be) purged.
pub fn purge_text(report: &PurgeReport, dry_run: bool) -> String {
    let verb = if dry_run { "would purge" } else { "purged" };
    let run = report
        .run_id
        .map(|id| format!("run {id}: "))
        .unwrap_or_default();
    format!(
        "{}{run}{verb} {} persons, {} lifecycle transitions\n",
        registry_text(&report.registry),
        report.purged,
        report.transitions
    )
}

/// The run delivered again (or only written, its uploads skipped), and
/// each file written.
pub fn delivered_text(pipeline: &str, run: i64, delivered: &[Delivered]) -> String {
    format!(
        "{pipeline} run {run}: {}\n{}",
        match delivered_outcome(delivered) {
            "delivered" => "delivered",
            _ => "written, uploads skipped",
        },
        deliveries(delivered)
    )
}

/// `delivered`, or `written-uploads-skipped` while `--skip-upload` left an
/// upload undone.
pub fn delivered_outcome(delivered: &[Delivered]) -> &'static str {
    if delivered.iter().any(|d| d.uploads_skipped > 0) {
        "written-uploads-skipped"
    } else {
        "delivered"
    }
}
