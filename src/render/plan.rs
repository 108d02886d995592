//! `rollcall plan`'s text (each record's diff, then the shared report) and
//! the JSON report `plan` and `run` both write.

use std::fmt::Write as _;

use rollcall_engine::diff::{Action, Change};
use rollcall_engine::registry::RegistryReport;
use rollcall_engine::run::Report;
use rollcall_engine::vocabulary::Outcome;
use serde::Serialize;

use super::registry::registry_text;
use super::report::tail;
use super::{Screen, terminal_safe};

/// The machine-readable report of `plan --format json` (and `run --format json`).
#[derive(Serialize)]
pub struct PlanJson<'a> {
    pipeline: &'a str,
    run_id: Option<i64>,
    outcome: Outcome,
    overridden: bool,
    source: &'a rollcall_engine::source::SourceIdentity,
    summary: &'a rollcall_engine::vocabulary::Summary,
    integrity: &'a rollcall_engine::vocabulary::GateVerdict,
    changes: &'a [Change],
    invalid: &'a [rollcall_engine::run::InvalidRecord],
    registry: &'a RegistryReport,
    lookups: &'a [rollcall_engine::lookup::LookupReport],
    conflicts: &'a [rollcall_engine::unique::Conflict],
    refused: &'a [rollcall_engine::run::Refusal],
    actions: &'a [rollcall_engine::run::ActionNote],
    deliveries: &'a [rollcall_engine::sink::Delivered],
    /// Each target's operations (sent, or with `plan` planned), failures
    /// and foreign objects; left out when the pipeline has no target.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    targets: &'a [rollcall_engine::target::TargetReport],
}

/// A report as the JSON document described by `schemas/plan-output.schema.json`
/// (without the `exit_code` and `error` that `Console::document` adds).
pub fn plan_document(report: &Report) -> PlanJson<'_> {
    PlanJson {
        pipeline: &report.pipeline,
        run_id: report.run_id,
        outcome: report.outcome,
        overridden: report.overridden,
        source: &report.source,
        summary: &report.summary,
        integrity: &report.integrity,
        changes: &report.changes,
        invalid: &report.invalid,
        registry: &report.registry,
        lookups: &report.lookups,
        conflicts: &report.conflicts,
        refused: &report.refused,
        actions: &report.actions,
        deliveries: &report.deliveries,
        targets: &report.targets,
    }
}

/// `plan`'s per-record diffs, the registry's findings and the summary.
pub fn plan_text(report: &Report) -> Screen {
    let mut screen = Screen::default();
    screen.out(&changes_text(&report.changes));
    screen.out(&registry_text(&report.registry));
    screen.append(tail(report, ""));
    screen
}

/// One line per changed record (`+ create KEY (line N)`), each followed by
/// its fields: all of a new record's, the before and after of a changed one.
pub(super) fn changes_text(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        let (sign, word) = match change.action {
            Action::Create => ('+', "create"),
            Action::Update => ('~', "update"),
            Action::Remove => ('-', "remove"),
            Action::Reinstate => ('^', "reinstate"),
        };
        let at = change
            .line
            .map(|l| format!("  (line {l})"))
            .unwrap_or_default();
        let _ = writeln!(out, "{sign} {word:<9} {}{at}", terminal_safe(&change.key));
        for field in &change.fields {
            // JSON text escapes C0 controls but not DEL, C1 or bidi overrides.
            let after = field.after.to_string();
            match change.action {
                Action::Create => {
                    let _ = writeln!(out, "      {}: {}", field.field, terminal_safe(&after));
                }
                _ => {
                    let before = field.before.to_string();
                    let _ = writeln!(
                        out,
                        "      {}: {} -> {}",
                        field.field,
                        terminal_safe(&before),
                        terminal_safe(&after)
                    );
                }
            }
        }
    }
    out
}
