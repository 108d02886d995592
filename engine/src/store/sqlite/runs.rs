//! [`Runs`] in SQLite.

use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::source::SourceIdentity;
use crate::store::{Result, RunRow, Runs};
use crate::vocabulary::{Check, Summary};

const RUN_COLUMNS: &str = "id, pipeline, started_at, finished_at, outcome, overridden, forced,
     source_uri, source_etag, source_size, source_modified, source_sha256,
     records_read, records_valid, records_invalid, records_filtered,
     created, updated, removed, reinstated, unchanged, held, error,
     ambiguous, transitions, purged, delivered_at";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunRow> {
    let count = |i: usize| row.get::<_, i64>(i).map(|n| n as u64);
    Ok(RunRow {
        id: row.get(0)?,
        pipeline: row.get(1)?,
        started_at: row.get(2)?,
        finished_at: row.get(3)?,
        outcome: row.get(4)?,
        overridden: row.get(5)?,
        forced: row.get(6)?,
        source: SourceIdentity {
            uri: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
            etag: row.get(8)?,
            size: row.get::<_, Option<i64>>(9)?.map(|n| n as u64),
            modified: row.get(10)?,
            sha256: row.get(11)?,
        },
        summary: Summary {
            read: count(12)?,
            valid: count(13)?,
            invalid: count(14)?,
            filtered: count(15)?,
            created: count(16)?,
            updated: count(17)?,
            removed: count(18)?,
            reinstated: count(19)?,
            unchanged: count(20)?,
            held: count(21)?,
            ambiguous: count(23)?,
            transitions: count(24)?,
            purged: count(25)?,
        },
        error: row.get(22)?,
        checks: Vec::new(),
        delivered_at: row.get(26)?,
    })
}

impl SqliteTx<'_> {
    /// The newest run of `pipeline` whose outcome is in `outcomes` (an SQL
    /// list of literals, optionally followed by `AND` more conditions),
    /// without its checks.
    fn newest_run(&self, pipeline: &str, outcomes: &str) -> Result<Option<RunRow>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE pipeline = ?1 AND outcome IN {outcomes}
              ORDER BY id DESC LIMIT 1"
        );
        self.tx
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row([pipeline], run_from_row).optional())
            .map_err(|e| self.err(e))
    }

    fn with_checks(&self, mut run: RunRow) -> Result<RunRow> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT name, limit_value, actual, detail, passed FROM run_checks
                  WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        run.checks = stmt
            .query_map([run.id], |row| {
                Ok(Check {
                    name: row.get(0)?,
                    limit: row.get(1)?,
                    actual: row.get(2)?,
                    detail: row.get(3)?,
                    passed: row.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(run)
    }
}

impl Runs for SqliteTx<'_> {
    fn insert_run(&self, run: &RunRow) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO runs (pipeline, started_at, finished_at, outcome) VALUES (?1, ?2, ?2, 'failed')",
            )
            .and_then(|mut stmt| stmt.execute(params![run.pipeline, run.started_at]))
            .map_err(|e| self.err(e))?;
        let id = self.tx.last_insert_rowid();
        self.update_run(id, run)?;
        Ok(id)
    }

    fn update_run(&self, id: i64, run: &RunRow) -> Result<()> {
        let s = &run.summary;
        self.tx
            .prepare_cached(
                "UPDATE runs SET finished_at = ?2, outcome = ?3, overridden = ?4, forced = ?5,
                        source_uri = ?6, source_etag = ?7, source_size = ?8, source_modified = ?9,
                        source_sha256 = ?10, records_read = ?11, records_valid = ?12,
                        records_invalid = ?13, records_filtered = ?14, created = ?15,
                        updated = ?16, removed = ?17, reinstated = ?18, unchanged = ?19,
                        held = ?20, error = ?21, ambiguous = ?22, transitions = ?23,
                        purged = ?24
                  WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    run.finished_at,
                    run.outcome,
                    run.overridden,
                    run.forced,
                    run.source.uri,
                    run.source.etag,
                    run.source.size.map(|n| n as i64),
                    run.source.modified,
                    run.source.sha256,
                    s.read as i64,
                    s.valid as i64,
                    s.invalid as i64,
                    s.filtered as i64,
                    s.created as i64,
                    s.updated as i64,
                    s.removed as i64,
                    s.reinstated as i64,
                    s.unchanged as i64,
                    s.held as i64,
                    run.error,
                    s.ambiguous as i64,
                    s.transitions as i64,
                    s.purged as i64,
                ])
            })
            .map_err(|e| self.err(e))?;
        self.tx
            .execute("DELETE FROM run_checks WHERE run_id = ?1", [id])
            .map_err(|e| self.err(e))?;
        for check in &run.checks {
            self.tx
                .prepare_cached(
                    "INSERT INTO run_checks (run_id, name, limit_value, actual, detail, passed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        id,
                        check.name,
                        check.limit,
                        check.actual,
                        check.detail,
                        check.passed
                    ])
                })
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn last_applied(&self, pipeline: &str) -> Result<Option<RunRow>> {
        // A no-change run that read nothing found its extract already
        // applied: the run that applied it is the baseline.
        let run = self.newest_run(
            pipeline,
            "('applied', 'no-change') AND NOT (outcome = 'no-change' AND records_read = 0)",
        )?;
        run.map(|run| self.with_checks(run)).transpose()
    }

    fn undelivered_run(&self, pipeline: &str) -> Result<Option<RunRow>> {
        Ok(self
            .newest_run(pipeline, "('applied')")?
            .filter(RunRow::undelivered))
    }

    fn mark_delivered(&self, run: i64, at: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE runs SET delivered_at = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![run, at]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn run(&self, id: i64) -> Result<Option<RunRow>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        let run = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row([id], run_from_row).optional())
            .map_err(|e| self.err(e))?;
        run.map(|run| self.with_checks(run)).transpose()
    }

    fn history(&self, pipeline: &str, limit: usize) -> Result<Vec<RunRow>> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs WHERE pipeline = ?1 ORDER BY id DESC LIMIT ?2");
        let mut stmt = self.tx.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let runs = stmt
            .query_map(params![pipeline, limit as i64], run_from_row)
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        runs.into_iter().map(|run| self.with_checks(run)).collect()
    }
}
