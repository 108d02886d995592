//! What each pipeline's lifecycle said when it last ran, so `rollcall purge`
//! can deactivate and purge without the pipeline files at hand.

use super::Result;

/// The lifecycle settings a deactivation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineLifecycle {
    /// Limbo scope persons are moved to when deactivated.
    pub limbo: Option<String>,
    /// Seconds after deactivation a person is purged; `None` for never.
    pub purge_after: Option<u64>,
}

/// Each pipeline's lifecycle as it last ran.
pub trait Pipelines {
    /// Records a pipeline's system and lifecycle as of this run.
    fn record_pipeline(
        &self,
        name: &str,
        system: &str,
        lifecycle: &PipelineLifecycle,
        run: i64,
    ) -> Result<()>;

    /// A pipeline's lifecycle as of its last run.
    fn pipeline_lifecycle(&self, name: &str) -> Result<Option<PipelineLifecycle>>;
}
