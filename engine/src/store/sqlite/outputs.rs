//! [`Outputs`] in SQLite.

use rusqlite::params;
use serde_json::Value;

use super::SqliteTx;
use crate::store::{ChangeRow, EachPresent, Outputs, Result};

impl Outputs for SqliteTx<'_> {
    fn for_each_present(&self, pipeline: &str, each: &mut EachPresent<'_>) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT key, fields FROM source_records
                  WHERE pipeline = ?1 AND state = 'present' ORDER BY key",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([pipeline]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let key: String = row.get(0).map_err(|e| self.err(e))?;
            let text: String = row.get(1).map_err(|e| self.err(e))?;
            let fields = serde_json::from_str(&text).map_err(|e| self.corrupt(e))?;
            each(&key, fields)?;
        }
        Ok(())
    }

    fn present_values(&self, pipeline: &str, field: &str) -> Result<Vec<(String, Value)>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT key, json_extract(fields, '$.\"' || ?2 || '\"')
                   FROM source_records WHERE pipeline = ?1 AND state = 'present'",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![pipeline, field], |row| {
                let key: String = row.get(0)?;
                let value: rusqlite::types::Value = row.get(1)?;
                Ok((key, value))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, value) = row.map_err(|e| self.err(e))?;
            let value = match value {
                rusqlite::types::Value::Null => Value::Null,
                rusqlite::types::Value::Integer(i) => Value::from(i),
                rusqlite::types::Value::Real(f) => Value::from(f),
                rusqlite::types::Value::Text(t) => Value::String(t),
                rusqlite::types::Value::Blob(_) => Value::Null,
            };
            out.push((key, value));
        }
        Ok(out)
    }

    fn run_changes(&self, pipeline: &str, run: i64) -> Result<Vec<ChangeRow>> {
        // A creation stored without values takes its record's fields when
        // the record has not changed since (the usual case, one join);
        // otherwise its own log gives them back.
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT c.source_key, c.person_id, c.action, c.before, c.after,
                        CASE WHEN r.changed_run = c.run_id THEN r.fields END
                   FROM changes c
                   LEFT JOIN source_records r
                          ON c.after IS NULL AND c.action = 'create'
                         AND r.pipeline = c.pipeline AND r.key = c.source_key
                  WHERE c.pipeline = ?1 AND c.run_id = ?2 ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![pipeline, run], |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (source_key, person_id, action, before, after, fields) =
                row.map_err(|e| self.err(e))?;
            let parse = |text: Option<String>| {
                text.map(|t| serde_json::from_str(&t).map_err(|e| self.corrupt(e)))
                    .transpose()
            };
            let change = ChangeRow {
                run_id: run,
                pipeline: pipeline.to_owned(),
                source_key,
                person_id,
                action,
                before: parse(before)?,
                after: parse(after.or(fields))?,
                why: None,
            };
            let after = self.creation_after(&change)?;
            out.push(ChangeRow { after, ..change });
        }
        Ok(out)
    }

    fn note_run_error(&self, run: i64, error: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE runs SET error = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![run, error]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
