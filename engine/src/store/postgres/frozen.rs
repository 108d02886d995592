//! [`Frozen`] in PostgreSQL.

use serde_json::Value;

use super::PgTx;
use crate::store::{Frozen, FrozenRow, Result};

impl PgTx<'_> {
    fn frozen_where(
        &self,
        filter: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<FrozenRow>> {
        let sql = format!(
            "SELECT person_id, attribute, value, frozen_by, reason, until, frozen_at
               FROM frozen_attributes WHERE {filter}"
        );
        self.rows(&sql, params)?
            .iter()
            .map(|row| {
                Ok(FrozenRow {
                    person_id: row.get(0),
                    attribute: row.get(1),
                    value: match row.get::<_, Option<&str>>(2) {
                        Some(text) => self.json(text)?,
                        None => Value::Null,
                    },
                    frozen_by: row.get(3),
                    reason: row.get(4),
                    until: row.get(5),
                    frozen_at: row.get(6),
                })
            })
            .collect()
    }
}

impl Frozen for PgTx<'_> {
    fn freeze(&self, row: &FrozenRow) -> Result<()> {
        self.exec(
            "INSERT INTO frozen_attributes
                 (person_id, attribute, value, frozen_by, reason, until, frozen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (person_id, attribute) DO UPDATE
                SET value = EXCLUDED.value, frozen_by = EXCLUDED.frozen_by,
                    reason = EXCLUDED.reason, until = EXCLUDED.until,
                    frozen_at = EXCLUDED.frozen_at",
            &[
                &row.person_id,
                &row.attribute,
                &row.value.to_string(),
                &row.frozen_by,
                &row.reason,
                &row.until,
                &row.frozen_at,
            ],
        )?;
        Ok(())
    }

    fn unfreeze(&self, person: i64, attribute: &str) -> Result<Option<FrozenRow>> {
        let found = self
            .frozen_where("person_id = $1 AND attribute = $2", &[&person, &attribute])?
            .into_iter()
            .next();
        if found.is_some() {
            self.exec(
                "DELETE FROM frozen_attributes WHERE person_id = $1 AND attribute = $2",
                &[&person, &attribute],
            )?;
        }
        Ok(found)
    }

    fn frozen_of(&self, person: i64) -> Result<Vec<FrozenRow>> {
        self.frozen_where("person_id = $1 ORDER BY attribute", &[&person])
    }

    fn all_frozen(&self) -> Result<Vec<FrozenRow>> {
        self.frozen_where("TRUE ORDER BY person_id, attribute", &[])
    }
}
