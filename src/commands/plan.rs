//! `rollcall plan`: what a run would change, writing nothing.

use std::path::PathBuf;

use rollcall_engine::review;
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
    /// Also write the plan to this file, for `rollcall apply PLAN` (and
    /// `rollcall show-plan PLAN`). It holds personal data (record values)
    /// and is written readable by its owner only.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// With `--out`: leave the record values out of the file (counts and
    /// the change set's digest stay), for CI artifacts; `apply` recomputes
    /// the change set and must reach the same digest.
    #[arg(long, requires = "out")]
    pub digest_only: bool,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let common = args.common;
    let now = common.clock.instant()?;
    let (_, plan) = super::load::compile(&common.pipeline, console)?;
    super::check::warn_missing(&plan, common.input.is_some(), console)?;
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
    let planned = match &args.out {
        None => run::plan(&plan, store.as_mut(), &options, &bar)
            .map(|report| (report, None))
            .map_err(Failure::from),
        Some(_) => {
            let (file, state) = (&common.pipeline, &common.state.state.shown());
            review::make(&plan, file, store.as_mut(), state, &options, now, &bar)
                .map(|saved| (saved.report.clone(), Some(saved)))
                .map_err(Failure::from)
        }
    };
    bar.finish();
    let (report, saved) = planned?;
    if let (Some(out), Some(saved)) = (&args.out, saved) {
        let saved = if args.digest_only {
            saved.digest_only()
        } else {
            saved
        };
        saved.write(out)?;
    }
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
    if let Some(out) = &args.out
        && !console.style.quiet
    {
        console.err(&crate::render::review::saved_note(out, args.digest_only))?;
    }
    if breach {
        console.problem(&breach_explanation(&report, false), error.as_ref())?;
    }
    Ok(exit)
}
