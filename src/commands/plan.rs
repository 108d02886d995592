//! `rollcall plan`: what a run would change, writing nothing.

use std::path::PathBuf;

use rollcall_engine::run::{self, Options};
use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, StateArgs};
use crate::exit::Exit;
use crate::progress::Bar;

/// Arguments of `rollcall plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file.
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
    /// Replay this local file instead of the pipeline's declared source.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Accept an extract with no records (the integrity gate still judges it).
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Exit 2 when the run would change something, 0 when it would not.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(args: Args) -> Exit {
    let (_, plan) = match super::load::compile(&args.pipeline) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let mut store = match Store::open_read_only(&args.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let options = Options {
        input: args.input,
        allow_empty: args.allow_empty,
        collect_changes: true,
        ..Options::default()
    };
    let bar = Bar::new();
    let report = run::plan(&plan, store.as_mut(), &options, &bar);
    bar.finish();
    let report = match report {
        Ok(report) => report,
        Err(err) => return render::run_error(err),
    };
    match args.format {
        OutputFormat::Json => render::plan_json(&report),
        OutputFormat::Text => render::plan_text(&report),
    }
    if !report.integrity.passed {
        render::breach_explanation(&report, false);
        return Exit::Breach;
    }
    if args.detailed_exitcode && !report.summary.is_no_change() {
        return Exit::Changes;
    }
    Exit::Ok
}
