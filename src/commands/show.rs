//! `rollcall show`: one stored record and its change log.

use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, StateArgs};
use crate::exit::Exit;

/// Arguments of `rollcall show`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline name (or a pipeline file, whose pipeline is meant).
    pub pipeline: String,
    /// The source key.
    pub key: String,
    #[command(flatten)]
    pub state: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Exit {
    let name = match super::pipeline_name(&args.pipeline) {
        Ok(name) => name,
        Err(exit) => return exit,
    };
    let mut store = match Store::open_read_only(&args.state.state) {
        Ok(Some(store)) => store,
        Ok(None) => {
            eprintln!("error: no state store at {}", args.state.state.display());
            return Exit::Error;
        }
        Err(err) => return render::store_error(err),
    };
    let found = store.read().and_then(|tx| {
        let record = tx.record(&name, &args.key)?;
        let changes = tx.changes_of(&name, &args.key)?;
        Ok((record, changes))
    });
    let (record, changes) = match found {
        Ok(found) => found,
        Err(err) => return render::store_error(err),
    };
    let Some(record) = record else {
        // A purged person's records are deleted; their change log remains.
        if !changes.is_empty() {
            match args.format {
                OutputFormat::Json => render::json(&serde_json::json!({
                    "pipeline": name, "record": null, "changes": changes
                })),
                OutputFormat::Text => render::changes_text(&name, &args.key, &changes),
            }
            return Exit::Ok;
        }
        eprintln!(
            "error: pipeline {name} has no record with key {:?}",
            args.key
        );
        return Exit::Error;
    };
    match args.format {
        OutputFormat::Json => render::json(&serde_json::json!({
            "pipeline": name, "record": record, "changes": changes
        })),
        OutputFormat::Text => render::show_text(&name, &record, &changes),
    }
    Exit::Ok
}
