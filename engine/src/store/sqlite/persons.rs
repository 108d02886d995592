//! [`Persons`] in SQLite.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::SqliteTx;
use crate::store::{PersonRow, PersonState, Persons, Records, Result};

type PersonParts = (
    i64,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

/// A person's columns, read `FROM {PERSONS}`: attributes kept only in the
/// record that created them (`attributes` = '') are that record's fields.
const PERSON_COLUMNS: &str = "p.id, p.status,
     CASE WHEN p.attributes = '' THEN a.fields ELSE p.attributes END,
     p.limbo, p.created_run, p.updated_run, p.inactive_since, p.purge_at";

/// Persons with the record their attributes may be kept in.
const PERSONS: &str = "persons p LEFT JOIN source_records a ON a.id = p.attributes_from";

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
            attributes: serde_json::from_str(attributes.as_deref().unwrap_or("{}"))
                .map_err(|e| self.corrupt(e))?,
            limbo,
            created_run,
            updated_run,
            inactive_since,
            purge_at,
        })
    }
}

impl SqliteTx<'_> {
    /// Keeps the attributes of the person just inserted in their first
    /// record only, when they are exactly its fields: a first load then
    /// writes each person's values once.
    pub(super) fn share_attributes(&self, person: i64, record: i64, fields: &str) -> Result<()> {
        // Taken, so only the record that follows the person's insertion
        // can hold their attributes, never a later record of theirs.
        let inserted = self.last_person.borrow_mut().take();
        let same = matches!(&inserted, Some((id, text)) if *id == person && text == fields);
        if !same {
            return Ok(());
        }
        self.tx
            .prepare_cached(
                "UPDATE persons SET attributes = '', attributes_from = ?2 WHERE id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![person, record]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Before a record's fields change: a person keeping their attributes
    /// in it gets them written out in full, so they stay what they were
    /// until the registry decides otherwise.
    pub(super) fn unshare_attributes(&self, record: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE persons
                    SET attributes = (SELECT fields FROM source_records WHERE id = ?1),
                        attributes_from = NULL
                  WHERE id = (SELECT person_id FROM source_records WHERE id = ?1)
                    AND attributes = '' AND attributes_from = ?1",
            )
            .and_then(|mut stmt| stmt.execute([record]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

impl Persons for SqliteTx<'_> {
    fn insert_person(&self, attributes: &Map<String, Value>, run: i64) -> Result<i64> {
        let text = Value::Object(attributes.clone()).to_string();
        self.tx
            .prepare_cached(
                "INSERT INTO persons (status, attributes, created_run, updated_run)
                 VALUES ('active', ?1, ?2, ?2)",
            )
            .and_then(|mut stmt| stmt.execute(params![text, run]))
            .map_err(|e| self.err(e))?;
        let id = self.tx.last_insert_rowid();
        *self.last_person.borrow_mut() = Some((id, text));
        Ok(id)
    }

    fn person(&self, id: i64) -> Result<Option<PersonRow>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM {PERSONS} WHERE p.id = ?1");
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
            .prepare_cached(
                "UPDATE persons SET attributes = ?2, attributes_from = NULL, updated_run = ?3
                  WHERE id = ?1",
            )
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
            "SELECT {PERSON_COLUMNS} FROM {PERSONS}
              WHERE p.purge_at IS NOT NULL AND p.purge_at <= ?1
                AND p.status NOT IN ('active', 'grace-period')
                AND (?2 IS NULL OR EXISTS (SELECT 1 FROM source_records r
                                            WHERE r.person_id = p.id AND r.system = ?2))
              ORDER BY p.id"
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
