//! [`Records`] in SQLite.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::SqliteTx;
use crate::store::{NewRecord, PriorRecord, RecordState, Records, Result, StoredRecord};
use crate::vocabulary::Fingerprint;

/// Two range seeks on `source_records_by_system_pipeline`; a single
/// `pipeline <> ?2` would read every row of the pipeline's own system.
pub(super) const SYSTEM_SHARED: &str =
    "SELECT EXISTS (SELECT 1 FROM source_records WHERE system = ?1 AND pipeline < ?2)
         OR EXISTS (SELECT 1 FROM source_records WHERE system = ?1 AND pipeline > ?2)";

fn fingerprint_from_blob(blob: &[u8]) -> Fingerprint {
    let mut bytes = [0u8; 16];
    let n = blob.len().min(16);
    bytes[..n].copy_from_slice(&blob[..n]);
    Fingerprint::from_be_bytes(bytes)
}

impl SqliteTx<'_> {
    fn remember_record(&self, pipeline: &str, key: &str, id: i64) {
        *self.last_record.borrow_mut() = Some((pipeline.to_owned(), key.to_owned(), id));
    }

    /// The row id of a record: from the one just written, else looked up.
    pub(super) fn record_id(&self, pipeline: &str, key: &str) -> Result<Option<i64>> {
        if let Some((p, k, id)) = &*self.last_record.borrow()
            && p == pipeline
            && k == key
        {
            return Ok(Some(*id));
        }
        self.tx
            .prepare_cached("SELECT id FROM source_records WHERE pipeline = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.query_row([pipeline, key], |row| row.get(0)).optional())
            .map_err(|e| self.err(e))
    }
}

impl Records for SqliteTx<'_> {
    fn for_each_prior(&self, pipeline: &str, each: &mut dyn FnMut(PriorRecord<'_>)) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT key, fingerprint, state FROM source_records WHERE pipeline = ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([pipeline]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let column = |i| row.get_ref(i).map_err(|e| self.err(e));
            let text = |i| {
                column(i)?
                    .as_str()
                    .map_err(|e| self.err(rusqlite::Error::from(e)))
            };
            let blob = column(1)?
                .as_blob()
                .map_err(|e| self.err(rusqlite::Error::from(e)))?;
            each(PriorRecord {
                key: text(0)?,
                fingerprint: fingerprint_from_blob(blob),
                state: RecordState::parse(text(2)?),
            });
        }
        Ok(())
    }

    fn record_fields(&self, pipeline: &str, key: &str) -> Result<Option<Map<String, Value>>> {
        let text: Option<String> = self
            .tx
            .prepare_cached("SELECT fields FROM source_records WHERE pipeline = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.query_row([pipeline, key], |row| row.get(0)).optional())
            .map_err(|e| self.err(e))?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    fn record(&self, pipeline: &str, key: &str) -> Result<Option<StoredRecord>> {
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

    fn insert_record(
        &self,
        pipeline: &str,
        system: &str,
        person: i64,
        run: i64,
        record: &NewRecord<'_>,
    ) -> Result<()> {
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
        let id = self.tx.last_insert_rowid();
        self.remember_record(pipeline, record.key, id);
        self.share_attributes(person, id, record.fields)
    }

    fn update_record(
        &self,
        pipeline: &str,
        person: i64,
        run: i64,
        record: &NewRecord<'_>,
    ) -> Result<()> {
        if let Some(id) = self.record_id(pipeline, record.key)? {
            self.unshare_attributes(id)?;
        }
        let updated = self
            .tx
            .prepare_cached(
                "UPDATE source_records
                    SET fingerprint = ?3, fields = ?4, raw = ?5, state = 'present',
                        changed_run = ?6, removed_run = NULL, person_id = ?7
                  WHERE pipeline = ?1 AND key = ?2
              RETURNING id",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        pipeline,
                        record.key,
                        &record.fingerprint.to_be_bytes()[..],
                        record.fields,
                        record.raw,
                        run,
                        person
                    ],
                    |row| row.get::<_, i64>(0),
                )
                .optional()
            })
            .map_err(|e| self.err(e))?;
        if let Some(id) = updated {
            self.remember_record(pipeline, record.key, id);
        }
        Ok(())
    }

    fn record_person(&self, pipeline: &str, key: &str) -> Result<Option<i64>> {
        self.tx
            .prepare_cached("SELECT person_id FROM source_records WHERE pipeline = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.query_row([pipeline, key], |row| row.get(0)).optional())
            .map_err(|e| self.err(e))
            .map(Option::flatten)
    }

    fn remove_record(&self, pipeline: &str, key: &str, run: i64) -> Result<Option<i64>> {
        self.tx
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
            .map_err(|e| self.err(e))
            .map(Option::flatten)
    }

    fn system_links(&self, system: &str, key: &str, except: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT DISTINCT person_id FROM source_records
                  WHERE system = ?1 AND key = ?2 AND pipeline <> ?3 AND person_id IS NOT NULL
                  ORDER BY person_id",
            )
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([system, key, except], |row| row.get(0))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    fn system_shared(&self, system: &str, pipeline: &str) -> Result<bool> {
        self.tx
            .prepare_cached(SYSTEM_SHARED)
            .and_then(|mut stmt| stmt.query_row([system, pipeline], |row| row.get(0)))
            .map_err(|e| self.err(e))
    }

    fn present_records_of_person(&self, person: i64) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT pipeline, key FROM source_records WHERE person_id = ?1 AND state = ?2
                  ORDER BY pipeline, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![person, RecordState::Present.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    fn records_of_person(&self, person: i64) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT pipeline, key FROM source_records WHERE person_id = ?1
                  ORDER BY pipeline, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([person], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    fn delete_records_of_person(&self, person: i64) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM source_records WHERE person_id = ?1")
            .and_then(|mut stmt| stmt.execute([person]))
            .map_err(|e| self.err(e))?;
        // A key written again after this gets a new row id.
        *self.last_record.borrow_mut() = None;
        Ok(())
    }
}
