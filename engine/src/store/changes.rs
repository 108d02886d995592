//! The change log: one row per record a run created, updated, removed or
//! reinstated, with the changed fields before and after.

use serde_json::Value;

use super::Result;

/// One entry of the change log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeRow {
    /// The run that made the change.
    pub run_id: i64,
    /// The pipeline.
    pub pipeline: String,
    /// The source key, when the change concerns a record.
    pub source_key: Option<String>,
    /// The person concerned.
    pub person_id: Option<i64>,
    /// `create`, `update`, `remove`, `reinstate`, ...
    pub action: String,
    /// Changed fields before (JSON object), if any.
    pub before: Option<Value>,
    /// Changed fields after (JSON object), if any.
    pub after: Option<Value>,
}

/// The change log: appended to by a run, read by `show`, `person` and `deliver`.
pub trait Changes {
    /// Appends one entry to the change log.
    fn log_change(&self, change: &ChangeRow) -> Result<()>;

    /// The change log of one record, oldest first.
    fn changes_of(&self, pipeline: &str, key: &str) -> Result<Vec<ChangeRow>>;

    /// The change log entries about one person, oldest first.
    fn changes_of_person(&self, person: i64) -> Result<Vec<ChangeRow>>;
}
