//! The parts of a run's report that `plan` and `run` both show: invalid
//! records, the counts, the integrity checks, lookups, refused records,
//! files written, and a breach's explanation.

use std::fmt::Write as _;

use rollcall_engine::run::Report;
use rollcall_engine::sink::Delivered;

use super::{ErrorJson, Screen, terminal_safe};

/// What follows the registry's findings in both `plan` and `run`: invalid
/// records (stderr), then, after `headline`, the counts, checks and feeds.
pub fn tail(report: &Report, headline: &str) -> Screen {
    let mut screen = Screen::default();
    screen.err(&invalid(report));
    screen.out(headline);
    screen.out(&format!("{}\n", summary_line(report)));
    screen.out(&checks(report));
    screen.append(feeds(report));
    screen
}

/// The counts of a run on one line, after the source's name.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{}: {} read, {} valid, {} invalid, {} filtered | {} created, {} updated, {} removed, {} reinstated, {} unchanged, {} held | {} ambiguous, {} transitions, {} purged",
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
        s.held,
        s.ambiguous,
        s.transitions,
        s.purged
    )
}

/// Each integrity check, passed or failed, with its numbers.
fn checks(report: &Report) -> String {
    let mut out = String::new();
    for check in &report.integrity.checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "  {mark} {:<12} {}", check.name, check.detail);
    }
    out
}

/// Lookup misses, refused records and delivered files, after the counts;
/// the misses and refusals themselves on stderr.
fn feeds(report: &Report) -> Screen {
    let mut screen = Screen::default();
    for lookup in &report.lookups {
        screen.out(&format!(
            "  lookup {}: {} records from {}; {} matched, {} without a match ({})\n",
            lookup.name,
            lookup.records,
            lookup.source,
            lookup.matched,
            lookup.unmatched,
            lookup.on_missing
        ));
        for miss in &lookup.examples {
            screen.err(&format!(
                "unmatched: {}:{} key {:?}: lookup {} has no {:?} ({})\n",
                report.source.uri, miss.line, miss.key, lookup.name, miss.value, lookup.on_missing
            ));
        }
    }
    for conflict in &report.conflicts {
        let at = conflict
            .held_at
            .map(|line| format!(" (line {line})"))
            .unwrap_or_else(|| " (in the store)".into());
        screen.err(&format!(
            "refused: {}:{} key {:?}: {} {:?} is already held by key {:?}{at}\n",
            report.source.uri,
            conflict.line,
            conflict.key,
            conflict.field,
            conflict.value,
            conflict.held_by
        ));
    }
    if !report.conflicts.is_empty() {
        screen.out(&format!(
            "  {} record(s) refused: a unique value was already taken\n",
            report.conflicts.len()
        ));
    }
    for refusal in &report.refused {
        screen.err(&format!(
            "refused: {}:{} key {:?}: {}\n",
            report.source.uri, refusal.line, refusal.key, refusal.reason
        ));
    }
    if !report.refused.is_empty() {
        screen.out(&format!(
            "  {} record(s) refused: a key they need is not known\n",
            report.refused.len()
        ));
    }
    screen.append(actions(report));
    screen.out(&deliveries(&report.deliveries));
    screen.append(super::targets::targets_text(&report.targets));
    screen
}

/// A change file's rows whose action did not fit their key: each on
/// stderr, with the policy that decided it, and a count after the others.
fn actions(report: &Report) -> Screen {
    let mut screen = Screen::default();
    for note in &report.actions {
        let policy = if note.outcome == "refused" {
            "error"
        } else {
            "accept"
        };
        screen.err(&format!(
            "{}: {}:{} key {:?}: {} ({} {policy})\n",
            note.outcome, report.source.uri, note.line, note.key, note.detail, note.problem
        ));
    }
    let refused = report
        .actions
        .iter()
        .filter(|note| note.outcome == "refused")
        .count();
    let accepted = report.actions.len() - refused;
    if !report.actions.is_empty() {
        screen.out(&format!(
            "  {} row(s) did not fit their key: {refused} refused, {accepted} accepted\n",
            report.actions.len()
        ));
    }
    screen
}

/// Each file written after a commit, and where it was uploaded.
pub fn deliveries(delivered: &[Delivered]) -> String {
    let mut out = String::new();
    for delivered in delivered {
        let mut uploads = if delivered.uploads.is_empty() {
            String::new()
        } else {
            format!(" -> {}", delivered.uploads.join(", "))
        };
        if delivered.uploads_skipped > 0 {
            let _ = write!(
                uploads,
                "; {} upload{} skipped (--skip-upload), still pending",
                delivered.uploads_skipped,
                if delivered.uploads_skipped == 1 {
                    ""
                } else {
                    "s"
                }
            );
        }
        let _ = writeln!(
            out,
            "  wrote {} ({}, {} records){uploads}",
            delivered.path, delivered.kind, delivered.records
        );
    }
    out
}

/// The invalid records' problems, each with its place (for stderr).
fn invalid(report: &Report) -> String {
    let mut out = String::new();
    for bad in &report.invalid {
        let key = bad
            .key
            .as_deref()
            .map(|k| format!(" key \"{}\"", terminal_safe(k)))
            .unwrap_or_default();
        for problem in &bad.problems {
            let _ = writeln!(
                out,
                "invalid: {}:{}{key}: {}",
                report.source.uri,
                bad.line,
                terminal_safe(problem)
            );
        }
    }
    if report.summary.invalid as usize > report.invalid.len() {
        let _ = writeln!(
            out,
            "invalid: ... and {} more",
            report.summary.invalid as usize - report.invalid.len()
        );
    }
    out
}

/// An integrity breach explained (for stderr): what failed, what to check,
/// and how to override.
pub fn breach_explanation(report: &Report, applied_nothing: bool) -> String {
    let error = breach_error(report, applied_nothing);
    let mut out = String::new();
    let _ = writeln!(out, "error: {}", error.message);
    for check in report.integrity.failures() {
        let _ = writeln!(out, "  {}: {}", check.name, check.detail);
    }
    let _ = writeln!(out, "help: {}", error.help.unwrap_or_default());
    out
}

/// An integrity breach as the `error` of a JSON document (the failed
/// checks themselves are in its `integrity`).
pub fn breach_error(report: &Report, applied_nothing: bool) -> ErrorJson {
    ErrorJson::new(
        "rollcall::integrity::breach",
        format!(
            "integrity breach in pipeline {}: {}",
            report.pipeline,
            if applied_nothing {
                "nothing was applied"
            } else {
                "a run would be refused"
            }
        ),
        Some(&format!(
            "check that the extract {} is complete (not truncated or filtered upstream); \
             if the change is real, re-run with `rollcall run --accept-breach`",
            report.source.uri,
        )),
    )
}
