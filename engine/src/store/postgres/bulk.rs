//! [`BulkLoad`] in PostgreSQL: no index is dropped (dropping one inside the
//! run's transaction would lock its table against every other run, of any
//! system, until the commit). What a first load needs instead is to ask
//! the server nothing per key, so that its inserts wait and go in by `COPY`
//! ([`super::copy`]): matching is answered meanwhile by the in-memory
//! [`IdentityLookup`] SQLite's first load uses, filled from the stored
//! identities when there are not too many, and confirmed by the store for
//! each candidate it gives.

use super::PgTx;
use crate::store::sqlite::identity_lookup::IdentityLookup;
use crate::store::{BulkLoad, DeferredIndexes, IdentityKind, Result};

/// Up to this many stored identities, holding them in memory (8 bytes a
/// slot) pays for itself; beyond, matching asks the server per key.
const LOOKUP_UP_TO: i64 = 2_000_000;

impl BulkLoad for PgTx<'_> {
    fn defer_indexes(&self, _system: &str, _pipeline: &str) -> Result<Option<DeferredIndexes>> {
        let stored: i64 = self
            .row(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM emails LIMIT $1) e)
                      + (SELECT count(*) FROM (SELECT 1 FROM identifiers LIMIT $1) i)",
                &[&(LOOKUP_UP_TO + 1)],
            )?
            .map_or(0, |row| row.get(0));
        if stored > LOOKUP_UP_TO {
            return Ok(None);
        }
        let mut lookup = IdentityLookup::new();
        for (kind, sql) in [
            (
                IdentityKind::Email,
                "SELECT type, folded, person_id FROM emails",
            ),
            (
                IdentityKind::Identifier,
                "SELECT type, value, person_id FROM identifiers",
            ),
        ] {
            self.each_row(sql, &[], |row| {
                lookup.add(kind, row.get(0), row.get(1), row.get(2));
                Ok(())
            })?;
        }
        *self.identity_lookup.borrow_mut() = Some(lookup);
        Ok(Some(DeferredIndexes {
            statements: Vec::new(),
        }))
    }

    fn rebuild_indexes(&self, deferred: DeferredIndexes) -> Result<()> {
        *self.identity_lookup.borrow_mut() = None;
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
