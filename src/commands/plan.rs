//! `rollcall plan`: what a run would change, writing nothing.

use rollcall_engine::run::{self, Options};
use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, PipelineArgs};
use crate::exit::Exit;
use crate::progress::Bar;

/// Arguments of `rollcall plan`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: PipelineArgs,
}

pub fn run(args: Args) -> Exit {
    let common = args.common;
    let now = match common.clock.instant() {
        Ok(now) => now,
        Err(exit) => return exit,
    };
    let (_, plan) = match super::load::compile(&common.pipeline) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let mut store = match Store::open_read_only(&common.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let options = Options {
        input: common.input,
        allow_empty: common.allow_empty,
        collect_changes: true,
        resync: common.resync,
        now: Some(now),
        ..Options::default()
    };
    let bar = Bar::new();
    let report = run::plan(&plan, store.as_mut(), &options, &bar);
    bar.finish();
    let report = match report {
        Ok(report) => report,
        Err(err) => return render::run_error(err),
    };
    match common.format {
        OutputFormat::Json => render::plan_json(&report),
        OutputFormat::Text => render::plan_text(&report),
    }
    if !report.integrity.passed {
        render::breach_explanation(&report, false);
        return Exit::Breach;
    }
    if common.detailed_exitcode && !report.summary.is_no_change() {
        return Exit::Changes;
    }
    Exit::Ok
}
