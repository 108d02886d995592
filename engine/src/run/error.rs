//! What stops a run. Nothing of a stopped run is applied, except for
//! [`RunError::Delivery`]: the change set committed and an output failed.

use crate::lookup::LookupError;
use crate::registry::RegistryError;
use crate::sink::SinkError;
use crate::source::SourceError;
use crate::store::StoreError;

/// An error that stops a run; nothing of the run is applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// The state store failed or is locked.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// A sink would write the store, the pipeline file or what the run reads.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Overlap(#[from] crate::paths::OverlapError),
    /// SIGTERM or SIGINT stopped the run before its commit.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    /// The source could not be found or decoded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Source(#[from] SourceError),
    /// Matching, linking or the lifecycle failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Registry(#[from] RegistryError),
    /// `--resync` named keys the extract does not have.
    #[error("--resync names {} not in {file}: {}", if keys.len() == 1 { "a key" } else { "keys" }, keys.join(", "))]
    #[diagnostic(
        code("rollcall::run::resync-key"),
        help(
            "resync re-applies records of this extract; check the keys with `rollcall show PIPELINE KEY`"
        )
    )]
    ResyncKeys {
        /// The source.
        file: String,
        /// The keys not found.
        keys: Vec<String>,
    },
    /// A lookup could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lookup(#[from] LookupError),
    /// The change set would produce an output that breaks its target's rules.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sink(#[from] SinkError),
    /// The change set was committed, but writing or delivering an output failed.
    #[error("run {run_id} was applied, but its outputs were not all delivered: {source}")]
    #[diagnostic(
        code("rollcall::run::delivery"),
        help(
            "the state store holds the change. Fix the cause, then `rollcall deliver PIPELINE --run {run_id}` writes and uploads this run's outputs again"
        )
    )]
    Delivery {
        /// The applied run.
        run_id: i64,
        /// What failed.
        #[source]
        source: SinkError,
        /// What the run applied, so the caller can still report it.
        report: Box<super::Report>,
    },
    /// Values the run's outputs need after the commit are not set; refused
    /// before anything is read or written.
    #[error("{pipeline} would commit and then fail to deliver its outputs: {}", missing.iter().map(|n| format!("{} ({}) is not set", n.variable, n.what)).collect::<Vec<_>>().join(", "))]
    #[diagnostic(
        code("rollcall::run::missing-settings"),
        help(
            "export the variables in the environment of the job that runs rollcall \
             (`rollcall check PIPELINE` lists every value the pipeline needs), \
             or run with `--skip-upload` when only uploads are to be left out"
        )
    )]
    MissingSettings {
        /// The pipeline.
        pipeline: String,
        /// The values missing (names and purposes, never values).
        missing: Vec<crate::needs::Need>,
    },
    /// A saved plan no longer describes what applying it would do.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Moved(#[from] super::Moved),
    /// A key appeared twice in one extract.
    #[error("{file}:{line}: duplicate key {key:?}, first seen on line {first_line}")]
    #[diagnostic(
        code("rollcall::run::duplicate-key"),
        help(
            "each record's key must be unique within one extract; fix the extract, or choose a different `key` field"
        )
    )]
    DuplicateKey {
        /// The source.
        file: String,
        /// The key.
        key: String,
        /// Where it first appeared.
        first_line: u64,
        /// Where it appeared again.
        line: u64,
    },
    /// The extract holds no records at all.
    #[error("{file}: the extract is empty (no records)")]
    #[diagnostic(
        code("rollcall::run::empty-extract"),
        help(
            "an empty extract would remove every record; check the export that produced it. \
             If the source is really empty, run again with `--allow-empty`"
        )
    )]
    EmptyExtract {
        /// The source.
        file: String,
    },
}
