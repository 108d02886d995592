//! `rollcall history`: a pipeline's runs, newest first.

use rollcall_engine::store::Store;

use super::Failure;
use super::state::StateArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::history::{history_text, pending_text};

/// Arguments of `rollcall history`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline name (or a pipeline file, whose pipeline is meant).
    pub pipeline: String,
    #[command(flatten)]
    pub state: StateArgs,
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let (name, from_file) = super::pipeline_name(&args.pipeline, console)?;
    let (runs, pending) = match Store::open_read_only(&args.state.state)? {
        None => (Vec::new(), Vec::new()),
        Some(mut store) => {
            let tx = store.read()?;
            (
                tx.history(&name, args.limit.max(1))?,
                tx.pending_of_pipeline(&name)?,
            )
        }
    };
    // A name no run ever had is a typo (or the wrong --state); a pipeline
    // file names a real pipeline, which may simply not have run yet.
    if runs.is_empty() && !from_file {
        return Err(Failure::UnknownPipeline(name));
    }
    if console.json() {
        let document = serde_json::json!({ "pipeline": name, "runs": runs, "pending": pending });
        console.document(&document, Exit::Ok, None)?;
    } else {
        console.out(&history_text(&name, &runs))?;
        console.out(&pending_text(&pending))?;
    }
    Ok(Exit::Ok)
}
