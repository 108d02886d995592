//! Persons: the registry's people, their attributes, status and limbo.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::{Result, Tx};

/// A person as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PersonRow {
    /// Person id.
    pub id: i64,
    /// Status, recalculated from the person's roles.
    pub status: String,
    /// Person attributes (mapped fields of the linked records, frozen values kept).
    pub attributes: Map<String, Value>,
    /// The limbo scope the person was moved to when deactivated.
    pub limbo: Option<String>,
    /// Run that created the person.
    pub created_run: i64,
    /// Run that last changed the person.
    pub updated_run: i64,
    /// When the person last became inactive.
    pub inactive_since: Option<String>,
    /// When the person is due to be purged.
    pub purge_at: Option<String>,
}

/// The lifecycle part of a person, rewritten together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonState {
    /// Status.
    pub status: String,
    /// Limbo scope, if in limbo.
    pub limbo: Option<String>,
    /// When the person became inactive.
    pub inactive_since: Option<String>,
    /// When the person is due to be purged.
    pub purge_at: Option<String>,
}

impl PersonRow {
    /// The lifecycle part of this person.
    pub fn state(&self) -> PersonState {
        PersonState {
            status: self.status.clone(),
            limbo: self.limbo.clone(),
            inactive_since: self.inactive_since.clone(),
            purge_at: self.purge_at.clone(),
        }
    }
}

const PERSON_COLUMNS: &str =
    "id, status, attributes, limbo, created_run, updated_run, inactive_since, purge_at";

impl Tx<'_> {
    /// Creates an active person; returns its id.
    pub fn insert_person(&self, attributes: &Map<String, Value>, run: i64) -> Result<i64> {
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

    /// One person.
    pub fn person(&self, id: i64) -> Result<Option<PersonRow>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id = ?1");
        let row = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row([id], person_parts).optional())
            .map_err(|e| self.err(e))?;
        row.map(|parts| self.person_from(parts)).transpose()
    }

    /// Rewrites a person's attributes.
    pub fn set_person_attributes(
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

    /// Rewrites a person's status, limbo and lifecycle times.
    pub fn set_person_state(&self, id: i64, state: &PersonState, run: i64) -> Result<()> {
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

    /// Inactive persons whose purge time has come, oldest first; with a
    /// system, only those linked to a record of it.
    pub fn persons_due(&self, now: &str, system: Option<&str>) -> Result<Vec<PersonRow>> {
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

    /// Deletes a person: records, roles, identities and freezes go with them,
    /// and links to them from others' roles are emptied.
    pub fn delete_person(&self, id: i64) -> Result<()> {
        self.delete_records_of_person(id)?;
        self.tx
            .prepare_cached("DELETE FROM persons WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([id]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

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
