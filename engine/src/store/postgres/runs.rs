//! [`Runs`] in PostgreSQL.

use postgres::Row;

use super::PgTx;
use crate::source::SourceIdentity;
use crate::store::{Result, RunRow, Runs};
use crate::vocabulary::{Check, Summary};

const RUN_COLUMNS: &str = "id, pipeline, started_at, finished_at, outcome, overridden, forced,
     source_uri, source_etag, source_size, source_modified, source_sha256,
     records_read, records_valid, records_invalid, records_filtered,
     created, updated, removed, reinstated, unchanged, held, error,
     ambiguous, transitions, purged, delivered_at";

fn run_from_row(row: &Row) -> RunRow {
    let count = |i: usize| row.get::<_, i64>(i) as u64;
    RunRow {
        id: row.get(0),
        pipeline: row.get(1),
        started_at: row.get(2),
        finished_at: row.get(3),
        outcome: row.get(4),
        overridden: row.get(5),
        forced: row.get(6),
        source: SourceIdentity {
            uri: row.get::<_, Option<String>>(7).unwrap_or_default(),
            etag: row.get(8),
            size: row.get::<_, Option<i64>>(9).map(|n| n as u64),
            modified: row.get(10),
            sha256: row.get(11),
        },
        summary: Summary {
            read: count(12),
            valid: count(13),
            invalid: count(14),
            filtered: count(15),
            created: count(16),
            updated: count(17),
            removed: count(18),
            reinstated: count(19),
            unchanged: count(20),
            held: count(21),
            ambiguous: count(23),
            transitions: count(24),
            purged: count(25),
        },
        error: row.get(22),
        checks: Vec::new(),
        delivered_at: row.get(26),
    }
}

impl PgTx<'_> {
    /// The newest run of `pipeline` whose outcome is in `outcomes` (an SQL
    /// list of literals, optionally followed by `AND` more conditions).
    fn newest_run(&self, pipeline: &str, outcomes: &str) -> Result<Option<RunRow>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE pipeline = $1 AND outcome IN {outcomes}
              ORDER BY id DESC LIMIT 1"
        );
        Ok(self.row(&sql, &[&pipeline])?.map(|row| run_from_row(&row)))
    }

    fn with_checks(&self, mut run: RunRow) -> Result<RunRow> {
        run.checks = self
            .rows(
                "SELECT name, limit_value, actual, detail, passed FROM run_checks
                  WHERE run_id = $1 ORDER BY seq",
                &[&run.id],
            )?
            .iter()
            .map(|row| Check {
                name: row.get(0),
                limit: row.get(1),
                actual: row.get(2),
                detail: row.get(3),
                passed: row.get(4),
            })
            .collect();
        Ok(run)
    }
}

impl Runs for PgTx<'_> {
    fn insert_run(&self, run: &RunRow) -> Result<i64> {
        let id: i64 = self
            .row(
                "INSERT INTO runs (pipeline, started_at, finished_at, outcome)
                 VALUES ($1, $2, $2, 'failed') RETURNING id",
                &[&run.pipeline, &run.started_at],
            )?
            .map_or(0, |row| row.get(0));
        self.update_run(id, run)?;
        Ok(id)
    }

    fn update_run(&self, id: i64, run: &RunRow) -> Result<()> {
        let s = &run.summary;
        let counts = [
            s.read,
            s.valid,
            s.invalid,
            s.filtered,
            s.created,
            s.updated,
            s.removed,
            s.reinstated,
            s.unchanged,
            s.held,
            s.ambiguous,
            s.transitions,
            s.purged,
        ]
        .map(|n| n as i64);
        let size = run.source.size.map(|n| n as i64);
        self.exec(
            "UPDATE runs SET finished_at = $2, outcome = $3, overridden = $4, forced = $5,
                    source_uri = $6, source_etag = $7, source_size = $8, source_modified = $9,
                    source_sha256 = $10, records_read = $11, records_valid = $12,
                    records_invalid = $13, records_filtered = $14, created = $15,
                    updated = $16, removed = $17, reinstated = $18, unchanged = $19,
                    held = $20, ambiguous = $21, transitions = $22, purged = $23, error = $24
              WHERE id = $1",
            &[
                &id,
                &run.finished_at,
                &run.outcome,
                &run.overridden,
                &run.forced,
                &run.source.uri,
                &run.source.etag,
                &size,
                &run.source.modified,
                &run.source.sha256,
                &counts[0],
                &counts[1],
                &counts[2],
                &counts[3],
                &counts[4],
                &counts[5],
                &counts[6],
                &counts[7],
                &counts[8],
                &counts[9],
                &counts[10],
                &counts[11],
                &counts[12],
                &run.error,
            ],
        )?;
        self.exec("DELETE FROM run_checks WHERE run_id = $1", &[&id])?;
        for check in &run.checks {
            self.exec(
                "INSERT INTO run_checks (run_id, name, limit_value, actual, detail, passed)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id,
                    &check.name,
                    &check.limit,
                    &check.actual,
                    &check.detail,
                    &check.passed,
                ],
            )?;
        }
        Ok(())
    }

    fn last_applied(&self, pipeline: &str) -> Result<Option<RunRow>> {
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
        self.exec(
            "UPDATE runs SET delivered_at = $2 WHERE id = $1",
            &[&run, &at],
        )?;
        Ok(())
    }

    fn run(&self, id: i64) -> Result<Option<RunRow>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        let run = self.row(&sql, &[&id])?.map(|row| run_from_row(&row));
        run.map(|run| self.with_checks(run)).transpose()
    }

    fn history(&self, pipeline: &str, limit: usize) -> Result<Vec<RunRow>> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs WHERE pipeline = $1 ORDER BY id DESC LIMIT $2");
        let runs: Vec<RunRow> = self
            .rows(&sql, &[&pipeline, &(limit as i64)])?
            .iter()
            .map(run_from_row)
            .collect();
        runs.into_iter().map(|run| self.with_checks(run)).collect()
    }
}
