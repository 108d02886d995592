//! `rollcall run`: apply the pipeline's change set to the state store.

use std::path::PathBuf;

use rollcall_engine::run::{self, Options, Outcome};
use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, StateArgs};
use crate::exit::Exit;
use crate::progress::Bar;

/// Arguments of `rollcall run`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file.
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
    /// Replay this local file instead of the pipeline's declared source.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Apply even when the integrity gate refuses the extract (recorded as overridden).
    #[arg(long)]
    pub accept_breach: bool,
    /// Accept an extract with no records (the integrity gate still judges it).
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Exit 2 when the run changed something, 0 when it did not.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(args: Args) -> Exit {
    let (_, plan) = match super::load::compile(&args.pipeline) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let mut store = match Store::open(&args.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let options = Options {
        input: args.input,
        allow_empty: args.allow_empty,
        accept_breach: args.accept_breach,
        collect_changes: args.format == OutputFormat::Json,
        ..Options::default()
    };
    let bar = Bar::new();
    let report = run::apply(&plan, &mut store, &options, &bar);
    bar.finish();
    let report = match report {
        Ok(report) => report,
        Err(err) => return render::run_error(err),
    };
    tracing::info!(
        pipeline = %report.pipeline,
        run = report.run_id,
        outcome = ?report.outcome,
        read = report.summary.read,
        created = report.summary.created,
        updated = report.summary.updated,
        removed = report.summary.removed,
        "run finished"
    );
    match args.format {
        OutputFormat::Json => render::plan_json(&report),
        OutputFormat::Text => render::run_text(&report),
    }
    match report.outcome {
        Outcome::Rejected => {
            render::breach_explanation(&report, true);
            Exit::Breach
        }
        Outcome::Applied if args.detailed_exitcode => Exit::Changes,
        _ => Exit::Ok,
    }
}
