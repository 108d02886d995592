//! Reads and notes for what a run writes out after its change set: the
//! present records (CSV and JSON sinks), the values of one field across them
//! (unique fields, the action file's reassignment target), one run's change
//! log (delivering a run again), and a delivery failure on the run's row.

use serde_json::{Map, Value};

use super::{ChangeRow, Result};

/// What [`Outputs::for_each_present`] calls with each present record's
/// key and fields.
pub type EachPresent<'e> = dyn FnMut(&str, Map<String, Value>) -> Result<()> + 'e;

/// Reads for the outputs written after a change set, and the note of their failure.
pub trait Outputs {
    /// Calls `each` with every present record of the pipeline, by key order,
    /// one at a time so a large registry is never held whole.
    fn for_each_present(&self, pipeline: &str, each: &mut EachPresent<'_>) -> Result<()>;

    /// `(key, value)` of one mapped field across the pipeline's present records.
    fn present_values(&self, pipeline: &str, field: &str) -> Result<Vec<(String, Value)>>;

    /// One run's change log, in the order the run wrote it.
    fn run_changes(&self, pipeline: &str, run: i64) -> Result<Vec<ChangeRow>>;

    /// Notes on a run's row why its outputs were not delivered, so
    /// `rollcall history` shows it beside the applied change.
    fn note_run_error(&self, run: i64, error: &str) -> Result<()>;
}
