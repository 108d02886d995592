//! `rollcall-bench`: generate extracts, or run the whole benchmark.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rollcall_bench::generate::{self, Day, Spec};
use rollcall_bench::report::{self, Config, Profile};

/// rollcall's benchmark.
#[derive(Parser)]
#[command(name = "rollcall-bench", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write one staff-SSO extract (gzip JSON Lines).
    Gen {
        /// Day-1 users.
        #[arg(long)]
        records: u64,
        /// Which day: 1 (the initial extract) or 2 (with churn).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        day: u8,
        /// Joiners on day 2 (default: 0.1% of records).
        #[arg(long)]
        joiners: Option<u64>,
        /// Leavers on day 2 (default: 0.1% of records).
        #[arg(long)]
        leavers: Option<u64>,
        /// Users with a changed mapped field on day 2 (default: 1% of records).
        #[arg(long)]
        changes: Option<u64>,
        /// Seed of every random choice.
        #[arg(long)]
        seed: Option<u64>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Time first loads and day-2 runs against `gzip -dc | wc -l` and the
    /// DuckDB peer; print a Markdown report.
    Report {
        /// Day-1 record counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [100_000u64, 1_000_000])]
        sizes: Vec<u64>,
        /// Repetitions of each run (medians are reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Day-2 delta profiles: `typical` (0.1% joiners, 0.1% leavers, 1%
        /// changed) and `heavy` (1%, 1%, 5%).
        #[arg(long, value_delimiter = ',', default_values_t = ["typical".to_owned(), "heavy".to_owned()])]
        profiles: Vec<String>,
        /// One more size run once, to check that the per-record cost stays
        /// flat (0: none).
        #[arg(long)]
        linearity: Option<u64>,
        /// The rollcall binary.
        #[arg(long, default_value = "target/release/rollcall")]
        rollcall: PathBuf,
        /// The pipeline.
        #[arg(long, default_value = "pipelines/staff-sso.kdl")]
        pipeline: PathBuf,
        /// The peer's script, run with python3 (`pip install duckdb`).
        #[arg(long, default_value = "bench/peer/duckdb_sync.py")]
        peer: PathBuf,
        /// Measure rollcall alone, without the peer.
        #[arg(long)]
        no_peer: bool,
        /// Where generated extracts and stores go.
        #[arg(long, default_value = "bench/data")]
        data: PathBuf,
        /// Delete the generated extracts when done.
        #[arg(long)]
        clean: bool,
        /// Also time every rollcall run against PostgreSQL: an admin URL
        /// (`postgres://USER:PASSWORD@HOST:PORT/postgres`) of a role that may
        /// create databases.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Gen {
            records,
            day,
            joiners,
            leavers,
            changes,
            seed,
            out,
        } => {
            let typical = Spec::typical(records);
            let spec = Spec {
                joiners: joiners.unwrap_or(typical.joiners),
                leavers: leavers.unwrap_or(typical.leavers),
                changes: changes.unwrap_or(typical.changes),
                seed: seed.unwrap_or(typical.seed),
                records,
            };
            let day = if day == 1 { Day::One } else { Day::Two };
            generate::write(&spec, day, &out).map(|lines| {
                eprintln!("{}: {lines} lines", out.display());
            })
        }
        Command::Report {
            sizes,
            reps,
            profiles,
            linearity,
            rollcall,
            pipeline,
            peer,
            no_peer,
            data,
            clean,
            store,
        } => profiles
            .iter()
            .map(|name| {
                Profile::named(name).ok_or_else(|| {
                    std::io::Error::other(format!(
                        "unknown profile {name:?}: the profiles are typical and heavy"
                    ))
                })
            })
            .collect::<std::io::Result<Vec<_>>>()
            .and_then(|profiles| {
                let config = Config {
                    sizes,
                    reps: reps.max(1),
                    profiles,
                    linearity: linearity.filter(|&n| n > 0),
                    rollcall,
                    pipeline,
                    peer: (!no_peer).then_some(peer),
                    data,
                    clean,
                    postgres: store.as_deref().map(rollcall_bench::postgres::Server::new),
                };
                report::run(&config, &mut std::io::stdout().lock()).map(drop)
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rollcall-bench: {err}");
            ExitCode::FAILURE
        }
    }
}
