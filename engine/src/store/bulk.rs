//! A pipeline's first load into a store that holds little else: indexes
//! the load never reads are dropped and built once at the end, sorted,
//! instead of kept up to date row by row in random key order.
//!
//! Each record of a first load adds rows to seven indexes keyed by its
//! source key or its addresses, all in random order; once they outgrow the
//! page cache nearly every insert reads and rewrites a page. Four of them
//! are only read when a key is seen again (updates, removals, `show`),
//! which a first load never does. Building those four at the end costs one
//! sort each. Everything happens inside the run's transaction: a failed or
//! refused run rolls the drop back with the rest.

use rusqlite::OptionalExtension;

use super::{Result, Tx};

/// The indexes a first load only writes: lookups of records, identities
/// and changes by (pipeline, key).
const DEFERRABLE: &[&str] = &[
    "source_records_by_key",
    "identifiers_by_record",
    "emails_by_record",
    "changes_by_record",
];

/// Up to this many source records of other pipelines, rebuilding their
/// index entries too is a moment's work.
const SMALL_STORE: i64 = 10_000;

/// Indexes dropped for a first load, to be built again before it commits.
#[derive(Debug)]
#[must_use = "the dropped indexes must be rebuilt before the run commits"]
pub struct DeferredIndexes {
    /// `CREATE INDEX` statements as the schema has them.
    statements: Vec<String>,
}

impl Tx<'_> {
    /// Prepares a pipeline's first load (the caller knows it has no prior
    /// records): when the store holds few source records, drops the indexes
    /// the load never reads. `None` when the store is too large for
    /// rebuilding to pay.
    pub fn defer_indexes(&self) -> Result<Option<DeferredIndexes>> {
        let stored: i64 = self
            .tx
            .query_row(
                "SELECT count(*) FROM (SELECT 1 FROM source_records LIMIT ?1)",
                [SMALL_STORE + 1],
                |row| row.get(0),
            )
            .map_err(|e| self.err(e))?;
        if stored > SMALL_STORE {
            return Ok(None);
        }
        let mut statements = Vec::with_capacity(DEFERRABLE.len());
        for name in DEFERRABLE {
            let sql: Option<String> = self
                .tx
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            if let Some(sql) = sql {
                self.tx
                    .execute_batch(&format!("DROP INDEX \"{name}\""))
                    .map_err(|e| self.err(e))?;
                statements.push(sql);
            }
        }
        Ok(Some(DeferredIndexes { statements }))
    }

    /// Builds the indexes [`Tx::defer_indexes`] dropped.
    pub fn rebuild_indexes(&self, deferred: DeferredIndexes) -> Result<()> {
        for sql in &deferred.statements {
            self.tx.execute_batch(sql).map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    fn indexes(store: &mut Store) -> Vec<String> {
        let tx = store.read().unwrap();
        let mut stmt = tx
            .tx
            .prepare(
                "SELECT name || ': ' || sql FROM sqlite_schema
                  WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
            )
            .unwrap();
        let rows = stmt.query_map([], |row| row.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn deferred_indexes_come_back_exactly_and_a_rollback_keeps_them() {
        let mut store = Store::in_memory().unwrap();
        let before = indexes(&mut store);
        assert!(
            before
                .iter()
                .any(|i| i.starts_with("source_records_by_key:"))
        );

        let tx = store.write().unwrap();
        let deferred = tx.defer_indexes().unwrap().expect("an empty store defers");
        assert_eq!(deferred.statements.len(), super::DEFERRABLE.len());
        tx.rollback().unwrap();
        assert_eq!(indexes(&mut store), before, "a rollback restores them");

        let tx = store.write().unwrap();
        let deferred = tx.defer_indexes().unwrap().unwrap();
        tx.rebuild_indexes(deferred).unwrap();
        tx.commit().unwrap();
        assert_eq!(indexes(&mut store), before);
    }
}
