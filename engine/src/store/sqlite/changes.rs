//! [`Changes`] in SQLite.

use rusqlite::{Row, params};
use serde_json::Value;

use super::SqliteTx;
use crate::store::changes::{restore_creations, stored_without_values};
use crate::store::{ChangeRow, Changes, Records, Result};

/// The columns [`ChangeRow`]s are read from, in [`SqliteTx::change_rows`]'s order.
const CHANGE_COLUMNS: &str = "run_id, pipeline, source_key, person_id, action, before, after, why";

/// One row as text, before its JSON is parsed.
type RawChange = (
    i64,
    String,
    Option<String>,
    Option<i64>,
    String,
    [Option<String>; 3],
);

fn raw_change(row: &Row<'_>) -> rusqlite::Result<RawChange> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        [row.get(5)?, row.get(6)?, row.get(7)?],
    ))
}

impl SqliteTx<'_> {
    /// The change log entries `condition` selects (on `?1`, `?2`), oldest first.
    fn change_rows(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ChangeRow>> {
        let sql = format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE {condition} ORDER BY id");
        let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, raw_change)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let parse = |text: Option<String>| -> Result<Option<Value>> {
            text.map(|t| serde_json::from_str(&t).map_err(|e| self.corrupt(e)))
                .transpose()
        };
        rows.into_iter()
            .map(
                |(run_id, pipeline, source_key, person_id, action, [before, after, why])| {
                    let why = why
                        .map(|t| serde_json::from_str(&t).map_err(|e| self.corrupt(e)))
                        .transpose()?;
                    Ok(ChangeRow {
                        run_id,
                        pipeline,
                        source_key,
                        person_id,
                        action,
                        before: parse(before)?,
                        after: parse(after)?,
                        why,
                    })
                },
            )
            .collect()
    }
}

impl Changes for SqliteTx<'_> {
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
        self.tx
            .prepare_cached(
                "INSERT INTO changes (run_id, pipeline, source_key, person_id, action, before, after, why)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    change.run_id,
                    change.pipeline,
                    change.source_key,
                    change.person_id,
                    change.action,
                    before,
                    after,
                    why
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn changes_of(&self, pipeline: &str, key: &str) -> Result<Vec<ChangeRow>> {
        let mut out =
            self.change_rows("pipeline = ?1 AND source_key = ?2", params![pipeline, key])?;
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
        let mut out = self.change_rows("person_id = ?1", params![person])?;
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
