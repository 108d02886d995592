//! Why a sink could not be written or delivered.

use crate::env::EnvError;
use crate::store::StoreError;
use crate::upload::UploadError;

/// A sink that could not be written, checked or delivered.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SinkError {
    /// The file (or its temporary file) could not be written.
    #[error("cannot write {path}: {source}")]
    #[diagnostic(
        code("rollcall::sink::io"),
        help("check that the sink's folder exists, is writable and has space")
    )]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The output would land outside its configured folder.
    #[error("sink path {path} {why}")]
    #[diagnostic(
        code("rollcall::sink::escapes-folder"),
        help(
            "a sink writes one plain file name inside its folder; remove links or `..` from the name, or choose another path"
        )
    )]
    Escapes {
        /// The path as configured or resolved.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Two sinks write the same file.
    #[error("two sinks write {path}")]
    #[diagnostic(
        code("rollcall::sink::same-file"),
        help("give each sink its own file name (with `--out-dir`, only the file names count)")
    )]
    SameFile {
        /// The file.
        path: String,
    },
    /// An action sink lacks a field its dialect needs.
    #[error("the `actions` sink needs `field {name} FIELD`: {why}")]
    #[diagnostic(
        code("rollcall::sink::missing-field"),
        help("add `field {name} FIELD` to the sink")
    )]
    MissingField {
        /// The output field name.
        name: String,
        /// What it is needed for.
        why: String,
    },
    /// Archived users would be reassigned to a user that neither exists nor
    /// is created in the same file.
    #[error(
        "{archived} archived user(s) would be reassigned to {field} {target:?}, which is neither present nor created by this run"
    )]
    #[diagnostic(
        code("rollcall::sink::reassign-target"),
        help(
            "Cora refuses an Archive whose ReassignedUserId does not exist; set `reassign-to` to the ExternalId of a user that stays present"
        )
    )]
    ReassignTarget {
        /// Output field that identifies users (ExternalId).
        field: String,
        /// The configured target.
        target: String,
        /// Archive actions affected.
        archived: usize,
    },
    /// `rollcall deliver` found no applied run to deliver.
    #[error("pipeline {pipeline} has no applied run{}", run.map(|id| format!(" {id}")).unwrap_or_default())]
    #[diagnostic(
        code("rollcall::sink::no-run"),
        help(
            "`rollcall history PIPELINE` lists the runs; only applied (or no-change) runs have outputs"
        )
    )]
    NoRun {
        /// The pipeline.
        pipeline: String,
        /// The run asked for, if one was.
        run: Option<i64>,
    },
    /// A setting from the environment is missing.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Env(#[from] EnvError),
    /// Reading the records to write failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// The file was written but could not be uploaded.
    #[error("{path} was written but not uploaded: {source}")]
    #[diagnostic(code("rollcall::sink::upload"))]
    Upload {
        /// The local file.
        path: String,
        /// Why the upload failed.
        #[source]
        #[diagnostic_source]
        source: UploadError,
    },
}

impl From<std::io::Error> for SinkError {
    /// A write into the file being filled; [`super::path`] names the file.
    fn from(source: std::io::Error) -> Self {
        SinkError::Io {
            path: String::new(),
            source,
        }
    }
}
