//! `rollcall apply PLAN`: apply exactly the change set a saved plan shows,
//! or refuse (exit 5) naming what moved since it was made: the rollcall
//! version, the pipeline file, the extract or the state store.

use std::path::PathBuf;

use rollcall_engine::notify::{self, RunEvent};
use rollcall_engine::review::SavedPlan;
use rollcall_engine::run::{Options, RunError};
use rollcall_engine::store::{Store, StoreLocation};

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;
use crate::progress::Bar;

/// Arguments of `rollcall apply`.
#[derive(clap::Args)]
pub struct Args {
    /// The plan file `rollcall plan --out` wrote.
    pub plan: PathBuf,
    /// The state store, a SQLite file or a `postgres://` URL (default: the
    /// one the plan was made against).
    #[arg(long, env = "ROLLCALL_STATE", hide_env_values = true)]
    pub state: Option<StoreLocation>,
    /// Write every sink's file into this folder instead of its own.
    #[arg(long, env = "ROLLCALL_OUT_DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them.
    #[arg(long)]
    pub skip_upload: bool,
    /// Exit 2 when the plan changed something, 0 when it had nothing to change.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let saved = SavedPlan::read(&args.plan)?;
    // A pipeline file that moved may no longer even compile: say that it
    // moved, not what is wrong with it now.
    saved.check_inputs()?;
    let (_, plan) = super::load::compile(&saved.pipeline.file, console)?;
    let state = match args.state {
        Some(state) => state,
        None => StoreLocation::from_saved(&saved.store.path).map_err(|why| {
            rollcall_engine::review::PlanFileError::Invalid {
                path: args.plan.clone(),
                why,
            }
        })?,
    };
    let mut store = Store::open(&state)?;
    let options = Options {
        out_dir: args.out_dir,
        skip_uploads: args.skip_upload,
        ..Options::default()
    };
    crate::signals::stop_runs_cleanly();
    let bar = Bar::new(console.style.quiet);
    let report = saved.apply(&plan, &mut store, &options, &bar);
    bar.finish();
    let report = match report {
        Ok(report) => report,
        // A refused plan is not a run: nothing was recorded, no one is told.
        Err(err @ rollcall_engine::review::ReviewError::Run(RunError::Moved(_))) => {
            return Err(err.into());
        }
        Err(err) => {
            let failure = Failure::from(err);
            if let Failure::Run(err) = &failure {
                notify::send(&plan.notifications, &RunEvent::failed(&plan.name, err));
            }
            return Err(failure);
        }
    };
    notify::send(&plan.notifications, &RunEvent::from_report(&report));
    super::run::answer(console, &report, args.detailed_exitcode)
}
