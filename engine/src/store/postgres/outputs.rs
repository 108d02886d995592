//! [`Outputs`] in PostgreSQL.

use serde_json::Value;

use super::PgTx;
use crate::store::{ChangeRow, EachPresent, Outputs, Result};

impl Outputs for PgTx<'_> {
    fn for_each_present(&self, pipeline: &str, each: &mut EachPresent<'_>) -> Result<()> {
        self.each_row(
            "SELECT key, fields FROM source_records
              WHERE pipeline = $1 AND state = 'present' ORDER BY key",
            &[&pipeline],
            |row| each(row.get(0), self.json(row.get(1))?),
        )
    }

    fn present_values(&self, pipeline: &str, field: &str) -> Result<Vec<(String, Value)>> {
        self.rows(
            "SELECT key, (fields::json -> $2)::text
               FROM source_records WHERE pipeline = $1 AND state = 'present'",
            &[&pipeline, &field],
        )?
        .iter()
        .map(|row| {
            let value = match row.get::<_, Option<&str>>(1) {
                // As SQLite's json_extract gives them: nested values as their text.
                Some(text) => match self.json::<Value>(text)? {
                    nested @ (Value::Array(_) | Value::Object(_)) => {
                        Value::String(nested.to_string())
                    }
                    Value::Bool(flag) => Value::from(i64::from(flag)),
                    value => value,
                },
                None => Value::Null,
            };
            Ok((row.get(0), value))
        })
        .collect()
    }

    fn run_changes(&self, pipeline: &str, run: i64) -> Result<Vec<ChangeRow>> {
        // As in SQLite: a creation stored without values takes its record's
        // fields when the record has not changed since; otherwise its own
        // log gives them back.
        let rows = self.rows(
            "SELECT c.source_key, c.person_id, c.action, c.before, c.after,
                    CASE WHEN r.changed_run = c.run_id THEN r.fields END
               FROM changes c
               LEFT JOIN source_records r
                      ON c.after IS NULL AND c.action = 'create'
                     AND r.pipeline = c.pipeline AND r.key = c.source_key
              WHERE c.pipeline = $1 AND c.run_id = $2 ORDER BY c.id",
            &[&pipeline, &run],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let parse = |text: Option<&str>| text.map(|t| self.json(t)).transpose();
            let after: Option<&str> = row.get(4);
            let change = ChangeRow {
                run_id: run,
                pipeline: pipeline.to_owned(),
                source_key: row.get(0),
                person_id: row.get(1),
                action: row.get(2),
                before: parse(row.get(3))?,
                after: parse(after.or(row.get(5)))?,
                why: None,
            };
            let after = self.creation_after(&change)?;
            out.push(ChangeRow { after, ..change });
        }
        Ok(out)
    }

    fn note_run_error(&self, run: i64, error: &str) -> Result<()> {
        self.exec("UPDATE runs SET error = $2 WHERE id = $1", &[&run, &error])?;
        Ok(())
    }
}
