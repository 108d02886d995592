//! `rollcall purge`: end grace periods and purge persons whose `purge-after`
//! has passed, across every pipeline (runs do the same for their system).

use rollcall_engine::registry;
use rollcall_engine::store::Store;

use super::Failure;
use super::state::{ClockArgs, StateArgs};
use crate::console::Console;
use crate::exit::Exit;
use crate::render::operator::purge_text;

/// Arguments of `rollcall purge`.
#[derive(clap::Args)]
pub struct Args {
    /// Show what would be purged, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub clock: ClockArgs,
    /// Who purges (recorded with each purge): else `ROLLCALL_USER`, else the login name.
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let now = args.clock.instant()?;
    // Never create a store just to find nothing in it.
    let absent = args.state.state.file().is_some_and(|file| !file.exists());
    let store = if args.dry_run || absent {
        Store::open_read_only(&args.state.state)?
    } else {
        Some(Store::open(&args.state.state)?)
    };
    let mut store = store.ok_or_else(|| Failure::NoStore(args.state.state.shown()))?;
    let by = super::state::operator(args.by.as_deref());
    let report = registry::purge(&mut store, now, args.dry_run, &by)?;
    if console.json() {
        console.document(&report, Exit::Ok, None)?;
    } else {
        console.out(&purge_text(&report, args.dry_run))?;
    }
    Ok(Exit::Ok)
}
