//! Source records (what a pipeline last saw per key, the "external
//! identity") and their links to persons.

use serde_json::{Map, Value};

use super::Result;
use crate::vocabulary::Fingerprint;

/// Whether a source record is in the latest applied extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordState {
    /// Seen in the last applied extract.
    Present,
    /// Gone from the source.
    Removed,
}

impl RecordState {
    /// The state as stored.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RecordState::Present => "present",
            RecordState::Removed => "removed",
        }
    }

    /// The state of a stored text; anything but `removed` is present.
    pub(super) fn parse(text: &str) -> RecordState {
        if text == "removed" {
            RecordState::Removed
        } else {
            RecordState::Present
        }
    }
}

/// What the diff needs of a stored record: its key, fingerprint and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorRecord<'a> {
    /// Source key (borrowed from the row, so loading allocates nothing per record).
    pub key: &'a str,
    /// Fingerprint of the mapped fields.
    pub fingerprint: Fingerprint,
    /// Present or removed.
    pub state: RecordState,
}

/// A stored source record in full, for `rollcall show`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredRecord {
    /// Source key.
    pub key: String,
    /// System of record.
    pub system: String,
    /// Linked person.
    pub person_id: Option<i64>,
    /// Status of the linked person.
    pub person_status: Option<String>,
    /// Present or removed.
    pub state: RecordState,
    /// The mapped fields.
    pub fields: Map<String, Value>,
    /// The raw record, when the pipeline keeps it.
    pub raw: Option<Value>,
    /// Run that first saw the key.
    pub first_seen_run: i64,
    /// Run that last changed the record.
    pub changed_run: i64,
    /// Run that removed it, if removed.
    pub removed_run: Option<i64>,
}

/// A record to write: its key, fingerprint and fields as JSON text.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// Source key.
    pub key: &'a str,
    /// Fingerprint of the mapped fields.
    pub fingerprint: Fingerprint,
    /// The mapped fields as a JSON object.
    pub fields: &'a str,
    /// The raw record as JSON, when kept.
    pub raw: Option<&'a str>,
}

/// Source records: the prior state a run diffs against, and what it writes back.
pub trait Records {
    /// Calls `each` with every stored record of the pipeline, once per run,
    /// so the diff can hold fingerprints instead of whole records.
    fn for_each_prior(&self, pipeline: &str, each: &mut dyn FnMut(PriorRecord<'_>)) -> Result<()>;

    /// The stored mapped fields of one record.
    fn record_fields(&self, pipeline: &str, key: &str) -> Result<Option<Map<String, Value>>>;

    /// One stored record in full, with its person's status.
    fn record(&self, pipeline: &str, key: &str) -> Result<Option<StoredRecord>>;

    /// Stores a key seen for the first time, linked to `person`.
    fn insert_record(
        &self,
        pipeline: &str,
        system: &str,
        person: i64,
        run: i64,
        record: &NewRecord<'_>,
    ) -> Result<()>;

    /// Rewrites a record's fields (an update, or a reinstatement when it was
    /// removed) and links it to `person`.
    fn update_record(
        &self,
        pipeline: &str,
        person: i64,
        run: i64,
        record: &NewRecord<'_>,
    ) -> Result<()>;

    /// The person a pipeline's record is linked to.
    fn record_person(&self, pipeline: &str, key: &str) -> Result<Option<i64>>;

    /// Marks a record removed. Returns its person's id.
    fn remove_record(&self, pipeline: &str, key: &str, run: i64) -> Result<Option<i64>>;

    /// The persons that other pipelines of `system` link the same key to:
    /// how a user removed by one school's import and listed by another's is
    /// recognised as the same person.
    fn system_links(&self, system: &str, key: &str, except: &str) -> Result<Vec<i64>>;

    /// Whether any other pipeline has records of `system`; when none does,
    /// a run skips the per-key link lookup.
    fn system_shared(&self, system: &str, pipeline: &str) -> Result<bool>;

    /// The records linked to a person, as (pipeline, key).
    fn records_of_person(&self, person: i64) -> Result<Vec<(String, String)>>;

    /// The records linked to a person that the source still lists, as (pipeline, key).
    fn present_records_of_person(&self, person: i64) -> Result<Vec<(String, String)>>;

    /// Deletes every record linked to a person (a purge).
    fn delete_records_of_person(&self, person: i64) -> Result<()>;
}
