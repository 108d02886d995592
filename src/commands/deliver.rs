//! `rollcall deliver`: write and upload an applied run's outputs again,
//! after a delivery failed (the change itself is already in the store).

use std::path::PathBuf;

use rollcall_engine::paths;
use rollcall_engine::run::RunError;
use rollcall_engine::sink;
use rollcall_engine::store::Store;
use rollcall_engine::target;

use super::Failure;
use super::state::StateArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::operator::{delivered_outcome, delivered_text};
use crate::render::targets::targets_text;

/// Arguments of `rollcall deliver`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file.
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
    /// The applied run whose outputs to deliver (default: the last one).
    #[arg(long)]
    pub run: Option<i64>,
    /// Write every sink's file into this folder instead of its own.
    #[arg(long, env = "ROLLCALL_OUT_DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them.
    #[arg(long)]
    pub skip_upload: bool,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let (_, plan) = super::load::compile(&args.pipeline, console)?;
    let mut store = Store::open(&args.state.state)?;
    paths::check_outputs(&plan, &store, None, args.out_dir.as_deref()).map_err(RunError::from)?;
    let options = sink::OutputOptions {
        out_dir: args.out_dir,
        skip_uploads: args.skip_upload,
    };
    // A pipeline with targets and no sinks has only its outbox to deliver.
    let (run, delivered) = if plan.sinks.is_empty() && !plan.targets.is_empty() {
        (None, Vec::new())
    } else {
        let (run, delivered) = sink::redeliver(&plan, &mut store, args.run, &options)?;
        (Some(run), delivered)
    };
    // Every target is reconciled, queued or not: a target added later, or
    // changed behind rollcall's back, is brought to the registry's state.
    let deliver = target::DeliverOptions {
        send: !args.skip_upload,
        always: true,
    };
    let targets = target::deliver(&plan, &mut store, deliver).map_err(RunError::from)?;
    let exit = if targets.iter().any(target::TargetReport::has_problems) {
        Exit::TargetsFailed
    } else {
        Exit::Ok
    };
    if console.json() {
        let outcome = match (run, exit) {
            (_, Exit::TargetsFailed) => "targets-failed",
            (None, _) if args.skip_upload => "skipped",
            (None, _) => "delivered",
            (Some(_), _) => delivered_outcome(&delivered),
        };
        let document = serde_json::json!({
            "pipeline": plan.name, "run_id": run,
            "outcome": outcome, "deliveries": delivered, "targets": targets
        });
        console.document(&document, exit, None)?;
    } else {
        if let Some(run) = run {
            console.out(&delivered_text(&plan.name, run, &delivered))?;
        }
        console.show(&targets_text(&targets))?;
    }
    Ok(exit)
}
