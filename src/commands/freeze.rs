//! `rollcall freeze`: keep a person's (corrected) attribute from being
//! overwritten by syncs.

use rollcall_engine::clock::Instant;
use rollcall_engine::registry::{self, FreezeError, FreezeRequest};
use rollcall_engine::store::Store;
use rollcall_engine::vocabulary::Summary;

use super::Failure;
use super::state::{ClockArgs, StateArgs, operator};
use crate::console::Console;
use crate::exit::Exit;
use crate::render::operator::froze_text;

/// Arguments of `rollcall freeze`.
#[derive(clap::Args)]
pub struct Args {
    /// The person's id (`rollcall show PIPELINE KEY` shows it).
    pub person: i64,
    /// A person attribute (`telephone`), a role's attribute (`role.7.title`)
    /// or a whole role (`role.7`, its attributes and status).
    pub attribute: String,
    /// Set this corrected value, then freeze it (default: freeze the current value).
    #[arg(long)]
    pub value: Option<String>,
    /// Why it is frozen, kept with it.
    #[arg(long)]
    pub reason: Option<String>,
    /// Frozen until this date or time; after it, syncs write it again.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Who freezes it (default: `ROLLCALL_USER`, else the login name).
    #[arg(long)]
    pub by: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub clock: ClockArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let now = args.clock.instant()?;
    let until = args
        .until
        .as_deref()
        .map(|t| Instant::parse(t, "--until"))
        .transpose()?;
    let mut store = Store::open(&args.state.state)?;
    let request = FreezeRequest {
        person: args.person,
        attribute: args.attribute,
        value: args.value,
        by: operator(args.by.as_deref()),
        reason: args.reason,
        until,
    };
    let (row, _) = registry::operator_run(&mut store, "freeze", |tx, run| {
        let row = registry::freeze(tx, run, &request, now)?;
        Ok::<_, FreezeError>((row, Summary::default()))
    })?;
    if console.json() {
        console.document(&row, Exit::Ok, None)?;
    } else {
        console.out(&froze_text(&row))?;
    }
    Ok(Exit::Ok)
}
