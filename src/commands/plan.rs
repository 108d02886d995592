//! `rollcall plan`: what a run would change, writing nothing.

use rollcall_engine::run::{self, Options};
use rollcall_engine::store::Store;

use super::Failure;
use super::state::{OutputFormat, PipelineArgs};
use crate::console::Console;
use crate::exit::Exit;
use crate::progress::Bar;
use crate::render::plan::{plan_json, plan_text};
use crate::render::report::breach_explanation;

/// Arguments of `rollcall plan`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: PipelineArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let common = args.common;
    let now = common.clock.instant()?;
    let (_, plan) = super::load::compile(&common.pipeline, console)?;
    let mut store = Store::open_read_only(&common.state.state)?;
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
    let report = report?;
    match common.format {
        OutputFormat::Json => console.out(&plan_json(&report))?,
        OutputFormat::Text => console.show(&plan_text(&report))?,
    }
    if !report.integrity.passed {
        console.err(&breach_explanation(&report, false))?;
        return Ok(Exit::Breach);
    }
    if common.detailed_exitcode && !report.summary.is_no_change() {
        return Ok(Exit::Changes);
    }
    Ok(Exit::Ok)
}
