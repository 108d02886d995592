//! Notifications: email (SMTP) and webhook messages about how a run ended.
//!
//! A notification is a side effect of the run, never part of its outcome: a
//! failure to send is logged and returned for display, and the run's own
//! result and exit code stay what they were.

mod email;
mod webhook;

use rollcall_model::{Channel, Notify, NotifyOn};
use serde::Serialize;

use crate::run::Report;
use crate::vocabulary::{Outcome, Summary};

/// How a run ended, as notifications name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ended {
    /// The change set was committed.
    Applied,
    /// Nothing to change.
    NoChange,
    /// Refused by the integrity gate.
    Rejected,
    /// Stopped by an error; nothing was applied (or delivery failed).
    Failed,
}

impl Ended {
    /// The word used in subjects and bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Applied => "applied",
            Ended::NoChange => "no change",
            Ended::Rejected => "rejected (integrity breach)",
            Ended::Failed => "failed",
        }
    }
}

/// What a notification says about a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunEvent {
    /// Pipeline name.
    pub pipeline: String,
    /// Run id in the store, when the run was recorded.
    pub run: Option<i64>,
    /// How it ended.
    pub outcome: Ended,
    /// The extract read, when known.
    pub source: Option<String>,
    /// Counts, when the run got that far.
    pub summary: Option<Summary>,
    /// Integrity checks that failed, with their figures.
    pub failed_checks: Vec<String>,
    /// The error, for a failed run.
    pub error: Option<String>,
}

impl RunEvent {
    /// The event of a run that finished with a report.
    pub fn from_report(report: &Report) -> RunEvent {
        RunEvent {
            pipeline: report.pipeline.clone(),
            run: report.run_id,
            outcome: match report.outcome {
                Outcome::Rejected => Ended::Rejected,
                Outcome::NoChange | Outcome::NoNewExtract => Ended::NoChange,
                Outcome::Applied | Outcome::Planned => Ended::Applied,
            },
            source: Some(report.source.uri.clone()),
            summary: Some(report.summary),
            failed_checks: report
                .integrity
                .failures()
                .map(|check| format!("{}: {}", check.name, check.detail))
                .collect(),
            error: None,
        }
    }

    /// The event of a run stopped by `error` (its `run` unknown until the
    /// caller looks it up).
    pub fn failed(pipeline: &str, error: &dyn std::fmt::Display) -> RunEvent {
        RunEvent {
            pipeline: pipeline.to_owned(),
            run: None,
            outcome: Ended::Failed,
            source: None,
            summary: None,
            failed_checks: Vec::new(),
            error: Some(error.to_string()),
        }
    }

    /// A subject line: `{pipeline}` and `{outcome}` in `template` replaced.
    fn subject(&self, template: Option<&str>) -> String {
        template
            .unwrap_or("rollcall: pipeline {pipeline} {outcome}")
            .replace("{pipeline}", &self.pipeline)
            .replace("{outcome}", self.outcome.as_str())
    }

    /// The plain-text body: pipeline, run, outcome, figures, error.
    fn body(&self) -> String {
        let mut body = format!("Pipeline: {}\n", self.pipeline);
        // A failed run is recorded on its own after the rollback; the
        // caller sets its id when the store could say it.
        body += &format!(
            "Run: {}\n",
            self.run
                .map(|id| id.to_string())
                .unwrap_or_else(|| format!("see `rollcall history {}`", self.pipeline))
        );
        body += &format!("Outcome: {}\n", self.outcome.as_str());
        if let Some(source) = &self.source {
            body += &format!("Source: {source}\n");
        }
        if let Some(s) = &self.summary {
            body += &format!(
                "Figures: {} read, {} valid, {} invalid, {} filtered; {} created, {} updated, {} removed, {} reinstated, {} unchanged, {} held\n",
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
            );
        }
        for check in &self.failed_checks {
            body += &format!("Failed check: {check}\n");
        }
        if let Some(error) = &self.error {
            body += &format!("Error: {error}\n");
        }
        body
    }
}

/// Whether a notification is sent for this outcome.
fn wanted(on: NotifyOn, outcome: Ended) -> bool {
    match on {
        NotifyOn::Always => true,
        NotifyOn::Failure => outcome == Ended::Failed,
        NotifyOn::Breach => outcome == Ended::Rejected,
        NotifyOn::Problem => matches!(outcome, Ended::Failed | Ended::Rejected),
    }
}

/// Sends every notification the outcome calls for. Returns the failures
/// (already logged); they never change the run's outcome.
pub fn send(notifications: &[Notify], event: &RunEvent) -> Vec<String> {
    let mut failures = Vec::new();
    for notify in notifications.iter().filter(|n| wanted(n.on, event.outcome)) {
        let sent = match &notify.channel {
            Channel::Email { to, from, subject } => email::send(
                to,
                from.as_ref(),
                &event.subject(subject.as_deref()),
                &event.body(),
            ),
            Channel::Webhook { url } => webhook::send(url, event),
        };
        if let Err(failure) = sent {
            tracing::warn!("notification not sent: {failure}");
            failures.push(failure);
        }
    }
    failures
}
