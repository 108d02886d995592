//! `rollcall frozen`: every frozen attribute, who froze it, why and until when.

use rollcall_engine::store::Store;

use super::Failure;
use super::state::{ClockArgs, StateArgs};
use crate::console::Console;
use crate::exit::Exit;
use crate::render::frozen::{frozen_json, frozen_text};

/// Arguments of `rollcall frozen`.
#[derive(clap::Args)]
pub struct Args {
    /// Only this person's.
    #[arg(long)]
    pub person: Option<i64>,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub clock: ClockArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let now = args.clock.instant()?.text();
    let rows = match Store::open_read_only(&args.state.state)? {
        None => Vec::new(),
        Some(mut store) => {
            let tx = store.read()?;
            match args.person {
                Some(person) => tx.frozen_of(person)?,
                None => tx.all_frozen()?,
            }
        }
    };
    if console.json() {
        console.document(&frozen_json(&rows, &now), Exit::Ok, None)?;
    } else {
        console.out(&frozen_text(&rows, &now))?;
    }
    Ok(Exit::Ok)
}
