//! [`Frozen`] in SQLite.

use rusqlite::params;
use serde_json::Value;

use super::SqliteTx;
use crate::store::{Frozen, FrozenRow, Result};

impl SqliteTx<'_> {
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

impl Frozen for SqliteTx<'_> {
    fn freeze(&self, row: &FrozenRow) -> Result<()> {
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

    fn unfreeze(&self, person: i64, attribute: &str) -> Result<Option<FrozenRow>> {
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

    fn frozen_of(&self, person: i64) -> Result<Vec<FrozenRow>> {
        self.frozen_where("person_id = ?1 ORDER BY attribute", params![person])
    }

    fn all_frozen(&self) -> Result<Vec<FrozenRow>> {
        self.frozen_where("1 ORDER BY person_id, attribute", params![])
    }
}
