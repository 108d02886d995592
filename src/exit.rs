//! Exit codes, documented in the README. Schedulers branch on them.

use std::process::ExitCode;

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
/// since 2 means "changes" for `--detailed-exitcode`.
pub fn clap_error(err: clap::Error) -> ExitCode {
    let _ = err.print();
    match err.kind() {
        clap::error::ErrorKind::DisplayHelp
        | clap::error::ErrorKind::DisplayVersion
        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Exit::Ok.into(),
        _ => Exit::Usage.into(),
    }
}
