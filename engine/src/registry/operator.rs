//! Operator commands (`freeze`, `unfreeze`, `purge`) change the store outside
//! any pipeline's run; each is recorded as a run of its own pseudo-pipeline
//! (`@freeze`, ...), so the change log's entries have a run to belong to and
//! `rollcall history @purge` lists them.

use crate::clock::Instant;
use crate::source::SourceIdentity;
use crate::store::{Claim, RunRow, Store, StoreError, Tx, now_text};
use crate::vocabulary::Summary;

use super::ledger::Ledger;
use super::{Counts, RegistryReport, Result};

/// The pseudo-pipeline an operator command records its runs under; `@` is
/// not allowed in pipeline names, so it never clashes with one.
pub fn operator_pipeline(command: &str) -> String {
    format!("@{command}")
}

/// Runs `change` in one write transaction recorded as a run of `@command`.
/// An error rolls everything back and records nothing.
pub fn operator_run<T, E: From<StoreError>>(
    store: &mut Store,
    command: &str,
    change: impl FnOnce(&Tx<'_>, i64) -> std::result::Result<(T, Summary), E>,
) -> std::result::Result<(T, i64), E> {
    let started = now_text();
    let tx = store.write(&Claim::Whole)?;
    let mut row = RunRow {
        id: 0,
        pipeline: operator_pipeline(command),
        started_at: started.clone(),
        finished_at: started,
        outcome: "failed".into(),
        overridden: false,
        forced: false,
        source: SourceIdentity::default(),
        summary: Summary::default(),
        error: None,
        checks: Vec::new(),
        delivered_at: None,
    };
    let run = tx.insert_run(&row)?;
    let (value, summary) = change(&tx, run)?;
    row.finished_at = now_text();
    row.summary = summary;
    row.outcome = "applied".into();
    tx.update_run(run, &row)?;
    // An operator command has no outputs to deliver.
    tx.mark_delivered(run, &row.finished_at)?;
    tx.commit()?;
    Ok((value, run))
}

/// The registry's part of `rollcall purge`: grace periods and purges of
/// every system, with no pipeline of its own.
pub struct PurgeSession<'a, 't> {
    ledger: Ledger<'a, 't>,
}

impl<'a, 't> PurgeSession<'a, 't> {
    /// A purge session run by `by`. With `run`, changes are written into
    /// `tx`; without, they are only reported (`--dry-run`).
    pub fn new(tx: &'a Tx<'t>, run: Option<i64>, now: Instant, by: &str) -> Self {
        let mut ledger = Ledger::new(tx, operator_pipeline("purge"), run, now);
        ledger.operator = Some(by.to_owned());
        PurgeSession { ledger }
    }

    /// Ends the grace periods that ended, recalculates the persons that
    /// changed, and purges the persons due, across every system.
    pub fn finish(mut self) -> Result<(RegistryReport, Counts)> {
        self.ledger.end_grace_periods(None)?;
        self.ledger.recalculate_touched()?;
        self.ledger.purge_due(None)?;
        Ok((self.ledger.report, self.ledger.counts))
    }
}

/// What `rollcall purge` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PurgeReport {
    /// The `@purge` run's id (`None` for a dry run).
    pub run_id: Option<i64>,
    /// Grace periods ended and persons deactivated on the way.
    pub transitions: u64,
    /// Persons purged.
    pub purged: u64,
    /// The details.
    pub registry: RegistryReport,
}

/// Ends grace periods and purges persons due at `now`, across every system;
/// `by` (who runs it) is recorded with each purge.
pub fn purge(store: &mut Store, now: Instant, dry_run: bool, by: &str) -> Result<PurgeReport> {
    let finish = |(registry, counts): (RegistryReport, Counts), run_id| PurgeReport {
        run_id,
        transitions: counts.transitions,
        purged: counts.purged,
        registry,
    };
    if dry_run {
        let tx = store.read()?;
        let found = PurgeSession::new(&tx, None, now, by).finish()?;
        tx.rollback()?;
        return Ok(finish(found, None));
    }
    let (found, run) = operator_run(store, "purge", |tx, run| {
        let found = PurgeSession::new(tx, Some(run), now, by).finish()?;
        let summary = Summary {
            transitions: found.1.transitions,
            purged: found.1.purged,
            ..Summary::default()
        };
        Ok::<_, super::RegistryError>((found, summary))
    })?;
    Ok(finish(found, Some(run)))
}
