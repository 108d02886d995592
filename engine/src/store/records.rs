//! Source records (what a pipeline last saw per key) and the persons they
//! are linked to.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::{Result, Tx, now_text};

/// The xxh3-128 hash of a record's encoded mapped fields.
pub type Fingerprint = u128;

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
    fn as_str(self) -> &'static str {
        match self {
            RecordState::Present => "present",
            RecordState::Removed => "removed",
        }
    }

    fn parse(text: &str) -> RecordState {
        if text == "removed" {
            RecordState::Removed
        } else {
            RecordState::Present
        }
    }
}

/// What the diff needs of a stored record: its key, fingerprint and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorRecord {
    /// Source key.
    pub key: String,
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

impl Tx<'_> {
    /// Calls `each` with every stored record of the pipeline, once per run,
    /// so the diff can hold fingerprints instead of whole records.
    pub fn for_each_prior(&self, pipeline: &str, mut each: impl FnMut(PriorRecord)) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT key, fingerprint, state FROM source_records WHERE pipeline = ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([pipeline]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let key: String = row.get(0).map_err(|e| self.err(e))?;
            let blob: Vec<u8> = row.get(1).map_err(|e| self.err(e))?;
            let state: String = row.get(2).map_err(|e| self.err(e))?;
            each(PriorRecord {
                key,
                fingerprint: fingerprint_from_blob(&blob),
                state: RecordState::parse(&state),
            });
        }
        Ok(())
    }

    /// The stored mapped fields of one record.
    pub fn record_fields(&self, pipeline: &str, key: &str) -> Result<Option<Map<String, Value>>> {
        let text: Option<String> = self
            .tx
            .prepare_cached("SELECT fields FROM source_records WHERE pipeline = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.query_row([pipeline, key], |row| row.get(0)).optional())
            .map_err(|e| self.err(e))?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    /// One stored record in full, with its person's status.
    pub fn record(&self, pipeline: &str, key: &str) -> Result<Option<StoredRecord>> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT r.key, r.system, r.person_id, p.status, r.state, r.fields, r.raw,
                        r.first_seen_run, r.changed_run, r.removed_run
                   FROM source_records r LEFT JOIN persons p ON p.id = r.person_id
                  WHERE r.pipeline = ?1 AND r.key = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row([pipeline, key], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, Option<String>>(6)?,
                        row.get::<_, i64>(7)?,
                        row.get::<_, i64>(8)?,
                        row.get::<_, Option<i64>>(9)?,
                    ))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some((
            key,
            system,
            person_id,
            person_status,
            state,
            fields,
            raw,
            first,
            changed,
            removed,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(StoredRecord {
            key,
            system,
            person_id,
            person_status,
            state: RecordState::parse(&state),
            fields: serde_json::from_str(&fields).map_err(|e| self.corrupt(e))?,
            raw: raw
                .map(|raw| serde_json::from_str(&raw).map_err(|e| self.corrupt(e)))
                .transpose()?,
            first_seen_run: first,
            changed_run: changed,
            removed_run: removed,
        }))
    }

    /// Stores a key seen for the first time, with a new active person.
    /// Returns the person's id.
    pub fn create_record(
        &self,
        pipeline: &str,
        system: &str,
        run: i64,
        record: &NewRecord<'_>,
    ) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO persons (status, attributes, created_run, updated_run)
                 VALUES ('active', ?1, ?2, ?2)",
            )
            .and_then(|mut stmt| stmt.execute(params![record.fields, run]))
            .map_err(|e| self.err(e))?;
        let person = self.tx.last_insert_rowid();
        self.tx
            .prepare_cached(
                "INSERT INTO source_records
                     (pipeline, key, system, person_id, state, fingerprint, fields, raw,
                      first_seen_run, changed_run)
                 VALUES (?1, ?2, ?3, ?4, 'present', ?5, ?6, ?7, ?8, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    pipeline,
                    record.key,
                    system,
                    person,
                    &record.fingerprint.to_be_bytes()[..],
                    record.fields,
                    record.raw,
                    run
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(person)
    }

    /// Rewrites a record's fields (an update, or a reinstatement when it was
    /// removed) and its person's attributes. Returns the person's id.
    pub fn update_record(
        &self,
        pipeline: &str,
        run: i64,
        record: &NewRecord<'_>,
    ) -> Result<Option<i64>> {
        let person: Option<i64> = self
            .tx
            .prepare_cached(
                "UPDATE source_records
                    SET fingerprint = ?3, fields = ?4, raw = ?5, state = 'present',
                        changed_run = ?6, removed_run = NULL
                  WHERE pipeline = ?1 AND key = ?2
              RETURNING person_id",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        pipeline,
                        record.key,
                        &record.fingerprint.to_be_bytes()[..],
                        record.fields,
                        record.raw,
                        run
                    ],
                    |row| row.get(0),
                )
                .optional()
            })
            .map_err(|e| self.err(e))?
            .flatten();
        if let Some(person) = person {
            self.tx
                .prepare_cached(
                    "UPDATE persons
                        SET attributes = ?2, status = 'active', limbo = 0,
                            inactive_since = NULL, updated_run = ?3
                      WHERE id = ?1",
                )
                .and_then(|mut stmt| stmt.execute(params![person, record.fields, run]))
                .map_err(|e| self.err(e))?;
        }
        Ok(person)
    }

    /// Marks a record removed; its person takes `status` when no other
    /// present record holds them. Returns the person's id.
    pub fn remove_record(
        &self,
        pipeline: &str,
        key: &str,
        run: i64,
        status: &str,
    ) -> Result<Option<i64>> {
        let person: Option<i64> = self
            .tx
            .prepare_cached(
                "UPDATE source_records SET state = ?3, removed_run = ?4
                  WHERE pipeline = ?1 AND key = ?2
              RETURNING person_id",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![pipeline, key, RecordState::Removed.as_str(), run],
                    |row| row.get(0),
                )
                .optional()
            })
            .map_err(|e| self.err(e))?
            .flatten();
        if let Some(person) = person {
            self.tx
                .prepare_cached(
                    "UPDATE persons SET status = ?2, inactive_since = ?3, updated_run = ?4
                      WHERE id = ?1
                        AND NOT EXISTS (SELECT 1 FROM source_records
                                         WHERE person_id = ?1 AND state = 'present')",
                )
                .and_then(|mut stmt| stmt.execute(params![person, status, now_text(), run]))
                .map_err(|e| self.err(e))?;
        }
        Ok(person)
    }
}

fn fingerprint_from_blob(blob: &[u8]) -> Fingerprint {
    let mut bytes = [0u8; 16];
    let n = blob.len().min(16);
    bytes[..n].copy_from_slice(&blob[..n]);
    Fingerprint::from_be_bytes(bytes)
}
