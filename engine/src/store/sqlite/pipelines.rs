//! [`Pipelines`] in SQLite.

use rusqlite::{OptionalExtension, params};

use super::SqliteTx;
use crate::store::{PipelineLifecycle, Pipelines, Result};

impl Pipelines for SqliteTx<'_> {
    fn record_pipeline(
        &self,
        name: &str,
        system: &str,
        lifecycle: &PipelineLifecycle,
        run: i64,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO pipelines (name, system, limbo, purge_after, updated_run)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET system = ?2, limbo = ?3, purge_after = ?4,
                                                  updated_run = ?5",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    name,
                    system,
                    lifecycle.limbo,
                    lifecycle.purge_after.map(|s| s as i64),
                    run
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn pipeline_lifecycle(&self, name: &str) -> Result<Option<PipelineLifecycle>> {
        self.tx
            .prepare_cached("SELECT limbo, purge_after FROM pipelines WHERE name = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([name], |row| {
                    Ok(PipelineLifecycle {
                        limbo: row.get(0)?,
                        purge_after: row.get::<_, Option<i64>>(1)?.map(|s| s as u64),
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }
}
