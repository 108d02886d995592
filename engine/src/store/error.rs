//! The store's errors: the few every backend shares (locked, too new, needs
//! migrating, a corrupt value) and the backend's own failures, which keep
//! their backend's code and help.

use std::fmt;
use std::path::PathBuf;

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
    /// Any other failure of the backend (SQLite: `rollcall::store::sqlite`).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Backend(BackendError),
    /// `--state :memory:` (or nothing) for a command that writes: the store
    /// would vanish when the command ends, so "applied" would keep nothing.
    #[error("state store {path:?} is not a file: a run's changes would be kept nowhere")]
    #[diagnostic(
        code("rollcall::store::not-a-file"),
        help("give `--state` (or ROLLCALL_STATE) the path of the store file; `plan` needs none")
    )]
    NotAFile {
        /// What was given.
        path: PathBuf,
    },
    /// The store's folder cannot be written, so the store (or SQLite's
    /// `-wal` and `-shm` files beside it) cannot be created.
    #[error("state store {path}: its folder {folder} cannot be written ({why})")]
    #[diagnostic(
        code("rollcall::store::unwritable"),
        help(
            "the store needs a folder the command may write in (SQLite keeps `-wal` and `-shm` files beside it); check the folder's owner and permissions, or a read-only mount"
        )
    )]
    Unwritable {
        /// The store file.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
        /// Why the folder refused a file.
        why: String,
    },
    /// Identities or roles written for a key the store holds no record
    /// of: the registry writes the record first, so this is a bug.
    #[error("state store {path}: {what} of {pipeline} key {key:?}, which has no record")]
    #[diagnostic(
        code("rollcall::store::no-record"),
        help("this is a bug in rollcall: report it with the pipeline file and the run's log")
    )]
    NoRecord {
        /// The store file.
        path: PathBuf,
        /// What was written (`identities`, `a role`).
        what: &'static str,
        /// The pipeline.
        pipeline: String,
        /// The source key.
        key: String,
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

/// A backend's own failure, shown with the backend's code, help and cause.
pub struct BackendError(Box<dyn miette::Diagnostic + Send + Sync>);

impl BackendError {
    /// Wraps a backend's diagnostic.
    pub fn new(error: impl miette::Diagnostic + Send + Sync + 'static) -> BackendError {
        BackendError(Box::new(error))
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl miette::Diagnostic for BackendError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.0.severity()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }

    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.url()
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.0.labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        self.0.related()
    }

    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.0.diagnostic_source()
    }
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;
