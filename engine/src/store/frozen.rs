//! Frozen attributes: values an operator corrected and a sync must keep.

use rusqlite::params;
use serde_json::Value;

use super::{Result, Tx};

/// One frozen attribute of a person.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FrozenRow {
    /// The person.
    pub person_id: i64,
    /// A person attribute, `role.ID.NAME`, or `role.ID` (the whole role).
    pub attribute: String,
    /// The value kept (for a whole role, its attributes as an object).
    pub value: Value,
    /// Who froze it.
    pub frozen_by: String,
    /// Why.
    pub reason: Option<String>,
    /// Until when (RFC 3339); `None` for good.
    pub until: Option<String>,
    /// When it was frozen.
    pub frozen_at: String,
}

impl FrozenRow {
    /// Whether the freeze still holds at `now` (RFC 3339 text).
    pub fn holds_at(&self, now: &str) -> bool {
        self.until.as_deref().is_none_or(|until| until > now)
    }
}

impl Tx<'_> {
    /// Freezes (or re-freezes) one attribute.
    pub fn freeze(&self, row: &FrozenRow) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO frozen_attributes
                     (person_id, attribute, value, frozen_by, reason, until, frozen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    row.person_id,
                    row.attribute,
                    row.value.to_string(),
                    row.frozen_by,
                    row.reason,
                    row.until,
                    row.frozen_at
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Unfreezes one attribute; the freeze it removed, if there was one.
    pub fn unfreeze(&self, person: i64, attribute: &str) -> Result<Option<FrozenRow>> {
        let found = self
            .frozen_where(
                "person_id = ?1 AND attribute = ?2",
                params![person, attribute],
            )?
            .into_iter()
            .next();
        if found.is_some() {
            self.tx
                .prepare_cached(
                    "DELETE FROM frozen_attributes WHERE person_id = ?1 AND attribute = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![person, attribute]))
                .map_err(|e| self.err(e))?;
        }
        Ok(found)
    }

    /// A person's frozen attributes, lapsed or not.
    pub fn frozen_of(&self, person: i64) -> Result<Vec<FrozenRow>> {
        self.frozen_where("person_id = ?1 ORDER BY attribute", params![person])
    }

    /// Every frozen attribute, by person.
    pub fn all_frozen(&self) -> Result<Vec<FrozenRow>> {
        self.frozen_where("1 ORDER BY person_id, attribute", params![])
    }

    fn frozen_where(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<FrozenRow>> {
        let sql = format!(
            "SELECT person_id, attribute, value, frozen_by, reason, until, frozen_at
               FROM frozen_attributes WHERE {filter}"
        );
        let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(
                |(person_id, attribute, value, frozen_by, reason, until, frozen_at)| {
                    Ok(FrozenRow {
                        person_id,
                        attribute,
                        value: match value {
                            Some(text) => {
                                serde_json::from_str(&text).map_err(|e| self.corrupt(e))?
                            }
                            None => Value::Null,
                        },
                        frozen_by,
                        reason,
                        until,
                        frozen_at,
                    })
                },
            )
            .collect()
    }
}
