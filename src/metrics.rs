//! `--metrics-file PATH`: the run's outcome, counts and phase durations in
//! Prometheus' text exposition format, for node_exporter's textfile
//! collector. The file is replaced atomically (a temporary file in the
//! same folder, then a rename), so the collector never reads half of it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use rollcall_engine::vocabulary::{Phase, Summary};

/// What one run leaves in the metrics file.
pub struct RunMetrics<'a> {
    /// The pipeline.
    pub pipeline: &'a str,
    /// `applied`, `no-change`, `no-new-extract`, `rejected` or `failed`.
    pub outcome: &'a str,
    /// The process's exit code.
    pub exit_code: u8,
    /// The counts, when the run got that far.
    pub summary: Option<Summary>,
    /// Each phase and how long it took.
    pub phases: &'a [(Phase, Duration)],
    /// When the run ended (seconds since the epoch).
    pub finished: f64,
}

/// The outcomes every file lists, so a query can tell 0 from missing.
const OUTCOMES: &[&str] = &[
    "applied",
    "no-change",
    "no-new-extract",
    "rejected",
    "failed",
];

/// The exposition text. `last_success` is this run's end when it succeeded
/// (exit 0, 2 or 4), else the value the previous file held.
pub fn exposition(run: &RunMetrics<'_>, last_success: Option<f64>) -> String {
    let p = escape(run.pipeline);
    let mut out = String::new();
    header(
        &mut out,
        "rollcall_run_outcome",
        "1 for the outcome of the pipeline's last run, 0 for the others.",
    );
    for outcome in OUTCOMES {
        let value = u8::from(*outcome == run.outcome);
        let _ = writeln!(
            out,
            "rollcall_run_outcome{{pipeline=\"{p}\",outcome=\"{outcome}\"}} {value}"
        );
    }
    header(
        &mut out,
        "rollcall_run_exit_code",
        "The last run's exit code.",
    );
    let _ = writeln!(
        out,
        "rollcall_run_exit_code{{pipeline=\"{p}\"}} {}",
        run.exit_code
    );
    header(
        &mut out,
        "rollcall_run_records",
        "Records of the last run, by what happened to them.",
    );
    if let Some(s) = &run.summary {
        for (kind, n) in [
            ("read", s.read),
            ("valid", s.valid),
            ("invalid", s.invalid),
            ("filtered", s.filtered),
            ("created", s.created),
            ("updated", s.updated),
            ("removed", s.removed),
            ("reinstated", s.reinstated),
            ("unchanged", s.unchanged),
            ("held", s.held),
            ("ambiguous", s.ambiguous),
            ("transitions", s.transitions),
            ("purged", s.purged),
        ] {
            let _ = writeln!(
                out,
                "rollcall_run_records{{pipeline=\"{p}\",kind=\"{kind}\"}} {n}"
            );
        }
    }
    header(
        &mut out,
        "rollcall_run_phase_seconds",
        "How long each phase of the last run took.",
    );
    let mut seen: Vec<(Phase, f64)> = Vec::new();
    for (phase, took) in run.phases {
        match seen.iter_mut().find(|(p, _)| p == phase) {
            Some((_, total)) => *total += took.as_secs_f64(),
            None => seen.push((*phase, took.as_secs_f64())),
        }
    }
    for (phase, secs) in &seen {
        let _ = writeln!(
            out,
            "rollcall_run_phase_seconds{{pipeline=\"{p}\",phase=\"{}\"}} {secs:.6}",
            phase.name()
        );
    }
    header(
        &mut out,
        "rollcall_run_finished_timestamp_seconds",
        "When the last run ended.",
    );
    let _ = writeln!(
        out,
        "rollcall_run_finished_timestamp_seconds{{pipeline=\"{p}\"}} {:.3}",
        run.finished
    );
    if let Some(at) = last_success {
        header(
            &mut out,
            "rollcall_last_success_timestamp_seconds",
            "When a run of the pipeline last succeeded.",
        );
        let _ = writeln!(
            out,
            "rollcall_last_success_timestamp_seconds{{pipeline=\"{p}\"}} {at:.3}"
        );
    }
    out
}

/// A metric family's HELP and TYPE lines.
fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Writes the run's metrics to `path` atomically, keeping the last success
/// time from the file it replaces when this run did not succeed.
pub fn write(path: &Path, run: &RunMetrics<'_>) -> std::io::Result<()> {
    let succeeded = matches!(run.exit_code, 0 | 2 | 4);
    let last_success = if succeeded {
        Some(run.finished)
    } else {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| previous_success(&text))
    };
    let text = exposition(run, last_success);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    // The textfile collector reads files as node_exporter's user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The last success time a previous file recorded.
fn previous_success(text: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with("rollcall_last_success_timestamp_seconds{"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_keeps_the_last_success_time_and_lists_every_outcome() {
        let phases = [
            (Phase::Reading, Duration::from_millis(1500)),
            (Phase::Uploading, Duration::from_millis(100)),
            (Phase::Uploading, Duration::from_millis(200)),
        ];
        let run = RunMetrics {
            pipeline: "hr",
            outcome: "failed",
            exit_code: 1,
            summary: None,
            phases: &phases,
            finished: 1_700_000_100.0,
        };
        let text = exposition(
            &run,
            previous_success(&exposition(
                &RunMetrics {
                    outcome: "applied",
                    exit_code: 0,
                    ..run_copy(&run)
                },
                Some(1_700_000_000.0),
            )),
        );
        assert!(text.contains("rollcall_run_outcome{pipeline=\"hr\",outcome=\"failed\"} 1\n"));
        assert!(text.contains("rollcall_run_outcome{pipeline=\"hr\",outcome=\"applied\"} 0\n"));
        assert!(text.contains(
            "rollcall_run_phase_seconds{pipeline=\"hr\",phase=\"uploading\"} 0.300000\n"
        ));
        assert!(
            text.contains(
                "rollcall_last_success_timestamp_seconds{pipeline=\"hr\"} 1700000000.000\n"
            )
        );
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }

    fn run_copy<'a>(run: &RunMetrics<'a>) -> RunMetrics<'a> {
        RunMetrics {
            pipeline: run.pipeline,
            outcome: run.outcome,
            exit_code: run.exit_code,
            summary: run.summary,
            phases: run.phases,
            finished: run.finished,
        }
    }
}
