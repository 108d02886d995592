//! The words a run is described in: its counts, how it ended, the integrity
//! checks it was judged by, and the fingerprint that identifies a record's
//! mapped values.
//!
//! The diff, the integrity gate, the store, the run and its outputs all
//! speak of these; keeping them here, importing nothing of the engine,
//! lets each of those modules depend on this one instead of on the others.

use serde::Serialize;

/// The xxh3-128 hash of a record's encoded mapped fields: equal values,
/// equal fingerprint, so the diff compares hashes, not records.
pub type Fingerprint = u128;

/// Record counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Summary {
    /// Records decoded from the source.
    pub read: u64,
    /// Records that mapped and validated and passed the filters.
    pub valid: u64,
    /// Records that failed mapping or validation.
    pub invalid: u64,
    /// Records dropped by filters.
    pub filtered: u64,
    /// Keys seen for the first time.
    pub created: u64,
    /// Keys whose mapped fields changed.
    pub updated: u64,
    /// Keys present before and gone now.
    pub removed: u64,
    /// Removed keys that came back.
    pub reinstated: u64,
    /// Keys with no change.
    pub unchanged: u64,
    /// Present keys whose record was invalid this time: kept as they were.
    pub held: u64,
    /// New keys held because their match found several persons.
    pub ambiguous: u64,
    /// Lifecycle transitions: role and person status or limbo changes.
    pub transitions: u64,
    /// Persons purged after their `purge-after` period.
    pub purged: u64,
}

impl Summary {
    /// True when the run changes nothing in the store.
    pub fn is_no_change(&self) -> bool {
        self.created
            + self.updated
            + self.removed
            + self.reinstated
            + self.transitions
            + self.purged
            == 0
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// `plan`: nothing was written.
    Planned,
    /// The change set was committed.
    Applied,
    /// The extract matched the store; nothing to change.
    NoChange,
    /// The newest extract is the one last applied: nothing was read
    /// (recorded as a `no-change` run that read 0 records).
    #[serde(rename = "no-new-extract")]
    NoNewExtract,
    /// The integrity gate refused the extract; nothing was applied.
    Rejected,
}

impl Outcome {
    /// The outcome as the run's history records it.
    pub fn recorded_as(self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::Applied => "applied",
            Outcome::NoChange | Outcome::NoNewExtract => "no-change",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One evaluated integrity threshold. `limit` and `actual` are in the same
/// unit: a number of records, or for `min-ratio` a ratio.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Check {
    /// `min-ratio`, `max-removed`, `max-invalid`, `min-records`, or the
    /// built-in `no-valid-records`.
    pub name: String,
    /// The threshold.
    pub limit: f64,
    /// The measured figure; `None` when there was nothing to compare with.
    pub actual: Option<f64>,
    /// The figures in words, for people.
    pub detail: String,
    /// Whether the run is within the threshold.
    pub passed: bool,
}

/// The integrity gate's answer on one change set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct GateVerdict {
    /// True when every check passed.
    pub passed: bool,
    /// Every check evaluated, in declaration order.
    pub checks: Vec<Check>,
}

impl GateVerdict {
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// The stages of a run as progress displays and metrics name them, in the
/// order a run goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Finding the newest extract (listing S3), before the lock.
    Locating,
    /// Streaming the extract: decode, map, join, diff, write as we go.
    Reading,
    /// After the stream: the keys the extract lacks become removals.
    Diffing,
    /// The registry's end of run: grace, status, purges, links.
    Registry,
    /// Committing the transaction.
    Committing,
    /// Writing the sinks' files.
    WritingOutputs,
    /// Uploading a written file.
    Uploading,
}

impl Phase {
    /// The phase in words, as a progress display shows it.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Locating => "locating",
            Phase::Reading => "reading",
            Phase::Diffing => "diffing",
            Phase::Registry => "registry",
            Phase::Committing => "committing",
            Phase::WritingOutputs => "writing outputs",
            Phase::Uploading => "uploading",
        }
    }

    /// The phase as one word, for metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Phase::WritingOutputs => "writing_outputs",
            other => other.label(),
        }
    }
}
