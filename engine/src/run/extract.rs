//! Deliveries across runs: a scheduled `run` never applies the same
//! delivery twice, and `delete-older` tidies the prefix after a success.
//!
//! Before a run takes the write lock, the declared source's newest delivery
//! is located (for S3: listed, not read) and compared with the source of
//! the pipeline's last applied run. The same URI and entity tag means
//! nothing new has arrived: a `no-change` run is recorded and nothing is
//! read. Otherwise the located delivery is handed to the run, so it reads
//! exactly the object that was checked without listing again.

use super::{Options, Report, RunError};
use crate::plan::Plan;
use crate::registry::RegistryReport;
use crate::source::{self, Opened};
use crate::store::{RunRow, Store, now_text};
use crate::vocabulary::{GateVerdict, Outcome, Summary};

/// What a run does after looking at the delivery.
pub(crate) enum Next {
    /// Read it, with these options (the located delivery pinned in them).
    Read(Options),
    /// It was applied before; this `no-change` run is already recorded.
    AlreadyApplied(Report),
}

/// Locates the declared source's delivery and skips it when the last
/// applied run read the same one (unless `--force` or `--resync`). `--input` runs
/// and local-file sources are passed through untouched: a replayed file is
/// always meant to be read.
pub(crate) fn before_run(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
    started_at: &str,
) -> Result<Next, RunError> {
    let remote = matches!(plan.source.location, rollcall_model::Location::S3(_));
    if options.input.is_some() || options.delivery.is_some() || !remote {
        return Ok(Next::Read(options.clone()));
    }
    let located = match source::locate(&plan.source, &plan.base_dir, None) {
        Ok(located) => located,
        Err(err) => {
            let err = RunError::from(err);
            record(store, &failed_row(plan, started_at, &err));
            return Err(err);
        }
    };
    // `--resync` means re-applying what the source already said: it reads
    // the same delivery again, like `--force`.
    if !options.force && options.resync.is_none() {
        let last = {
            let tx = store.read()?;
            let last = tx.last_applied(&plan.name)?;
            tx.rollback()?;
            last
        };
        if let Some(last) = last.filter(|run| run.source.same_delivery(&located.identity)) {
            return already_applied(plan, store, started_at, located.identity, last);
        }
    }
    Ok(Next::Read(Options {
        delivery: Some(located),
        ..options.clone()
    }))
}

/// Opens what the run reads: the delivery pinned by [`before_run`], else
/// the declared source (or `--input`) located now.
pub(crate) fn open(plan: &Plan, options: &Options) -> Result<Opened, source::SourceError> {
    match &options.delivery {
        Some(located) => located.clone().open(&plan.source, options.limits.clone()),
        None => source::open(
            &plan.source,
            &plan.base_dir,
            options.input.as_deref(),
            options.limits.clone(),
        ),
    }
}

/// After a run that committed, deletes the deliveries older than the one
/// it read when the source asks for it (`delete-older`). The run stands
/// whatever happens here: a failure is logged, not returned.
pub(crate) fn after_success(plan: &Plan, options: &Options) {
    let Some(located) = &options.delivery else {
        return;
    };
    match located.delete_older(&plan.source) {
        Ok(deleted) if deleted.is_empty() => {}
        Ok(deleted) => tracing::info!(
            pipeline = %plan.name,
            count = deleted.len(),
            "deleted older deliveries: {}",
            deleted.join(", ")
        ),
        Err(err) => tracing::warn!(
            pipeline = %plan.name,
            "the run was applied, but deleting older deliveries failed: {err}"
        ),
    }
}

/// Records and reports a run that found its delivery already applied.
///
/// The row carries the figures of the run that applied the same bytes, all
/// unchanged: re-reading them would give exactly that, and it keeps the row
/// a true baseline for the next run's `min-ratio`.
fn already_applied(
    plan: &Plan,
    store: &mut Store,
    started_at: &str,
    mut identity: source::SourceIdentity,
    last: RunRow,
) -> Result<Next, RunError> {
    identity.sha256 = last.source.sha256.clone();
    let summary = Summary {
        read: last.summary.read,
        valid: last.summary.valid,
        invalid: last.summary.invalid,
        filtered: last.summary.filtered,
        held: last.summary.held,
        unchanged: last.summary.valid,
        ..Summary::default()
    };
    let row = RunRow {
        id: 0,
        pipeline: plan.name.clone(),
        started_at: started_at.to_owned(),
        finished_at: now_text(),
        outcome: "no-change".into(),
        overridden: false,
        forced: false,
        source: identity.clone(),
        summary,
        error: None,
        checks: Vec::new(),
        delivered_at: None,
    };
    let tx = store.write()?;
    let run_id = tx.insert_run(&row)?;
    tx.commit()?;
    Ok(Next::AlreadyApplied(Report {
        pipeline: plan.name.clone(),
        run_id: Some(run_id),
        outcome: Outcome::NoNewExtract,
        overridden: false,
        source: identity,
        summary,
        integrity: GateVerdict {
            passed: true,
            checks: Vec::new(),
        },
        changes: Vec::new(),
        invalid: Vec::new(),
        registry: RegistryReport::default(),
        lookups: Vec::new(),
        conflicts: Vec::new(),
        deliveries: Vec::new(),
    }))
}

fn failed_row(plan: &Plan, started_at: &str, err: &RunError) -> RunRow {
    RunRow {
        id: 0,
        pipeline: plan.name.clone(),
        started_at: started_at.to_owned(),
        finished_at: now_text(),
        outcome: "failed".into(),
        overridden: false,
        forced: false,
        source: source::SourceIdentity::default(),
        summary: Summary::default(),
        error: Some(err.to_string()),
        checks: Vec::new(),
        delivered_at: None,
    }
}

/// Best effort, like the run's own failure record: the error is what the
/// caller reports.
fn record(store: &mut Store, row: &RunRow) {
    let recorded = store.write().and_then(|tx| {
        tx.insert_run(row)?;
        tx.commit()
    });
    if let Err(err) = recorded {
        tracing::warn!("could not record the failed run: {err}");
    }
}
