//! Why a command stopped: the error values commands return with `?`, each
//! knowing its exit code and its text for stderr.

use std::path::PathBuf;

use rollcall_engine::clock::TimeError;
use rollcall_engine::plan::InvariantError;
use rollcall_engine::registry::{FreezeError, RegistryError};
use rollcall_engine::review::{PlanFileError, ReviewError};
use rollcall_engine::run::RunError;
use rollcall_engine::sink::SinkError;
use rollcall_engine::source::SourceError;
use rollcall_engine::store::StoreError;

use crate::exit::Exit;
use crate::render::ErrorJson;
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
    /// A plan file could not be written or read.
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
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
    /// `man` was given a command rollcall does not have.
    #[error("rollcall has no command {0:?}")]
    UnknownCommand(String),
    /// `history` was given a pipeline the store has never run.
    #[error("the state store has no runs of a pipeline named {0:?}")]
    UnknownPipeline(String),
    /// `explain` was given one word that is not a person id.
    #[error("`rollcall explain` takes a person id, or a pipeline and a key; {0:?} is neither")]
    ExplainWhat(String),
    /// `test` found no test file where it was pointed.
    #[error("no pipeline tests at {}", .0.display())]
    NoTests(PathBuf),
    /// A pipeline test could not be run (its throwaway store, its records).
    #[error(transparent)]
    Test(#[from] rollcall_engine::testing::TestError),
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
            | Failure::Freeze(FreezeError::Store(err))
            | Failure::Registry(RegistryError::Store(err)) => store_exit(err),
            Failure::Run(err) => run_exit(err),
            Failure::NotOnePipeline { .. }
            | Failure::Time(_)
            | Failure::UnknownCommand(_)
            | Failure::ExplainWhat(_) => Exit::Usage,
            _ => Exit::Error,
        }
    }

    /// The outcome a JSON document names for this failure.
    pub fn outcome(&self) -> &'static str {
        match self.exit() {
            Exit::Usage => "usage-error",
            Exit::Locked => "locked",
            Exit::Interrupted | Exit::Terminated => "interrupted",
            Exit::StalePlan => "stale-plan",
            _ => "failed",
        }
    }

    /// The failure's code, message and help, for JSON documents and logs.
    pub fn error_json(&self) -> ErrorJson {
        match self {
            Failure::Invalid(diagnostics) => {
                let errors: Vec<_> = diagnostics
                    .iter()
                    .filter(|d| d.severity == miette::Severity::Error)
                    .collect();
                let first = errors.first().copied().or(diagnostics.first());
                ErrorJson {
                    code: first.map_or("rollcall::invalid".to_owned(), |d| {
                        d.code.as_str().to_owned()
                    }),
                    message: format!(
                        "the pipeline file is invalid ({} error{}){}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" },
                        first
                            .map(|d| format!(": {}", d.message))
                            .unwrap_or_default()
                    ),
                    help: Some(
                        "`rollcall validate PATH` lists every problem with its place".to_owned(),
                    ),
                }
            }
            Failure::NotOnePipeline { .. } => ErrorJson::new(
                "rollcall::cli::not-one-pipeline",
                self.to_string(),
                Some("`rollcall run` and `plan` take a file with exactly one pipeline"),
            ),
            Failure::Compile(err) => ErrorJson::of(err),
            Failure::Time(err) => ErrorJson::of(err),
            Failure::Store(err) => ErrorJson::of(err),
            Failure::Run(err) => ErrorJson::of(err),
            Failure::Freeze(err) => ErrorJson::of(err),
            Failure::Registry(err) => ErrorJson::of(err),
            Failure::Sink(err) => ErrorJson::of(err),
            Failure::PlanFile(err) => ErrorJson::of(err),
            Failure::NoStore(_) => ErrorJson::new(
                "rollcall::cli::no-store",
                self.to_string(),
                Some(
                    "check --state (or ROLLCALL_STATE); the first `rollcall run` creates the store",
                ),
            ),
            Failure::NoRecord { .. } => ErrorJson::new(
                "rollcall::cli::no-record",
                self.to_string(),
                Some(
                    "keys are as the pipeline's `key` field gives them; `rollcall history PIPELINE` lists its runs",
                ),
            ),
            Failure::NoPerson(_) => ErrorJson::new(
                "rollcall::cli::no-person",
                self.to_string(),
                Some("`rollcall show PIPELINE KEY` names a record's person"),
            ),
            Failure::UnknownPipeline(_) => ErrorJson::new(
                "rollcall::cli::unknown-pipeline",
                self.to_string(),
                Some(
                    "give the pipeline's name as its file says it (`pipeline NAME {`), or the file itself; check --state",
                ),
            ),
            Failure::UnknownCommand(_) => ErrorJson::new(
                "rollcall::cli::usage",
                self.to_string(),
                Some("`rollcall help` lists the commands"),
            ),
            Failure::ExplainWhat(_) => ErrorJson::new(
                "rollcall::cli::usage",
                self.to_string(),
                Some("`rollcall explain 3` or `rollcall explain PIPELINE KEY`"),
            ),
            Failure::NoTests(_) => ErrorJson::new(
                "rollcall::cli::no-tests",
                self.to_string(),
                Some(
                    "tests of `NAME.kdl` live beside it in `NAME.test.kdl`; give test files, pipeline files or folders",
                ),
            ),
            Failure::Test(err) => ErrorJson::of(err),
            Failure::Output(_) => ErrorJson::new("rollcall::cli::output", self.to_string(), None),
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
            Failure::Test(err) => diagnostic(err),
            Failure::PlanFile(err) => diagnostic(err),
            err @ (Failure::NoStore(_)
            | Failure::NoRecord { .. }
            | Failure::NoPerson(_)
            | Failure::UnknownPipeline(_)
            | Failure::UnknownCommand(_)
            | Failure::ExplainWhat(_)
            | Failure::NoTests(_)
            | Failure::Output(_)) => format!("error: {err}\n"),
        }
    }
}

/// The exit code of a failed run.
pub fn run_exit(err: &RunError) -> Exit {
    match err {
        RunError::Store(err) => store_exit(err),
        // 128 + the signal, as a shell reports a command it ended.
        RunError::Interrupted(stopped) => {
            if stopped.signal == rollcall_engine::interrupt::SIGINT {
                Exit::Interrupted
            } else {
                Exit::Terminated
            }
        }
        RunError::Moved(_) => Exit::StalePlan,
        _ => Exit::Error,
    }
}

impl From<ReviewError> for Failure {
    fn from(err: ReviewError) -> Self {
        match err {
            ReviewError::File(err) => Failure::PlanFile(err),
            ReviewError::Run(err) => Failure::Run(err),
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
