//! `rollcall explain`: why a person (or a pipeline's record) is as they
//! are, as a timeline of the runs that changed them.

use rollcall_engine::explain;
use rollcall_engine::store::Store;

use super::Failure;
use super::state::StateArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::explain::explain_text;

/// Arguments of `rollcall explain`.
#[derive(clap::Args)]
pub struct Args {
    /// A person's id, or a pipeline's name (or file) followed by a KEY.
    #[arg(value_name = "PERSON|PIPELINE")]
    pub subject: String,
    /// The record's source key, when a pipeline is given.
    pub key: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let timeline = match &args.key {
        Some(key) => {
            let (pipeline, _) = super::pipeline_name(&args.subject, console)?;
            let mut store = open(&args.state)?;
            let tx = store.read()?;
            explain::record(&tx, &pipeline, key)?.ok_or_else(|| Failure::NoRecord {
                pipeline,
                key: key.clone(),
            })?
        }
        None => {
            let id = args
                .subject
                .parse::<i64>()
                .map_err(|_| Failure::ExplainWhat(args.subject.clone()))?;
            let mut store = open(&args.state)?;
            let tx = store.read()?;
            explain::person(&tx, id)?.ok_or(Failure::NoPerson(id))?
        }
    };
    if console.json() {
        console.document(&timeline, Exit::Ok, None)?;
    } else {
        console.out(&explain_text(&timeline))?;
    }
    Ok(Exit::Ok)
}

/// The store, read only; never created.
fn open(state: &StateArgs) -> Result<Store, Failure> {
    Store::open_read_only(&state.state)?.ok_or_else(|| Failure::NoStore(state.state.shown()))
}
