//! The options several commands share.

use std::path::PathBuf;

use rollcall_engine::clock::TimeError;
use rollcall_engine::store::StoreLocation;

/// Where the state store lives.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArgs {
    /// The state store: a SQLite file, or a `postgres://USER@HOST/DATABASE`
    /// URL (password from the URL, PGPASSWORD or ~/.pgpass; TLS per
    /// `sslmode=require|verify-full` and `sslrootcert=CA.pem`).
    #[arg(
        long,
        env = "ROLLCALL_STATE",
        default_value = "rollcall.db",
        hide_env_values = true
    )]
    pub state: StoreLocation,
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
    /// Exit 2 when the run changes (or would change) something, 0 when not;
    /// `run` exits 4 when the newest extract was already applied (nothing read).
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub clock: ClockArgs,
    /// Re-apply records even when the source did not change them (e.g. after
    /// `rollcall unfreeze`): every record, or only the KEYs given. Put it last,
    /// or write `--resync=KEY`.
    #[arg(long, num_args = 0.., value_name = "KEY")]
    pub resync: Option<Vec<String>>,
}

/// The time lifecycle decisions are made at.
#[derive(clap::Args, Debug, Clone)]
pub struct ClockArgs {
    /// Decide grace periods, purges and lapsed freezes as if it were this
    /// time (RFC 3339 or a date); the wall clock when not given.
    #[arg(long, env = "ROLLCALL_NOW", value_name = "TIME")]
    pub now: Option<String>,
}

impl ClockArgs {
    /// The instant to use; an unreadable time is an error (exit 64).
    pub fn instant(&self) -> Result<rollcall_engine::clock::Instant, TimeError> {
        match &self.now {
            None => Ok(rollcall_engine::clock::Instant::wall()),
            Some(text) => rollcall_engine::clock::Instant::parse(text, "--now (ROLLCALL_NOW)"),
        }
    }
}

/// Who an operator command is done by: `--by`, else `ROLLCALL_USER`, else the
/// login name.
pub fn operator(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("ROLLCALL_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
