//! `rollcall show`: one stored record and its change log.

use rollcall_engine::store::Store;

use super::Failure;
use super::state::StateArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::show::{purged_text, show_text};

/// Arguments of `rollcall show`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline name (or a pipeline file, whose pipeline is meant).
    pub pipeline: String,
    /// The source key.
    pub key: String,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let (name, _) = super::pipeline_name(&args.pipeline, console)?;
    let mut store = Store::open_read_only(&args.state.state)?
        .ok_or_else(|| Failure::NoStore(args.state.state.shown()))?;
    let tx = store.read()?;
    let record = tx.record(&name, &args.key)?;
    let changes = tx.changes_of(&name, &args.key)?;
    drop(tx);
    // A purged person's records are deleted; their change log remains.
    if record.is_none() && changes.is_empty() {
        return Err(Failure::NoRecord {
            pipeline: name,
            key: args.key,
        });
    }
    if console.json() {
        let document = serde_json::json!({
            "pipeline": name, "record": record, "changes": changes
        });
        console.document(&document, Exit::Ok, None)?;
        return Ok(Exit::Ok);
    }
    console.out(&match &record {
        Some(record) => show_text(&name, record, &changes),
        None => purged_text(&name, &args.key, &changes),
    })?;
    Ok(Exit::Ok)
}
