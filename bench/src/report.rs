//! The benchmark itself: for each size, generate day 1 and day 2, then
//! time repeatedly (interleaved, so drift on a shared machine hits both
//! alike) the `gzip -dc | wc -l` floor, a first load into an empty store,
//! and a day-2 run on a fresh copy of day 1's state; print a Markdown report
//! with medians, ratios to the floor, throughput, peak RSS and the targets.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::generate::{self, Day, Expected, Spec};
use crate::measure::{self, Sample, median};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Day-1 record counts to measure.
    pub sizes: Vec<u64>,
    /// Repetitions of every timed run (the median is reported).
    pub reps: usize,
    /// Day-2 churn as fractions of the day-1 count: joiners, leavers, changes.
    pub churn: (f64, f64, f64),
    /// The `rollcall` binary to time.
    pub rollcall: PathBuf,
    /// The pipeline to run (`pipelines/staff-sso.kdl`).
    pub pipeline: PathBuf,
    /// Where extracts and stores go (reused extracts are never regenerated).
    pub data: PathBuf,
    /// Delete the generated extracts afterwards.
    pub clean: bool,
}

/// The targets of issue 7, checked at the largest size.
pub mod targets {
    /// Day-2 run time over the `gzip -dc | wc -l` time, at most.
    pub const DAY_TWO_RATIO: f64 = 0.5;
    /// First-load time over the floor, at most.
    pub const FIRST_LOAD_RATIO: f64 = 1.0;
    /// Peak resident set size in MB (10^6 bytes), at most.
    pub const PEAK_RSS_MB: f64 = 160.0;
    /// Per-record time at the largest size over that at the smallest, at most.
    pub const SCALING: f64 = 1.2;
}

/// The repeated measurements of one phase (first load or day 2) at one size.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    /// Records in the extract.
    pub records: u64,
    /// rollcall wall times, seconds.
    pub runs: Vec<f64>,
    /// `gzip -dc | wc -l` wall times on the same file, seconds.
    pub floors: Vec<f64>,
    /// Peak RSS per run, KiB (empty without GNU time).
    pub rss_kib: Vec<u64>,
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
        let ratios: Vec<f64> = self
            .runs
            .iter()
            .zip(&self.floors)
            .map(|(run, floor)| run / floor)
            .collect();
        median(&ratios)
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

    fn record(&mut self, sample: &Sample, floor: f64) {
        self.runs.push(sample.seconds);
        self.floors.push(floor);
        self.rss_kib.extend(sample.peak_rss_kib);
    }
}

/// Everything measured at one size.
#[derive(Debug, Clone)]
pub struct SizeResult {
    /// The extracts' spec.
    pub spec: Spec,
    /// Day 1 into an empty store.
    pub first_load: Phase,
    /// Day 2 into day 1's state.
    pub day_two: Phase,
}

/// Runs the benchmark, writing progress to stderr and the report to `out`.
pub fn run(config: &Config, out: &mut dyn Write) -> io::Result<Vec<SizeResult>> {
    std::fs::create_dir_all(&config.data)?;
    let load_before = load_average();
    let mut results = Vec::new();
    for &records in &config.sizes {
        results.push(measure_size(config, records)?);
    }
    let load_after = load_average();
    write_report(config, &results, (&load_before, &load_after), out)?;
    Ok(results)
}

/// The spec of the extracts for `records` day-1 users under `config`'s churn.
pub fn spec_for(config: &Config, records: u64) -> Spec {
    let (joiners, leavers, changes) = config.churn;
    let part = |fraction: f64| ((records as f64 * fraction).round() as u64).max(1);
    Spec {
        joiners: part(joiners),
        leavers: part(leavers),
        changes: part(changes),
        ..Spec::typical(records)
    }
}

fn measure_size(config: &Config, records: u64) -> io::Result<SizeResult> {
    let spec = spec_for(config, records);
    let day_one = extract(config, &spec, Day::One)?;
    let day_two = extract(config, &spec, Day::Two)?;
    let scratch = config.data.join(format!("run-{records}"));
    std::fs::create_dir_all(&scratch)?;
    let base = scratch.join("day-1.db");
    let work = scratch.join("work.db");

    let mut first_load = Phase {
        records: spec.lines(Day::One),
        ..Phase::default()
    };
    let mut second = Phase {
        records: spec.lines(Day::Two),
        ..Phase::default()
    };
    let first_expected = Expected {
        read: spec.records,
        created: spec.records,
        updated: 0,
        removed: 0,
        unchanged: 0,
    };
    for rep in 1..=config.reps {
        let floor = floor_of(&day_one, first_load.records)?;
        measure::remove_store(&work)?;
        let sample = rollcall(config, &day_one, &work, &scratch, &first_expected)?;
        first_load.record(&sample, floor);
        progress(records, rep, "first load", &sample, floor);
        if rep == 1 {
            measure::copy_store(&work, &base)?;
        }

        let floor = floor_of(&day_two, second.records)?;
        measure::copy_store(&base, &work)?;
        let sample = rollcall(config, &day_two, &work, &scratch, &spec.expected_day2())?;
        second.record(&sample, floor);
        progress(records, rep, "day 2", &sample, floor);
    }
    std::fs::remove_dir_all(&scratch)?;
    if config.clean {
        std::fs::remove_file(&day_one)?;
        std::fs::remove_file(&day_two)?;
    }
    Ok(SizeResult {
        spec,
        first_load,
        day_two: second,
    })
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
        "- {} repetitions of each run, interleaved with the floor; medians reported",
        config.reps
    )?;
    let (j, l, c) = config.churn;
    writeln!(
        out,
        "- day 2: {:.2}% joiners, {:.2}% leavers, {:.2}% changed mapped fields, lastAccessed new on every line",
        j * 100.0,
        l * 100.0,
        c * 100.0
    )?;
    writeln!(
        out,
        "- floor: `gzip -dc FILE | wc -l` on the same file, timed just before each run; \
         ratio = median of the per-run ratios (run / its floor); also shown: median run / median floor"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| N | run | records | rollcall median (min–max) | floor median | ratio | ratio of medians | records/s | µs/record | peak RSS |"
    )?;
    writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for result in results {
        for (name, phase) in [
            ("first load", &result.first_load),
            ("day 2", &result.day_two),
        ] {
            let min = phase.runs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = phase.runs.iter().copied().fold(0.0, f64::max);
            writeln!(
                out,
                "| {} | {name} | {} | {:.3} s ({min:.3}–{max:.3}) | {:.3} s | {:.2}× | {:.2}× | {:.0} | {:.2} | {} |",
                result.spec.records,
                phase.records,
                phase.median(),
                phase.floor(),
                phase.ratio(),
                phase.ratio_of_medians(),
                phase.records_per_second(),
                phase.micros_per_record(),
                phase
                    .peak_rss_mb()
                    .map_or_else(|| "n/a".into(), |mb| format!("{mb:.1} MB")),
            )?;
        }
    }
    writeln!(out)?;
    write_targets(results, out)
}

fn write_targets(results: &[SizeResult], out: &mut dyn Write) -> io::Result<()> {
    let (Some(small), Some(large)) = (
        results.iter().min_by_key(|r| r.spec.records),
        results.iter().max_by_key(|r| r.spec.records),
    ) else {
        return Ok(());
    };
    writeln!(out, "### Targets (at N = {})", large.spec.records)?;
    writeln!(out)?;
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let day_two = large.day_two.ratio();
    writeln!(
        out,
        "- day-2 run ≤ {}× floor: {day_two:.2}× (ratio of medians {:.2}×) — {}",
        targets::DAY_TWO_RATIO,
        large.day_two.ratio_of_medians(),
        verdict(day_two <= targets::DAY_TWO_RATIO)
    )?;
    let first = large.first_load.ratio();
    writeln!(
        out,
        "- first load ≤ {}× floor: {first:.2}× (ratio of medians {:.2}×) — {}",
        targets::FIRST_LOAD_RATIO,
        large.first_load.ratio_of_medians(),
        verdict(first <= targets::FIRST_LOAD_RATIO)
    )?;
    let rss = [&large.first_load, &large.day_two]
        .iter()
        .filter_map(|phase| phase.peak_rss_mb())
        .fold(None, |max: Option<f64>, mb| {
            Some(max.map_or(mb, |m| m.max(mb)))
        });
    match rss {
        Some(mb) => writeln!(
            out,
            "- peak RSS ≤ {} MB: {mb:.1} MB (highest of all runs) — {}",
            targets::PEAK_RSS_MB,
            verdict(mb <= targets::PEAK_RSS_MB)
        )?,
        None => writeln!(out, "- peak RSS: not measured (install GNU time)")?,
    }
    if small.spec.records < large.spec.records {
        for (name, a, b) in [
            ("first load", &small.first_load, &large.first_load),
            ("day 2", &small.day_two, &large.day_two),
        ] {
            let scaling = b.micros_per_record() / a.micros_per_record();
            // The floor is linear in the records, so the ratio to it is the
            // per-record cost with the machine's load of the moment divided out.
            let relative = b.ratio() / a.ratio();
            writeln!(
                out,
                "- per-record cost {} → {} ({name}) ≤ {}×: {scaling:.2}× in wall time ({:.2} → {:.2} µs/record) — {}; \
                 {relative:.2}× relative to the floor ({:.2}× → {:.2}×) — {}",
                small.spec.records,
                large.spec.records,
                targets::SCALING,
                a.micros_per_record(),
                b.micros_per_record(),
                verdict(scaling <= targets::SCALING),
                a.ratio(),
                b.ratio(),
                verdict(relative <= targets::SCALING)
            )?;
        }
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
            rss_kib: vec![1000, 3000, 2000],
        };
        assert_eq!(phase.ratio(), 2.0);
        assert_eq!(phase.ratio_of_medians(), 1.0);
        assert_eq!(phase.median(), 4.0);
        assert_eq!(phase.peak_rss_mb(), Some(3000.0 * 1024.0 / 1e6));
    }
}
