//! `rollcall fmt`: rewrite pipeline files in the canonical layout.

use std::path::PathBuf;

use crate::exit::Exit;

/// Arguments of `rollcall fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline files or folders (default: pipelines/).
    pub paths: Vec<PathBuf>,
}

pub fn run(_args: Args) -> Exit {
    Exit::Error
}
