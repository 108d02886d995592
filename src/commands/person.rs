//! `rollcall person`: one person as the registry holds them: status, limbo,
//! attributes, identities, roles, frozen attributes, records and changes.

use rollcall_engine::store::Store;

use super::render;
use super::state::{OutputFormat, StateArgs};
use crate::exit::Exit;

/// Arguments of `rollcall person`.
#[derive(clap::Args)]
pub struct Args {
    /// The person's id.
    pub person: i64,
    #[command(flatten)]
    pub state: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Exit {
    let mut store = match Store::open_read_only(&args.state.state) {
        Ok(Some(store)) => store,
        Ok(None) => {
            eprintln!("error: no state store at {}", args.state.state.display());
            return Exit::Error;
        }
        Err(err) => return render::store_error(err),
    };
    let found = store.read().and_then(|tx| {
        let Some(person) = tx.person(args.person)? else {
            return Ok(None);
        };
        Ok(Some(render::PersonView {
            identities: tx.person_identities(person.id)?,
            roles: tx.roles_of_person(person.id)?,
            frozen: tx.frozen_of(person.id)?,
            records: tx
                .records_of_person(person.id)?
                .into_iter()
                .map(|(pipeline, key)| format!("{pipeline}/{key}"))
                .collect(),
            changes: tx.changes_of_person(person.id)?,
            person,
        }))
    });
    match found {
        Ok(Some(view)) => {
            match args.format {
                OutputFormat::Json => render::json(&view),
                OutputFormat::Text => render::person_text(&view),
            }
            Exit::Ok
        }
        Ok(None) => {
            eprintln!("error: there is no person {}", args.person);
            Exit::Error
        }
        Err(err) => render::store_error(err),
    }
}
