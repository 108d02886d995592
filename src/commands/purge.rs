//! `rollcall purge`: end grace periods and purge persons whose `purge-after`
//! has passed, across every pipeline (runs do the same for their system).

use rollcall_engine::registry;
use rollcall_engine::store::Store;

use super::render;
use super::state::{ClockArgs, OutputFormat, StateArgs};
use crate::exit::Exit;

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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Exit {
    let now = match args.clock.instant() {
        Ok(now) => now,
        Err(exit) => return exit,
    };
    // Never create a store just to find nothing in it.
    let store = if args.dry_run || !args.state.state.exists() {
        Store::open_read_only(&args.state.state)
    } else {
        Store::open(&args.state.state).map(Some)
    };
    let mut store = match store {
        Ok(Some(store)) => store,
        Ok(None) => {
            eprintln!("error: no state store at {}", args.state.state.display());
            return Exit::Error;
        }
        Err(err) => return render::store_error(err),
    };
    let report = match registry::purge(&mut store, now, args.dry_run) {
        Ok(report) => report,
        Err(registry::RegistryError::Store(err)) => return render::store_error(err),
        Err(err) => return render::error(err),
    };
    match args.format {
        OutputFormat::Json => render::json(&report),
        OutputFormat::Text => {
            render::registry_text(&report.registry);
            let verb = if args.dry_run {
                "would purge"
            } else {
                "purged"
            };
            let run = report
                .run_id
                .map(|id| format!("run {id}: "))
                .unwrap_or_default();
            println!(
                "{run}{verb} {} persons, {} lifecycle transitions",
                report.purged, report.transitions
            );
        }
    }
    Exit::Ok
}
