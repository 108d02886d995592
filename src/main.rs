//! The `rollcall` command line: argument parsing and rendering only; the
//! one place that writes to stdout and stderr is the console made here.
//! The language lives in `rollcall-dsl`, the runtime in `rollcall-engine`.

mod commands;
mod console;
mod exit;
mod progress;
mod render;
mod signals;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// A declarative sync engine for people and identity data.
#[derive(Parser)]
#[command(name = "rollcall", version, about, propagate_version = true)]
struct Cli {
    /// Log format on stderr (`RUST_LOG` sets the level; default `warn`).
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for schedulers and log collectors.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipeline files and report every problem, without running anything.
    Validate(commands::validate::Args),
    /// Rewrite pipeline files in the canonical layout, keeping comments.
    Fmt(commands::fmt::Args),
    /// Show what a run would change, writing nothing.
    Plan(commands::plan::Args),
    /// Run a pipeline and apply its changes to the state store.
    Run(commands::run::Args),
    /// Write and upload an applied run's outputs again (after a failed delivery).
    Deliver(commands::deliver::Args),
    /// List a pipeline's runs, newest first.
    History(commands::history::Args),
    /// Show one stored record and its change log.
    Show(commands::show::Args),
    /// Show one person: status, limbo, attributes, identities, roles, freezes.
    Person(commands::person::Args),
    /// Freeze a person's attribute (or a role's) so syncs keep its value.
    Freeze(commands::freeze::Args),
    /// Let syncs write a frozen attribute again.
    Unfreeze(commands::unfreeze::Args),
    /// List frozen attributes: who froze them, why, until when.
    Frozen(commands::frozen::Args),
    /// End grace periods and purge persons whose purge-after has passed.
    Purge(commands::purge::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return exit::clap_error(err),
    };
    init_logging(cli.log_format);
    let mut console = console::Console::stdio();
    let console = &mut console;
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args, console),
        Command::Fmt(args) => commands::fmt::run(args, console),
        Command::Plan(args) => commands::plan::run(args, console),
        Command::Run(args) => commands::run::run(args, console),
        Command::Deliver(args) => commands::deliver::run(args, console),
        Command::History(args) => commands::history::run(args, console),
        Command::Show(args) => commands::show::run(args, console),
        Command::Person(args) => commands::person::run(args, console),
        Command::Freeze(args) => commands::freeze::run(args, console),
        Command::Unfreeze(args) => commands::unfreeze::run(args, console),
        Command::Frozen(args) => commands::frozen::run(args, console),
        Command::Purge(args) => commands::purge::run(args, console),
    };
    commands::finish(result, console).into()
}

/// Libraries whose debug logs print request lines, URLs or headers, which
/// may hold secrets (a webhook URL carries its token; a signed request its
/// signature). They are held at `warn` whatever `RUST_LOG` says, so turning
/// on `RUST_LOG=debug` to chase a problem never writes a secret to the logs.
const QUIET_LIBRARIES: &[&str] = &[
    "ureq",
    "ureq_proto",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "aws_config",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_s3",
];

fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    for library in QUIET_LIBRARIES {
        let directive = format!("{library}=warn")
            .parse()
            .expect("a valid directive");
        filter = filter.add_directive(directive);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
