//! Stage 9, write outputs: after the commit, each sink's file is written
//! and uploaded (`sink::deliver_run`). The change set stands whatever
//! happens here; a failure says how to deliver the outputs again.

use super::{Options, Progress, Report, RunError};
use crate::plan::Plan;
use crate::sink;
use crate::store::Store;
use crate::vocabulary::Phase;

/// Writes and uploads the outputs of the committed run `run_id` into the
/// report; a failure carries the report, since the change stands.
pub(super) fn write(
    plan: &Plan,
    store: &mut Store,
    run_id: i64,
    mut report: Report,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let uploading = || progress.phase(Phase::Uploading);
    let outputs = options.outputs();
    match sink::deliver_run(plan, store, run_id, &report.changes, &outputs, &uploading) {
        Ok(delivered) => {
            report.deliveries = delivered;
            Ok(report)
        }
        Err(source) => Err(RunError::Delivery {
            run_id,
            source,
            report: Box::new(report),
        }),
    }
}

/// Says so when the pipeline's last applied run never delivered its
/// outputs (stopped between its commit and its sinks, or delivery failed):
/// this run's change sinks will not contain that run's changes.
pub(super) fn warn_undelivered(plan: &Plan, store: &mut Store) {
    if plan.sinks.is_empty() {
        return;
    }
    let Ok(Some(run)) = store.read().and_then(|tx| tx.undelivered_run(&plan.name)) else {
        return;
    };
    tracing::warn!(
        pipeline = %plan.name,
        run = run.id,
        "run {} of {} was applied but its outputs were never delivered; \
         `rollcall deliver PIPELINE --run {}` writes and uploads them",
        run.id,
        plan.name,
        run.id
    );
}
