//! [`Changes`] in SQLite.

use rusqlite::params;
use serde_json::Value;

use super::SqliteTx;
use crate::store::changes::{restore_creations, stored_without_values};
use crate::store::{ChangeRow, Changes, Records, Result};

impl Changes for SqliteTx<'_> {
    fn log_change(&self, change: &ChangeRow) -> Result<()> {
        let before = change.before.as_ref().map(Value::to_string);
        let after = match stored_without_values(change) {
            true => None,
            false => change.after.as_ref().map(Value::to_string),
        };
        self.tx
            .prepare_cached(
                "INSERT INTO changes (run_id, pipeline, source_key, person_id, action, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    change.run_id,
                    change.pipeline,
                    change.source_key,
                    change.person_id,
                    change.action,
                    before,
                    after
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn changes_of(&self, pipeline: &str, key: &str) -> Result<Vec<ChangeRow>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT run_id, person_id, action, before, after FROM changes
                  WHERE pipeline = ?1 AND source_key = ?2 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([pipeline, key], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (run_id, person_id, action, before, after) = row.map_err(|e| self.err(e))?;
            let parse = |text: Option<String>| {
                text.map(|t| serde_json::from_str(&t).map_err(|e| self.corrupt(e)))
                    .transpose()
            };
            out.push(ChangeRow {
                run_id,
                pipeline: pipeline.to_owned(),
                source_key: Some(key.to_owned()),
                person_id,
                action,
                before: parse(before)?,
                after: parse(after)?,
            });
        }
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
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT run_id, pipeline, source_key, action, before, after FROM changes
                  WHERE person_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([person], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let parse = |text: Option<String>| {
            text.map(|t| serde_json::from_str(&t).map_err(|e| self.corrupt(e)))
                .transpose()
        };
        let mut out = rows
            .into_iter()
            .map(|(run_id, pipeline, source_key, action, before, after)| {
                Ok(ChangeRow {
                    run_id,
                    pipeline,
                    source_key,
                    person_id: Some(person),
                    action,
                    before: parse(before)?,
                    after: parse(after)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for row in &mut out {
            row.after = self.creation_after(row)?;
        }
        Ok(out)
    }
}

impl SqliteTx<'_> {
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
