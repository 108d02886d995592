//! [`Outbox`] in PostgreSQL: tables `target_outbox` and `target_objects` (V10).

use postgres::Row;

use super::PgTx;
use crate::store::{Outbox, OutboxRow, OwnedObject, Result};

fn outbox_row(row: &Row) -> OutboxRow {
    OutboxRow {
        id: row.get(0),
        target: row.get(1),
        system: row.get(2),
        pipeline: row.get(3),
        run: row.get(4),
        queued_at: row.get(5),
        attempts: row.get(6),
        error: row.get(7),
    }
}

impl PgTx<'_> {
    /// Queued deliveries not yet accepted whose `column` is `value`.
    fn pending_where(&self, column: &str, value: &str) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT id, target, system, pipeline, run, queued_at, attempts, error
               FROM target_outbox
              WHERE {column} = $1 AND delivered_at IS NULL ORDER BY id"
        );
        Ok(self.rows(&sql, &[&value])?.iter().map(outbox_row).collect())
    }
}

impl Outbox for PgTx<'_> {
    fn queue_delivery(
        &self,
        target: &str,
        system: &str,
        pipeline: &str,
        run: i64,
        at: &str,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO target_outbox (target, system, pipeline, run, queued_at, attempts)
             VALUES ($1, $2, $3, $4, $5, 0)",
            &[&target, &system, &pipeline, &run, &at],
        )?;
        Ok(())
    }

    fn pending_deliveries(&self, system: &str) -> Result<Vec<OutboxRow>> {
        self.pending_where("system", system)
    }

    fn pending_of_pipeline(&self, pipeline: &str) -> Result<Vec<OutboxRow>> {
        self.pending_where("pipeline", pipeline)
    }

    fn deliveries_accepted(&self, target: &str, system: &str, last: i64, at: &str) -> Result<()> {
        self.exec(
            "UPDATE target_outbox SET delivered_at = $4, error = NULL
              WHERE target = $1 AND system = $2 AND id <= $3 AND delivered_at IS NULL",
            &[&target, &system, &last, &at],
        )?;
        Ok(())
    }

    fn delivery_failed(&self, target: &str, system: &str, error: &str) -> Result<()> {
        self.exec(
            "UPDATE target_outbox SET attempts = attempts + 1, error = $3
              WHERE target = $1 AND system = $2 AND delivered_at IS NULL",
            &[&target, &system, &error],
        )?;
        Ok(())
    }

    fn owned_objects(&self, target: &str, system: &str) -> Result<Vec<OwnedObject>> {
        let rows = self.rows(
            "SELECT target, system, kind, key, object_id, name FROM target_objects
              WHERE target = $1 AND system = $2 ORDER BY kind, key",
            &[&target, &system],
        )?;
        Ok(rows
            .iter()
            .map(|row| OwnedObject {
                target: row.get(0),
                system: row.get(1),
                kind: row.get(2),
                key: row.get(3),
                object_id: row.get(4),
                name: row.get(5),
            })
            .collect())
    }

    fn own_object(&self, object: &OwnedObject) -> Result<()> {
        self.exec(
            "INSERT INTO target_objects (target, system, kind, key, object_id, name)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (target, system, kind, key)
             DO UPDATE SET object_id = $5, name = $6",
            &[
                &object.target,
                &object.system,
                &object.kind,
                &object.key,
                &object.object_id,
                &object.name,
            ],
        )?;
        Ok(())
    }

    fn disown_object(&self, target: &str, system: &str, kind: &str, key: &str) -> Result<()> {
        self.exec(
            "DELETE FROM target_objects
              WHERE target = $1 AND system = $2 AND kind = $3 AND key = $4",
            &[&target, &system, &kind, &key],
        )?;
        Ok(())
    }

    fn system_persons(&self, system: &str) -> Result<Vec<i64>> {
        let rows = self.rows(
            "SELECT DISTINCT person_id FROM source_records
              WHERE system = $1 AND person_id IS NOT NULL ORDER BY person_id",
            &[&system],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}
