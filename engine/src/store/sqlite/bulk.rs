//! A pipeline's first load into a store that holds little else: indexes
//! the load never reads are dropped and built once at the end, sorted,
//! instead of kept up to date row by row in random key order.
//!
//! Each record of a first load adds entries to eight indexes keyed by its
//! source key or its addresses, all in random order; once they outgrow the
//! page cache nearly every insert reads and rewrites a page. Five of them
//! (records, identities, changes and roles by (pipeline, key)) are only
//! read when a key is seen again (updates, removals, `show`), which a first
//! load never does. The record lookup by (system, key) is only read when
//! another pipeline shares the system, and then it stays. The two that
//! matching reads (identities by value) are answered meanwhile by an
//! in-memory [`IdentityLookup`]. Building each at the end costs one sort.
//! Everything happens inside the run's transaction: a failed or refused run
//! rolls the drop back with the rest.

use rusqlite::OptionalExtension;

use super::SqliteTx;
use super::identity_lookup::IdentityLookup;
use crate::store::{BulkLoad, DeferredIndexes, IdentityKind, Records, Result};

/// The indexes a first load only writes: lookups of records, identities
/// and changes by (pipeline, key).
const DEFERRABLE: &[&str] = &[
    "source_records_by_key",
    "identifiers_by_record",
    "emails_by_record",
    "changes_by_record",
    "roles_by_record",
];

/// Read only by the same key's lookup in another pipeline of the system.
const BY_SYSTEM: &str = "source_records_by_system";

/// Read by matching; answered by an [`IdentityLookup`] while dropped.
const BY_IDENTITY: &[&str] = &["emails_by_folded", "identifiers_by_value"];

/// Up to this many source records of other pipelines, rebuilding their
/// index entries too is a moment's work.
const SMALL_STORE: i64 = 10_000;

impl BulkLoad for SqliteTx<'_> {
    fn defer_indexes(&self, system: &str, pipeline: &str) -> Result<Option<DeferredIndexes>> {
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
        let mut names: Vec<&str> = DEFERRABLE.to_vec();
        if !self.system_shared(system, pipeline)? {
            names.push(BY_SYSTEM);
        }
        names.extend(BY_IDENTITY);
        *self.identity_lookup.borrow_mut() = Some(self.stored_identities()?);
        let mut statements = Vec::with_capacity(names.len());
        for name in names {
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

    fn rebuild_indexes(&self, deferred: DeferredIndexes) -> Result<()> {
        *self.identity_lookup.borrow_mut() = None;
        // The stream is over, so the other cores are idle: let SQLite's
        // sorter use them (1M records: 8.4 -> 4.9 s on two cores).
        let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) - 1;
        self.tx
            .pragma_update(None, "threads", helpers as i64)
            .map_err(|e| self.err(e))?;
        let built = deferred
            .statements
            .iter()
            .try_for_each(|sql| self.tx.execute_batch(sql));
        self.tx
            .pragma_update(None, "threads", 0)
            .map_err(|e| self.err(e))?;
        built.map_err(|e| self.err(e))
    }
}

impl SqliteTx<'_> {
    /// Every identity already in the (small) store, for the lookup.
    fn stored_identities(&self) -> Result<IdentityLookup> {
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
            let mut stmt = self.tx.prepare(sql).map_err(|e| self.err(e))?;
            let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let type_name = row
                    .get_ref(0)
                    .and_then(|v| Ok(v.as_str()?))
                    .map_err(|e| self.err(e))?;
                let value = row
                    .get_ref(1)
                    .and_then(|v| Ok(v.as_str()?))
                    .map_err(|e| self.err(e))?;
                let person: i64 = row.get(2).map_err(|e| self.err(e))?;
                lookup.add(kind, type_name, value, person);
            }
        }
        Ok(lookup)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::store::Backend;

    fn indexes(store: &mut SqliteStore) -> Vec<String> {
        let tx = store.begin(false).unwrap();
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
        let mut store = SqliteStore::in_memory().unwrap();
        let before = indexes(&mut store);
        assert!(
            before
                .iter()
                .any(|i| i.starts_with("source_records_by_key:"))
        );

        let tx = store.write(&crate::store::Claim::Whole).unwrap();
        let deferred = tx
            .defer_indexes("sso", "staff")
            .unwrap()
            .expect("an empty store defers");
        assert_eq!(
            deferred.statements.len(),
            super::DEFERRABLE.len() + 1 + super::BY_IDENTITY.len()
        );
        tx.rollback().unwrap();
        assert_eq!(indexes(&mut store), before, "a rollback restores them");

        let tx = store.write(&crate::store::Claim::Whole).unwrap();
        let deferred = tx.defer_indexes("sso", "staff").unwrap().unwrap();
        tx.rebuild_indexes(deferred).unwrap();
        tx.commit().unwrap();
        assert_eq!(indexes(&mut store), before);
    }
}
