//! [`Pipelines`] in PostgreSQL.

use super::PgTx;
use crate::store::{PipelineLifecycle, Pipelines, Result};

impl Pipelines for PgTx<'_> {
    fn record_pipeline(
        &self,
        name: &str,
        system: &str,
        lifecycle: &PipelineLifecycle,
        run: i64,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO pipelines (name, system, limbo, purge_after, updated_run)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET system = $2, limbo = $3, purge_after = $4,
                                              updated_run = $5",
            &[
                &name,
                &system,
                &lifecycle.limbo,
                &lifecycle.purge_after.map(|s| s as i64),
                &run,
            ],
        )?;
        Ok(())
    }

    fn pipeline_lifecycle(&self, name: &str) -> Result<Option<PipelineLifecycle>> {
        Ok(self
            .row(
                "SELECT limbo, purge_after FROM pipelines WHERE name = $1",
                &[&name],
            )?
            .map(|row| PipelineLifecycle {
                limbo: row.get(0),
                purge_after: row.get::<_, Option<i64>>(1).map(|s| s as u64),
            }))
    }
}
