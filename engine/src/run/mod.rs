//! A run: locate the extract, read it, map and join each record, diff it
//! against the state store, hand it to the registry, gate the complete
//! change set on the integrity thresholds, then commit it in one
//! transaction (or roll it all back) and write the outputs.
//!
//! One file per stage, in the order data flows:
//! [`locate`] (is there a new extract?) → [`read`] (open it, decode on a
//! worker thread) → [`map`] (what decoding made of each record) → [`join`]
//! (lookups, removals, unique claims) → [`diff`] (against the prior state)
//! → [`registry`] (what the record does to its person) → [`gate`]
//! (integrity thresholds on the whole change set) → [`commit`] (the run's
//! transaction) → [`outputs`] (the sinks' files, after the commit).
//! [`stream`] is the pass that drives the record stages.
//!
//! `plan` and `apply` share that pass; they differ in the transaction they
//! hold (a read snapshot or the write lock) and in whether each change is
//! written as it is found. Writing as we go inside the still-uncommitted
//! transaction keeps memory flat on million-record extracts: nothing is
//! visible to anyone, or durable, until the gate has passed and the
//! transaction commits.

mod actions;
mod commit;
mod diff;
mod error;
mod expect;
mod gate;
mod join;
mod locate;
mod map;
mod outputs;
mod preview;
mod read;
mod registry;
mod stream;

use std::path::PathBuf;

use serde::Serialize;

use crate::clock::Instant;
use crate::diff::Change;
use crate::lookup::LookupReport;
use crate::plan::Plan;
use crate::registry::RegistryReport;
use crate::sink::{self, Delivered};
use crate::source::{Limits, SourceIdentity};
use crate::store::{Store, now_text};
use crate::target::{self, DeliverOptions, TargetReport};
use crate::unique::Conflict;
use crate::vocabulary::{GateVerdict, Outcome, Phase, Summary};

pub use actions::ActionNote;
pub use error::RunError;
pub use expect::{Expected, Moved, digest, hex, store_moved};
pub use map::InvalidRecord;

/// How a run is carried out.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read this local file instead of the pipeline's declared source.
    pub input: Option<PathBuf>,
    /// Apply even when the integrity gate fails (recorded as overridden).
    pub accept_breach: bool,
    /// Accept an extract with no records at all (the gate still judges it).
    pub allow_empty: bool,
    /// Keep every change in the report (for `plan` output and sinks).
    pub collect_changes: bool,
    /// Decoder limits.
    pub limits: Limits,
    /// `--resync`: re-apply unchanged records too; every record when the list
    /// is empty, else the records with these keys.
    pub resync: Option<Vec<String>>,
    /// The time lifecycle decisions are made at (`ROLLCALL_NOW`); the wall
    /// clock when `None`.
    pub now: Option<Instant>,
    /// Write sink files into this folder instead of each sink's own.
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them (replays, backfills).
    pub skip_uploads: bool,
    /// Read the declared source's newest extract even when it is the one
    /// last applied (recorded as forced).
    pub force: bool,
    /// Applying a saved plan: what the store, the extract and the change
    /// set must be, or the run is rolled back, unrecorded.
    pub expected: Option<Expected>,
}

impl Options {
    /// Where this run's outputs go.
    pub fn outputs(&self) -> sink::OutputOptions {
        sink::OutputOptions {
            out_dir: self.out_dir.clone(),
            skip_uploads: self.skip_uploads,
        }
    }
}

/// Receives progress while a run goes; the CLI draws a bar with it.
pub trait Progress {
    /// `read` records have been read so far.
    fn records(&self, _read: u64) {}
    /// `read` raw (still compressed) bytes of the extract have been read,
    /// of `total` when its size is known.
    fn bytes(&self, _read: u64, _total: Option<u64>) {}
    /// The run has entered `phase`.
    fn phase(&self, _phase: Phase) {}
}

/// Progress that shows nothing.
pub struct Silent;

impl Progress for Silent {}

/// A record refused on its own: the key it updates or removes, or the key
/// one of its fields names, is not known (a change file's update of a user
/// never created, or an archive handing work to nobody).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Refusal {
    /// Line of the refused record.
    pub line: u64,
    /// Its key.
    pub key: String,
    /// What is unknown.
    pub reason: String,
}

/// What a run found and did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    /// Pipeline name.
    pub pipeline: String,
    /// Run id in the store (`None` for `plan`).
    pub run_id: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Applied although the gate failed.
    pub overridden: bool,
    /// The extract read.
    pub source: SourceIdentity,
    /// Counts.
    pub summary: Summary,
    /// The integrity gate's verdict.
    pub integrity: GateVerdict,
    /// Per-record changes: all when collected, else the first
    /// [`CHANGES_SAMPLED`].
    pub changes: Vec<Change>,
    /// Invalid records (at most the first thousand).
    pub invalid: Vec<InvalidRecord>,
    /// Matches, ambiguities, frozen values held, lifecycle transitions,
    /// unresolved links and purges.
    pub registry: RegistryReport,
    /// What each lookup matched and missed.
    pub lookups: Vec<LookupReport>,
    /// Records refused because a unique value was taken (all of them).
    pub conflicts: Vec<Conflict>,
    /// Records refused because the key they need is unknown (all of them).
    pub refused: Vec<Refusal>,
    /// Rows of a change file whose action did not fit their key (an add of
    /// a present key, a modify or delete of an unknown one), refused or
    /// accepted (all of them). Not read back from a saved plan: `apply`
    /// finds them again when it re-runs the extract.
    #[serde(default, skip_deserializing)]
    pub actions: Vec<ActionNote>,
    /// Files written and delivered after the commit (never in a saved plan).
    #[serde(skip_deserializing)]
    pub deliveries: Vec<Delivered>,
    /// What each target was sent from the outbox (with `plan`: what it
    /// would be sent); never in a saved plan.
    #[serde(skip_deserializing)]
    pub targets: Vec<TargetReport>,
}

impl Report {
    /// Whether a target refused objects, held removals or was not reached.
    pub fn targets_failed(&self) -> bool {
        self.targets.iter().any(TargetReport::has_problems)
    }
}

/// Works out what a run would change, writing nothing. Without a store
/// (no state file yet) the prior state is empty.
pub fn plan(
    plan: &Plan,
    store: Option<&mut Store>,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let mut empty;
    let has_store = store.is_some();
    let store = match store {
        Some(store) => store,
        None => {
            empty = Store::in_memory()?;
            &mut empty
        }
    };
    let tx = store.read()?;
    let mut report = stream::stream(plan, &tx, None, options, None, progress)?;
    tx.rollback()?;
    report.outcome = Outcome::Planned;
    if !plan.targets.is_empty() {
        // What delivering after this run would send, against each
        // target's real listing. Nothing is sent or marked.
        report.targets = preview::targets(plan, has_store.then_some(store), options, progress)?;
    }
    Ok(report)
}

/// Runs the pipeline and applies its change set in one transaction, unless
/// the integrity gate refuses it (and `accept_breach` is off); then writes
/// and uploads the outputs of an applied run.
pub fn apply(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let options = &Options {
        collect_changes: options.collect_changes || sink::needs_changes(plan),
        ..options.clone()
    };
    let missing = crate::needs::missing_for_outputs(plan, options.skip_uploads);
    if !missing.is_empty() {
        return Err(RunError::MissingSettings {
            pipeline: plan.name.clone(),
            missing,
        });
    }
    crate::paths::check_outputs(
        plan,
        store,
        options.input.as_deref(),
        options.out_dir.as_deref(),
    )?;
    outputs::warn_undelivered(plan, store);
    let started_at = now_text();
    progress.phase(Phase::Locating);
    let pinned = match locate::locate(plan, store, options, &started_at)? {
        locate::Located::Read(pinned) => pinned,
        locate::Located::AlreadyApplied(mut report) => {
            // Nothing new to read, but what the outbox holds is delivered.
            report.targets = deliver_targets(plan, store, options)?;
            return Ok(report);
        }
    };
    let mut report =
        commit::apply_in_transaction(plan, store, options, pinned.as_ref(), &started_at, progress)?;
    if let (Some(run_id), Outcome::Applied | Outcome::NoChange) = (report.run_id, report.outcome) {
        if let Some(located) = &pinned {
            commit::delete_older(plan, located);
        }
        if !plan.sinks.is_empty() {
            progress.phase(Phase::WritingOutputs);
        }
        report = outputs::write(plan, store, run_id, report, options, progress)?;
    }
    if matches!(report.outcome, Outcome::Applied | Outcome::NoChange) {
        report.targets = deliver_targets(plan, store, options)?;
    }
    Ok(report)
}

/// Works through the targets' outbox after the commit (queued by this run
/// or left by an earlier one); `--skip-upload` sends nothing and marks
/// nothing delivered.
fn deliver_targets(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
) -> Result<Vec<TargetReport>, RunError> {
    if plan.targets.is_empty() || options.skip_uploads {
        return Ok(Vec::new());
    }
    let deliver = DeliverOptions {
        send: true,
        always: false,
    };
    Ok(target::deliver(plan, store, deliver)?)
}

/// What the pass has found so far: the report's counts and lists.
struct Tally {
    summary: Summary,
    /// Whether each change is kept for the report (`collect_changes`).
    collect_changes: bool,
    changes: Vec<Change>,
    invalid: Vec<InvalidRecord>,
    conflicts: Vec<Conflict>,
    refused: Vec<Refusal>,
    actions: Vec<ActionNote>,
    /// Invalid records whose key could not be read: any of them may be a
    /// key that is absent only in appearance, so they hold the removals.
    unkeyed: u64,
}

/// How many changes a run that does not collect them all still keeps, so
/// its text can show the first of them, as `plan` does, in bounded memory.
pub const CHANGES_SAMPLED: usize = 20;

impl Tally {
    /// Whether the next change is kept for the report: every one when
    /// collecting, else the first [`CHANGES_SAMPLED`].
    fn keeps_change(&self) -> bool {
        self.collect_changes || self.changes.len() < CHANGES_SAMPLED
    }

    fn new(collect_changes: bool) -> Tally {
        Tally {
            summary: Summary::default(),
            collect_changes,
            changes: Vec::new(),
            invalid: Vec::new(),
            conflicts: Vec::new(),
            refused: Vec::new(),
            actions: Vec::new(),
            unkeyed: 0,
        }
    }
}

/// Logs (at debug level) how long a run has taken up to the end of a phase,
/// so an operator can see where a slow run's time goes.
fn phase_done(since: std::time::Instant, phase: &'static str) {
    tracing::debug!(elapsed_ms = since.elapsed().as_millis() as u64, "{phase}");
}
