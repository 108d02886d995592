//! [`Changes`] in PostgreSQL.

use serde_json::Value;

use super::PgTx;
use super::copy::{Cell, Table};
use crate::store::changes::{restore_creations, stored_without_values};
use crate::store::{ChangeRow, Changes, Records, Result};

/// The columns [`ChangeRow`]s are read from.
const CHANGE_COLUMNS: &str = "run_id, pipeline, source_key, person_id, action, before, after, why";

impl PgTx<'_> {
    /// The change log entries `condition` selects, oldest first.
    fn change_rows(
        &self,
        condition: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<ChangeRow>> {
        let sql = format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE {condition} ORDER BY id");
        let parse = |text: Option<&str>| -> Result<Option<Value>> {
            text.map(|t| self.json(t)).transpose()
        };
        self.rows(&sql, params)?
            .iter()
            .map(|row| {
                Ok(ChangeRow {
                    run_id: row.get(0),
                    pipeline: row.get(1),
                    source_key: row.get(2),
                    person_id: row.get(3),
                    action: row.get(4),
                    before: parse(row.get(5))?,
                    after: parse(row.get(6))?,
                    why: row
                        .get::<_, Option<&str>>(7)
                        .map(|t| self.json(t))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// `row`'s `after`, or for a creation stored without values, the values
    /// the record's own log gives back.
    pub(super) fn creation_after(&self, row: &ChangeRow) -> Result<Option<Value>> {
        let (Some(key), true) = (
            &row.source_key,
            row.after.is_none() && stored_without_values(row),
        ) else {
            return Ok(row.after.clone());
        };
        let log = self.changes_of(&row.pipeline, key)?;
        Ok(log
            .into_iter()
            .find(|entry| entry.run_id == row.run_id && entry.action == "create")
            .and_then(|entry| entry.after))
    }
}

impl Changes for PgTx<'_> {
    fn log_change(&self, change: &ChangeRow) -> Result<()> {
        let before = change.before.as_ref().map(Value::to_string);
        let after = match stored_without_values(change) {
            true => None,
            false => change.after.as_ref().map(Value::to_string),
        };
        let why = change
            .why
            .as_ref()
            .map(|why| serde_json::to_string(why).map_err(|e| self.corrupt(e)))
            .transpose()?;
        self.hold(
            Table::Changes,
            vec![
                Cell::Int(Some(change.run_id)),
                Cell::Text(Some(change.pipeline.clone())),
                Cell::Text(change.source_key.clone()),
                Cell::Int(change.person_id),
                Cell::Text(Some(change.action.clone())),
                Cell::Text(before),
                Cell::Text(after),
                Cell::Text(why),
            ],
        );
        Ok(())
    }

    fn changes_of(&self, pipeline: &str, key: &str) -> Result<Vec<ChangeRow>> {
        let mut out = self.change_rows("pipeline = $1 AND source_key = $2", &[&pipeline, &key])?;
        if out
            .iter()
            .any(|row| row.after.is_none() && stored_without_values(row))
        {
            let current = self.record_fields(pipeline, key)?;
            restore_creations(&mut out, current.as_ref());
        }
        Ok(out)
    }

    fn changes_of_person(&self, person: i64) -> Result<Vec<ChangeRow>> {
        let mut out = self.change_rows("person_id = $1", &[&person])?;
        for row in &mut out {
            row.after = self.creation_after(row)?;
        }
        Ok(out)
    }
}
