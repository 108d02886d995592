//! [`BulkLoad`] in PostgreSQL: no index is deferred. Dropping an index
//! inside the run's transaction takes an exclusive lock on its table until
//! the commit, which would make every other run (of any system) wait for
//! this one; the first load's rows go in with the indexes kept.

use super::PgTx;
use crate::store::{BulkLoad, DeferredIndexes, Result};

impl BulkLoad for PgTx<'_> {
    fn defer_indexes(&self, _system: &str, _pipeline: &str) -> Result<Option<DeferredIndexes>> {
        Ok(None)
    }

    fn rebuild_indexes(&self, deferred: DeferredIndexes) -> Result<()> {
        self.flush()?;
        for sql in &deferred.statements {
            self.tx
                .borrow_mut()
                .batch_execute(sql)
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
