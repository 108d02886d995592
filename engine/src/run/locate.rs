//! Stage 1, locate: a scheduled `run` never applies the same extract twice.
//!
//! Before a run takes the write lock, the declared source's newest extract
//! is located (for S3: listed, not read) and compared with the source of
//! the pipeline's last applied run. The same URI and entity tag means
//! nothing new has arrived: a `no-change` run is recorded and nothing is
//! read. Otherwise the located extract is handed on, so the run reads
//! exactly the object that was checked without listing again.

use super::commit::record_alone;
use super::{Options, Report, RunError};
use crate::plan::Plan;
use crate::registry::RegistryReport;
use crate::source;
use crate::store::{Claim, RunRow, Store, now_text};
use crate::vocabulary::{GateVerdict, Outcome, Summary};

/// What the run does after looking for its extract.
// Made once per run and taken apart at once: boxing either side buys nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Located {
    /// Read the extract: this one, already located (a declared S3 source),
    /// or, when `None`, the one the read stage locates (`--input`, files).
    Read(Option<source::Located>),
    /// It was applied before; this `no-change` run is already recorded.
    AlreadyApplied(Report),
}

/// Locates the declared source's extract and skips it when the last
/// applied run read the same one (unless `--force` or `--resync`). `--input` runs
/// and local-file sources are passed through untouched: a replayed file is
/// always meant to be read.
pub(super) fn locate(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
    started_at: &str,
) -> Result<Located, RunError> {
    let remote = matches!(plan.source.location, rollcall_model::Location::S3(_));
    if options.input.is_some() || !remote {
        return Ok(Located::Read(None));
    }
    let located = match source::locate(&plan.source, &plan.base_dir, None) {
        Ok(located) => located,
        Err(err) => {
            let err = RunError::from(err);
            record_alone(
                store,
                &Claim::run(&plan.name, &plan.system),
                &failed_row(plan, started_at, &err),
            );
            return Err(err);
        }
    };
    // `--resync` means re-applying what the source already said: it reads
    // the same extract again, like `--force`.
    if !options.force && options.resync.is_none() {
        let last = {
            let tx = store.read()?;
            let last = tx.last_applied(&plan.name)?;
            tx.rollback()?;
            last
        };
        if let Some(last) = last.filter(|run| run.source.same_extract(&located.identity)) {
            return already_applied(plan, store, started_at, located.identity, last);
        }
    }
    Ok(Located::Read(Some(located)))
}

/// Records and reports a run that found its extract already applied.
///
/// The row says what happened: 0 records read. It is never a baseline
/// (`Runs::last_applied` skips it), so the next run's `min-ratio` still
/// compares with the run that applied those bytes.
fn already_applied(
    plan: &Plan,
    store: &mut Store,
    started_at: &str,
    mut identity: source::SourceIdentity,
    last: RunRow,
) -> Result<Located, RunError> {
    identity.sha256 = last.source.sha256.clone();
    let summary = Summary::default();
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
    let tx = store.write(&Claim::run(&plan.name, &plan.system))?;
    let run_id = tx.insert_run(&row)?;
    tx.commit()?;
    Ok(Located::AlreadyApplied(Report {
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
        refused: Vec::new(),
        actions: Vec::new(),
        deliveries: Vec::new(),
        targets: Vec::new(),
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
