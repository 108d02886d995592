//! `rollcall plan`: what a run would change, writing nothing.

use std::path::PathBuf;

use rollcall_engine::review::SavedPlan;
use rollcall_engine::run::{self, Options, Report};
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
    let report = match &args.out {
        None => run::plan(&plan, store.as_mut(), &options, &bar).map_err(Failure::from),
        Some(out) => {
            let saved = (
                &plan,
                &common.pipeline,
                &common.state.state,
                args.digest_only,
            );
            save(saved, store.as_mut(), &options, now, out, &bar)
        }
    };
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

/// `--out`: plans bound to its inputs, writes the plan file and says so;
/// the report is what `plan` shows.
fn save(
    (plan, file, state, digest_only): (&rollcall_engine::plan::Plan, &PathBuf, &PathBuf, bool),
    store: Option<&mut Store>,
    options: &Options,
    now: rollcall_engine::clock::Instant,
    out: &std::path::Path,
    bar: &Bar,
) -> Result<Report, Failure> {
    let saved = rollcall_engine::review::make(plan, file, store, state, options, now, bar)?;
    let report = saved.report.clone();
    let saved: SavedPlan = if digest_only {
        saved.digest_only()
    } else {
        saved
    };
    saved.write(out)?;
    tracing::info!(plan = %out.display(), digest = %saved.digest, "plan saved");
    Ok(report)
}
