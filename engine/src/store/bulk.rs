//! A pipeline's first load into a store that holds little else may drop
//! the indexes the load never reads and build them once at the end, sorted,
//! instead of keeping them up to date row by row in random key order. How
//! (and whether) is the backend's business; everything happens inside the
//! run's transaction, so a failed or refused run rolls it back with the rest.

use super::Result;

/// Indexes dropped for a first load, to be built again before it commits.
#[derive(Debug)]
#[must_use = "the dropped indexes must be rebuilt before the run commits"]
pub struct DeferredIndexes {
    /// The statements that build them again, in the backend's dialect.
    pub(super) statements: Vec<String>,
}

/// A first load's deferred indexes.
pub trait BulkLoad {
    /// Prepares the first load of `pipeline` of `system` (the caller knows
    /// it has no prior records): when the store holds few source records,
    /// drops the indexes the load never reads and those matching reads,
    /// which the backend answers otherwise until [`BulkLoad::rebuild_indexes`].
    /// `None` when the store is too large for rebuilding to pay.
    fn defer_indexes(&self, system: &str, pipeline: &str) -> Result<Option<DeferredIndexes>>;

    /// Builds the indexes [`BulkLoad::defer_indexes`] dropped; matching reads
    /// them again from then on.
    fn rebuild_indexes(&self, deferred: DeferredIndexes) -> Result<()>;
}
