//! One PostgreSQL store for many nodes (issue 18), through the binary with
//! `--state postgres://...` against a real server on loopback (the
//! testkit's cluster): a second run of the same pipeline or system is
//! refused at once (exit 75) while runs of different systems both apply;
//! a run killed with SIGKILL mid-stream leaves the store as before and its
//! locks released, and the next run applies; the password appears in no
//! output, log or stored row.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{arg, input_offset, parts, repo, rollcall, run, stdout_json};

/// The staff-SSO reference pipeline renamed `name`, of system `system`,
/// written into `dir`.
fn pipeline(dir: &Path, name: &str, system: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("pipelines/staff-sso.kdl")).unwrap();
    let schemas = repo().join("schemas");
    let text = text
        .replace("\"../schemas/", &format!("\"{}/", schemas.display()))
        .replace(
            "pipeline staff-sso {",
            &format!("pipeline {name} {{\n    system {system}"),
        );
    let path = dir.join(format!("{name}.kdl"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_args<'a>(pipeline: &'a Path, url: &'a str, input: &'a Path) -> Vec<&'a str> {
    vec!["run", arg(pipeline), "--state", url, "--input", arg(input)]
}

/// Starts `rollcall run` and returns once it is streaming its input (it
/// then holds its transaction and locks), still running.
fn start_run(pipeline: &Path, url: &str, input: &Path) -> Child {
    let mut child = rollcall()
        .args(run_args(pipeline, url, input))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while input_offset(child.id(), input).is_none_or(|pos| pos == 0) {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            panic!(
                "the run ended ({status}) before streaming: {:?}",
                parts(&output)
            );
        }
        assert!(Instant::now() < deadline, "the run never started streaming");
        std::thread::sleep(Duration::from_millis(1));
    }
    child
}

fn count(url: &str, sql: &str) -> i64 {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client.query_one(sql, &[]).unwrap().get(0)
}

fn plan_summary(pipeline: &Path, url: &str, input: &Path) -> serde_json::Value {
    let output = run(&[
        "plan",
        arg(pipeline),
        "--state",
        url,
        "--input",
        arg(input),
        "--format",
        "json",
    ]);
    stdout_json(&output)["summary"].clone()
}

#[test]
fn a_second_run_of_the_same_pipeline_or_system_is_refused_with_75() {
    let dir = tempfile::tempdir().unwrap();
    let url = rollcall_testkit::postgres::server().fresh_database();
    let first = pipeline(dir.path(), "staff-a", "sso");
    let sibling = pipeline(dir.path(), "staff-b", "sso");
    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 10_000, "2024-09-05T00:00:00Z");
    let small = repo().join("examples/staff-sso/day-1.jsonl");
    let running = start_run(&first, &url, &large);
    for other in [&first, &sibling] {
        let started = Instant::now();
        let refused = run(&run_args(other, &url, &small));
        let (code, _, stderr) = parts(&refused);
        assert_eq!(code, 75, "{}: {stderr}", other.display());
        assert!(stderr.contains("rollcall::store::locked"), "{stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "refused at once, took {:?}",
            started.elapsed()
        );
        assert!(
            !stderr.contains(rollcall_testkit::postgres::PASSWORD),
            "{stderr}"
        );
    }
    let output = running.wait_with_output().unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "the first run completes\n{stdout}\n{stderr}");
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM source_records WHERE pipeline = 'staff-b'"
        ),
        0,
        "the refused run wrote nothing"
    );
    assert_eq!(
        count(&url, "SELECT count(*) FROM runs"),
        1,
        "and recorded no run"
    );
}

#[test]
fn runs_of_different_systems_apply_at_the_same_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = rollcall_testkit::postgres::server().fresh_database();
    let hr = pipeline(dir.path(), "staff-hr", "hr");
    let sso = pipeline(dir.path(), "staff-sso", "sso");
    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 20_000, "2024-09-05T00:00:00Z");
    let small = dir.path().join("small.jsonl");
    support::write_staff_sso_extract(&small, 500, "2024-09-05T00:00:00Z");
    let running = start_run(&hr, &url, &large);
    let other = run(&run_args(&sso, &url, &small));
    let still_streaming = input_offset(running.id(), &large).is_some();
    let (code, stdout, stderr) = parts(&other);
    assert_eq!(
        code, 0,
        "the other system's run applies\n{stdout}\n{stderr}"
    );
    assert!(
        still_streaming,
        "the first run had finished streaming: the test proved nothing"
    );
    let (code, stdout, stderr) = parts(&running.wait_with_output().unwrap());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(count(&url, "SELECT count(*) FROM source_records"), 20_500);
    let applied = "SELECT count(*) FROM runs WHERE outcome = 'applied'";
    assert_eq!(count(&url, applied), 2);
}

#[test]
fn a_run_killed_mid_stream_leaves_the_store_as_before_and_the_next_run_applies() {
    let dir = tempfile::tempdir().unwrap();
    let url = rollcall_testkit::postgres::server().fresh_database();
    let sso = pipeline(dir.path(), "staff-sso", "sso");
    let day1 = dir.path().join("day-1.jsonl");
    support::write_staff_sso_extract(&day1, 1000, "2024-09-04T00:00:00Z");
    let (code, _, stderr) = parts(&run(&run_args(&sso, &url, &day1)));
    assert_eq!(code, 0, "{stderr}");
    let records = "SELECT count(*) FROM source_records";
    let changes = "SELECT count(*) FROM changes";
    let before = (count(&url, records), count(&url, changes));

    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 10_000, "2024-09-05T00:00:00Z");
    let mut child = start_run(&sso, &url, &large);
    // Well into the stream: rows are being written into the transaction.
    let deadline = Instant::now() + Duration::from_secs(60);
    let size = std::fs::metadata(&large).unwrap().len();
    while input_offset(child.id(), &large).is_some_and(|pos| pos < size / 3) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!((count(&url, records), count(&url, changes)), before);

    // The server notices the dead client and drops its locks; the next run
    // may have to wait the moment that takes, never longer.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (code, stdout, stderr) = loop {
        let attempt = parts(&run(&run_args(&sso, &url, &large)));
        if attempt.0 != 75 || Instant::now() > deadline {
            break attempt;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(count(&url, records), 10_000);
    let after = plan_summary(&sso, &url, &large);
    assert_eq!(after["unchanged"], 10_000, "{after}");
    for field in ["created", "updated", "removed"] {
        assert_eq!(after[field], 0, "{after}");
    }
}

#[test]
fn reading_commands_work_through_the_url_and_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = rollcall_testkit::postgres::server().fresh_database();
    let secret = rollcall_testkit::postgres::PASSWORD;
    let sso = pipeline(dir.path(), "staff-sso", "sso");
    let day1 = repo().join("examples/staff-sso/day-1.jsonl");
    let (code, stdout, stderr) = parts(&run(&run_args(&sso, &url, &day1)));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let history = run(&["history", "staff-sso", "--state", &url, "--format", "json"]);
    let runs = stdout_json(&history)["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1);
    assert!(!String::from_utf8_lossy(&history.stdout).contains(secret));

    // The password from PGPASSWORD when the URL has none.
    let bare = url.replacen(&format!(":{secret}@"), "@", 1);
    let output = rollcall()
        .args(["history", "staff-sso", "--state", &bare, "--format", "json"])
        .env("PGPASSWORD", secret)
        .output()
        .unwrap();
    assert_eq!(parts(&output).0, 0, "{:?}", parts(&output));

    // A wrong password: refused with help, and shown nowhere.
    let wrong = url.replacen(secret, "Wrong-Pass-123", 1);
    let output = run(&["history", "staff-sso", "--state", &wrong]);
    let (code, stdout, stderr) = parts(&output);
    assert_ne!(code, 0);
    let all = format!("{stdout}{stderr}");
    assert!(!all.contains("Wrong-Pass-123"), "{all}");
    assert!(all.contains("rollcall::store::postgres"), "{all}");
    let stored = count(
        &url,
        &format!(
            "SELECT count(*) FROM runs WHERE coalesce(error, '') LIKE '%{secret}%'
                OR coalesce(source_uri, '') LIKE '%{secret}%'"
        ),
    );
    assert_eq!(stored, 0);

    // A database with no store yet: reading commands say so, create nothing.
    let empty = rollcall_testkit::postgres::server().fresh_database();
    let output = run(&["history", "staff-sso", "--state", &empty]);
    assert_eq!(
        count(
            &empty,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'runs'"
        ),
        0,
        "{:?}",
        parts(&output)
    );
}

#[test]
fn a_store_copied_to_postgresql_and_back_is_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = rollcall_testkit::postgres::server().fresh_database();
    let sso = pipeline(dir.path(), "staff-sso", "sso");
    let (original, back) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let day1 = dir.path().join("day-1.jsonl");
    support::write_staff_sso_extract(&day1, 300, "2024-09-04T00:00:00Z");
    let day2 = dir.path().join("day-2.jsonl");
    support::write_staff_sso_extract(&day2, 290, "2024-09-05T00:00:00Z");
    for input in [&day1, &day2] {
        let (code, _, stderr) = parts(&run(&run_args(&sso, arg(&original), input)));
        assert_eq!(code, 0, "{stderr}");
    }
    let frozen = run(&[
        "freeze",
        "1",
        "last_name",
        "--value",
        "Kept",
        "--by",
        "ops",
        "--state",
        arg(&original),
    ]);
    assert_eq!(parts(&frozen).0, 0, "{:?}", parts(&frozen));

    let there = run(&["store", "copy", arg(&original), &url, "--format", "json"]);
    let report = stdout_json(&there);
    let tables = report["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 12, "{report}");
    let rows = |name: &str| {
        tables.iter().find(|t| t["table"] == name).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (rows("source_records"), rows("frozen_attributes")),
        (300, 1)
    );
    assert!(!String::from_utf8_lossy(&there.stdout).contains(rollcall_testkit::postgres::PASSWORD));
    let again = run(&["store", "copy", arg(&original), &url]);
    assert_ne!(
        parts(&again).0,
        0,
        "a copy never goes into a store that holds one"
    );

    let home = run(&["store", "copy", &url, arg(&back), "--format", "json"]);
    assert_eq!(
        stdout_json(&home)["tables"],
        report["tables"],
        "same rows, same checksums"
    );
    let history = |state: &str| {
        let output = run(&["history", "staff-sso", "--state", state, "--format", "json"]);
        stdout_json(&output)["runs"].clone()
    };
    assert_eq!(history(&url), history(arg(&original)));
    assert_eq!(history(arg(&back)), history(arg(&original)));
    // The copies go on where the original left off: ids after its own.
    let day3 = dir.path().join("day-3.jsonl");
    support::write_staff_sso_extract(&day3, 310, "2024-09-06T00:00:00Z");
    for state in [url.as_str(), arg(&back)] {
        let (code, _, stderr) = parts(&run(&run_args(&sso, state, &day3)));
        assert_eq!(code, 0, "{stderr}");
        let person = stdout_json(&run(&[
            "person", "301", "--state", state, "--format", "json",
        ]));
        assert!(person.to_string().contains("u-000300"), "{person}");
    }
}
