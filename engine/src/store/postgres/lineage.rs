//! [`Lineage`] in PostgreSQL: the lineage row of V9, and the serial
//! counted as of this transaction's snapshot (see `schema::V9` for why it
//! is not a counter row).

use super::PgTx;
use crate::store::{Lineage, Result, StoreLineage};

impl Lineage for PgTx<'_> {
    fn lineage(&self) -> Result<StoreLineage> {
        let row = self.row(
            "SELECT l.lineage,
                    (SELECT count(*) FROM runs WHERE outcome IN ('applied', 'no-change'))
               FROM lineage l WHERE l.id = 1",
            &[],
        )?;
        Ok(row.map_or(
            StoreLineage {
                lineage: String::new(),
                serial: 0,
            },
            |row| StoreLineage {
                lineage: row.get(0),
                serial: row.get(1),
            },
        ))
    }
}
