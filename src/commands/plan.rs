//! `rollcall plan`: what a run would change, writing nothing.

use rollcall_engine::run::{self, Options};
use rollcall_engine::store::Store;

use super::Failure;
use super::state::PipelineArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::progress::Bar;
use crate::render::plan::{plan_document, plan_text};
use crate::render::report::{breach_error, breach_explanation};

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
    let bar = Bar::new(console.style.quiet);
    let report = run::plan(&plan, store.as_mut(), &options, &bar);
    bar.finish();
    let report = report?;
    let breach = !report.integrity.passed;
    let exit = if breach {
        Exit::Breach
    } else if common.detailed_exitcode && !report.summary.is_no_change() {
        Exit::Changes
    } else {
        Exit::Ok
    };
    let error = breach.then(|| breach_error(&report, false));
    if console.json() {
        console.document(&plan_document(&report), exit, error.as_ref())?;
    } else {
        console.show(&plan_text(&report))?;
    }
    if breach {
        console.problem(&breach_explanation(&report, false), error.as_ref())?;
    }
    Ok(exit)
}
