//! The benchmark itself: for each size, generate day 1 and, per delta
//! profile, day 2; then time repeatedly (interleaved, so drift on a shared
//! machine hits all alike) the `gzip -dc | wc -l` floor, a first load into
//! an empty store, the DuckDB peer doing the same job, and a day-2 run on a
//! fresh copy of day 1's state; print a Markdown report with medians,
//! ratios to the floor and to the peer, throughput, peak RSS, store bytes
//! per record and the targets.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::generate::{self, Day, Expected, Spec};
use crate::measure::{self, Sample, median};

/// A day-2 delta: joiners, leavers and changed users as fractions of day 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Its name in the report.
    pub name: &'static str,
    /// Joiners as a fraction of day 1.
    pub joiners: f64,
    /// Leavers as a fraction of day 1.
    pub leavers: f64,
    /// Users with a changed mapped field, as a fraction of day 1.
    pub changes: f64,
}

impl Profile {
    /// A twice-daily delivery on a quiet day: 0.1% joiners, 0.1% leavers, 1% changed.
    pub const TYPICAL: Profile = Profile {
        name: "typical",
        joiners: 0.001,
        leavers: 0.001,
        changes: 0.01,
    };

    /// A sync cycle as Entra Connect plans for it (1% created, 1% deleted,
    /// 5% changed), which a reorganisation day reaches.
    pub const HEAVY: Profile = Profile {
        name: "heavy",
        joiners: 0.01,
        leavers: 0.01,
        changes: 0.05,
    };

    /// The profile called `name`.
    pub fn named(name: &str) -> Option<Profile> {
        [Profile::TYPICAL, Profile::HEAVY]
            .into_iter()
            .find(|p| p.name == name)
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Day-1 record counts to measure.
    pub sizes: Vec<u64>,
    /// Repetitions of every timed run (the median is reported).
    pub reps: usize,
    /// The day-2 deltas measured at every size.
    pub profiles: Vec<Profile>,
    /// One more size, run once with the first profile, to see whether the
    /// per-record cost stays flat (4M in `bench/run`).
    pub linearity: Option<u64>,
    /// The `rollcall` binary to time.
    pub rollcall: PathBuf,
    /// The pipeline to run (`pipelines/staff-sso.kdl`).
    pub pipeline: PathBuf,
    /// The peer's script (`bench/peer/duckdb_sync.py`), run with python3;
    /// `None` measures rollcall alone.
    pub peer: Option<PathBuf>,
    /// Where extracts and stores go (reused extracts are never regenerated).
    pub data: PathBuf,
    /// Delete the generated extracts afterwards.
    pub clean: bool,
    /// A PostgreSQL server (`--store postgres://ADMIN-URL`): every rollcall
    /// run is also timed against a database there, beside SQLite's.
    pub postgres: Option<crate::postgres::Server>,
}

/// The targets of issue 17, checked at the largest size of `sizes`.
pub mod targets {
    /// Day-2 run time over the `gzip -dc | wc -l` time, at most.
    pub const DAY_TWO_RATIO: f64 = 0.5;
    /// First-load time over the floor, at most.
    pub const FIRST_LOAD_RATIO: f64 = 1.0;
    /// rollcall's time over the peer's, below.
    pub const PEER_RATIO: f64 = 1.0;
    /// Peak resident set size in MB (10^6 bytes), at most, for `run` and `plan`.
    pub const PEAK_RSS_MB: f64 = 160.0;
    /// Store size per person after the first load, at most.
    pub const STORE_BYTES_PER_RECORD: f64 = 600.0;
    /// Per-record time at the largest size over that at the smallest, at most.
    pub const SCALING: f64 = 1.2;
}

/// The repeated measurements of one phase (first load or a day 2) at one size.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    /// Records in the extract.
    pub records: u64,
    /// rollcall wall times, seconds.
    pub runs: Vec<f64>,
    /// `gzip -dc | wc -l` wall times on the same file, seconds.
    pub floors: Vec<f64>,
    /// The peer's wall times on the same file, seconds (empty without one).
    pub peers: Vec<f64>,
    /// Peak RSS per run, KiB (empty without GNU time).
    pub rss_kib: Vec<u64>,
    /// The store's size in bytes after the first repetition (file and WAL).
    pub store_bytes: u64,
    /// rollcall wall times against PostgreSQL, seconds (empty without `--store`).
    pub postgres: Vec<f64>,
    /// The PostgreSQL database's size after the first repetition.
    pub postgres_bytes: u64,
    /// Persons in the store then (day 1's records, day 2's after its churn).
    pub store_records: u64,
}

impl Phase {
    /// Median rollcall time.
    pub fn median(&self) -> f64 {
        median(&self.runs)
    }

    /// Median floor time.
    pub fn floor(&self) -> f64 {
        median(&self.floors)
    }

    /// Median rollcall time over median floor time.
    pub fn ratio_of_medians(&self) -> f64 {
        self.median() / self.floor()
    }

    /// The median of each run's time over the floor timed just before it:
    /// each pair shares the machine's load of the moment, so drift in the
    /// load between repetitions cancels out.
    pub fn ratio(&self) -> f64 {
        paired(&self.runs, &self.floors)
    }

    /// The median of each run's time over the peer's run just after it;
    /// `None` without a peer.
    pub fn peer_ratio(&self) -> Option<f64> {
        (!self.peers.is_empty()).then(|| paired(&self.runs, &self.peers))
    }

    /// Records per second at the median time.
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.median()
    }

    /// Microseconds per record at the median time.
    pub fn micros_per_record(&self) -> f64 {
        self.median() * 1e6 / self.records as f64
    }

    /// The highest peak RSS of all runs, in MB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        self.rss_kib
            .iter()
            .max()
            .map(|kib| *kib as f64 * 1024.0 / 1e6)
    }

    /// Store bytes per person.
    pub fn bytes_per_record(&self) -> f64 {
        self.store_bytes as f64 / self.store_records.max(1) as f64
    }

    /// The median of each PostgreSQL run's time over the SQLite run of the
    /// same repetition; `None` without `--store`.
    pub fn postgres_ratio(&self) -> Option<f64> {
        (!self.postgres.is_empty()).then(|| paired(&self.postgres, &self.runs))
    }

    fn record(&mut self, sample: &Sample, floor: f64) {
        self.runs.push(sample.seconds);
        self.floors.push(floor);
        self.rss_kib.extend(sample.peak_rss_kib);
    }
}

/// The median of `a[i] / b[i]`.
fn paired(a: &[f64], b: &[f64]) -> f64 {
    let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    median(&ratios)
}

/// Everything measured at one size.
#[derive(Debug, Clone)]
pub struct SizeResult {
    /// Day-1 users.
    pub records: u64,
    /// Run once for linearity only (not a target size).
    pub linearity: bool,
    /// Day 1 into an empty store.
    pub first_load: Phase,
    /// `rollcall plan` of day 1 against an empty store, once (not at the
    /// linearity size).
    pub plan: Option<Phase>,
    /// Day 2 into day 1's state, per profile, with the extracts' spec.
    pub day_two: Vec<(Profile, Spec, Phase)>,
}

/// Runs the benchmark, writing progress to stderr and the report to `out`.
pub fn run(config: &Config, out: &mut dyn Write) -> io::Result<Vec<SizeResult>> {
    std::fs::create_dir_all(&config.data)?;
    let load_before = load_average();
    let mut results = Vec::new();
    for &records in &config.sizes {
        results.push(measure_size(config, records, false)?);
    }
    if let Some(records) = config.linearity {
        let once = Config {
            reps: 1,
            profiles: config.profiles.iter().take(1).copied().collect(),
            ..config.clone()
        };
        results.push(measure_size(&once, records, true)?);
    }
    let load_after = load_average();
    write_report(config, &results, (&load_before, &load_after), out)?;
    Ok(results)
}

/// The spec of the extracts for `records` day-1 users under `profile`.
pub fn spec_for(profile: &Profile, records: u64) -> Spec {
    let part = |fraction: f64| ((records as f64 * fraction).round() as u64).max(1);
    Spec {
        joiners: part(profile.joiners),
        leavers: part(profile.leavers),
        changes: part(profile.changes),
        ..Spec::typical(records)
    }
}

/// The benchmark's databases on a `--store` server: day 1's state, and the
/// one each run writes.
const PG_BASE: &str = "rollcall_bench_day1";
const PG_WORK: &str = "rollcall_bench_work";

/// The stores and extracts of one size.
struct Files {
    scratch: PathBuf,
    day_one: PathBuf,
    /// Day 1's rollcall store and peer database, copied before each day 2.
    base: PathBuf,
    peer_base: PathBuf,
    work: PathBuf,
    peer_work: PathBuf,
}

fn measure_size(config: &Config, records: u64, linearity: bool) -> io::Result<SizeResult> {
    let first_spec = spec_for(&config.profiles[0], records);
    let scratch = config.data.join(format!("run-{records}"));
    std::fs::create_dir_all(&scratch)?;
    let files = Files {
        day_one: extract(config, &first_spec, Day::One)?,
        base: scratch.join("day-1.db"),
        peer_base: scratch.join("day-1.duckdb"),
        work: scratch.join("work.db"),
        peer_work: scratch.join("work.duckdb"),
        scratch,
    };
    let mut days = Vec::new();
    for profile in &config.profiles {
        let spec = spec_for(profile, records);
        let path = extract(config, &spec, Day::Two)?;
        let phase = Phase {
            records: spec.lines(Day::Two),
            ..Phase::default()
        };
        days.push((*profile, spec, path, phase));
    }
    let mut first_load = Phase {
        records,
        ..Phase::default()
    };
    for rep in 1..=config.reps {
        measure_first_load(config, &files, &mut first_load, rep)?;
        for (profile, spec, path, phase) in &mut days {
            measure_day_two(config, &files, (profile, spec, path), phase, rep)?;
        }
    }
    // `plan` holds every change of a first load in memory (about 5 KB a
    // record today): at the linearity size it would need most of the
    // machine's memory, so it is measured at the target sizes only.
    let plan = match linearity {
        true => None,
        false => Some(measure_plan(config, &files, records)?),
    };
    std::fs::remove_dir_all(&files.scratch)?;
    if let Some(server) = &config.postgres {
        server.drop(PG_WORK)?;
        server.drop(PG_BASE)?;
    }
    if config.clean {
        std::fs::remove_file(&files.day_one)?;
        for (_, _, path, _) in &days {
            std::fs::remove_file(path)?;
        }
    }
    Ok(SizeResult {
        records,
        linearity,
        first_load,
        plan,
        day_two: days
            .into_iter()
            .map(|(profile, spec, _, phase)| (profile, spec, phase))
            .collect(),
    })
}

fn measure_first_load(
    config: &Config,
    files: &Files,
    phase: &mut Phase,
    rep: usize,
) -> io::Result<()> {
    let records = phase.records;
    let expected = Expected {
        read: records,
        created: records,
        updated: 0,
        removed: 0,
        unchanged: 0,
    };
    let floor = floor_of(&files.day_one, records)?;
    measure::remove_store(&files.work)?;
    let sample = rollcall(
        config,
        &files.day_one,
        &files.work,
        &files.scratch,
        &expected,
    )?;
    phase.record(&sample, floor);
    progress(records, rep, "first load", &sample, floor);
    if let Some(script) = &config.peer {
        measure::remove_store(&files.peer_work)?;
        let peer = peer(
            script,
            &files.day_one,
            &files.peer_work,
            &files.scratch,
            &expected,
        )?;
        phase.peers.push(peer.seconds);
        eprintln!(
            "  N={records} rep {rep}: peer first load {:.3} s",
            peer.seconds
        );
    }
    if let Some(server) = &config.postgres {
        server.recreate(PG_WORK, None)?;
        let url = server.url(PG_WORK);
        let sample = rollcall(
            config,
            &files.day_one,
            Path::new(&url),
            &files.scratch,
            &expected,
        )?;
        phase.postgres.push(sample.seconds);
        eprintln!(
            "  N={records} rep {rep}: PostgreSQL first load {:.3} s",
            sample.seconds
        );
        if rep == 1 {
            phase.postgres_bytes = server.size(PG_WORK)?;
            server.recreate(PG_BASE, Some(PG_WORK))?;
        }
    }
    if rep == 1 {
        phase.store_bytes = measure::store_bytes(&files.work)?;
        phase.store_records = records;
        measure::copy_store(&files.work, &files.base)?;
        if config.peer.is_some() {
            std::fs::copy(&files.peer_work, &files.peer_base)?;
        }
    }
    Ok(())
}

fn measure_day_two(
    config: &Config,
    files: &Files,
    (profile, spec, path): (&Profile, &Spec, &Path),
    phase: &mut Phase,
    rep: usize,
) -> io::Result<()> {
    let expected = spec.expected_day2();
    let what = format!("day 2 ({})", profile.name);
    let floor = floor_of(path, phase.records)?;
    measure::copy_store(&files.base, &files.work)?;
    let sample = rollcall(config, path, &files.work, &files.scratch, &expected)?;
    phase.record(&sample, floor);
    progress(spec.records, rep, &what, &sample, floor);
    if let Some(script) = &config.peer {
        std::fs::copy(&files.peer_base, &files.peer_work)?;
        let peer = peer(script, path, &files.peer_work, &files.scratch, &expected)?;
        phase.peers.push(peer.seconds);
        eprintln!(
            "  N={} rep {rep}: peer {what} {:.3} s",
            spec.records, peer.seconds
        );
    }
    if let Some(server) = &config.postgres {
        server.recreate(PG_WORK, Some(PG_BASE))?;
        let url = server.url(PG_WORK);
        let sample = rollcall(config, path, Path::new(&url), &files.scratch, &expected)?;
        phase.postgres.push(sample.seconds);
        eprintln!(
            "  N={} rep {rep}: PostgreSQL {what} {:.3} s",
            spec.records, sample.seconds
        );
        if rep == 1 {
            phase.postgres_bytes = server.size(PG_WORK)?;
        }
    }
    if rep == 1 {
        phase.store_bytes = measure::store_bytes(&files.work)?;
        phase.store_records = spec.records + spec.joiners;
    }
    Ok(())
}

/// `rollcall plan` of day 1 with no prior state: its peak RSS is the
/// change set's memory (a target of its own). `--quiet`, so the harness
/// does not hold a million rendered changes; the counts were checked on
/// the first load of the same file.
fn measure_plan(config: &Config, files: &Files, records: u64) -> io::Result<Phase> {
    let state = files.scratch.join("empty.db");
    measure::remove_store(&state)?;
    let args: [&OsStr; 7] = [
        "plan".as_ref(),
        config.pipeline.as_os_str(),
        "--input".as_ref(),
        files.day_one.as_os_str(),
        "--state".as_ref(),
        state.as_os_str(),
        "--quiet".as_ref(),
    ];
    let floor = floor_of(&files.day_one, records)?;
    let sample = measure::run(&config.rollcall, &args, &files.scratch)?;
    let mut phase = Phase {
        records,
        ..Phase::default()
    };
    phase.record(&sample, floor);
    progress(records, 1, "plan (first load)", &sample, floor);
    Ok(phase)
}

/// Runs the peer on `input` against its database `state` and checks that
/// it found the same created, updated and removed counts as rollcall must.
fn peer(
    script: &Path,
    input: &Path,
    state: &Path,
    scratch: &Path,
    expected: &Expected,
) -> io::Result<Sample> {
    let args: [&OsStr; 3] = [script.as_os_str(), input.as_os_str(), state.as_os_str()];
    let sample = measure::run(Path::new("python3"), &args, scratch)?;
    let want = format!(
        "created={} updated={} removed={} unchanged={}",
        expected.created, expected.updated, expected.removed, expected.unchanged
    );
    if sample.stdout.trim() != want {
        return Err(io::Error::other(format!(
            "the peer on {} printed {:?}, expected {want:?}",
            input.display(),
            sample.stdout.trim()
        )));
    }
    Ok(sample)
}

/// Times the floor once and checks that gzip saw every line.
fn floor_of(file: &Path, lines: u64) -> io::Result<f64> {
    let (seconds, counted) = measure::gzip_floor(file)?;
    if counted != lines {
        return Err(io::Error::other(format!(
            "gzip -dc {} | wc -l counted {counted} lines, expected {lines}",
            file.display()
        )));
    }
    Ok(seconds)
}

fn progress(records: u64, rep: usize, phase: &str, sample: &Sample, floor: f64) {
    let rss = sample
        .peak_rss_kib
        .map(|kib| format!(", peak RSS {:.1} MB", kib as f64 * 1024.0 / 1e6))
        .unwrap_or_default();
    eprintln!(
        "  N={records} rep {rep}: {phase} {:.3} s (floor {floor:.3} s, ratio {:.2}){rss}",
        sample.seconds,
        sample.seconds / floor
    );
}

/// The extract of `day`, generated unless an identical one is already there.
fn extract(config: &Config, spec: &Spec, day: Day) -> io::Result<PathBuf> {
    let path = config.data.join(spec.file_name(day));
    if !path.exists() {
        eprintln!("generating {}", path.display());
        // Written under a temporary name, so an interrupted run never
        // leaves a truncated file that a later run would trust.
        let partial = path.with_extension("partial");
        generate::write(spec, day, &partial)?;
        std::fs::rename(&partial, &path)?;
    }
    Ok(path)
}

/// Runs `rollcall run PIPELINE --input FILE --state DB` and checks its counts.
fn rollcall(
    config: &Config,
    input: &Path,
    state: &Path,
    scratch: &Path,
    expected: &Expected,
) -> io::Result<Sample> {
    let args: [&OsStr; 6] = [
        "run".as_ref(),
        config.pipeline.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--state".as_ref(),
        state.as_os_str(),
    ];
    let sample = measure::run(&config.rollcall, &args, scratch)?;
    let found = counts(&sample.stdout);
    if found != Some(*expected) {
        return Err(io::Error::other(format!(
            "rollcall run on {} reported {found:?}, expected {expected:?}:\n{}",
            input.display(),
            sample.stdout
        )));
    }
    Ok(sample)
}

/// The counts in `rollcall run`'s summary line
/// (`...: N read, ... | N created, N updated, N removed, N reinstated, N unchanged, N held`).
pub fn counts(stdout: &str) -> Option<Expected> {
    let line = stdout.lines().find(|line| line.contains(" created, "))?;
    let number = |label: &str| -> Option<u64> {
        let end = line.find(&format!(" {label}"))?;
        let start = line[..end].rfind(' ').map_or(0, |i| i + 1);
        line[start..end].parse().ok()
    };
    Some(Expected {
        read: number("read,")?,
        created: number("created,")?,
        updated: number("updated,")?,
        removed: number("removed,")?,
        unchanged: number("unchanged,")?,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// One line describing the machine: cores, memory, CPU model.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown memory".into(),
            |kib| format!("{:.1} GiB RAM", kib as f64 / (1 << 20) as f64),
        );
    format!("{cores} cores ({cpu}), {memory}")
}

fn write_report(
    config: &Config,
    results: &[SizeResult],
    load: (&str, &str),
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "## rollcall benchmark")?;
    writeln!(out)?;
    writeln!(out, "- machine: {}", machine())?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before: {}, after: {}",
        load.0, load.1
    )?;
    writeln!(
        out,
        "- {} repetitions of each run, interleaved with the floor and the peer; medians reported",
        config.reps
    )?;
    for profile in &config.profiles {
        writeln!(
            out,
            "- day 2 ({}): {:.1}% joiners, {:.1}% leavers, {:.1}% changed mapped fields, lastAccessed new on every line",
            profile.name,
            profile.joiners * 100.0,
            profile.leavers * 100.0,
            profile.changes * 100.0
        )?;
    }
    writeln!(
        out,
        "- floor: `gzip -dc FILE | wc -l` on the same file, timed just before each run; \
         ratio = median of the per-run ratios (run / its floor)"
    )?;
    match &config.peer {
        Some(script) => writeln!(
            out,
            "- peer: `python3 {}` (DuckDB {}): the same mapping, diff and stored snapshot; \
             vs peer = median of the per-run ratios (rollcall / the peer's run on the same file)",
            script.display(),
            peer_version()
        )?,
        None => writeln!(out, "- peer: not run")?,
    }
    writeln!(
        out,
        "- store: bytes on disk (file and WAL) per person after the first repetition"
    )?;
    if config.postgres.is_some() {
        writeln!(
            out,
            "- PostgreSQL: each rollcall run repeated against a database on the `--store` server \
             (day 2 on a `CREATE DATABASE ... TEMPLATE` copy of day 1's), right after the SQLite run; \
             vs SQLite = median of the per-repetition ratios; size = `pg_database_size` per person"
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "| N | run | records | rollcall median (min–max) | floor median | ratio | peer median | vs peer | µs/record | peak RSS | store B/person | PostgreSQL median | vs SQLite | PostgreSQL B/person |"
    )?;
    writeln!(
        out,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for result in results {
        let n = if result.linearity {
            format!("{} (once)", result.records)
        } else {
            result.records.to_string()
        };
        write_row(out, &n, "first load", &result.first_load, true)?;
        for (profile, _, phase) in &result.day_two {
            write_row(out, &n, &format!("day 2, {}", profile.name), phase, true)?;
        }
        if let Some(plan) = &result.plan {
            write_row(out, &n, "plan of the first load", plan, false)?;
        }
    }
    writeln!(out)?;
    write_targets(results, out)
}

fn write_row(
    out: &mut dyn Write,
    n: &str,
    name: &str,
    phase: &Phase,
    stored: bool,
) -> io::Result<()> {
    let min = phase.runs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = phase.runs.iter().copied().fold(0.0, f64::max);
    let peer = if phase.peers.is_empty() {
        "n/a".to_owned()
    } else {
        format!("{:.3} s", median(&phase.peers))
    };
    writeln!(
        out,
        "| {n} | {name} | {} | {:.3} s ({min:.3}–{max:.3}) | {:.3} s | {:.2}× | {peer} | {} | {:.2} | {} | {} | {} |",
        phase.records,
        phase.median(),
        phase.floor(),
        phase.ratio(),
        phase
            .peer_ratio()
            .map_or_else(|| "n/a".into(), |r| format!("{r:.2}×")),
        phase.micros_per_record(),
        phase
            .peak_rss_mb()
            .map_or_else(|| "n/a".into(), |mb| format!("{mb:.1} MB")),
        if stored {
            format!("{:.0}", phase.bytes_per_record())
        } else {
            "n/a".into()
        },
        postgres_columns(phase),
    )
}

/// The PostgreSQL run's median, its ratio to SQLite's and its database size
/// per person; `n/a` without `--store`.
fn postgres_columns(phase: &Phase) -> String {
    match phase.postgres_ratio() {
        Some(ratio) => format!(
            "{:.3} s | {ratio:.2}× | {:.0}",
            median(&phase.postgres),
            phase.postgres_bytes as f64 / phase.store_records.max(1) as f64
        ),
        None => "n/a | n/a | n/a".into(),
    }
}

/// The DuckDB version the peer imports, for the report.
fn peer_version() -> String {
    std::process::Command::new("python3")
        .args(["-c", "import duckdb; print(duckdb.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn write_targets(results: &[SizeResult], out: &mut dyn Write) -> io::Result<()> {
    let sized = || results.iter().filter(|r| !r.linearity);
    let (Some(small), Some(large)) = (
        results.iter().min_by_key(|r| r.records),
        sized().max_by_key(|r| r.records),
    ) else {
        return Ok(());
    };
    writeln!(out, "### Targets (at N = {})", large.records)?;
    writeln!(out)?;
    let first = &large.first_load;
    let mut phases = vec![("first load".to_owned(), targets::FIRST_LOAD_RATIO, first)];
    for (profile, _, phase) in &large.day_two {
        let name = format!("day 2, {}", profile.name);
        phases.push((name, targets::DAY_TWO_RATIO, phase));
    }
    for (name, limit, phase) in &phases {
        writeln!(
            out,
            "- {name} ≤ {limit}× floor: {:.2}× (ratio of medians {:.2}×) — {}",
            phase.ratio(),
            phase.ratio_of_medians(),
            verdict(phase.ratio() <= *limit)
        )?;
        if let Some(ratio) = phase.peer_ratio() {
            writeln!(
                out,
                "- {name} faster than the peer: {ratio:.2}× the peer's time — {}",
                verdict(ratio < targets::PEER_RATIO)
            )?;
        }
    }
    writeln!(
        out,
        "- store ≤ {} bytes per person: {:.0} after the first load — {}",
        targets::STORE_BYTES_PER_RECORD,
        first.bytes_per_record(),
        verdict(first.bytes_per_record() <= targets::STORE_BYTES_PER_RECORD)
    )?;
    write_rss_targets(large, out)?;
    if small.records < large.records || results.iter().any(|r| r.linearity) {
        write_scaling(small, results, out)?;
    }
    Ok(())
}

fn write_rss_targets(large: &SizeResult, out: &mut dyn Write) -> io::Result<()> {
    let runs = std::iter::once(&large.first_load)
        .chain(large.day_two.iter().map(|(_, _, phase)| phase))
        .filter_map(Phase::peak_rss_mb)
        .reduce(f64::max);
    for (name, mb) in [
        ("run", runs),
        (
            "plan of the first load",
            large.plan.as_ref().and_then(Phase::peak_rss_mb),
        ),
    ] {
        match mb {
            Some(mb) => writeln!(
                out,
                "- peak RSS of {name} ≤ {} MB: {mb:.1} MB — {}",
                targets::PEAK_RSS_MB,
                verdict(mb <= targets::PEAK_RSS_MB)
            )?,
            None => writeln!(out, "- peak RSS of {name}: not measured (install GNU time)")?,
        }
    }
    Ok(())
}

/// Per-record cost from the smallest size to the largest one measured
/// (the linearity run when there is one), for the first load and the
/// first profile's day 2.
fn write_scaling(
    small: &SizeResult,
    results: &[SizeResult],
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(large) = results.iter().max_by_key(|r| r.records) else {
        return Ok(());
    };
    let pairs = [
        ("first load", &small.first_load, &large.first_load),
        ("day 2", &small.day_two[0].2, &large.day_two[0].2),
    ];
    for (name, a, b) in pairs {
        let scaling = b.micros_per_record() / a.micros_per_record();
        // The floor is linear in the records, so the ratio to it is the
        // per-record cost with the machine's load of the moment divided out.
        let relative = b.ratio() / a.ratio();
        writeln!(
            out,
            "- per-record cost {} → {} ({name}) ≤ {}×: {scaling:.2}× in wall time ({:.2} → {:.2} µs/record) — {}; \
             {relative:.2}× relative to the floor ({:.2}× → {:.2}×) — {}",
            small.records,
            large.records,
            targets::SCALING,
            a.micros_per_record(),
            b.micros_per_record(),
            verdict(scaling <= targets::SCALING),
            a.ratio(),
            b.ratio(),
            verdict(relative <= targets::SCALING)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_run_summary_line() {
        let stdout = "staff-sso run 2: applied\n\
            /d/x.jsonl.gz: 1001 read, 1001 valid, 0 invalid, 0 filtered | 1 created, 10 updated, 0 removed, 0 reinstated, 990 unchanged, 0 held\n  ok   min-ratio    ...\n";
        assert_eq!(
            counts(stdout),
            Some(Expected {
                read: 1001,
                created: 1,
                updated: 10,
                removed: 0,
                unchanged: 990
            })
        );
        assert_eq!(counts("nothing"), None);
    }

    #[test]
    fn ratios_pair_each_run_with_its_floor() {
        let phase = Phase {
            records: 10,
            runs: vec![2.0, 4.0, 30.0],
            floors: vec![1.0, 4.0, 10.0],
            peers: vec![4.0, 2.0, 15.0],
            rss_kib: vec![1000, 3000, 2000],
            store_bytes: 5000,
            store_records: 10,
            postgres: vec![3.0, 2.0, 60.0],
            postgres_bytes: 9000,
        };
        assert_eq!(phase.ratio(), 2.0);
        // 3/2, 2/4, 60/30: the PostgreSQL runs over the SQLite runs.
        assert_eq!(phase.postgres_ratio(), Some(1.5));
        assert_eq!(phase.ratio_of_medians(), 1.0);
        assert_eq!(phase.median(), 4.0);
        assert_eq!(phase.peak_rss_mb(), Some(3000.0 * 1024.0 / 1e6));
        assert_eq!(phase.peer_ratio(), Some(2.0));
        assert_eq!(phase.bytes_per_record(), 500.0);
    }
}
