//! `rollcall unfreeze`: let syncs write an attribute again. The value stays
//! until the person's record is next synced (`rollcall run --resync KEY`).

use rollcall_engine::registry::{self, FreezeError};
use rollcall_engine::store::Store;
use rollcall_engine::vocabulary::Summary;

use super::render;
use super::state::{StateArgs, operator};
use crate::exit::Exit;

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

pub fn run(args: Args) -> Exit {
    let mut store = match Store::open(&args.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let by = operator(args.by.as_deref());
    let result = registry::operator_run(&mut store, "unfreeze", |tx, run| {
        let row = registry::unfreeze(tx, run, args.person, &args.attribute, &by)?;
        Ok::<_, FreezeError>((row, Summary::default()))
    });
    match result {
        Ok((row, _)) => {
            println!(
                "unfroze person {} {} (was {}, frozen by {}); `rollcall run --resync KEY` writes the source's value again",
                row.person_id, row.attribute, row.value, row.frozen_by
            );
            Exit::Ok
        }
        Err(FreezeError::Store(err)) => render::store_error(err),
        Err(err) => render::error(err),
    }
}
