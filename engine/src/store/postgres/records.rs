//! [`Records`] in PostgreSQL.

use serde_json::{Map, Value};

use super::PgTx;
use super::copy::{Cell, Table};
use crate::store::{NewRecord, PriorRecord, RecordState, Records, Result, StoredRecord};
use crate::vocabulary::Fingerprint;

fn fingerprint_from_bytes(bytes: &[u8]) -> Fingerprint {
    let mut out = [0u8; 16];
    let n = bytes.len().min(16);
    out[..n].copy_from_slice(&bytes[..n]);
    Fingerprint::from_be_bytes(out)
}

impl PgTx<'_> {
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
        Ok(self
            .row(
                "SELECT id FROM source_records WHERE pipeline = $1 AND key = $2",
                &[&pipeline, &key],
            )?
            .map(|row| row.get(0)))
    }
}

impl Records for PgTx<'_> {
    fn for_each_prior(&self, pipeline: &str, each: &mut dyn FnMut(PriorRecord<'_>)) -> Result<()> {
        self.each_row(
            "SELECT key, fingerprint, state FROM source_records WHERE pipeline = $1",
            &[&pipeline],
            |row| {
                each(PriorRecord {
                    key: row.get(0),
                    fingerprint: fingerprint_from_bytes(row.get(1)),
                    state: RecordState::parse(row.get(2)),
                });
                Ok(())
            },
        )
    }

    fn record_fields(&self, pipeline: &str, key: &str) -> Result<Option<Map<String, Value>>> {
        self.row(
            "SELECT fields FROM source_records WHERE pipeline = $1 AND key = $2",
            &[&pipeline, &key],
        )?
        .map(|row| self.json(row.get(0)))
        .transpose()
    }

    fn record(&self, pipeline: &str, key: &str) -> Result<Option<StoredRecord>> {
        let Some(row) = self.row(
            "SELECT r.key, r.system, r.person_id, p.status, r.state, r.fields, r.raw,
                    r.first_seen_run, r.changed_run, r.removed_run
               FROM source_records r LEFT JOIN persons p ON p.id = r.person_id
              WHERE r.pipeline = $1 AND r.key = $2",
            &[&pipeline, &key],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(StoredRecord {
            key: row.get(0),
            system: row.get(1),
            person_id: row.get(2),
            person_status: row.get(3),
            state: RecordState::parse(row.get(4)),
            fields: self.json(row.get(5))?,
            raw: row
                .get::<_, Option<&str>>(6)
                .map(|raw| self.json(raw))
                .transpose()?,
            first_seen_run: row.get(7),
            changed_run: row.get(8),
            removed_run: row.get(9),
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
        let id = self.next_id(Table::Records)?;
        self.hold(
            Table::Records,
            vec![
                Cell::Int(Some(id)),
                Cell::Text(Some(pipeline.to_owned())),
                Cell::Text(Some(record.key.to_owned())),
                Cell::Text(Some(system.to_owned())),
                Cell::Int(Some(person)),
                Cell::Text(Some("present".into())),
                Cell::Bytes(Some(record.fingerprint.to_be_bytes().to_vec())),
                Cell::Text(Some(record.fields.to_owned())),
                Cell::Text(record.raw.map(str::to_owned)),
                Cell::Int(Some(run)),
                Cell::Int(Some(run)),
            ],
        );
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
        let fingerprint = record.fingerprint.to_be_bytes();
        let updated = self.row(
            "UPDATE source_records
                SET fingerprint = $3, fields = $4, raw = $5, state = 'present',
                    changed_run = $6, removed_run = NULL, person_id = $7
              WHERE pipeline = $1 AND key = $2
          RETURNING id",
            &[
                &pipeline,
                &record.key,
                &&fingerprint[..],
                &record.fields,
                &record.raw,
                &run,
                &person,
            ],
        )?;
        if let Some(row) = updated {
            self.remember_record(pipeline, record.key, row.get(0));
        }
        Ok(())
    }

    fn record_person(&self, pipeline: &str, key: &str) -> Result<Option<i64>> {
        Ok(self
            .row(
                "SELECT person_id FROM source_records WHERE pipeline = $1 AND key = $2",
                &[&pipeline, &key],
            )?
            .and_then(|row| row.get(0)))
    }

    fn remove_record(&self, pipeline: &str, key: &str, run: i64) -> Result<Option<i64>> {
        Ok(self
            .row(
                "UPDATE source_records SET state = 'removed', removed_run = $3
                  WHERE pipeline = $1 AND key = $2
              RETURNING person_id",
                &[&pipeline, &key, &run],
            )?
            .and_then(|row| row.get(0)))
    }

    fn system_links(&self, system: &str, key: &str, except: &str) -> Result<Vec<i64>> {
        Ok(self
            .rows(
                "SELECT DISTINCT person_id FROM source_records
                  WHERE system = $1 AND key = $2 AND pipeline <> $3 AND person_id IS NOT NULL
                  ORDER BY person_id",
                &[&system, &key, &except],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    fn system_shared(&self, system: &str, pipeline: &str) -> Result<bool> {
        Ok(self
            .row(
                "SELECT EXISTS (SELECT 1 FROM source_records WHERE system = $1 AND pipeline < $2)
                     OR EXISTS (SELECT 1 FROM source_records WHERE system = $1 AND pipeline > $2)",
                &[&system, &pipeline],
            )?
            .is_some_and(|row| row.get(0)))
    }

    fn records_of_person(&self, person: i64) -> Result<Vec<(String, String)>> {
        Ok(self
            .rows(
                "SELECT pipeline, key FROM source_records WHERE person_id = $1
                  ORDER BY pipeline, key",
                &[&person],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    fn present_records_of_person(&self, person: i64) -> Result<Vec<(String, String)>> {
        Ok(self
            .rows(
                "SELECT pipeline, key FROM source_records WHERE person_id = $1 AND state = 'present'
                  ORDER BY pipeline, key",
                &[&person],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    fn delete_records_of_person(&self, person: i64) -> Result<()> {
        self.exec(
            "DELETE FROM source_records WHERE person_id = $1",
            &[&person],
        )?;
        *self.last_record.borrow_mut() = None;
        Ok(())
    }
}
