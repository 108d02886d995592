//! `plan`'s view of the targets: what delivering after this run would send
//! each of them. The registry's state after the run is what a target is
//! given, so the pass is streamed once more into a write transaction that
//! is always rolled back, and each target's desired state is read inside
//! it; the targets are then listed and compared, and nothing is sent. When
//! the store cannot be written (another run holds it, or it is read-only)
//! the committed state stands in, and the report says so.

use super::{Options, Progress, RunError, stream};
use crate::plan::Plan;
use crate::source::SourceIdentity;
use crate::store::{Claim, RunRow, Store, StoreError, now_text};
use crate::target::desired::{self, Desired};
use crate::target::{self, DeliverOptions, TargetReport};
use crate::vocabulary::Summary;

/// Each target's planned operations and foreign objects.
pub(super) fn targets(
    plan: &Plan,
    store: Option<&mut Store>,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Vec<TargetReport>, RunError> {
    let preview = DeliverOptions {
        send: false,
        always: true,
    };
    let Some(store) = store else {
        // Nothing committed yet: the pass writes into an empty store.
        let mut empty = Store::in_memory()?;
        let after = after_run(plan, &mut empty, options, progress)?;
        return Ok(target::deliver::deliver_given(
            plan, &mut empty, preview, after,
        )?);
    };
    let why = match store.reopen() {
        Ok(mut writer) => match after_run(plan, &mut writer, options, progress) {
            Ok(after) => return Ok(target::deliver::deliver_given(plan, store, preview, after)?),
            Err(RunError::Store(StoreError::Locked { .. })) => "another run holds the store",
            Err(err) => return Err(err),
        },
        Err(_) => "the store cannot be written here",
    };
    let mut reports = target::deliver(plan, store, preview)?;
    for report in &mut reports {
        report.note = Some(format!(
            "planned from the committed registry, not this extract: {why}"
        ));
    }
    Ok(reports)
}

/// Streams the pass into a write transaction, reads each target's desired
/// state from it, and rolls it back.
fn after_run(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Vec<Desired>, RunError> {
    let tx = store.write(&Claim::run(&plan.name, &plan.system))?;
    let started = now_text();
    let row = RunRow {
        id: 0,
        pipeline: plan.name.clone(),
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
    let run_id = tx.insert_run(&row)?;
    let result = stream::stream(plan, &tx, Some(run_id), options, None, progress).and_then(|_| {
        plan.targets
            .iter()
            .map(|t| desired::desired(&tx, &plan.system, t).map_err(RunError::from))
            .collect::<Result<Vec<_>, _>>()
    });
    tx.rollback()?;
    result
}
