//! Stage 7, gate: the integrity thresholds judge the complete change set
//! (`integrity::Gate`) before anything commits.

use crate::integrity::{Baseline, Gate};
use crate::plan::Plan;
use crate::vocabulary::{GateVerdict, Summary};

/// Evaluates the pipeline's thresholds on the run's counts, against the
/// last applied extract's valid records and the records present before.
pub(super) fn judge(
    plan: &Plan,
    summary: &Summary,
    previous_valid: Option<u64>,
    present_before: u64,
) -> GateVerdict {
    let baseline = Baseline {
        previous_valid,
        present_before,
    };
    Gate::new(&plan.integrity).evaluate(summary, baseline)
}
