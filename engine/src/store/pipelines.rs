//! What each pipeline's lifecycle said when it last ran, so `rollcall purge`
//! can deactivate and purge without the pipeline files at hand.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};

/// The lifecycle settings a deactivation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineLifecycle {
    /// Limbo scope persons are moved to when deactivated.
    pub limbo: Option<String>,
    /// Seconds after deactivation a person is purged; `None` for never.
    pub purge_after: Option<u64>,
}

impl Tx<'_> {
    /// Records a pipeline's system and lifecycle as of this run.
    pub fn record_pipeline(
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

    /// A pipeline's lifecycle as of its last run.
    pub fn pipeline_lifecycle(&self, name: &str) -> Result<Option<PipelineLifecycle>> {
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
