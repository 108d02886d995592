//! `rollcall freeze`: keep a person's (corrected) attribute from being
//! overwritten by syncs.

use rollcall_engine::clock::Instant;
use rollcall_engine::registry::{self, FreezeError, FreezeRequest};
use rollcall_engine::store::Store;
use rollcall_engine::vocabulary::Summary;

use super::render;
use super::state::{ClockArgs, OutputFormat, StateArgs, operator};
use crate::exit::Exit;

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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Exit {
    let now = match args.clock.instant() {
        Ok(now) => now,
        Err(exit) => return exit,
    };
    let until = match args.until.as_deref().map(|t| Instant::parse(t, "--until")) {
        None => None,
        Some(Ok(until)) => Some(until),
        Some(Err(err)) => return render::usage_error(err),
    };
    let mut store = match Store::open(&args.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let request = FreezeRequest {
        person: args.person,
        attribute: args.attribute,
        value: args.value,
        by: operator(args.by.as_deref()),
        reason: args.reason,
        until,
    };
    let frozen = registry::operator_run(&mut store, "freeze", |tx, run| {
        let row = registry::freeze(tx, run, &request, now)?;
        Ok::<_, FreezeError>((row, Summary::default()))
    });
    match frozen {
        Ok((row, _)) => {
            match args.format {
                OutputFormat::Json => render::json(&row),
                OutputFormat::Text => println!(
                    "froze person {} {} = {} (by {}{}{})",
                    row.person_id,
                    row.attribute,
                    row.value,
                    row.frozen_by,
                    row.until
                        .as_deref()
                        .map(|u| format!(", until {u}"))
                        .unwrap_or_default(),
                    row.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            }
            Exit::Ok
        }
        Err(FreezeError::Store(err)) => render::store_error(err),
        Err(err) => render::error(err),
    }
}
