//! `--format json`: every command prints exactly one JSON document on
//! stdout in every outcome (applied, no change, rejected, failed before or
//! after the commit, usage errors), each valid against its schema in
//! `schemas/`, and its `exit_code` is the process's. `--log-format json`
//! and `--color` keep stderr machine-readable.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{arg, assert_matches_schema, parts, repo, rollcall};

const NOW: &str = "2025-03-10T00:00:00Z";
const HR: &str = "pipelines/hr-appointments.kdl";

/// Runs `rollcall ARGS --format json` from the repository root against
/// `state`.
fn json_run(state: &Path, args: &[&str]) -> Output {
    let mut cmd = rollcall();
    cmd.args(args).args(["--format", "json"]);
    // `validate` and `fmt` read pipeline files only.
    if !matches!(args[0], "validate" | "fmt") {
        cmd.args(["--state", arg(state)]);
    }
    cmd.current_dir(repo())
        .env("ROLLCALL_NOW", NOW)
        .env("RUST_LOG", "off")
        .env_remove("ROLLCALL_OUT_DIR")
        .output()
        .expect("rollcall runs")
}

/// Stdout as exactly one JSON document (one value, then only whitespace),
/// valid against `schemas/SCHEMA`, whose `exit_code` is the process's.
fn document(output: &Output, schema: &str) -> Value {
    let (code, out, err) = parts(output);
    let mut values = serde_json::Deserializer::from_str(&out).into_iter::<Value>();
    let doc = match values.next() {
        Some(Ok(doc)) => doc,
        other => {
            panic!("no JSON document ({other:?}); exit {code}\nstdout:\n{out}\nstderr:\n{err}")
        }
    };
    assert!(
        values.next().is_none(),
        "more than one document on stdout:\n{out}"
    );
    assert_matches_schema(&doc, schema);
    assert_eq!(
        doc["exit_code"], code,
        "exit_code is the process's exit code: {doc:#}"
    );
    doc
}

#[test]
fn plan_and_run_documents_in_every_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let day = |date: &str| format!("examples/hr/appointments-{date}.csv");

    let planned = document(
        &json_run(&state, &["plan", HR, "--input", &day("2025-03-01")]),
        "plan-output.schema.json",
    );
    assert_eq!(planned["outcome"], "planned");
    assert_eq!(planned["error"], Value::Null);

    let applied = document(
        &json_run(&state, &["run", HR, "--input", &day("2025-03-01")]),
        "plan-output.schema.json",
    );
    assert_eq!(
        (applied["outcome"].as_str(), applied["exit_code"].as_i64()),
        (Some("applied"), Some(0))
    );

    let again = document(
        &json_run(
            &state,
            &[
                "run",
                HR,
                "--input",
                &day("2025-03-01"),
                "--detailed-exitcode",
            ],
        ),
        "plan-output.schema.json",
    );
    assert_eq!(again["outcome"], "no-change");

    let changes = document(
        &json_run(
            &state,
            &[
                "plan",
                HR,
                "--input",
                &day("2025-03-08"),
                "--detailed-exitcode",
            ],
        ),
        "plan-output.schema.json",
    );
    assert_eq!(changes["exit_code"], 2);
}

#[test]
fn a_rejected_run_is_one_document_with_the_breach_as_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let sso = "pipelines/staff-sso.kdl";
    json_run(
        &state,
        &["run", sso, "--input", "examples/staff-sso/day-1.jsonl"],
    );
    let day_2 = std::fs::read_to_string(repo().join("examples/staff-sso/day-2.jsonl")).unwrap();
    let truncated = dir.path().join("truncated.jsonl");
    let kept: Vec<&str> = day_2.lines().take(150).collect();
    std::fs::write(&truncated, kept.join("\n") + "\n").unwrap();
    let rejected = document(
        &json_run(&state, &["run", sso, "--input", arg(&truncated)]),
        "plan-output.schema.json",
    );
    assert_eq!(rejected["outcome"], "rejected");
    assert_eq!(rejected["exit_code"], 3);
    assert_eq!(rejected["error"]["code"], "rollcall::integrity::breach");
    assert!(
        rejected["error"]["help"]
            .as_str()
            .unwrap()
            .contains("--accept-breach")
    );
}

#[test]
fn a_delivery_that_fails_after_the_commit_is_the_applied_report_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    // A file where the sinks' folder should be: writing the output fails
    // after the change set committed.
    let not_a_folder = dir.path().join("out");
    std::fs::write(&not_a_folder, "").unwrap();
    let cim = "pipelines/cim-user-provisioning.kdl";
    let failed = document(
        &json_run(
            &state,
            &["run", cim, "--out-dir", arg(&not_a_folder), "--skip-upload"],
        ),
        "plan-output.schema.json",
    );
    assert_eq!(failed["outcome"], "applied", "{failed:#}");
    assert_eq!(failed["exit_code"], 1);
    assert_eq!(failed["error"]["code"], "rollcall::run::delivery");
    assert!(failed["run_id"].as_i64().is_some());
    assert!(failed["summary"]["created"].as_u64().unwrap() > 0);
}

#[test]
fn failures_before_a_result_are_one_error_document() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let bad_json = document(
        &json_run(
            &state,
            &[
                "run",
                "pipelines/cora-inbound.kdl",
                "--input",
                "examples/cora/inbound/malformed/missing-comma.json",
            ],
        ),
        "error-output.schema.json",
    );
    assert_eq!(
        (bad_json["command"].as_str(), bad_json["outcome"].as_str()),
        (Some("run"), Some("failed"))
    );
    assert_eq!(bad_json["error"]["code"], "rollcall::source::bad-json");

    let not_one = document(
        &json_run(&state, &["plan", "pipelines"]),
        "error-output.schema.json",
    );
    assert_eq!(
        (not_one["outcome"].as_str(), not_one["exit_code"].as_i64()),
        (Some("usage-error"), Some(64))
    );

    let unknown_flag = document(
        &json_run(&state, &["run", HR, "--bogus"]),
        "error-output.schema.json",
    );
    assert_eq!(unknown_flag["error"]["code"], "rollcall::cli::usage");
    assert_eq!(unknown_flag["command"], Value::Null);

    let unknown_pipeline = document(
        &json_run(&state, &["history", "nonexistent"]),
        "error-output.schema.json",
    );
    assert_eq!(
        unknown_pipeline["error"]["code"],
        "rollcall::cli::unknown-pipeline"
    );

    let no_store = document(
        &json_run(&dir.path().join("none.db"), &["person", "1"]),
        "error-output.schema.json",
    );
    assert_eq!(no_store["error"]["code"], "rollcall::cli::no-store");

    let invalid = document(
        &json_run(
            &state,
            &["run", "tests/validate/broken/duplicate-field.kdl"],
        ),
        "error-output.schema.json",
    );
    assert_eq!(invalid["exit_code"], 1);
}

#[test]
fn every_reading_and_operator_command_prints_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let day = |date: &str| format!("examples/hr/appointments-{date}.csv");
    json_run(&state, &["run", HR, "--input", &day("2025-03-01")]);
    json_run(&state, &["run", HR, "--input", &day("2025-03-08")]);

    let history = document(
        &json_run(&state, &["history", "hr-appointments"]),
        "history-output.schema.json",
    );
    assert_eq!(history["runs"].as_array().unwrap().len(), 2);
    document(
        &json_run(&state, &["show", "hr-appointments", "A-1002"]),
        "show-output.schema.json",
    );
    document(
        &json_run(&state, &["person", "2"]),
        "person-output.schema.json",
    );
    let froze = document(
        &json_run(
            &state,
            &[
                "freeze", "2", "role.3", "--by", "alice", "--reason", "audit",
            ],
        ),
        "freeze-output.schema.json",
    );
    assert_eq!(froze["attribute"], "role.3");
    document(
        &json_run(
            &state,
            &["freeze", "1", "telephone", "--value", "+1", "--by", "a"],
        ),
        "freeze-output.schema.json",
    );
    let frozen = document(&json_run(&state, &["frozen"]), "frozen-output.schema.json");
    assert_eq!(frozen["frozen"].as_array().unwrap().len(), 2);
    document(
        &json_run(&state, &["person", "2"]),
        "person-output.schema.json",
    );
    document(
        &json_run(&state, &["unfreeze", "2", "role.3", "--by", "alice"]),
        "freeze-output.schema.json",
    );
    let purge = rollcall()
        .args([
            "purge",
            "--dry-run",
            "--format",
            "json",
            "--state",
            arg(&state),
        ])
        .env("ROLLCALL_NOW", "2026-06-01")
        .output()
        .unwrap();
    let purge = document(&purge, "purge-output.schema.json");
    assert_eq!(purge["transitions"], 1);
    document(&json_run(&state, &["purge"]), "purge-output.schema.json");

    // Every person's and one record's history, whatever rules they show.
    let mut rules = std::collections::BTreeSet::new();
    for person in 1..=4 {
        let explained = document(
            &json_run(&state, &["explain", &person.to_string()]),
            "explain-output.schema.json",
        );
        for step in explained["steps"].as_array().unwrap() {
            for change in step["changes"].as_array().unwrap() {
                if let Some(rule) = change["why"]["rule"].as_str() {
                    rules.insert(rule.to_owned());
                }
            }
        }
    }
    assert!(
        rules.contains("operator") && rules.contains("on-removal"),
        "{rules:?}"
    );
    document(
        &json_run(&state, &["explain", "hr-appointments", "A-1002"]),
        "explain-output.schema.json",
    );

    let valid = document(
        &json_run(&state, &["validate", "pipelines"]),
        "validate-output.schema.json",
    );
    assert_eq!(valid["outcome"], "valid");
    let invalid = document(
        &json_run(
            &state,
            &["validate", "tests/validate/broken/duplicate-field.kdl"],
        ),
        "validate-output.schema.json",
    );
    assert_eq!(
        (invalid["outcome"].as_str(), invalid["exit_code"].as_i64()),
        (Some("invalid"), Some(1))
    );
    let fmt = document(
        &json_run(&state, &["fmt", "--check", "pipelines"]),
        "fmt-output.schema.json",
    );
    assert_eq!(fmt["outcome"], "formatted-already");
}

/// `rollcall test` prints one document whether its tests pass or fail.
#[test]
fn pipeline_tests_print_their_schema() {
    let dir = tempfile::tempdir().unwrap();
    let test = |path: &Path| {
        rollcall()
            .args(["test", arg(path), "--format", "json"])
            .current_dir(repo())
            .output()
            .unwrap()
    };
    let passed = document(&test(Path::new("pipelines")), "test-output.schema.json");
    assert_eq!(passed["outcome"], "passed");
    assert_eq!(passed["files"].as_array().unwrap().len(), 8);
    let wrong = dir.path().join("staff.test.kdl");
    let text = format!(
        "pipeline \"{}\"\ntest \"wrong\" {{\n    extract file=\"{}\" {{\n        expect {{\n            counts created=1\n        }}\n    }}\n}}\n",
        arg(&repo().join("pipelines/staff-sso.kdl")),
        arg(&repo().join("examples/staff-sso/day-1.jsonl")),
    );
    std::fs::write(&wrong, text).unwrap();
    let failed = document(&test(&wrong), "test-output.schema.json");
    assert_eq!(
        (failed["outcome"].as_str(), failed["exit_code"].as_i64()),
        (Some("failed"), Some(1))
    );
    let failure = &failed["files"][0]["cases"][0]["failures"][0];
    assert_eq!(failure["line"], 5);
    assert_eq!(failure["expected"], serde_json::json!(["created=1"]));
    assert_eq!(failure["found"], serde_json::json!(["created=200"]));
}

/// `--skip-upload` writes the files but records the run's outputs as
/// pending, not delivered: `history` keeps naming the run until a
/// `deliver` that uploads.
#[test]
fn skipped_uploads_are_recorded_as_skipped_and_history_shows_them_pending() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let out = dir.path().join("out");
    let cim = "pipelines/cim-user-provisioning.kdl";
    let run = document(
        &json_run(
            &state,
            &["run", cim, "--out-dir", arg(&out), "--skip-upload"],
        ),
        "plan-output.schema.json",
    );
    assert_eq!(run["deliveries"][0]["uploads_skipped"], 1, "{run:#}");
    assert_eq!(run["deliveries"][0]["uploads"], serde_json::json!([]));
    let history = document(
        &json_run(&state, &["history", "cim-user-provisioning"]),
        "history-output.schema.json",
    );
    assert_eq!(history["runs"][0]["delivered_at"], Value::Null);
    assert_eq!(
        history["runs"][0]["error"],
        "outputs written, 1 upload skipped (--skip-upload)"
    );
    let redelivered = document(
        &json_run(
            &state,
            &["deliver", cim, "--out-dir", arg(&out), "--skip-upload"],
        ),
        "deliver-output.schema.json",
    );
    assert_eq!(redelivered["outcome"], "written-uploads-skipped");
    let text = rollcall()
        .args(["history", "cim-user-provisioning", "--state", arg(&state)])
        .output()
        .unwrap();
    let (_, text, _) = parts(&text);
    println!("{text}");
    assert!(
        text.contains("note: outputs written, 1 upload skipped (--skip-upload)")
            && text.contains("outputs not delivered: `rollcall deliver PIPELINE --run 1`"),
        "{text}"
    );
}

#[test]
fn the_webhook_payload_matches_its_schema() {
    use rollcall_engine::notify::{Ended, RunEvent};
    let applied = RunEvent {
        pipeline: "hr".into(),
        run: Some(4),
        outcome: Ended::Applied,
        source: Some("examples/hr/a.csv".into()),
        summary: Some(Default::default()),
        failed_checks: vec!["min-ratio: 90 of 100".into()],
        error: None,
    };
    assert_matches_schema(
        &serde_json::to_value(&applied).unwrap(),
        "webhook-payload.schema.json",
    );
    let failed = RunEvent::failed("hr", &"disk full");
    assert_matches_schema(
        &serde_json::to_value(&failed).unwrap(),
        "webhook-payload.schema.json",
    );
}

#[test]
fn log_format_json_never_writes_a_text_box() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    for args in [
        &[
            "run",
            "pipelines/cora-inbound.kdl",
            "--input",
            "examples/cora/inbound/malformed/missing-comma.json",
        ][..],
        &["run", "tests/validate/broken/duplicate-field.kdl"],
        &["validate", "tests/validate/broken/duplicate-field.kdl"],
        &["run", HR, "--bogus"],
        &["frozen", "--now", "soon"],
    ] {
        let output = rollcall()
            .args(args)
            .args(["--log-format", "json", "--state", arg(&state)])
            .current_dir(repo())
            .output()
            .unwrap();
        let (code, _, err) = parts(&output);
        assert_ne!(code, 0);
        assert!(!err.trim().is_empty(), "{args:?} says why on stderr");
        for line in err.lines() {
            let log: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?}: not a JSON log line ({e}): {line:?}\n{err}"));
            assert!(log["fields"]["message"].is_string(), "{line}");
        }
        assert!(!err.contains('╭') && !err.contains('×'), "{err}");
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let stderr_of = |color: Option<&str>, no_color: bool| {
        let mut cmd = rollcall();
        cmd.args([
            "run",
            HR,
            "--input",
            "examples/hr/appointments-2025-03-01.csv",
        ])
        .args(["--state", arg(&state)])
        .current_dir(repo())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR");
        if let Some(color) = color {
            cmd.args(["--color", color]);
        }
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        parts(&cmd.output().unwrap()).2
    };
    // stderr is a pipe here: no colour unless asked for.
    let auto = stderr_of(None, false);
    assert!(
        auto.contains("run finished") && !auto.contains('\u{1b}'),
        "{auto}"
    );
    assert!(!stderr_of(Some("never"), false).contains('\u{1b}'));
    assert!(!stderr_of(Some("auto"), true).contains('\u{1b}'));
    assert!(stderr_of(Some("always"), false).contains('\u{1b}'));
}

#[test]
fn bare_rollcall_prints_help_on_stderr_and_exits_64() {
    let (code, out, err) = parts(&rollcall().output().unwrap());
    assert_eq!(code, 64);
    assert_eq!(out, "");
    assert!(err.contains("Usage: rollcall"), "{err}");
}
