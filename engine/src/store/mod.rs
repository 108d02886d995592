//! The SQLite state store. All SQL lives below this module, so another
//! backend (PostgreSQL) can be added without touching the pipeline code.
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
mod identity_lookup;
mod outputs;
mod persons;
mod pipelines;
mod records;
mod roles;
mod runs;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use bulk::DeferredIndexes;
pub use changes::ChangeRow;
pub use frozen::FrozenRow;
pub use identities::{Identity, IdentityKind, fold};
pub use persons::{PersonRow, PersonState};
pub use pipelines::PipelineLifecycle;
pub use records::{NewRecord, PriorRecord, RecordState, StoredRecord};
pub use roles::{LinkRef, ROLE_ATTRIBUTES, Relation, RoleRow, RoleStatusRow, RoleValues};
pub use runs::RunRow;

/// An error of the state store.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    /// Another run holds the write lock.
    #[error("state store {path} is locked by another run")]
    #[diagnostic(
        code(rollcall::store::locked),
        help(
            "another `rollcall run` is applying changes to this store; wait for it to finish, \
             or check that no stale process is still running"
        )
    )]
    Locked {
        /// The store file.
        path: PathBuf,
    },
    /// The file was written by a newer rollcall.
    #[error(
        "state store {path} has schema version {found}, newer than this rollcall ({supported})"
    )]
    #[diagnostic(
        code("rollcall::store::too-new"),
        help("upgrade rollcall; older versions must not write to a newer store")
    )]
    TooNew {
        /// The store file.
        path: PathBuf,
        /// Version found in the file.
        found: usize,
        /// Latest version this build knows.
        supported: usize,
    },
    /// The file exists but is not a current store and the command may not migrate it.
    #[error("state store {path} needs migrating from schema version {found}")]
    #[diagnostic(
        code("rollcall::store::needs-migration"),
        help("run `rollcall run` once with this store; it migrates the schema before applying")
    )]
    NeedsMigration {
        /// The store file.
        path: PathBuf,
        /// Version found in the file.
        found: usize,
    },
    /// Any other SQLite failure.
    #[error("state store {path}: {source}")]
    #[diagnostic(
        code(rollcall::store::sqlite),
        help("check that the path is a rollcall state store and that the disk is writable")
    )]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored JSON value could not be read back.
    #[error("state store {path}: corrupt stored value: {source}")]
    #[diagnostic(code(rollcall::store::corrupt))]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An open state store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) a store for writing and migrates its schema.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| sqlite(path, e))?;
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
        let mut store = Store::configure(conn, path)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store for reading only; `None` when the file does
    /// not exist, so read-only commands never create one.
    pub fn open_read_only(path: &Path) -> Result<Option<Store>> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite(path, e))?;
        let store = Store::configure(conn, path)?;
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

    /// An empty in-memory store, for planning against no prior state.
    pub fn in_memory() -> Result<Store> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| sqlite(path, e))?;
        let mut store = Store::configure(conn, path)?;
        store.migrate()?;
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(conn: Connection, path: &Path) -> Result<Store> {
        // Zero busy timeout: a locked store is reported at once, never waited on.
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| sqlite(path, e))?;
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
        if !read_only {
            // journal_mode needs a lock briefly; a busy store here means a run holds it.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
                .map_err(|e| locked_or(path, e))?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| sqlite(path, e))?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| sqlite(path, e))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Store {
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

    /// Starts the write transaction of a run; fails with
    /// [`StoreError::Locked`] at once when another run holds the store.
    pub fn write(&mut self) -> Result<Tx<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| locked_or(&self.path, e))?;
        Ok(Tx {
            tx,
            path: &self.path,
            identity_lookup: std::cell::RefCell::new(None),
        })
    }

    /// Starts a read transaction: a consistent snapshot while it lives.
    pub fn read(&mut self) -> Result<Tx<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| sqlite(&self.path, e))?;
        // A deferred transaction takes its snapshot at the first read.
        tx.query_row("SELECT count(*) FROM runs", [], |_| Ok(()))
            .map_err(|e| sqlite(&self.path, e))?;
        Ok(Tx {
            tx,
            path: &self.path,
            identity_lookup: std::cell::RefCell::new(None),
        })
    }

    /// Checks the file's integrity (`PRAGMA integrity_check`); `true` when ok.
    pub fn integrity_ok(&self) -> Result<bool> {
        let answer: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| sqlite(&self.path, e))?;
        Ok(answer == "ok")
    }
}

/// A transaction on the store. Dropping it without [`Tx::commit`] rolls
/// back everything it wrote.
pub struct Tx<'s> {
    tx: rusqlite::Transaction<'s>,
    path: &'s Path,
    /// Answers matching while a first load has dropped its indexes.
    identity_lookup: std::cell::RefCell<Option<identity_lookup::IdentityLookup>>,
}

impl Tx<'_> {
    /// Makes everything written in this transaction durable.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(|e| sqlite(path, e))
    }

    /// Discards everything written in this transaction.
    pub fn rollback(self) -> Result<()> {
        let path = self.path;
        self.tx.rollback().map_err(|e| sqlite(path, e))
    }

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

fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

fn locked_or(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Locked {
                path: path.to_owned(),
            }
        }
        _ => sqlite(path, source),
    }
}

/// The current time as stored: RFC 3339 UTC with milliseconds.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
