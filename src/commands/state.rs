//! The options several commands share.

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

/// What `plan` and `run` both take: the pipeline, its store and its input.
#[derive(clap::Args, Debug, Clone)]
pub struct PipelineArgs {
    /// The pipeline file.
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
    /// Replay this local file instead of the pipeline's declared source.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Accept an extract with no records (the integrity gate still judges it).
    #[arg(long)]
    pub allow_empty: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Exit 2 when the run changes (or would change) something, 0 when not.
    #[arg(long)]
    pub detailed_exitcode: bool,
}
