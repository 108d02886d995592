//! Timing child processes: wall time, peak resident set size, and the
//! `gzip -dc FILE | wc -l` floor every rollcall time is compared with.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// GNU time, which reports a child's peak RSS (`apt-get install -y time`).
const GNU_TIME: &str = "/usr/bin/time";

/// One timed run of a process.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Wall-clock seconds from spawn to exit.
    pub seconds: f64,
    /// Peak resident set size in KiB, when GNU time is installed.
    pub peak_rss_kib: Option<u64>,
    /// What the process printed on stdout.
    pub stdout: String,
}

/// Whether peak RSS can be measured on this machine.
pub fn rss_available() -> bool {
    Path::new(GNU_TIME).exists()
}

/// Runs `program args` to completion under GNU time (when installed) and
/// fails unless it exits 0.
pub fn run(program: &Path, args: &[&std::ffi::OsStr], scratch: &Path) -> io::Result<Sample> {
    let report = scratch.join("time-v.txt");
    let mut command = if rss_available() {
        let mut command = Command::new(GNU_TIME);
        command.arg("-v").arg("-o").arg(&report).arg(program);
        command
    } else {
        Command::new(program)
    };
    command
        .args(args)
        // The progress bar is drawn only on a terminal; make sure it is not.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let output = command.output()?;
    let seconds = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{} {:?} failed ({}):\n{stdout}\n{}",
            program.display(),
            args,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let peak_rss_kib = if rss_available() {
        let text = std::fs::read_to_string(&report)?;
        Some(max_rss(&text).ok_or_else(|| {
            io::Error::other(format!("no peak RSS in GNU time's report:\n{text}"))
        })?)
    } else {
        None
    };
    Ok(Sample {
        seconds,
        peak_rss_kib,
        stdout,
    })
}

/// Times `gzip -dc FILE | wc -l` and returns the seconds and the line count.
pub fn gzip_floor(file: &Path) -> io::Result<(f64, u64)> {
    let start = Instant::now();
    let output = Command::new("sh")
        .arg("-c")
        // No pipefail in POSIX sh: a failing gzip shows as a short line count,
        // which the caller checks against the lines generated.
        .arg(r#"gzip -dc -- "$1" | wc -l"#)
        .arg("sh")
        .arg(file)
        .stdin(Stdio::null())
        .output()?;
    let seconds = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "gzip -dc {} | wc -l failed: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let lines = text
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("wc -l printed {text:?}")))?;
    Ok((seconds, lines))
}

/// Copies a closed SQLite store (and its WAL, if one was left) to `to`.
pub fn copy_store(from: &Path, to: &Path) -> io::Result<()> {
    remove_store(to)?;
    std::fs::copy(from, to)?;
    for suffix in ["-wal", "-shm"] {
        let side = with_suffix(from, suffix);
        if side.exists() {
            std::fs::copy(&side, with_suffix(to, suffix))?;
        }
    }
    Ok(())
}

/// A store's size on disk: the file and its WAL, if one was left.
pub fn store_bytes(path: &Path) -> io::Result<u64> {
    let mut total = std::fs::metadata(path)?.len();
    let wal = with_suffix(path, "-wal");
    if wal.exists() {
        total += std::fs::metadata(&wal)?.len();
    }
    Ok(total)
}

/// Deletes a store and its WAL and shared-memory files, if present.
pub fn remove_store(path: &Path) -> io::Result<()> {
    for file in [
        path.to_owned(),
        with_suffix(path, "-wal"),
        with_suffix(path, "-shm"),
    ] {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `Maximum resident set size (kbytes): N` from `time -v`.
fn max_rss(report: &str) -> Option<u64> {
    report
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Maximum resident set size (kbytes):")
        })
        .and_then(|n| n.trim().parse().ok())
}

/// The median of some measurements (the mean of the middle two for an
/// even count); `NaN` for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn reads_peak_rss_from_gnu_time() {
        let report = "\tCommand being timed: \"x\"\n\tMaximum resident set size (kbytes): 12345\n";
        assert_eq!(max_rss(report), Some(12345));
        assert_eq!(max_rss("nothing"), None);
    }
}
