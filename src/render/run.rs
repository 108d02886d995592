//! `rollcall run`'s text: the outcome, then the shared report.

use rollcall_engine::run::{CHANGES_SAMPLED, Report};
use rollcall_engine::vocabulary::Outcome;

use super::Screen;
use super::plan::changes_text;
use super::registry::registry_text_limited;
use super::report::tail;

/// `run`'s outcome and summary; for an extract already applied, one line
/// saying so.
pub fn run_text(report: &Report) -> Screen {
    let mut screen = Screen::default();
    let run = report
        .run_id
        .map(|id| format!(" run {id}"))
        .unwrap_or_default();
    if report.outcome == Outcome::NoNewExtract {
        screen.out(&format!(
            "{}{run}: no new extract: {}{} was already applied; nothing read (--force reads it again)\n",
            report.pipeline,
            report.source.uri,
            report
                .source
                .etag
                .as_deref()
                .map(|e| format!(" (etag {e})"))
                .unwrap_or_default(),
        ));
        return screen;
    }
    screen.out(&sampled_changes(report));
    screen.out(&registry_text_limited(&report.registry, CHANGES_SAMPLED));
    let outcome = match report.outcome {
        Outcome::Applied if report.overridden => "applied (integrity breach overridden)",
        Outcome::Applied => "applied",
        Outcome::NoChange => "no change",
        Outcome::NoNewExtract => "no new extract",
        Outcome::Rejected => "rejected",
        Outcome::Planned => "planned",
    };
    screen.append(tail(
        report,
        &format!("{}{run}: {outcome}\n", report.pipeline),
    ));
    screen
}

/// The first changes, as `plan` shows them, and how many more there were.
fn sampled_changes(report: &Report) -> String {
    let shown = &report.changes[..report.changes.len().min(CHANGES_SAMPLED)];
    let mut out = changes_text(shown);
    let s = &report.summary;
    let total = (s.created + s.updated + s.removed + s.reinstated) as usize;
    if total > shown.len() {
        out.push_str(&format!(
            "... and {} more changes (`--format json` lists every one; `rollcall show PIPELINE KEY` one record's)\n",
            total - shown.len()
        ));
    }
    out
}
