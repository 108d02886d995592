//! [`Lineage`] in SQLite: one row, kept by the triggers of migration V7.

use super::SqliteTx;
use crate::store::{Lineage, Result, StoreLineage};

impl Lineage for SqliteTx<'_> {
    fn lineage(&self) -> Result<StoreLineage> {
        self.tx
            .prepare_cached("SELECT lineage, serial FROM lineage WHERE id = 1")
            .and_then(|mut stmt| {
                stmt.query_row([], |row| {
                    Ok(StoreLineage {
                        lineage: row.get(0)?,
                        serial: row.get(1)?,
                    })
                })
            })
            .map_err(|e| self.err(e))
    }
}
