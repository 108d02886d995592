//! [`Outbox`] in SQLite: tables `target_outbox` and `target_objects` (V10).

use rusqlite::{OptionalExtension, params};

use super::SqliteTx;
use crate::store::{Outbox, OutboxRow, OwnedObject, Result};

impl SqliteTx<'_> {
    /// Queued deliveries not yet accepted whose row meets `condition` on `?1`.
    fn pending_where(&self, condition: &str, value: &str) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT id, target, system, pipeline, run, queued_at, attempts, error
               FROM target_outbox
              WHERE {condition} AND delivered_at IS NULL ORDER BY id"
        );
        let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([value], |row| {
                Ok(OutboxRow {
                    id: row.get(0)?,
                    target: row.get(1)?,
                    system: row.get(2)?,
                    pipeline: row.get(3)?,
                    run: row.get(4)?,
                    queued_at: row.get(5)?,
                    attempts: row.get(6)?,
                    error: row.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}

impl Outbox for SqliteTx<'_> {
    fn queue_delivery(
        &self,
        target: &str,
        system: &str,
        pipeline: &str,
        run: i64,
        at: &str,
    ) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO target_outbox (target, system, pipeline, run, queued_at, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                params![target, system, pipeline, run, at],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn pending_deliveries(&self, system: &str) -> Result<Vec<OutboxRow>> {
        self.pending_where("system = ?1", system)
    }

    fn pending_of_pipeline(&self, pipeline: &str) -> Result<Vec<OutboxRow>> {
        self.pending_where("pipeline = ?1", pipeline)
    }

    fn deliveries_accepted(&self, target: &str, system: &str, last: i64, at: &str) -> Result<()> {
        self.tx
            .execute(
                "UPDATE target_outbox SET delivered_at = ?4, error = NULL
                  WHERE target = ?1 AND system = ?2 AND id <= ?3 AND delivered_at IS NULL",
                params![target, system, last, at],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn delivery_failed(&self, target: &str, system: &str, error: &str) -> Result<()> {
        self.tx
            .execute(
                "UPDATE target_outbox SET attempts = attempts + 1, error = ?3
                  WHERE target = ?1 AND system = ?2 AND delivered_at IS NULL",
                params![target, system, error],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn owned_objects(&self, target: &str, system: &str) -> Result<Vec<OwnedObject>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT target, system, kind, key, object_id, name FROM target_objects
                  WHERE target = ?1 AND system = ?2 ORDER BY kind, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([target, system], |row| {
                Ok(OwnedObject {
                    target: row.get(0)?,
                    system: row.get(1)?,
                    kind: row.get(2)?,
                    key: row.get(3)?,
                    object_id: row.get(4)?,
                    name: row.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    fn own_object(&self, object: &OwnedObject) -> Result<()> {
        // Two statements rather than an upsert, so the SQL ports as it is.
        let found: Option<i64> = self
            .tx
            .query_row(
                "SELECT 1 FROM target_objects
                  WHERE target = ?1 AND system = ?2 AND kind = ?3 AND key = ?4",
                params![object.target, object.system, object.kind, object.key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let sql = if found.is_some() {
            "UPDATE target_objects SET object_id = ?5, name = ?6
              WHERE target = ?1 AND system = ?2 AND kind = ?3 AND key = ?4"
        } else {
            "INSERT INTO target_objects (target, system, kind, key, object_id, name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        };
        self.tx
            .execute(
                sql,
                params![
                    object.target,
                    object.system,
                    object.kind,
                    object.key,
                    object.object_id,
                    object.name
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn disown_object(&self, target: &str, system: &str, kind: &str, key: &str) -> Result<()> {
        self.tx
            .execute(
                "DELETE FROM target_objects
                  WHERE target = ?1 AND system = ?2 AND kind = ?3 AND key = ?4",
                params![target, system, kind, key],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn system_persons(&self, system: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT DISTINCT person_id FROM source_records
                  WHERE system = ?1 AND person_id IS NOT NULL ORDER BY person_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([system], |row| row.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}
