//! `rollcall run`: apply the pipeline's change set to the state store.

use std::path::PathBuf;

use rollcall_engine::notify::{self, RunEvent};
use rollcall_engine::run::{self, Options, Report, RunError};
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
    /// Write the run's outcome, counts, phase durations and last success
    /// time here, in Prometheus text format (node_exporter's textfile
    /// collector), replacing the file atomically.
    #[arg(long, env = "ROLLCALL_METRICS_FILE", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
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
    let newest_before = newest_run(&mut store, &plan.name);
    crate::signals::stop_runs_cleanly();
    let bar = Bar::new(console.style.quiet);
    let report = run::apply(&plan, &mut store, &options, &bar);
    bar.finish();
    // Notifications go out before the result is rendered, and whatever
    // they do, the exit code below is the run's own.
    let event = match &report {
        Ok(report) => RunEvent::from_report(report),
        Err(err) => {
            let mut event = RunEvent::failed(&plan.name, err);
            // The failed run was recorded after the rollback: its id is
            // the newest, when it is newer than any before this run.
            event.run = match err {
                RunError::Delivery { run_id, .. } => Some(*run_id),
                _ => newest_run(&mut store, &plan.name).filter(|id| Some(*id) > newest_before),
            };
            event
        }
    };
    notify::send(&plan.notifications, &event);
    let detailed = common.detailed_exitcode;
    if let Some(path) = &args.metrics_file {
        write_metrics(path, &plan.name, &report, detailed, &bar);
    }
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
    answer(console, &report, detailed)
}

/// Prints a finished run's report (text, or the JSON document) and, for a
/// refused extract, the breach; returns the run's exit code. `apply` ends
/// the same way.
pub(super) fn answer(
    console: &mut Console,
    report: &Report,
    detailed: bool,
) -> Result<Exit, Failure> {
    let exit = exit_of(report, detailed);
    let error = (report.outcome == Outcome::Rejected).then(|| breach_error(report, true));
    if console.json() {
        console.document(&plan_document(report), exit, error.as_ref())?;
    } else {
        console.show(&run_text(report))?;
    }
    if let Some(error) = &error {
        console.problem(&breach_explanation(report, true), Some(error))?;
    }
    Ok(exit)
}

/// The exit code of a run that finished with a report.
pub(super) fn exit_of(report: &Report, detailed: bool) -> Exit {
    match report.outcome {
        Outcome::Rejected => Exit::Breach,
        _ if report.targets_failed() => Exit::TargetsFailed,
        Outcome::Applied if detailed => Exit::Changes,
        Outcome::NoNewExtract if detailed => Exit::NoNewExtract,
        _ => Exit::Ok,
    }
}

/// `--metrics-file`: written whatever the outcome; a failure to write it is
/// a warning and never changes the run's exit code.
fn write_metrics(
    path: &std::path::Path,
    pipeline: &str,
    report: &Result<Report, RunError>,
    detailed: bool,
    bar: &Bar,
) {
    let outcome_name = |report: &Report| {
        serde_json::to_value(report.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let (outcome, exit, summary) = match report {
        Ok(report) => (
            outcome_name(report),
            exit_of(report, detailed),
            Some(report.summary),
        ),
        Err(RunError::Delivery { report, .. }) => {
            ("failed".to_owned(), Exit::Error, Some(report.summary))
        }
        Err(err) => ("failed".to_owned(), super::run_exit(err), None),
    };
    let phases = bar.phases();
    let finished = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let metrics = crate::metrics::RunMetrics {
        pipeline,
        outcome: &outcome,
        exit_code: exit as u8,
        summary,
        phases: &phases,
        finished,
    };
    if let Err(err) = crate::metrics::write(path, &metrics) {
        tracing::warn!("cannot write the metrics file {}: {err}", path.display());
    }
}

/// The id of the pipeline's newest run, if any (and if the store can say).
fn newest_run(store: &mut Store, pipeline: &str) -> Option<i64> {
    let tx = store.read().ok()?;
    let newest = tx.history(pipeline, 1).ok()?.first().map(|run| run.id);
    let _ = tx.rollback();
    newest
}
