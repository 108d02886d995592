//! Stage 8, commit: `apply` runs the pass inside one write transaction
//! (`BEGIN IMMEDIATE`) and commits its change set when the gate passed (or
//! `--accept-breach` overrides it), else rolls it all back and records only
//! a `rejected` run. Any error rolls back the same way and records a
//! `failed` run. After a commit, older extracts are deleted when the
//! source asks for it (`delete-older`).

use super::{Options, Progress, Report, RunError, phase_done, stream};
use crate::plan::Plan;
use crate::source::{Located, SourceIdentity};
use crate::store::{Claim, RunRow, Store, Tx, now_text};
use crate::vocabulary::{Outcome, Phase, Summary};

/// Runs the pass in the run's transaction and commits or rolls back. The
/// report's outcome is `Applied`, `NoChange` or `Rejected`, with its run id.
pub(super) fn apply_in_transaction(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
    pinned: Option<&Located>,
    started_at: &str,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let tx = store.write(&Claim::run(&plan.name, &plan.system))?;
    let mut row = RunRow {
        id: 0,
        pipeline: plan.name.clone(),
        started_at: started_at.to_owned(),
        finished_at: started_at.to_owned(),
        outcome: "failed".into(),
        overridden: false,
        forced: options.resync.is_some() || options.force,
        source: SourceIdentity::default(),
        summary: Summary::default(),
        error: None,
        checks: Vec::new(),
        delivered_at: None,
    };
    // The run's own row is written inside the transaction so its changes can
    // reference it; a rollback takes it away with them.
    let run_id = tx.insert_run(&row)?;
    let report = match pass(plan, &tx, run_id, options, pinned, progress) {
        Ok(report) => report,
        Err(err) => {
            // SQLite rolls back by itself on some errors (a full disk, a
            // failed write); the rollback's own "no transaction is active"
            // must neither replace nor sit beside the error that says why
            // the run failed, so it is only a debug line.
            if let Err(rollback) = tx.rollback() {
                tracing::debug!("rolling back after the error: {rollback}");
            }
            // A refused saved plan leaves the store exactly as it was: its
            // serial is what the next plan binds to.
            if !matches!(err, RunError::Moved(_)) {
                row.finished_at = now_text();
                row.error = Some(err.to_string());
                record_alone(store, &Claim::run(&plan.name, &plan.system), &row);
            }
            if matches!(err, RunError::Interrupted(_)) {
                // Leave no large `-wal` behind a stopped run.
                store.checkpoint();
            }
            return Err(err);
        }
    };
    row.finished_at = now_text();
    row.source = report.source.clone();
    row.summary = report.summary;
    row.checks = report.integrity.checks.clone();
    if report.integrity.passed || options.accept_breach {
        progress.phase(Phase::Committing);
        commit(plan, tx, run_id, row, report)
    } else {
        tx.rollback()?;
        reject(store, &Claim::run(&plan.name, &plan.system), row, report)
    }
}

/// The streaming pass, and the outputs' own check of its change set.
fn pass(
    plan: &Plan,
    tx: &Tx<'_>,
    run_id: i64,
    options: &Options,
    pinned: Option<&Located>,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    if let Some(expected) = &options.expected {
        expected.check_store(tx)?;
    }
    let report = stream::stream(plan, tx, Some(run_id), options, pinned, progress)?;
    if let Some(expected) = &options.expected {
        expected.check_report(&report)?;
    }
    crate::sink::preflight(plan, tx, &report.changes)?;
    // The last point a stop request can take the run back.
    crate::interrupt::check()?;
    Ok(report)
}

/// Commits a change set the gate let through (or that overrides it).
fn commit(
    plan: &Plan,
    tx: Tx<'_>,
    run_id: i64,
    mut row: RunRow,
    mut report: Report,
) -> Result<Report, RunError> {
    report.overridden = !report.integrity.passed;
    report.outcome = if report.summary.is_no_change() {
        Outcome::NoChange
    } else {
        Outcome::Applied
    };
    row.overridden = report.overridden;
    row.outcome = report.outcome.recorded_as().into();
    tx.update_run(run_id, &row)?;
    if report.outcome == Outcome::Applied {
        // The targets' outbox: queued with the change set, so a committed
        // change is never without its delivery, whatever happens next.
        for target in &plan.targets {
            tx.queue_delivery(
                &target.name.value,
                &plan.system,
                &plan.name,
                run_id,
                &row.finished_at,
            )?;
        }
    }
    let phase = std::time::Instant::now();
    tx.commit()?;
    phase_done(phase, "committed");
    report.run_id = Some(run_id);
    Ok(report)
}

/// Records a run the gate refused, its transaction already rolled back.
fn reject(
    store: &mut Store,
    claim: &Claim<'_>,
    mut row: RunRow,
    mut report: Report,
) -> Result<Report, RunError> {
    report.outcome = Outcome::Rejected;
    row.outcome = Outcome::Rejected.recorded_as().into();
    let tx = store.write(claim)?;
    report.run_id = Some(tx.insert_run(&row)?);
    tx.commit()?;
    Ok(report)
}

/// Records a failed run after its transaction was rolled back. Best effort:
/// the failure itself is what the caller reports.
pub(super) fn record_alone(store: &mut Store, claim: &Claim<'_>, row: &RunRow) {
    let recorded = store.write(claim).and_then(|tx| {
        tx.insert_run(row)?;
        tx.commit()
    });
    if let Err(err) = recorded {
        tracing::warn!("could not record the failed run: {err}");
    }
}

/// After a run that committed, deletes the extracts older than the one it
/// read when the source asks for it (`delete-older`). The run stands
/// whatever happens here: a failure is logged, not returned.
pub(super) fn delete_older(plan: &Plan, located: &Located) {
    match located.delete_older(&plan.source) {
        Ok(deleted) if deleted.is_empty() => {}
        Ok(deleted) => tracing::info!(
            pipeline = %plan.name,
            count = deleted.len(),
            "deleted older extracts: {}",
            deleted.join(", ")
        ),
        Err(err) => tracing::warn!(
            pipeline = %plan.name,
            "the run was applied, but deleting older extracts failed: {err}"
        ),
    }
}
