//! `rollcall run`: apply the pipeline's change set to the state store.

use std::path::PathBuf;

use rollcall_engine::notify::{self, RunEvent};
use rollcall_engine::run::{self, Options};
use rollcall_engine::store::Store;
use rollcall_engine::vocabulary::Outcome;

use super::Failure;
use super::state::PipelineArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::progress::Bar;
use crate::render::plan::plan_document;
use crate::render::report::{breach_error, breach_explanation};
use crate::render::run::run_text;

/// Arguments of `rollcall run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: PipelineArgs,
    /// Apply even when the integrity gate refuses the extract (recorded as overridden).
    #[arg(long)]
    pub accept_breach: bool,
    /// Write every sink's file into this folder instead of its own.
    #[arg(long, env = "ROLLCALL_OUT_DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them (replays, backfills).
    #[arg(long)]
    pub skip_upload: bool,
    /// Read the newest extract even when it is the one last applied.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let common = args.common;
    let now = common.clock.instant()?;
    let (_, plan) = super::load::compile(&common.pipeline, console)?;
    let mut store = Store::open(&common.state.state).inspect_err(|err| {
        notify::send(&plan.notifications, &RunEvent::failed(&plan.name, err));
    })?;
    let options = Options {
        input: common.input,
        allow_empty: common.allow_empty,
        accept_breach: args.accept_breach,
        collect_changes: console.json(),
        resync: common.resync,
        now: Some(now),
        out_dir: args.out_dir,
        skip_uploads: args.skip_upload,
        force: args.force,
        ..Options::default()
    };
    crate::signals::stop_runs_cleanly();
    let bar = Bar::new(console.style.quiet);
    let report = run::apply(&plan, &mut store, &options, &bar);
    bar.finish();
    // Notifications go out before the result is rendered, and whatever
    // they do, the exit code below is the run's own.
    let event = match &report {
        Ok(report) => RunEvent::from_report(report),
        Err(err) => RunEvent::failed(&plan.name, err),
    };
    notify::send(&plan.notifications, &event);
    let report = report?;
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
    let exit = match report.outcome {
        Outcome::Rejected => Exit::Breach,
        Outcome::Applied if common.detailed_exitcode => Exit::Changes,
        Outcome::NoNewExtract if common.detailed_exitcode => Exit::NoNewExtract,
        _ => Exit::Ok,
    };
    let error = (report.outcome == Outcome::Rejected).then(|| breach_error(&report, true));
    if console.json() {
        console.document(&plan_document(&report), exit, error.as_ref())?;
    } else {
        console.show(&run_text(&report))?;
    }
    if let Some(error) = &error {
        console.problem(&breach_explanation(&report, true), Some(error))?;
    }
    Ok(exit)
}
