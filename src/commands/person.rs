//! `rollcall person`: one person as the registry holds them: status, limbo,
//! attributes, identities, roles, frozen attributes, records and changes.

use rollcall_engine::store::Store;

use super::Failure;
use super::state::StateArgs;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::person::{PersonView, person_text};

/// Arguments of `rollcall person`.
#[derive(clap::Args)]
pub struct Args {
    /// The person's id.
    pub person: i64,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let mut store = Store::open_read_only(&args.state.state)?
        .ok_or_else(|| Failure::NoStore(args.state.state.shown()))?;
    let tx = store.read()?;
    let person = tx
        .person(args.person)?
        .ok_or(Failure::NoPerson(args.person))?;
    let view = PersonView {
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
    };
    if console.json() {
        console.document(&view, Exit::Ok, None)?;
    } else {
        console.out(&person_text(&view))?;
    }
    Ok(Exit::Ok)
}
