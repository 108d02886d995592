//! Runs and the integrity checks each one evaluated.

use super::Result;
use crate::source::SourceIdentity;
use crate::vocabulary::{Check, Summary};

/// One run as recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    /// Run id (0 before it is inserted).
    pub id: i64,
    /// Pipeline name.
    pub pipeline: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// `applied`, `rejected`, `failed` or `no-change`.
    pub outcome: String,
    /// Applied despite a breach (`--accept-breach`).
    pub overridden: bool,
    /// Re-applied on request (`--force`, `--resync`).
    pub forced: bool,
    /// The delivery read.
    pub source: SourceIdentity,
    /// Record counts.
    pub summary: Summary,
    /// The error, for failed runs.
    pub error: Option<String>,
    /// Integrity checks evaluated.
    pub checks: Vec<Check>,
    /// When its outputs were written and uploaded; `None` for an applied
    /// run means they never were (see [`RunRow::undelivered`]).
    pub delivered_at: Option<String>,
}

impl RunRow {
    /// An applied run whose outputs were never written: the process was
    /// stopped after the commit, or delivering failed.
    pub fn undelivered(&self) -> bool {
        self.outcome == "applied" && self.delivered_at.is_none()
    }
}

/// Runs: one row each with their checks, and the history of a pipeline.
pub trait Runs {
    /// Records a run and its checks; returns its id.
    fn insert_run(&self, run: &RunRow) -> Result<i64>;

    /// Rewrites a run's row and checks with its final figures.
    fn update_run(&self, id: i64, run: &RunRow) -> Result<()>;

    /// The pipeline's latest run that read an extract and applied it (or
    /// found nothing to change), the baseline for `min-ratio` and "no new
    /// extract"; a run that found its extract already applied (0 read) is
    /// not one.
    fn last_applied(&self, pipeline: &str) -> Result<Option<RunRow>>;

    /// The pipeline's newest applied run, when its outputs were never
    /// delivered.
    fn undelivered_run(&self, pipeline: &str) -> Result<Option<RunRow>>;

    /// Records that a run's outputs were written and uploaded at `at`.
    fn mark_delivered(&self, run: i64, at: &str) -> Result<()>;

    /// One run by its id, with its checks.
    fn run(&self, id: i64) -> Result<Option<RunRow>>;

    /// The pipeline's runs, newest first.
    fn history(&self, pipeline: &str, limit: usize) -> Result<Vec<RunRow>>;
}
