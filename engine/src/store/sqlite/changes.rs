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

#[cfg(test)]
mod tests {
    use crate::store::{ChangeRow, RunRow, Store, Why};

    fn change(run: i64, person: i64, key: &str, why: Option<Why>) -> ChangeRow {
        ChangeRow {
            run_id: run,
            pipeline: "p".into(),
            source_key: Some(key.into()),
            person_id: Some(person),
            action: "remove".into(),
            before: None,
            after: None,
            why,
        }
    }

    #[test]
    fn the_rule_of_a_change_is_kept_and_read_back() {
        let mut store = Store::in_memory().unwrap();
        let tx = store.write().unwrap();
        let run = tx
            .insert_run(&RunRow {
                id: 0,
                pipeline: "p".into(),
                started_at: "t0".into(),
                finished_at: "t0".into(),
                outcome: "applied".into(),
                overridden: false,
                forced: false,
                source: Default::default(),
                summary: Default::default(),
                error: None,
                checks: Vec::new(),
                delivered_at: None,
            })
            .unwrap();
        let person = tx.insert_person(&Default::default(), run).unwrap();
        let rule = Why::OnRemoval {
            status: "suspended".into(),
            grace_period: Some(14 * 86_400),
            grace_until: Some("2025-03-22T00:00:00.000Z".into()),
        };
        tx.log_change(&change(run, person, "k1", Some(rule.clone())))
            .unwrap();
        tx.log_change(&change(run, person, "k2", None)).unwrap();
        assert_eq!(tx.changes_of("p", "k1").unwrap()[0].why, Some(rule.clone()));
        assert_eq!(tx.changes_of("p", "k2").unwrap()[0].why, None);
        let of_person: Vec<Option<Why>> = tx
            .changes_of_person(person)
            .unwrap()
            .into_iter()
            .map(|c| c.why)
            .collect();
        assert_eq!(of_person, [Some(rule), None]);
    }
}
