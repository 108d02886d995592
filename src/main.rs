//! The `rollcall` command line: argument parsing and rendering only.
//! The language lives in `rollcall-dsl`, the runtime in `rollcall-engine`.

mod commands;
mod exit;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A declarative sync engine for people and identity data.
#[derive(Parser)]
#[command(name = "rollcall", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipeline files and report every problem, without running anything.
    Validate(commands::validate::Args),
    /// Rewrite pipeline files in the canonical layout, keeping comments.
    Fmt(commands::fmt::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return exit::clap_error(err),
    };
    let code = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Fmt(args) => commands::fmt::run(args),
    };
    code.into()
}
