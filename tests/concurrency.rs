//! Two processes on one state store: a second `run` is refused at once
//! (exit 75) and changes nothing while the first completes normally; `plan`
//! and `history` during a run read the state as it was before the run.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{Backend, State, arg, input_offset, parts, repo, rollcall, run, stdout_json};

fn pipeline() -> PathBuf {
    repo().join("pipelines/staff-sso.kdl")
}

/// Starts `rollcall run` on `input` and returns once it is streaming (it
/// holds the write transaction from before it opens the input), still running.
fn start_run(db: &Path, input: &Path) -> Child {
    let mut child = rollcall()
        .args([
            "run",
            arg(&pipeline()),
            "--state",
            arg(db),
            "--input",
            arg(input),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while input_offset(child.id(), input).is_none_or(|pos| pos == 0) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before streaming"
        );
        assert!(Instant::now() < deadline, "the run never started streaming");
        std::thread::sleep(Duration::from_millis(1));
    }
    child
}

fn plan_counts(db: &Path, input: &Path) -> serde_json::Value {
    let output = run(&[
        "plan",
        arg(&pipeline()),
        "--state",
        arg(db),
        "--input",
        arg(input),
        "--format",
        "json",
    ]);
    stdout_json(&output)["summary"].clone()
}

fn history(db: &Path) -> Vec<serde_json::Value> {
    let output = run(&[
        "history",
        "staff-sso",
        "--state",
        arg(db),
        "--format",
        "json",
    ]);
    stdout_json(&output)["runs"].as_array().unwrap().clone()
}

fn plan_and_history_during_a_run_see_the_state_before_it(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    let small = dir.path().join("small.jsonl");
    support::write_staff_sso_extract(&small, 1000, "2024-09-04T00:00:00Z");
    assert_eq!(
        parts(&run(&[
            "run",
            arg(&pipeline()),
            "--state",
            arg(&db),
            "--input",
            arg(&small)
        ]))
        .0,
        0
    );
    let before = plan_counts(&db, &small);
    assert_eq!(before["unchanged"], 1000, "{before}");

    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 40_000, "2024-09-05T00:00:00Z");
    let child = start_run(&db, &large);
    let pid = child.id();
    let during = plan_counts(&db, &small);
    let runs_during = history(&db);
    let still_streaming = input_offset(pid, &large).is_some();
    let output = child.wait_with_output().unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "the run completes\n{stdout}\n{stderr}");
    assert!(
        still_streaming,
        "the run was still streaming when plan and history had finished, so they ran inside it"
    );

    assert_eq!(during, before, "plan read the state before the run");
    assert_eq!(runs_during.len(), 1, "history saw only the run before");
    let after = plan_counts(&db, &small);
    assert_eq!(
        after["removed"], 39_000,
        "after the commit, plan sees it: {after}"
    );
    assert_eq!(history(&db).len(), 2);
}

fn a_refused_second_run_changes_nothing_and_the_first_completes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 40_000, "2024-09-05T00:00:00Z");
    let first = start_run(&db, &large);
    let started = Instant::now();
    let second = run(&[
        "run",
        arg(&pipeline()),
        "--state",
        arg(&db),
        "--input",
        arg(&repo().join("examples/staff-sso/day-1.jsonl")),
    ]);
    let waited = started.elapsed();
    let (code, _, stderr) = parts(&second);
    assert_eq!(code, 75, "{stderr}");
    assert!(stderr.contains("rollcall::store::locked"), "{stderr}");
    assert!(
        waited < Duration::from_secs(10),
        "refused at once, took {waited:?}"
    );

    let output = first.wait_with_output().unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "the first run completes\n{stdout}\n{stderr}");
    assert!(stdout.contains("40000 created"), "{stdout}");
    let runs = history(&db);
    assert_eq!(runs.len(), 1, "the refused run left no row: {runs:?}");
    assert_eq!(runs[0]["outcome"], "applied");
    // Exactly the first run's records: none of day 1's 200 users was stored.
    let replay = plan_counts(&db, &large);
    assert_eq!(replay["unchanged"], 40_000, "{replay}");
    assert_eq!(replay["created"], 0, "{replay}");
    let day1 = plan_counts(&db, &repo().join("examples/staff-sso/day-1.jsonl"));
    assert_eq!(day1["created"], 200, "{day1}");
}

backends!(
    plan_and_history_during_a_run_see_the_state_before_it,
    a_refused_second_run_changes_nothing_and_the_first_completes,
);
