//! Exit codes, documented in the README. Schedulers branch on them.

use std::process::ExitCode;

use crate::console::Console;

/// The process outcomes `rollcall` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, and (with `--detailed-exitcode`) nothing to change.
    Ok = 0,
    /// An error: invalid pipeline, bad input, failed run.
    Error = 1,
    /// `--detailed-exitcode`: the run would change (or changed) something.
    Changes = 2,
    /// The integrity gate refused the extract.
    Breach = 3,
    /// `--detailed-exitcode`: the newest extract was the one last applied,
    /// so nothing was read.
    NoNewExtract = 4,
    /// `rollcall apply PLAN` refused a plan whose pipeline file, extract,
    /// state store or rollcall version moved since it was made; nothing
    /// was changed.
    StalePlan = 5,
    /// The change set was applied, but a target refused some objects, held
    /// its removals or could not be reached; the outbox keeps what was not
    /// delivered for the next `run` or `rollcall deliver`.
    TargetsFailed = 6,
    /// The command line was wrong (BSD `EX_USAGE`).
    Usage = 64,
    /// Another run holds the state store (BSD `EX_TEMPFAIL`).
    Locked = 75,
    /// SIGINT stopped a run, which rolled back (128 + 2, as shells report it).
    Interrupted = 130,
    /// SIGTERM stopped a run, which rolled back (128 + 15).
    Terminated = 143,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Prints a clap error and maps usage errors to 64 instead of clap's 2,
/// since 2 means "changes" for `--detailed-exitcode`. Asking for help or
/// the version is not an error; giving no command at all is (the help is
/// printed, on stderr, and the exit is 64). With `--format json` on the
/// command line, stdout gets the usage error as the one JSON document.
pub fn clap_error(err: clap::Error, console: &mut Console) -> Exit {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return Exit::Ok;
    }
    let plain = err.render().to_string();
    let message = plain
        .lines()
        .next()
        .unwrap_or("usage error")
        .trim_start_matches("error: ")
        .to_owned();
    let error = crate::render::ErrorJson::new(
        "rollcall::cli::usage",
        message,
        Some("`rollcall help` lists the commands; `rollcall COMMAND --help` their options"),
    );
    if console.json() {
        let document = serde_json::json!({ "command": null, "outcome": "usage-error" });
        let _ = console.document(&document, Exit::Usage, Some(&error));
    }
    let text = if console.style.color {
        err.render().ansi().to_string()
    } else {
        plain
    };
    let _ = console.problem(&text, Some(&error));
    Exit::Usage
}
