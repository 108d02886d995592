//! `rollcall history`'s table of runs.

use std::fmt::Write as _;

use rollcall_engine::store::RunRow;

use super::terminal_safe;

/// Runs as a table, newest first as given; under a run, its failed checks,
/// its error, and a hint when its outputs were never delivered.
pub fn history_text(pipeline: &str, runs: &[RunRow]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        let _ = writeln!(out, "{pipeline}: no runs");
        return out;
    }
    let _ = writeln!(
        out,
        "{:>5}  {:<24}  {:<10}  {:>8} {:>8} {:>8} {:>8} {:>8}  source",
        "run", "finished", "outcome", "read", "created", "updated", "removed", "invalid"
    );
    for run in runs {
        run_rows(&mut out, run);
    }
    out
}

fn run_rows(out: &mut String, run: &RunRow) {
    let outcome = if run.overridden {
        format!("{}!", run.outcome)
    } else {
        run.outcome.clone()
    };
    let _ = writeln!(
        out,
        "{:>5}  {:<24}  {:<10}  {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
        run.id,
        run.finished_at,
        outcome,
        run.summary.read,
        run.summary.created,
        run.summary.updated,
        run.summary.removed,
        run.summary.invalid,
        run.source.uri
    );
    for check in run.checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(out, "       failed {}: {}", check.name, check.detail);
    }
    if let Some(error) = &run.error {
        // An applied run's note says what happened to its outputs.
        let label = if run.outcome == "applied" {
            "note"
        } else {
            "error"
        };
        let _ = writeln!(out, "       {label}: {}", terminal_safe(error));
    }
    if run.undelivered() {
        let _ = writeln!(
            out,
            "       outputs not delivered: `rollcall deliver PIPELINE --run {}` writes them",
            run.id
        );
    }
}
