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

/// The outbox: deliveries each target has not yet accepted, by target.
pub fn pending_text(pending: &[rollcall_engine::store::OutboxRow]) -> String {
    let mut out = String::new();
    let mut targets: Vec<&str> = Vec::new();
    for row in pending {
        if !targets.contains(&row.target.as_str()) {
            targets.push(&row.target);
        }
    }
    for target in targets {
        let rows: Vec<_> = pending.iter().filter(|row| row.target == target).collect();
        let runs: Vec<String> = rows.iter().map(|row| row.run.to_string()).collect();
        let attempts = rows.iter().map(|row| row.attempts).max().unwrap_or(0);
        let _ = write!(
            out,
            "pending for target {}: run(s) {} ({attempts} attempt(s))",
            terminal_safe(target),
            runs.join(", ")
        );
        if let Some(error) = rows.iter().rev().find_map(|row| row.error.as_deref()) {
            let _ = write!(out, "; last: {}", terminal_safe(error));
        }
        let _ = writeln!(
            out,
            "; `rollcall deliver PIPELINE` or the next run resumes it"
        );
    }
    out
}
