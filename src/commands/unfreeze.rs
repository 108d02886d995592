//! `rollcall unfreeze`: let syncs write an attribute again. The value stays
//! until the person's record is next synced (`rollcall run --resync KEY`).

use rollcall_engine::registry::{self, FreezeError};
use rollcall_engine::store::Store;
use rollcall_engine::vocabulary::Summary;

use super::Failure;
use super::state::{StateArgs, operator};
use crate::console::Console;
use crate::exit::Exit;
use crate::render::operator::unfroze_text;

/// Arguments of `rollcall unfreeze`.
#[derive(clap::Args)]
pub struct Args {
    /// The person's id.
    pub person: i64,
    /// The frozen attribute, as `rollcall frozen` lists it.
    pub attribute: String,
    /// Who unfreezes it (default: `ROLLCALL_USER`, else the login name).
    #[arg(long)]
    pub by: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let mut store = Store::open(&args.state.state)?;
    let by = operator(args.by.as_deref());
    let (row, _) = registry::operator_run(&mut store, "unfreeze", |tx, run| {
        let row = registry::unfreeze(tx, run, args.person, &args.attribute, &by)?;
        Ok::<_, FreezeError>((row, Summary::default()))
    })?;
    if console.json() {
        console.document(&row, Exit::Ok, None)?;
    } else {
        console.out(&unfroze_text(&row))?;
    }
    Ok(Exit::Ok)
}
