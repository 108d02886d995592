//! One module per subcommand, plus the pieces they share. Each command's
//! `run` builds its text with `crate::render`, writes it to the console it
//! is given, and returns its exit code, or a [`Failure`] through `?`.

pub mod apply;
pub mod check;
pub mod completions;
pub mod deliver;
pub mod explain;
mod failure;
pub mod fmt;
pub mod freeze;
pub mod frozen;
pub mod history;
mod load;
pub mod person;
pub mod plan;
pub mod purge;
pub mod run;
pub mod show;
pub mod show_plan;
pub mod state;
pub mod store;
pub mod test;
pub mod unfreeze;
pub mod validate;

pub use failure::{Failure, run_exit};

use rollcall_engine::run::RunError;
use serde::Serialize;

use crate::console::Console;
use crate::exit::Exit;
use crate::render::plan::plan_document;

/// The JSON document of a command that failed before it had a result.
#[derive(Serialize)]
struct FailedJson<'a> {
    command: &'a str,
    outcome: &'a str,
}

/// A command's exit code; a failure is written to stderr first, and with
/// `--format json` also as the command's one document on stdout (a run
/// whose delivery failed after its commit as its full report).
pub fn finish(command: &str, result: Result<Exit, Failure>, console: &mut Console) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(failure) => {
            let exit = failure.exit();
            let error = failure.error_json();
            if console.json() {
                // Nothing more can be said when stdout cannot be written.
                let _ = match &failure {
                    Failure::Run(RunError::Delivery { report, .. }) => {
                        console.document(&plan_document(report), exit, Some(&error))
                    }
                    _ => console.document(
                        &FailedJson {
                            command,
                            outcome: failure.outcome(),
                        },
                        exit,
                        Some(&error),
                    ),
                };
            }
            // Nor when stderr cannot.
            let _ = console.problem(&failure.render(), Some(&error));
            exit
        }
    }
}

/// A pipeline named on the command line, either by name or by its file;
/// and whether it was a file (so it surely exists).
fn pipeline_name(arg: &str, console: &mut Console) -> Result<(String, bool), Failure> {
    if arg.ends_with(".kdl") || std::path::Path::new(arg).is_file() {
        let (pipeline, _) = load::compile(std::path::Path::new(arg), console)?;
        return Ok((pipeline.name.value, true));
    }
    Ok((arg.to_owned(), false))
}
