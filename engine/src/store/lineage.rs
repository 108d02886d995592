//! Which store this is and how far it has moved: what a saved plan is
//! bound to, so `rollcall apply` can refuse a plan made against another
//! store, or before another run changed this one.

use serde::{Deserialize, Serialize};

use super::Result;

/// A store's identity and position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreLineage {
    /// Drawn at random when the store was made; never changes.
    pub lineage: String,
    /// How many runs have committed a change set into it; every applied
    /// run (and operator command) adds one.
    pub serial: i64,
}

/// Reading the lineage; backends advance the serial themselves whenever a
/// run's row is recorded as `applied` or `no-change`.
pub trait Lineage {
    /// The store's lineage and serial as this transaction sees them.
    fn lineage(&self) -> Result<StoreLineage>;
}
