//! `rollcall store copy FROM TO`: a store moved into a new one of either
//! kind (a SQLite file, a PostgreSQL database), every table verified.

use rollcall_engine::store::{Store, StoreLocation, copy_store};

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;

/// Arguments of `rollcall store`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// What `rollcall store` does.
#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// Copy every table of a store into a new, empty one (SQLite file or
    /// `postgres://` URL, either way), verified by row counts and a
    /// checksum per table; nothing is committed unless every table matches.
    #[command(
        after_help = "Examples:\n  rollcall store copy rollcall.db postgres://rollcall@db.example.org/rollcall\n  rollcall store copy postgres://rollcall@db.example.org/rollcall backup.db --format json"
    )]
    Copy {
        /// The store to copy (it is only read).
        #[arg(hide_env_values = true)]
        from: StoreLocation,
        /// The new store: a file that does not exist yet, or an empty database.
        to: StoreLocation,
    },
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let StoreCommand::Copy { from, to } = args.command;
    let mut source = Store::open_read_only(&from)?.ok_or_else(|| Failure::NoStore(from.shown()))?;
    let mut target = Store::open(&to)?;
    let tables = copy_store(&mut source, &mut target)?;
    if console.json() {
        let document = serde_json::json!({
            "from": from.to_string(),
            "to": to.to_string(),
            "tables": tables,
        });
        console.document(&document, Exit::Ok, None)?;
    } else {
        let width = tables.iter().map(|t| t.table.len()).max().unwrap_or(0);
        let mut text = format!("copied {from} to {to}\n");
        for table in &tables {
            text.push_str(&format!(
                "  {:<width$}  {:>9} rows  checksum {}\n",
                table.table, table.rows, table.checksum
            ));
        }
        text.push_str("every table verified: same rows, same checksum\n");
        console.out(&text)?;
    }
    Ok(Exit::Ok)
}
