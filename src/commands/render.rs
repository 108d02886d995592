//! Rendering reports and errors for people (stdout/stderr) and machines (JSON).

use std::fmt::Write as _;

use rollcall_engine::diff::{Action, Change};
use rollcall_engine::run::{Outcome, Report, RunError};
use rollcall_engine::store::{ChangeRow, RunRow, StoreError, StoredRecord};
use serde::Serialize;

use crate::exit::Exit;

/// Prints any value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialize")
    );
}

/// Prints an error with miette and returns the error exit code.
pub fn error(err: impl miette::Diagnostic + Send + Sync + 'static) -> Exit {
    eprintln!("{:?}", miette::Report::new(err));
    Exit::Error
}

/// Prints a run error; a locked store exits 75.
pub fn run_error(err: RunError) -> Exit {
    match err {
        RunError::Store(err) => store_error(err),
        err => error(err),
    }
}

/// Prints a store error; a locked store exits 75.
pub fn store_error(err: StoreError) -> Exit {
    let locked = matches!(err, StoreError::Locked { .. });
    error(err);
    if locked { Exit::Locked } else { Exit::Error }
}

/// The machine-readable report of `plan --format json` (and `run --format json`).
#[derive(Serialize)]
struct PlanJson<'a> {
    pipeline: &'a str,
    run_id: Option<i64>,
    outcome: Outcome,
    overridden: bool,
    source: &'a rollcall_engine::source::SourceIdentity,
    summary: &'a rollcall_engine::diff::Summary,
    integrity: &'a rollcall_engine::integrity::Verdict,
    changes: &'a [Change],
    invalid: &'a [rollcall_engine::run::InvalidRecord],
}

/// Prints a report as the JSON document described by `schemas/plan-output.schema.json`.
pub fn plan_json(report: &Report) {
    json(&PlanJson {
        pipeline: &report.pipeline,
        run_id: report.run_id,
        outcome: report.outcome,
        overridden: report.overridden,
        source: &report.source,
        summary: &report.summary,
        integrity: &report.integrity,
        changes: &report.changes,
        invalid: &report.invalid,
    });
}

/// Prints `plan`'s per-record diffs and summary.
pub fn plan_text(report: &Report) {
    let mut out = String::new();
    for change in &report.changes {
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
        let _ = writeln!(out, "{sign} {word:<9} {}{at}", change.key);
        for field in &change.fields {
            match change.action {
                Action::Create => {
                    let _ = writeln!(out, "      {}: {}", field.field, field.after);
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "      {}: {} -> {}",
                        field.field, field.before, field.after
                    );
                }
            }
        }
    }
    print!("{out}");
    print_invalid(report);
    println!("{}", summary_line(report));
    print_checks(report);
}

/// Prints `run`'s outcome and summary.
pub fn run_text(report: &Report) {
    print_invalid(report);
    let outcome = match report.outcome {
        Outcome::Applied if report.overridden => "applied (integrity breach overridden)",
        Outcome::Applied => "applied",
        Outcome::NoChange => "no change",
        Outcome::Rejected => "rejected",
        Outcome::Planned => "planned",
    };
    let run = report
        .run_id
        .map(|id| format!(" run {id}"))
        .unwrap_or_default();
    println!("{}{run}: {outcome}", report.pipeline);
    println!("{}", summary_line(report));
    print_checks(report);
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{}: {} read, {} valid, {} invalid, {} filtered | {} created, {} updated, {} removed, {} reinstated, {} unchanged, {} held",
        report.source.uri,
        s.read,
        s.valid,
        s.invalid,
        s.filtered,
        s.created,
        s.updated,
        s.removed,
        s.reinstated,
        s.unchanged,
        s.held
    )
}

fn print_checks(report: &Report) {
    for check in &report.integrity.checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {:<12} {}", check.name, check.detail);
    }
}

fn print_invalid(report: &Report) {
    for bad in &report.invalid {
        let key = bad
            .key
            .as_deref()
            .map(|k| format!(" key {k:?}"))
            .unwrap_or_default();
        for problem in &bad.problems {
            eprintln!(
                "invalid: {}:{}{key}: {problem}",
                report.source.uri, bad.line
            );
        }
    }
    if report.summary.invalid as usize > report.invalid.len() {
        eprintln!(
            "invalid: ... and {} more",
            report.summary.invalid as usize - report.invalid.len()
        );
    }
}

/// Explains an integrity breach on stderr: what failed, what to check, and
/// how to override.
pub fn breach_explanation(report: &Report, applied_nothing: bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "error: integrity breach in pipeline {}: {}",
        report.pipeline,
        if applied_nothing {
            "nothing was applied"
        } else {
            "a run would be refused"
        }
    );
    for check in report.integrity.failures() {
        let _ = writeln!(out, "  {}: {}", check.name, check.detail);
    }
    let _ = writeln!(
        out,
        "help: check that the extract {} is complete (not truncated or filtered upstream); \
         if the change is real, re-run with `rollcall run --accept-breach`",
        report.source.uri
    );
    eprint!("{out}");
}

/// Prints runs as a table.
pub fn history_text(pipeline: &str, runs: &[RunRow]) {
    if runs.is_empty() {
        println!("{pipeline}: no runs");
        return;
    }
    println!(
        "{:>5}  {:<24}  {:<10}  {:>8} {:>8} {:>8} {:>8} {:>8}  source",
        "run", "finished", "outcome", "read", "created", "updated", "removed", "invalid"
    );
    for run in runs {
        let outcome = if run.overridden {
            format!("{}!", run.outcome)
        } else {
            run.outcome.clone()
        };
        println!(
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
            println!("       failed {}: {}", check.name, check.detail);
        }
        if let Some(error) = &run.error {
            println!("       error: {error}");
        }
    }
}

/// Prints a stored record and its change log.
pub fn show_text(pipeline: &str, record: &StoredRecord, changes: &[ChangeRow]) {
    println!("{pipeline} / {}", record.key);
    println!(
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
        println!("  {name}: {value}");
    }
    println!("changes:");
    for change in changes {
        let detail = match (&change.before, &change.after) {
            (Some(before), Some(after)) => format!("{before} -> {after}"),
            (None, Some(after)) => after.to_string(),
            _ => String::new(),
        };
        println!("  run {:>4}  {:<9} {detail}", change.run_id, change.action);
    }
}
