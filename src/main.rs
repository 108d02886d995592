//! The `rollcall` command line: argument parsing and rendering only; the
//! one place that writes to stdout and stderr is the console made here.
//! The language lives in `rollcall-dsl`, the runtime in `rollcall-engine`.

mod commands;
mod console;
mod exit;
mod metrics;
mod progress;
mod render;
mod signals;

use std::process::ExitCode;

use std::io::IsTerminal;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use console::{Console, OutputFormat, Style};

/// A declarative sync engine for people and identity data.
#[derive(Parser)]
#[command(
    name = "rollcall",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
struct Cli {
    /// Log format on stderr (`RUST_LOG` sets the level; default `warn`).
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Output: `text` for people, or `json`: exactly one JSON document on
    /// stdout whatever the outcome, with `outcome`, `exit_code` and `error`
    /// (schemas/).
    #[arg(long, value_enum, global = true, default_value_t)]
    format: OutputFormat,
    /// When stderr gets colour: `auto` (a terminal, and `NO_COLOR` unset),
    /// `always` or `never`.
    #[arg(long, value_enum, global = true, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// No progress display and no text report on stdout; errors and
    /// warnings still go to stderr, and `--format json` still prints.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Whether stderr gets colour.
    fn on_stderr(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for schedulers and log collectors.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipeline files and report every problem, without running anything.
    #[command(
        after_help = "Examples:\n  rollcall validate                      # every pipeline under pipelines/\n  rollcall validate pipelines/staff-sso.kdl --format json\n  rollcall validate pipelines/ --log-format json   # one JSON line per problem (CI logs)"
    )]
    Validate(commands::validate::Args),
    /// Rewrite pipeline files in the canonical layout, keeping comments.
    #[command(
        after_help = "Examples:\n  rollcall fmt                           # rewrite pipelines/*.kdl in place\n  rollcall fmt --check pipelines/        # list files that would change; exit 1 if any"
    )]
    Fmt(commands::fmt::Args),
    /// Show what a run would change, writing nothing.
    #[command(
        after_help = "Examples:\n  rollcall plan pipelines/staff-sso.kdl --input examples/staff-sso/day-2.jsonl\n  rollcall plan pipelines/staff-sso.kdl --detailed-exitcode   # exit 2 when something would change\n  rollcall plan pipelines/hr-appointments.kdl --input examples/hr/appointments-2025-03-08.csv --format json"
    )]
    Plan(commands::plan::Args),
    /// Run a pipeline and apply its changes to the state store.
    #[command(
        after_help = "Examples:\n  rollcall run pipelines/staff-sso.kdl --input examples/staff-sso/day-1.jsonl\n  rollcall run pipelines/staff-sso.kdl --detailed-exitcode --format json   # exit 0/2/3/4, one JSON document\n  rollcall run pipelines/cim-user-provisioning.kdl --out-dir out --skip-upload"
    )]
    Run(commands::run::Args),
    /// Apply exactly the change set of a saved plan, or refuse (exit 5) if
    /// anything it was computed from moved.
    #[command(
        after_help = "Examples:\n  rollcall plan pipelines/staff-sso.kdl --out staff-sso.plan && rollcall show-plan staff-sso.plan\n  rollcall apply staff-sso.plan\n  rollcall apply staff-sso.plan --format json   # exit 5 when the plan is stale"
    )]
    Apply(commands::apply::Args),
    /// Show a saved plan: what it is bound to, and its change set.
    #[command(
        after_help = "Examples:\n  rollcall show-plan staff-sso.plan\n  rollcall show-plan staff-sso.plan --format json"
    )]
    ShowPlan(commands::show_plan::Args),
    /// Check the environment a pipeline needs: every `(env)` value (never
    /// printed), and with `--reach` its source and targets.
    #[command(
        after_help = "Examples:\n  rollcall check pipelines/cora-user-sync.kdl\n  rollcall check pipelines/cim-user-provisioning.kdl --reach --format json"
    )]
    Check(commands::check::Args),
    /// Write and upload an applied run's outputs again (after a failed delivery).
    #[command(
        after_help = "Examples:\n  rollcall deliver pipelines/cora-user-sync.kdl            # the last applied run's outputs\n  rollcall deliver pipelines/cora-user-sync.kdl --run 7 --out-dir out"
    )]
    Deliver(commands::deliver::Args),
    /// List a pipeline's runs, newest first.
    #[command(
        after_help = "Examples:\n  rollcall history staff-sso\n  rollcall history pipelines/staff-sso.kdl --limit 5 --format json\n  rollcall history @purge"
    )]
    History(commands::history::Args),
    /// Show one stored record and its change log.
    #[command(
        after_help = "Examples:\n  rollcall show hr-appointments A-1002\n  rollcall show staff-sso u-000001 --format json"
    )]
    Show(commands::show::Args),
    /// Explain a person or a record: each run that changed them, and why.
    #[command(
        after_help = "Examples:\n  rollcall explain 3                      # person 3\n  rollcall explain ucs-school-gym-mitte uid-0003\n  rollcall explain 3 --format json"
    )]
    Explain(commands::explain::Args),
    /// Show one person: status, limbo, attributes, identities, roles, freezes.
    #[command(after_help = "Examples:\n  rollcall person 3\n  rollcall person 3 --format json")]
    Person(commands::person::Args),
    /// Freeze a person's attribute (or a role's) so syncs keep its value.
    #[command(
        after_help = "Examples:\n  rollcall freeze 1 telephone --value '+44 20 7946 0000' --reason 'asked by HR' --until 2025-06-01\n  rollcall freeze 2 role.3.title --by alice\n  rollcall freeze 2 role.3              # the whole role: attributes and status"
    )]
    Freeze(commands::freeze::Args),
    /// Let syncs write a frozen attribute again.
    #[command(
        after_help = "Examples:\n  rollcall unfreeze 2 role.3.title\n  rollcall unfreeze 1 telephone --by alice && rollcall run pipelines/hr-appointments.kdl --resync A-1001"
    )]
    Unfreeze(commands::unfreeze::Args),
    /// List frozen attributes: who froze them, why, until when.
    #[command(
        after_help = "Examples:\n  rollcall frozen\n  rollcall frozen --person 1 --format json"
    )]
    Frozen(commands::frozen::Args),
    /// End grace periods and purge persons whose purge-after has passed.
    #[command(
        after_help = "Examples:\n  rollcall purge --dry-run\n  rollcall purge --now 2025-06-01 --format json"
    )]
    Purge(commands::purge::Args),
    /// Move a store: copy it into a new SQLite file or PostgreSQL database.
    #[command(
        after_help = "Examples:\n  rollcall store copy rollcall.db postgres://rollcall@db.example.org/rollcall\n  rollcall store copy postgres://rollcall@db.example.org/rollcall backup.db"
    )]
    Store(commands::store::Args),
    /// Run pipeline tests (`NAME.test.kdl` beside `NAME.kdl`) in throwaway stores.
    #[command(
        after_help = "Examples:\n  rollcall test                           # every *.test.kdl under pipelines/\n  rollcall test pipelines/staff-sso.kdl   # the tests beside it\n  rollcall test pipelines/ --format json"
    )]
    Test(commands::test::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(
        after_help = "Examples:\n  rollcall completions bash > /etc/bash_completion.d/rollcall\n  rollcall completions zsh > \"${fpath[1]}/_rollcall\"\n  rollcall completions fish > ~/.config/fish/completions/rollcall.fish"
    )]
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page (roff), rollcall's or one command's.
    #[command(
        after_help = "Examples:\n  rollcall man > /usr/local/share/man/man1/rollcall.1\n  rollcall man run | man -l -"
    )]
    Man(commands::completions::ManArgs),
}

impl Command {
    /// The command's name, as JSON documents of failures give it.
    fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Fmt(_) => "fmt",
            Command::Plan(_) => "plan",
            Command::Run(_) => "run",
            Command::Apply(_) => "apply",
            Command::ShowPlan(_) => "show-plan",
            Command::Check(_) => "check",
            Command::Deliver(_) => "deliver",
            Command::History(_) => "history",
            Command::Show(_) => "show",
            Command::Person(_) => "person",
            Command::Explain(_) => "explain",
            Command::Freeze(_) => "freeze",
            Command::Unfreeze(_) => "unfreeze",
            Command::Frozen(_) => "frozen",
            Command::Purge(_) => "purge",
            Command::Store(_) => "store",
            Command::Test(_) => "test",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // The command line is wrong, yet the output it asked for is
            // honoured: a script that said `--format json` gets JSON.
            let style = style_of_raw_args();
            set_up_output(style);
            return exit::clap_error(err, &mut Console::stdio(style)).into();
        }
    };
    let style = Style {
        format: cli.format,
        quiet: cli.quiet,
        color: cli.color.on_stderr(),
        log_json: cli.log_format == LogFormat::Json,
    };
    set_up_output(style);
    let mut console = Console::stdio(style);
    let console = &mut console;
    let name = cli.command.name();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args, console),
        Command::Fmt(args) => commands::fmt::run(args, console),
        Command::Plan(args) => commands::plan::run(args, console),
        Command::Run(args) => commands::run::run(args, console),
        Command::Apply(args) => commands::apply::run(args, console),
        Command::ShowPlan(args) => commands::show_plan::run(args, console),
        Command::Check(args) => commands::check::run(args, console),
        Command::Deliver(args) => commands::deliver::run(args, console),
        Command::History(args) => commands::history::run(args, console),
        Command::Show(args) => commands::show::run(args, console),
        Command::Person(args) => commands::person::run(args, console),
        Command::Explain(args) => commands::explain::run(args, console),
        Command::Freeze(args) => commands::freeze::run(args, console),
        Command::Unfreeze(args) => commands::unfreeze::run(args, console),
        Command::Frozen(args) => commands::frozen::run(args, console),
        Command::Purge(args) => commands::purge::run(args, console),
        Command::Store(args) => commands::store::run(args, console),
        Command::Test(args) => commands::test::run(args, console),
        Command::Completions(args) => {
            commands::completions::completions(args, Cli::command(), console)
        }
        Command::Man(args) => commands::completions::man(args, Cli::command(), console),
    };
    commands::finish(name, result, console).into()
}

/// `--format`, `--log-format` and `--color` read from the raw arguments,
/// for a command line clap refused.
fn style_of_raw_args() -> Style {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value_of = |flag: &str| {
        args.iter().enumerate().find_map(|(i, arg)| {
            arg.strip_prefix(&format!("{flag}="))
                .map(str::to_owned)
                .or_else(|| (arg == flag).then(|| args.get(i + 1).cloned()).flatten())
        })
    };
    let color = match value_of("--color").as_deref() {
        Some("always") => ColorWhen::Always,
        Some("never") => ColorWhen::Never,
        _ => ColorWhen::Auto,
    };
    Style {
        format: if value_of("--format").as_deref() == Some("json") {
            OutputFormat::Json
        } else {
            OutputFormat::Text
        },
        quiet: false,
        color: color.on_stderr(),
        log_json: value_of("--log-format").as_deref() == Some("json"),
    }
}

/// Logging, and miette's rendering of errors, as the style says.
fn set_up_output(style: Style) {
    init_logging(style);
    let color = style.color;
    // A second hook cannot be set; there is only ever one.
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(color).build())
    }));
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

fn init_logging(style: Style) {
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
        .with_ansi(style.color)
        .with_writer(std::io::stderr);
    if style.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}
