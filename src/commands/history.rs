//! `rollcall history`: a pipeline's runs, newest first.

use rollcall_engine::store::Store;

use super::Failure;
use super::state::{OutputFormat, StateArgs};
use crate::console::Console;
use crate::exit::Exit;
use crate::render::history::history_text;
use crate::render::json;

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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let name = super::pipeline_name(&args.pipeline, console)?;
    let runs = match Store::open_read_only(&args.state.state)? {
        None => Vec::new(),
        Some(mut store) => store.read()?.history(&name, args.limit)?,
    };
    console.out(&match args.format {
        OutputFormat::Json => json(&serde_json::json!({ "pipeline": name, "runs": runs })),
        OutputFormat::Text => history_text(&name, &runs),
    })?;
    Ok(Exit::Ok)
}
