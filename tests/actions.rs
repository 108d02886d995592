//! Action files (issue 14, point 6): a UCS@school legacy import file whose
//! rows each add, modify or delete their key (`lifecycle { actions ... }`),
//! run through the command line against a real store. Several rows of one
//! key apply in file order; a row that does not fit its key (an add of a
//! present key, a modify or delete of an unknown one) is refused or
//! accepted as the pipeline says, and reported either way.

mod support;

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use support::{arg, assert_matches_schema, parts, repo, rollcall, stdout_json};

const NOW: &str = "2025-03-01T08:00:00Z";

/// A store in a temporary folder, and the legacy pipeline copied beside it
/// (with its policies as the test says).
struct Legacy {
    dir: tempfile::TempDir,
    pipeline: PathBuf,
}

impl Legacy {
    /// The fixture pipeline with `policies` added to its `actions` block.
    fn new(policies: &str) -> Legacy {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(fixture("ucs-legacy.kdl")).unwrap();
        let text = text.replace(
            "            delete D\n",
            &format!("            delete D\n{policies}"),
        );
        let pipeline = dir.path().join("ucs-legacy.kdl");
        std::fs::write(&pipeline, text).unwrap();
        Legacy { dir, pipeline }
    }

    fn cli(&self, args: &[&str]) -> Output {
        rollcall()
            .args(args)
            .args(["--state", arg(&self.dir.path().join("state.db"))])
            .current_dir(repo())
            .env("ROLLCALL_NOW", NOW)
            .env("RUST_LOG", "off")
            .output()
            .expect("rollcall runs")
    }

    /// `rollcall COMMAND PIPELINE --input FIXTURE --format json`, which must
    /// succeed; the report is checked against its schema.
    fn report(&self, command: &str, input: &str) -> Value {
        let output = self.cli(&[
            command,
            arg(&self.pipeline),
            "--input",
            &format!("tests/actions/{input}"),
            "--format",
            "json",
        ]);
        let (code, _, stderr) = parts(&output);
        assert_eq!(code, 0, "{command} failed: {stderr}");
        checked(stdout_json(&output))
    }

    /// The stored record of a key (`null` when there is none).
    fn record(&self, key: &str) -> Value {
        let output = self.cli(&["show", "ucs-legacy", key, "--format", "json"]);
        stdout_json(&output)["record"].clone()
    }

    fn class(&self, key: &str) -> Value {
        self.record(key)["fields"]["class"].clone()
    }
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/actions").join(name)
}

/// Checks a plan or run report against `schemas/plan-output.schema.json`.
fn checked(report: Value) -> Value {
    assert_matches_schema(&report, "plan-output.schema.json");
    report
}

fn count(report: &Value, name: &str) -> u64 {
    report["summary"][name].as_u64().unwrap()
}

/// Each change as `ACTION KEY line N`.
fn changes(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} line {}",
                c["action"].as_str().unwrap(),
                c["key"].as_str().unwrap(),
                c["line"]
            )
        })
        .collect()
}

/// Each action note as `OUTCOME ACTION KEY line N: DETAIL`.
fn notes(report: &Value) -> Vec<String> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{} {} {} line {}: {}",
                n["outcome"].as_str().unwrap(),
                n["action"].as_str().unwrap(),
                n["key"].as_str().unwrap(),
                n["line"],
                n["detail"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn several_rows_of_one_key_apply_in_file_order_and_each_key_shows_its_net_change() {
    let legacy = Legacy::new("");
    let first = legacy.report("run", "legacy-1-initial.tsv");
    assert_eq!(count(&first, "created"), 4, "{first:#}");

    let planned = legacy.report("plan", "legacy-2-in-order.tsv");
    let report = legacy.report("run", "legacy-2-in-order.tsv");
    // u-ada: modified twice, the last row wins (line 11). u-barbara: added,
    // modified and deleted in one file: nothing is left of it. u-grace:
    // deleted then added again: present with the add's class. u-donald:
    // added then modified: created with the modify's class. u-edsger:
    // modified then deleted: removed.
    let expected = [
        "update u-ada line 11",
        "update u-grace line 6",
        "create u-donald line 8",
        "remove u-edsger line 10",
    ];
    assert_eq!(changes(&report), expected, "{report:#}");
    assert_eq!(changes(&planned), expected, "plan shows what run does");
    assert_eq!(
        (
            count(&report, "read"),
            count(&report, "created"),
            count(&report, "updated"),
            count(&report, "removed")
        ),
        (11, 1, 2, 1)
    );
    assert!(
        report["actions"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert_eq!(legacy.class("u-ada"), "7a");
    assert_eq!(legacy.class("u-grace"), "7d");
    assert_eq!(legacy.class("u-donald"), "5b");
    assert_eq!(legacy.record("u-edsger")["state"], "removed");
    assert_eq!(legacy.record("u-barbara"), Value::Null);
    // The action says what to do with the row, not what it is: not stored.
    assert_eq!(legacy.record("u-ada")["fields"]["action"], Value::Null);
    // u-alan was not in the file: an action file leaves it as it is.
    assert_eq!(legacy.record("u-alan")["state"], "present");

    // A deleted key added again is reinstated, with the same person.
    let person = legacy.record("u-edsger")["person_id"].clone();
    let back = legacy.report("run", "legacy-5-back.tsv");
    assert_eq!(changes(&back), ["reinstate u-edsger line 1"], "{back:#}");
    assert_eq!(legacy.record("u-edsger")["state"], "present");
    assert_eq!(legacy.record("u-edsger")["person_id"], person);
}

#[test]
fn a_modify_keeps_the_keep_missing_values_of_the_row_before_it_or_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("cora.kdl");
    std::fs::write(
        &pipeline,
        r#"pipeline cora {
    source file "users-*.jsonl" { format jsonl; }
    key id
    map {
        id id required=#true
        status status required=#true
        name name
        groups groups keep-missing=#true
    }
    lifecycle {
        actions status { add 0 3; modify 1; delete 2; }
    }
}
"#,
    )
    .unwrap();
    let run = |name: &str, text: &str| -> Value {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let output = rollcall()
            .args([
                "run",
                arg(&pipeline),
                "--input",
                arg(&input),
                "--format",
                "json",
            ])
            .args(["--state", arg(&dir.path().join("state.db"))])
            .env("ROLLCALL_NOW", NOW)
            .output()
            .unwrap();
        let (code, _, stderr) = parts(&output);
        assert_eq!(code, 0, "{stderr}");
        checked(stdout_json(&output))
    };
    run(
        "users-1.jsonl",
        "{\"id\":\"b\",\"status\":0,\"name\":\"Bea\",\"groups\":[\"y\"]}\n",
    );
    let report = run(
        "users-2.jsonl",
        concat!(
            "{\"id\":\"a\",\"status\":0,\"name\":\"Ann\",\"groups\":[\"x\"]}\n",
            "{\"id\":\"a\",\"status\":1,\"name\":\"Anna\"}\n",
            "{\"id\":\"b\",\"status\":1,\"name\":\"Beatrix\"}\n",
        ),
    );
    let fields = |key: &str| -> Vec<(String, Value)> {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .unwrap()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["field"].as_str().unwrap().to_owned(), f["after"].clone()))
            .collect()
    };
    // a: created from both rows, the modify keeping the add's groups.
    let created = fields("a");
    assert!(
        created.contains(&("name".into(), "Anna".into())),
        "{report:#}"
    );
    assert!(
        created.contains(&("groups".into(), serde_json::json!(["x"]))),
        "{report:#}"
    );
    // b: only its name changes; its stored groups stay.
    assert_eq!(
        fields("b"),
        [("name".to_owned(), Value::from("Beatrix"))],
        "{report:#}"
    );
}

#[test]
fn an_add_of_a_present_key_is_refused_by_default_and_applied_as_a_modify_when_accepted() {
    let legacy = Legacy::new("");
    legacy.report("run", "legacy-1-initial.tsv");
    let report = legacy.report("run", "legacy-3-misfits.tsv");
    assert_eq!(
        notes(&report)[0],
        "refused add u-alan line 1: add of a key that is already present",
        "{report:#}"
    );
    assert_eq!(report["actions"][0]["problem"], "add-existing");
    assert_eq!(
        legacy.class("u-alan"),
        "6b",
        "the refused row changed nothing"
    );

    let legacy = Legacy::new("            add-existing accept\n");
    legacy.report("run", "legacy-1-initial.tsv");
    let report = legacy.report("run", "legacy-3-misfits.tsv");
    assert_eq!(
        notes(&report)[0],
        "accepted add u-alan line 1: add of a key that is already present: applied as a modify"
    );
    assert_eq!(report["actions"][0]["applied_as"], "modify");
    assert_eq!(changes(&report), ["update u-alan line 1"], "{report:#}");
    assert_eq!(legacy.class("u-alan"), "6c");
}

#[test]
fn a_modify_or_delete_of_an_unknown_key_is_refused_by_default_and_accepted_as_an_add_or_nothing() {
    let legacy = Legacy::new("");
    legacy.report("run", "legacy-1-initial.tsv");
    let report = legacy.report("run", "legacy-3-misfits.tsv");
    assert_eq!(
        notes(&report)[1..],
        [
            "refused modify u-kurt line 2: modify of a key that is not present",
            "refused delete u-nobody line 3: delete of a key that is not present",
        ],
        "{report:#}"
    );
    assert_eq!(report["actions"][1]["problem"], "unknown-key");
    assert_eq!(count(&report, "created"), 0);
    assert_eq!(
        legacy.record("u-kurt"),
        Value::Null,
        "never silently created"
    );

    let legacy = Legacy::new("            unknown-key accept\n");
    legacy.report("run", "legacy-1-initial.tsv");
    let report = legacy.report("run", "legacy-3-misfits.tsv");
    assert_eq!(
        notes(&report)[1..],
        [
            "accepted modify u-kurt line 2: modify of a key that is not present: applied as an add",
            "accepted delete u-nobody line 3: delete of a key that is not present: nothing to delete",
        ],
        "{report:#}"
    );
    assert_eq!(report["actions"][1]["applied_as"], "add");
    assert_eq!(report["actions"][2]["applied_as"], Value::Null);
    assert_eq!(changes(&report), ["create u-kurt line 2"]);
    assert_eq!(legacy.class("u-kurt"), "9a");
}

#[test]
fn rows_that_do_not_fit_their_key_are_listed_in_the_run_text() {
    let legacy = Legacy::new("            unknown-key accept\n");
    legacy.report("run", "legacy-1-initial.tsv");
    let output = legacy.cli(&[
        "run",
        arg(&legacy.pipeline),
        "--input",
        "tests/actions/legacy-3-misfits.tsv",
    ]);
    let (code, stdout, stderr) = parts(&output);
    let tmp = arg(legacy.dir.path());
    let text =
        format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}").replace(tmp, "[tmp]");
    insta::with_settings!({
        snapshot_path => "actions/snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("run-misfits", text);
    });
    assert!(
        stderr.contains(
            "refused: tests/actions/legacy-3-misfits.tsv:1 key \"u-alan\": add of a key that is already present (add-existing error)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_row_whose_action_is_not_declared_is_invalid_with_its_line_and_key_and_holds_that_key() {
    let legacy = Legacy::new("");
    legacy.report("run", "legacy-1-initial.tsv");
    let report = legacy.report("run", "legacy-4-bad-action.tsv");
    let invalid = &report["invalid"][0];
    assert_eq!(
        (&invalid["line"], &invalid["key"]),
        (&2.into(), &"u-ada".into())
    );
    assert_eq!(
        invalid["problems"][0],
        "action field action is \"X\", none of the declared actions (\"A\", \"M\", \"D\")",
        "{report:#}"
    );
    assert_eq!((count(&report, "invalid"), count(&report, "held")), (1, 1));
    // u-ada's other row does not apply either; u-alan's does.
    assert_eq!(legacy.class("u-ada"), "5a");
    assert_eq!(changes(&report), ["update u-alan line 3"]);
}

#[test]
fn the_legacy_fixture_validates() {
    let output = rollcall()
        .args(["validate", arg(&fixture("ucs-legacy.kdl"))])
        .output()
        .unwrap();
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 0, "{stderr}");
}
