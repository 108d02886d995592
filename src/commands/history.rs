//! `rollcall history`: a pipeline's runs, newest first.

use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, StateArgs};
use crate::exit::Exit;

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

pub fn run(args: Args) -> Exit {
    let name = match super::pipeline_name(&args.pipeline) {
        Ok(name) => name,
        Err(exit) => return exit,
    };
    let runs = match Store::open_read_only(&args.state.state) {
        Ok(None) => Vec::new(),
        Ok(Some(mut store)) => match store.read().and_then(|tx| tx.history(&name, args.limit)) {
            Ok(runs) => runs,
            Err(err) => return render::store_error(err),
        },
        Err(err) => return render::store_error(err),
    };
    match args.format {
        OutputFormat::Json => render::json(&serde_json::json!({ "pipeline": name, "runs": runs })),
        OutputFormat::Text => render::history_text(&name, &runs),
    }
    Exit::Ok
}
