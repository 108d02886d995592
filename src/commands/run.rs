//! `rollcall run`: apply the pipeline's change set to the state store.

use rollcall_engine::run::{self, Options, Outcome};
use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, PipelineArgs};
use crate::exit::Exit;
use crate::progress::Bar;

/// Arguments of `rollcall run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: PipelineArgs,
    /// Apply even when the integrity gate refuses the extract (recorded as overridden).
    #[arg(long)]
    pub accept_breach: bool,
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
    let mut store = match Store::open(&common.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let options = Options {
        input: common.input,
        allow_empty: common.allow_empty,
        accept_breach: args.accept_breach,
        collect_changes: common.format == OutputFormat::Json,
        resync: common.resync,
        now: Some(now),
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
    match common.format {
        OutputFormat::Json => render::plan_json(&report),
        OutputFormat::Text => render::run_text(&report),
    }
    match report.outcome {
        Outcome::Rejected => {
            render::breach_explanation(&report, true);
            Exit::Breach
        }
        Outcome::Applied if common.detailed_exitcode => Exit::Changes,
        _ => Exit::Ok,
    }
}
