//! The SQLite backend: a store in one file, the embedded default.
//!
//! A run holds one write transaction (`BEGIN IMMEDIATE`) from before it reads
//! the prior state until it commits or rolls back. That single transaction is
//! what makes a run atomic under a crash, and what refuses a second
//! concurrent run at once: SQLite's busy timeout is zero, so the second
//! `BEGIN IMMEDIATE` fails immediately instead of waiting. Readers (`plan`,
//! `history`) see a consistent snapshot through WAL.

mod bulk;
mod changes;
mod frozen;
mod identities;
pub(in crate::store) mod identity_lookup;
mod lineage;
mod outbox;
mod outputs;
mod persons;
mod pipelines;
mod records;
mod roles;
mod runs;
mod schema;
mod tables;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{Backend, BackendError, Claim, Result, StoreError, Transaction};

/// A failure inside SQLite, with the file it happened in.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("state store {path}: {source}")]
#[diagnostic(
    code(rollcall::store::sqlite),
    help("check that the path is a rollcall state store and that the disk is writable")
)]
pub struct SqliteError {
    /// The store file.
    path: PathBuf,
    /// The SQLite error.
    #[source]
    source: rusqlite::Error,
}

/// A store in one SQLite file (or in memory).
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) a store for writing and migrates its schema.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).map_err(|e| locked_or(path, e))?;
        // Refused before anything is written, even the switch to WAL: a
        // newer rollcall's store stays byte for byte as it was.
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| locked_or(path, e))?;
        if found as usize > schema::MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found: found as usize,
                supported: schema::MIGRATIONS.len(),
            });
        }
        let mut store = SqliteStore::configure(conn, path)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store for reading only; `None` when the file does
    /// not exist, so read-only commands never create one.
    pub fn open_read_only(path: &Path) -> Result<Option<SqliteStore>> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite(path, e))?;
        let store = SqliteStore::configure(conn, path)?;
        let found = store.version()?;
        if found > schema::MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
                supported: schema::MIGRATIONS.len(),
            });
        }
        if found < schema::MIGRATIONS.len() {
            return Err(StoreError::NeedsMigration {
                path: path.to_owned(),
                found,
            });
        }
        Ok(Some(store))
    }

    /// An empty in-memory store.
    pub fn in_memory() -> Result<SqliteStore> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| sqlite(path, e))?;
        let mut store = SqliteStore::configure(conn, path)?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(conn: Connection, path: &Path) -> Result<SqliteStore> {
        // Zero busy timeout: a locked store is reported at once, never waited on.
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| sqlite(path, e))?;
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
        if !read_only {
            // journal_mode needs a lock briefly; a busy store here means a run holds it.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
                .map_err(|e| locked_or(path, e))?;
            // FULL: a commit is on disk before it returns, so a run whose
            // outputs then leave the machine (files, uploads, Cora actions,
            // webhooks) is never lost to a power cut after they left; the
            // next run would otherwise deliver the same changes again. In
            // WAL mode this is one fsync of the log per commit (a run
            // commits once, plus its small run-row transactions).
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(|e| sqlite(path, e))?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| sqlite(path, e))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
        })
    }

    fn version(&self) -> Result<usize> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
            .map(|v| v as usize)
            .map_err(|e| sqlite(&self.path, e))
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| locked_or(&path, e))?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| sqlite(&path, e))?;
        let found = found as usize;
        if found > schema::MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                path,
                found,
                supported: schema::MIGRATIONS.len(),
            });
        }
        for migration in &schema::MIGRATIONS[found..] {
            tx.execute_batch(migration).map_err(|e| sqlite(&path, e))?;
        }
        tx.pragma_update(None, "user_version", schema::MIGRATIONS.len() as i64)
            .map_err(|e| sqlite(&path, e))?;
        tx.commit().map_err(|e| sqlite(&path, e))
    }

    /// Starts a transaction of the given behaviour on this connection.
    fn begin(&mut self, write: bool) -> Result<SqliteTx<'_>> {
        let tx = if write {
            self.conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| locked_or(&self.path, e))?
        } else {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(|e| sqlite(&self.path, e))?;
            // A deferred transaction takes its snapshot at the first read.
            tx.query_row("SELECT count(*) FROM runs", [], |_| Ok(()))
                .map_err(|e| sqlite(&self.path, e))?;
            tx
        };
        Ok(SqliteTx {
            tx,
            path: &self.path,
            identity_lookup: RefCell::new(None),
            last_record: RefCell::new(None),
            last_person: RefCell::new(None),
        })
    }
}

impl Backend for SqliteStore {
    fn path(&self) -> &Path {
        &self.path
    }

    fn reopen(&self) -> Result<Box<dyn Backend>> {
        Ok(Box::new(SqliteStore::open(&self.path)?))
    }

    fn checkpoint(&self) {
        let checkpoint = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        if let Err(err) = checkpoint {
            tracing::warn!("could not checkpoint {}: {err}", self.path.display());
        }
    }

    /// The whole file is locked, whatever the claim.
    fn write(&mut self, _claim: &Claim<'_>) -> Result<Box<dyn Transaction + '_>> {
        Ok(Box::new(self.begin(true)?))
    }

    fn read(&mut self) -> Result<Box<dyn Transaction + '_>> {
        Ok(Box::new(self.begin(false)?))
    }

    fn integrity_ok(&self) -> Result<bool> {
        let answer: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| sqlite(&self.path, e))?;
        Ok(answer == "ok")
    }
}

/// A transaction on a SQLite store. Dropping it without committing rolls
/// back everything it wrote.
pub struct SqliteTx<'s> {
    tx: rusqlite::Transaction<'s>,
    path: &'s Path,
    /// Answers matching while a first load has dropped its indexes.
    identity_lookup: RefCell<Option<identity_lookup::IdentityLookup>>,
    /// The record last inserted or updated, `(pipeline, key, id)`: the
    /// identities that follow it name their record by id without a lookup,
    /// which a first load could not afford (its key index is deferred).
    last_record: RefCell<Option<(String, String, i64)>>,
    /// The person last inserted and their attributes as stored, so the
    /// record that follows can take them over when they are its fields.
    last_person: RefCell<Option<(i64, String)>>,
}

impl SqliteTx<'_> {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        sqlite(self.path, e)
    }

    fn corrupt(&self, e: serde_json::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.to_owned(),
            source: e,
        }
    }
}

impl Transaction for SqliteTx<'_> {
    fn commit(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(|e| sqlite(path, e))
    }

    fn rollback(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.rollback().map_err(|e| sqlite(path, e))
    }
}

fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Backend(BackendError::new(SqliteError {
        path: path.to_owned(),
        source,
    }))
}

fn locked_or(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Locked {
                path: path.to_owned(),
            }
        }
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) => {
            unwritable_or(path, source)
        }
        _ => sqlite(path, source),
    }
}

/// SQLite says only "unable to open database file" (or "readonly") when the
/// store's folder cannot be written; a probe file in the folder tells why.
fn unwritable_or(path: &Path, source: rusqlite::Error) -> StoreError {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match tempfile::tempfile_in(&folder) {
        Ok(_) => sqlite(path, source),
        Err(why) => StoreError::Unwritable {
            path: path.to_owned(),
            folder,
            why: why.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Issue 13: a commit is durable before it returns (WAL with
    /// `synchronous=FULL`), so outputs written after it never describe a
    /// run a power cut could take back.
    #[test]
    fn a_store_opened_for_writing_commits_durably() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let synchronous: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();
        let journal: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!((synchronous, journal.as_str()), (2, "wal"), "FULL is 2");
    }

    /// Issue 13: `--state :memory:` "applied" and kept nothing; a store whose
    /// folder cannot be written said only "unable to open database file".
    #[test]
    fn a_store_that_would_keep_nothing_or_cannot_be_written_says_so() {
        assert!(matches!(
            Store::open(&Path::new(":memory:").into()),
            Err(StoreError::NotAFile { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("no-such-folder/state.db");
        match Store::open(&gone.clone().into()) {
            Err(StoreError::Unwritable { folder, why, .. }) => {
                assert_eq!(folder, dir.path().join("no-such-folder"));
                assert!(why.contains("No such file or directory"), "{why}");
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("opened a store in a missing folder"),
        }
    }
}
