//! `rollcall frozen`: every frozen attribute, who froze it, why and until when.

use rollcall_engine::store::Store;

use super::render;
use super::state::{ClockArgs, OutputFormat, StateArgs};
use crate::exit::Exit;

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
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> Exit {
    let now = match args.clock.instant() {
        Ok(now) => now.text(),
        Err(exit) => return exit,
    };
    let rows = match Store::open_read_only(&args.state.state) {
        Ok(None) => Vec::new(),
        Ok(Some(mut store)) => match store.read().and_then(|tx| match args.person {
            Some(person) => tx.frozen_of(person),
            None => tx.all_frozen(),
        }) {
            Ok(rows) => rows,
            Err(err) => return render::store_error(err),
        },
        Err(err) => return render::store_error(err),
    };
    match args.format {
        OutputFormat::Json => {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let mut value = serde_json::to_value(row).expect("rows serialize");
                    value["holds"] = serde_json::Value::Bool(row.holds_at(&now));
                    value
                })
                .collect();
            render::json(&serde_json::json!({ "frozen": rows }));
        }
        OutputFormat::Text => {
            if rows.is_empty() {
                println!("nothing is frozen");
            }
            for row in &rows {
                println!(
                    "person {:>6}  {:<20} = {}  by {} at {}{}{}{}",
                    row.person_id,
                    row.attribute,
                    row.value,
                    row.frozen_by,
                    row.frozen_at,
                    row.until
                        .as_deref()
                        .map(|u| format!(", until {u}"))
                        .unwrap_or_default(),
                    if row.holds_at(&now) { "" } else { " (lapsed)" },
                    row.reason
                        .as_deref()
                        .map(|r| format!("\n                reason: {r}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Exit::Ok
}
