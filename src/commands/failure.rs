//! Why a command stopped: the error values commands return with `?`, each
//! knowing its exit code and its text for stderr.

use std::path::PathBuf;

use rollcall_engine::clock::TimeError;
use rollcall_engine::plan::InvariantError;
use rollcall_engine::registry::{FreezeError, RegistryError};
use rollcall_engine::run::RunError;
use rollcall_engine::sink::SinkError;
use rollcall_engine::source::SourceError;
use rollcall_engine::store::StoreError;

use crate::exit::Exit;
use crate::render::error::{bad_json_at, diagnostic};

/// A command that could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The pipeline file has errors (every diagnostic, warnings included, in
    /// the order found).
    #[error("the pipeline file is invalid")]
    Invalid(Vec<rollcall_dsl::Diagnostic>),
    /// `run`, `plan` and `deliver` take a file with exactly one pipeline.
    #[error("{path} holds {count} pipelines")]
    NotOnePipeline {
        /// The file.
        path: PathBuf,
        /// How many pipelines it holds.
        count: usize,
    },
    /// A pipeline the checker accepted could not be compiled (a bug).
    #[error(transparent)]
    Compile(#[from] InvariantError),
    /// `--now` or `--until` is not a time.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// The state store failed or is locked.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A freeze or unfreeze was refused.
    #[error(transparent)]
    Freeze(#[from] FreezeError),
    /// A purge failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Delivering a run's outputs again failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A reading command found no store file.
    #[error("no state store at {}", .0.display())]
    NoStore(PathBuf),
    /// `show` found neither the record nor its change log.
    #[error("pipeline {pipeline} has no record with key {key:?}")]
    NoRecord {
        /// The pipeline.
        pipeline: String,
        /// The key asked for.
        key: String,
    },
    /// `person` found no such person.
    #[error("there is no person {0}")]
    NoPerson(i64),
    /// The text could not be written to stdout or stderr.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl Failure {
    /// The exit code a scheduler sees: 75 for a locked store, 64 for a time
    /// the command line got wrong, 1 for the rest.
    pub fn exit(&self) -> Exit {
        match self {
            Failure::Store(err)
            | Failure::Run(RunError::Store(err))
            | Failure::Freeze(FreezeError::Store(err))
            | Failure::Registry(RegistryError::Store(err)) => store_exit(err),
            Failure::NotOnePipeline { .. } | Failure::Time(_) => Exit::Usage,
            // 128 + the signal, as a shell reports a command it ended.
            Failure::Run(RunError::Interrupted(stopped)) => {
                if stopped.signal == rollcall_engine::interrupt::SIGINT {
                    Exit::Interrupted
                } else {
                    Exit::Terminated
                }
            }
            _ => Exit::Error,
        }
    }

    /// The text for stderr, as miette renders a diagnostic or as one
    /// `error:` line.
    pub fn render(self) -> String {
        match self {
            Failure::Invalid(diagnostics) => diagnostics.into_iter().map(diagnostic).collect(),
            Failure::NotOnePipeline { path, count } => format!(
                "error: {} holds {count} pipelines; `rollcall run` and `plan` take a file with exactly one\n",
                path.display()
            ),
            Failure::Compile(err) => diagnostic(err),
            Failure::Time(err) => diagnostic(err),
            Failure::Store(err) => diagnostic(err),
            Failure::Run(err) => run_error(err),
            Failure::Freeze(err) => diagnostic(err),
            Failure::Registry(err) => diagnostic(err),
            Failure::Sink(err) => diagnostic(err),
            err @ (Failure::NoStore(_)
            | Failure::NoRecord { .. }
            | Failure::NoPerson(_)
            | Failure::Output(_)) => format!("error: {err}\n"),
        }
    }
}

fn store_exit(err: &StoreError) -> Exit {
    if matches!(err, StoreError::Locked { .. }) {
        Exit::Locked
    } else {
        Exit::Error
    }
}

/// A run error; a JSON syntax error is shown on its line of the file.
fn run_error(err: RunError) -> String {
    match err {
        RunError::Store(err) => diagnostic(err),
        RunError::Source(SourceError::BadJson {
            name,
            line,
            column,
            message,
        }) => bad_json_at(&name, line, column, &message).unwrap_or_else(|| {
            diagnostic(RunError::Source(SourceError::BadJson {
                name,
                line,
                column,
                message,
            }))
        }),
        err => diagnostic(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_store_exits_75_however_it_is_wrapped() {
        let locked = || StoreError::Locked {
            path: "rollcall.db".into(),
        };
        assert_eq!(Failure::Store(locked()).exit(), Exit::Locked);
        assert_eq!(Failure::Run(RunError::Store(locked())).exit(), Exit::Locked);
        assert_eq!(
            Failure::Freeze(FreezeError::Store(locked())).exit(),
            Exit::Locked
        );
        assert_eq!(Failure::NoPerson(7).exit(), Exit::Error);
    }

    #[test]
    fn plain_failures_are_one_error_line() {
        assert_eq!(
            Failure::NoRecord {
                pipeline: "hr".into(),
                key: "A-1".into()
            }
            .render(),
            "error: pipeline hr has no record with key \"A-1\"\n"
        );
        assert_eq!(
            Failure::NoStore("x/state.db".into()).render(),
            "error: no state store at x/state.db\n"
        );
    }
}
