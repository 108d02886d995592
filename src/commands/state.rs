//! The options every command that touches the state store shares.

use std::path::PathBuf;

/// Where the state store lives.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArgs {
    /// The SQLite state store.
    #[arg(long, env = "ROLLCALL_STATE", default_value = "rollcall.db")]
    pub state: PathBuf,
}

/// Human text or one JSON document.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Text for people.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}
