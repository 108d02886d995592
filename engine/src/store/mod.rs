//! The state store, behind an interface. All SQL lives below this module;
//! everything above it (the run, the registry, outputs, commands) speaks to
//! a [`Store`] and its transactions ([`Tx`]) and never to a backend.
//!
//! The interface is a set of traits, one per kind of row ([`Records`],
//! [`Persons`], [`Roles`], [`Identities`], [`Changes`], [`Frozen`],
//! [`Runs`], [`Pipelines`], [`Lineage`], [`Outbox`]) plus the reads of outputs ([`Outputs`]) and a
//! first load's deferred indexes ([`BulkLoad`]). A backend implements them
//! all on its transaction type, which makes it a [`Transaction`], and
//! [`Backend`] on its connection; [`Store::new`] takes any backend. The
//! row types beside each trait are the backend's vocabulary: it stores and
//! returns them, whatever its tables look like. Two backends: SQLite
//! ([`sqlite`], a file, the default) and PostgreSQL ([`postgres`], one store
//! for many nodes), chosen by the [`StoreLocation`] `--state` gives.
//!
//! Whatever the backend, a run holds one write transaction from before it
//! reads the prior state until it commits or rolls back, and a second
//! concurrent run is refused at once ([`StoreError::Locked`]) rather than
//! made to wait: a write transaction names what it [`Claim`]s (SQLite
//! locks the file whatever the claim; PostgreSQL the pipeline and its
//! system, so runs of different systems proceed together). Readers
//! (`plan`, `history`) see a consistent snapshot.

mod bulk;
mod changes;
mod error;
mod frozen;
mod identities;
mod lineage;
mod location;
mod outbox;
mod outputs;
mod persons;
mod pipelines;
pub mod postgres;
mod records;
mod roles;
mod runs;
pub mod sqlite;
mod tables;
#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::{Map, Value};

pub use bulk::{BulkLoad, DeferredIndexes};
pub use changes::{ChangeRow, Changes, HeldValue, Why};
pub use error::{BackendError, Result, StoreError};
pub use frozen::{Frozen, FrozenRow};
pub use identities::{Identities, Identity, IdentityKind, fold};
pub use lineage::{Lineage, StoreLineage};
pub use location::{Claim, StoreLocation};
pub use outbox::{Outbox, OutboxRow, OwnedObject};
pub use outputs::{EachPresent, Outputs};
pub use persons::{PersonRow, PersonState, Persons};
pub use pipelines::{PipelineLifecycle, Pipelines};
pub use records::{NewRecord, PriorRecord, RecordState, Records, StoredRecord};
pub use roles::{LinkRef, ROLE_ATTRIBUTES, Relation, RoleRow, RoleStatusRow, RoleValues, Roles};
pub use runs::{RunRow, Runs};
pub use tables::{EachRow, Field, NOT_COPIED, TABLES, TableCopy, Tables, copy_store};

/// A connection to a store: how transactions are begun.
pub trait Backend: Send {
    /// Where the store lives, for messages (PostgreSQL: the URL without
    /// its password).
    fn path(&self) -> &Path;

    /// Starts a write transaction holding `claim`; fails with
    /// [`StoreError::Locked`] at once when another holds what it claims.
    fn write(&mut self, claim: &Claim<'_>) -> Result<Box<dyn Transaction + '_>>;

    /// Starts a read transaction: a consistent snapshot while it lives.
    fn read(&mut self) -> Result<Box<dyn Transaction + '_>>;

    /// Checks the store's integrity; `true` when it is sound.
    fn integrity_ok(&self) -> Result<bool>;

    /// Folds a write-ahead log into the store, best effort; nothing for a
    /// backend without one.
    fn checkpoint(&self) {}

    /// A second connection to the same store, opened for writing (the
    /// location with its credentials, which [`Backend::path`] never shows).
    fn reopen(&self) -> Result<Box<dyn Backend>>;
}

/// One transaction of a backend: every kind of row, read and written
/// together, made durable or discarded as a whole.
pub trait Transaction:
    Records
    + Persons
    + Roles
    + Identities
    + Changes
    + Frozen
    + Runs
    + Pipelines
    + Outputs
    + Outbox
    + BulkLoad
    + Lineage
    + Tables
{
    /// Makes everything written in this transaction durable.
    fn commit(self: Box<Self>) -> Result<()>;

    /// Discards everything written in this transaction.
    fn rollback(self: Box<Self>) -> Result<()>;
}

/// An open state store.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl Store {
    /// A store over any backend.
    pub fn new(backend: impl Backend + 'static) -> Store {
        Store {
            backend: Box::new(backend),
        }
    }

    /// Opens (creating if needed) a store for writing and migrates its
    /// schema. `:memory:` is refused: what a command writes would vanish
    /// with the process.
    pub fn open(location: &StoreLocation) -> Result<Store> {
        match location {
            StoreLocation::File(path) => {
                if path == Path::new(":memory:") || path.as_os_str().is_empty() {
                    return Err(StoreError::NotAFile { path: path.clone() });
                }
                sqlite::SqliteStore::open(path).map(Store::new)
            }
            StoreLocation::Postgres(url) => postgres::PostgresStore::open(url).map(Store::new),
        }
    }

    /// Opens an existing store for reading only; `None` when there is none
    /// (no file, or a database without the schema), so read-only commands
    /// never create one.
    pub fn open_read_only(location: &StoreLocation) -> Result<Option<Store>> {
        Ok(match location {
            StoreLocation::File(path) => sqlite::SqliteStore::open_read_only(path)?.map(Store::new),
            StoreLocation::Postgres(url) => {
                postgres::PostgresStore::open_read_only(url)?.map(Store::new)
            }
        })
    }

    /// An empty in-memory store, for planning against no prior state.
    pub fn in_memory() -> Result<Store> {
        sqlite::SqliteStore::in_memory().map(Store::new)
    }

    /// Where this store lives.
    pub fn path(&self) -> &Path {
        self.backend.path()
    }

    /// A second connection to the same store, opened for writing.
    pub fn reopen(&self) -> Result<Store> {
        Ok(Store {
            backend: self.backend.reopen()?,
        })
    }

    /// Starts a write transaction holding `claim`; fails with
    /// [`StoreError::Locked`] at once when another holds what it claims.
    pub fn write(&mut self, claim: &Claim<'_>) -> Result<Tx<'_>> {
        Ok(Tx(self.backend.write(claim)?))
    }

    /// Starts a read transaction: a consistent snapshot while it lives.
    pub fn read(&mut self) -> Result<Tx<'_>> {
        Ok(Tx(self.backend.read()?))
    }

    /// Checks the store's integrity; `true` when it is sound.
    pub fn integrity_ok(&self) -> Result<bool> {
        self.backend.integrity_ok()
    }

    /// Folds the store's log into it (SQLite: the `-wal`), best effort; a
    /// run stopped by a signal calls it on its way out.
    pub fn checkpoint(&self) {
        self.backend.checkpoint();
    }
}

/// A transaction on the store. Dropping it without [`Tx::commit`] rolls
/// back everything it wrote. Every read and write of [`Transaction`] is
/// called on it directly (`tx.record(...)`).
pub struct Tx<'s>(Box<dyn Transaction + 's>);

impl<'s> std::ops::Deref for Tx<'s> {
    type Target = dyn Transaction + 's;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Tx<'_> {
    /// Makes everything written in this transaction durable.
    pub fn commit(self) -> Result<()> {
        self.0.commit()
    }

    /// Discards everything written in this transaction.
    pub fn rollback(self) -> Result<()> {
        self.0.rollback()
    }

    /// [`Records::for_each_prior`] with any closure.
    pub fn for_each_prior(
        &self,
        pipeline: &str,
        mut each: impl FnMut(PriorRecord<'_>),
    ) -> Result<()> {
        self.0.for_each_prior(pipeline, &mut each)
    }

    /// [`Outputs::for_each_present`] with any closure.
    pub fn for_each_present(
        &self,
        pipeline: &str,
        mut each: impl FnMut(&str, Map<String, Value>) -> Result<()>,
    ) -> Result<()> {
        self.0.for_each_present(pipeline, &mut each)
    }
}

/// The current time as stored: RFC 3339 UTC with milliseconds.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
