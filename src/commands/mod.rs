//! One module per subcommand, plus the pieces they share. Each command's
//! `run` builds its text with `crate::render`, writes it to the console it
//! is given, and returns its exit code, or a [`Failure`] through `?`.

pub mod deliver;
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
pub mod state;
pub mod unfreeze;
pub mod validate;

pub use failure::Failure;

use crate::console::Console;
use crate::exit::Exit;

/// A command's exit code; a failure is written to stderr first.
pub fn finish(result: Result<Exit, Failure>, console: &mut Console) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(failure) => {
            let exit = failure.exit();
            // Nothing more can be said when stderr itself cannot be written.
            let _ = console.err(&failure.render());
            exit
        }
    }
}

/// A pipeline named on the command line, either by name or by its file.
fn pipeline_name(arg: &str, console: &mut Console) -> Result<String, Failure> {
    if arg.ends_with(".kdl") || std::path::Path::new(arg).is_file() {
        let (pipeline, _) = load::compile(std::path::Path::new(arg), console)?;
        return Ok(pipeline.name.value);
    }
    Ok(arg.to_owned())
}
