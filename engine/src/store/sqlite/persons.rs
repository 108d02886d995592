//! [`Persons`] in SQLite.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::SqliteTx;
use crate::store::{PersonRow, PersonState, Persons, Records, Result};

type PersonParts = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

const PERSON_COLUMNS: &str =
    "id, status, attributes, limbo, created_run, updated_run, inactive_since, purge_at";

fn person_parts(row: &Row<'_>) -> rusqlite::Result<PersonParts> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

impl SqliteTx<'_> {
    fn person_from(&self, parts: PersonParts) -> Result<PersonRow> {
        let (id, status, attributes, limbo, created_run, updated_run, inactive_since, purge_at) =
            parts;
        Ok(PersonRow {
            id,
            status,
            attributes: serde_json::from_str(&attributes).map_err(|e| self.corrupt(e))?,
            limbo,
            created_run,
            updated_run,
            inactive_since,
            purge_at,
        })
    }
}

impl Persons for SqliteTx<'_> {
    fn insert_person(&self, attributes: &Map<String, Value>, run: i64) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO persons (status, attributes, created_run, updated_run)
                 VALUES ('active', ?1, ?2, ?2)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![Value::Object(attributes.clone()).to_string(), run])
            })
            .map_err(|e| self.err(e))?;
        Ok(self.tx.last_insert_rowid())
    }

    fn person(&self, id: i64) -> Result<Option<PersonRow>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id = ?1");
        let row = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row([id], person_parts).optional())
            .map_err(|e| self.err(e))?;
        row.map(|parts| self.person_from(parts)).transpose()
    }

    fn set_person_attributes(
        &self,
        id: i64,
        attributes: &Map<String, Value>,
        run: i64,
    ) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE persons SET attributes = ?2, updated_run = ?3 WHERE id = ?1")
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    Value::Object(attributes.clone()).to_string(),
                    run
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn set_person_state(&self, id: i64, state: &PersonState, run: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE persons SET status = ?2, limbo = ?3, inactive_since = ?4, purge_at = ?5,
                        updated_run = ?6
                  WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    state.status,
                    state.limbo,
                    state.inactive_since,
                    state.purge_at,
                    run
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn persons_due(&self, now: &str, system: Option<&str>) -> Result<Vec<PersonRow>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM persons p
              WHERE purge_at IS NOT NULL AND purge_at <= ?1
                AND status NOT IN ('active', 'grace-period')
                AND (?2 IS NULL OR EXISTS (SELECT 1 FROM source_records r
                                            WHERE r.person_id = p.id AND r.system = ?2))
              ORDER BY id"
        );
        let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let parts = stmt
            .query_map(params![now, system], person_parts)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        parts.into_iter().map(|p| self.person_from(p)).collect()
    }

    fn delete_person(&self, id: i64) -> Result<()> {
        self.delete_records_of_person(id)?;
        self.tx
            .prepare_cached("DELETE FROM persons WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([id]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
