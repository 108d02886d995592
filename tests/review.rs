//! The review workflow (issue 16): `rollcall plan --out PLAN` saves a plan
//! bound to its pipeline file, extract, state store and version;
//! `rollcall apply PLAN` applies exactly that change set, or refuses with
//! exit 5 naming what moved and changes nothing; `rollcall show-plan`
//! shows it. Each scenario copies the HR pipeline and its extracts into a
//! temporary folder, so the test can change them.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{arg, repo, rollcall, says, show, state_dump, stdout_json};

const NOW: &str = "2025-03-10T00:00:00Z";
const STALE: i32 = 5;

/// A copy of the HR pipeline and its two extracts, and a store beside them.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        std::fs::create_dir_all(dir.path().join("examples/hr")).unwrap();
        std::fs::copy(
            repo().join("pipelines/hr-appointments.kdl"),
            dir.path().join("pipelines/hr-appointments.kdl"),
        )
        .unwrap();
        for day in ["2025-03-01", "2025-03-08"] {
            let name = format!("examples/hr/appointments-{day}.csv");
            std::fs::copy(repo().join(&name), dir.path().join(&name)).unwrap();
        }
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pipeline(&self) -> PathBuf {
        self.path("pipelines/hr-appointments.kdl")
    }

    fn extract(&self, day: u32) -> PathBuf {
        self.path(&format!(
            "examples/hr/appointments-2025-03-0{}.csv",
            if day == 1 { 1 } else { 8 }
        ))
    }

    fn db(&self) -> PathBuf {
        self.path("state.db")
    }

    fn rollcall(&self, args: &[&str]) -> Output {
        rollcall()
            .args(args)
            .env("ROLLCALL_NOW", NOW)
            .env("RUST_LOG", "off")
            .output()
            .unwrap()
    }

    /// `rollcall run` of one day's extract.
    fn run(&self, day: u32) -> Output {
        let (pipeline, extract, db) = (self.pipeline(), self.extract(day), self.db());
        let args = ["run", arg(&pipeline), "--input", arg(&extract)];
        self.rollcall(&[&args[..], &["--state", arg(&db)]].concat())
    }

    /// `rollcall plan --out PLAN` of one day's extract, with `extra` options.
    fn plan(&self, day: u32, plan: &Path, extra: &[&str]) -> Output {
        let (pipeline, extract, db) = (self.pipeline(), self.extract(day), self.db());
        let args = [
            "plan",
            arg(&pipeline),
            "--input",
            arg(&extract),
            "--state",
            arg(&db),
            "--out",
            arg(plan),
        ];
        self.rollcall(&[&args[..], extra].concat())
    }

    fn apply(&self, plan: &Path, extra: &[&str]) -> Output {
        self.rollcall(&[&["apply", arg(plan)][..], extra].concat())
    }

    /// The store's observable state and its runs: what "changes nothing" compares.
    fn state(&self) -> (String, Vec<Value>) {
        let history = self.rollcall(&[
            "history",
            "hr-appointments",
            "--state",
            arg(&self.db()),
            "--format",
            "json",
        ]);
        let runs = stdout_json(&history)["runs"].as_array().unwrap().clone();
        (state_dump(&self.db()), runs)
    }
}

/// Whether the command's stderr says `needle`, however it was wrapped.
fn said(output: &Output, needle: &str) -> bool {
    says(&String::from_utf8_lossy(&output.stderr), needle)
}

/// Day 1 applied, and a plan of day 2 saved: where every scenario starts.
fn planned(ws: &Workspace, extra: &[&str]) -> PathBuf {
    let first = ws.run(1);
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    let plan = ws.path("day-2.plan");
    let planned = ws.plan(2, &plan, extra);
    assert_eq!(planned.status.code(), Some(0), "{}", show(&planned));
    plan
}

#[test]
fn a_plan_applied_unchanged_applies_exactly_its_change_set() {
    let ws = Workspace::new();
    let plan = planned(&ws, &[]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let mode = std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the plan holds personal data");

    let applied = ws.apply(&plan, &["--format", "json"]);
    assert_eq!(applied.status.code(), Some(0), "{}", show(&applied));
    let report = stdout_json(&applied);
    assert_eq!(report["outcome"], "applied");
    assert_eq!(report["summary"], saved["report"]["summary"]);
    assert_eq!(report["changes"], saved["report"]["changes"]);
    assert_ne!(report["summary"]["updated"], 0, "day 2 changes something");

    // The same store as a plain `run` of day 2 gives.
    let direct = Workspace::new();
    assert_eq!(direct.run(1).status.code(), Some(0));
    assert_eq!(direct.run(2).status.code(), Some(0));
    assert_eq!(ws.state().0, direct.state().0);
}

#[test]
fn a_plan_after_another_run_is_refused_and_changes_nothing() {
    let ws = Workspace::new();
    let plan = planned(&ws, &[]);
    let other = ws.run(2);
    assert_eq!(other.status.code(), Some(0), "{}", show(&other));
    let before = ws.state();

    let refused = ws.apply(&plan, &[]);
    assert_eq!(refused.status.code(), Some(STALE), "{}", show(&refused));
    assert!(
        said(
            &refused,
            "moved since the plan: 1 run was applied to it (serial 1 planned, 2 now)"
        ),
        "{}",
        show(&refused)
    );
    assert_eq!(ws.state(), before);
}

#[test]
fn a_plan_whose_extract_changed_is_refused_and_changes_nothing() {
    let ws = Workspace::new();
    let plan = planned(&ws, &[]);
    let extract = ws.extract(2);
    let text = std::fs::read_to_string(&extract).unwrap();
    let edited = text.replacen("Lecturer", "Senior Lecturer", 1);
    assert_ne!(edited, text);
    std::fs::write(&extract, edited).unwrap();
    let before = ws.state();

    let refused = ws.apply(&plan, &["--format", "json"]);
    assert_eq!(refused.status.code(), Some(STALE), "{}", show(&refused));
    let document = stdout_json(&refused);
    support::assert_matches_schema(&document, "error-output.schema.json");
    assert_eq!(document["exit_code"], STALE);
    assert_eq!(document["outcome"], "stale-plan");
    assert_eq!(document["error"]["code"], "rollcall::apply::stale-plan");
    let message = document["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the extract changed since the plan"),
        "{message}"
    );
    assert!(message.contains("appointments-2025-03-08.csv"), "{message}");
    assert_eq!(ws.state(), before);
}

#[test]
fn a_plan_whose_pipeline_file_changed_is_refused_and_changes_nothing() {
    let ws = Workspace::new();
    let plan = planned(&ws, &[]);
    let mut text = std::fs::read_to_string(ws.pipeline()).unwrap();
    text.push_str("// edited after the review\n");
    std::fs::write(ws.pipeline(), text).unwrap();
    let before = ws.state();

    let refused = ws.apply(&plan, &[]);
    assert_eq!(refused.status.code(), Some(STALE), "{}", show(&refused));
    assert!(
        said(&refused, "the pipeline file")
            && said(&refused, "hr-appointments.kdl changed since the plan"),
        "{}",
        show(&refused)
    );
    assert_eq!(ws.state(), before);
}

#[test]
fn a_plan_from_another_version_or_with_another_digest_is_refused() {
    let ws = Workspace::new();
    let plan = planned(&ws, &[]);
    let before = ws.state();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();

    let mut old = saved.clone();
    old["version"] = "0.0.1".into();
    std::fs::write(&plan, serde_json::to_string(&old).unwrap()).unwrap();
    let refused = ws.apply(&plan, &[]);
    assert_eq!(refused.status.code(), Some(STALE), "{}", show(&refused));
    assert!(
        said(&refused, "the plan was made by rollcall 0.0.1"),
        "{}",
        show(&refused)
    );

    // A digest the run cannot reach: checked inside the run's transaction,
    // which is rolled back and not recorded.
    let mut other = saved;
    other["digest"] = "0".repeat(64).into();
    std::fs::write(&plan, serde_json::to_string(&other).unwrap()).unwrap();
    let refused = ws.apply(&plan, &[]);
    assert_eq!(refused.status.code(), Some(STALE), "{}", show(&refused));
    assert!(
        said(&refused, "the change set differs from the plan's"),
        "{}",
        show(&refused)
    );
    assert_eq!(ws.state(), before);
}

#[test]
fn a_digest_only_plan_holds_no_record_values_and_still_applies() {
    let ws = Workspace::new();
    let plan = planned(&ws, &["--digest-only"]);
    let text = std::fs::read_to_string(&plan).unwrap();
    let mode = std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let full = Workspace::new();
    let full_plan = planned(&full, &[]);
    let full_text = std::fs::read_to_string(&full_plan).unwrap();
    // A value of a changed record is in the full plan, not in the digest-only one.
    for value in ["Senior Research Fellow", "Katherine"] {
        assert!(
            full_text.contains(value) && !text.contains(value),
            "{value}"
        );
    }
    let saved: Value = serde_json::from_str(&text).unwrap();
    let full_saved: Value = serde_json::from_str(&full_text).unwrap();
    assert_eq!(saved["digest_only"], true);
    assert_eq!(saved["report"]["changes"], Value::Array(vec![]));
    assert_eq!(saved["digest"], full_saved["digest"]);
    for change in full_saved["report"]["changes"].as_array().unwrap() {
        for field in change["fields"].as_array().unwrap() {
            if let Some(value) = field["after"].as_str().filter(|v| v.len() > 3) {
                assert!(!text.contains(value), "{value} is in the digest-only plan");
            }
        }
    }

    let applied = ws.apply(&plan, &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", show(&applied));
    assert_eq!(ws.state().0, {
        full.apply(&full_plan, &[]);
        full.state().0
    });
}

#[test]
fn show_plan_renders_the_plan_as_plan_does() {
    let ws = Workspace::new();
    let plan = planned(&ws, &[]);
    let (pipeline, extract, db) = (ws.pipeline(), ws.extract(2), ws.db());
    let direct = ws.rollcall(&[
        "plan",
        arg(&pipeline),
        "--input",
        arg(&extract),
        "--state",
        arg(&db),
    ]);
    let shown = ws.rollcall(&["show-plan", arg(&plan)]);
    assert_eq!(shown.status.code(), Some(0), "{}", show(&shown));
    let (shown_text, planned_text) = (
        String::from_utf8_lossy(&shown.stdout).into_owned(),
        String::from_utf8_lossy(&direct.stdout).into_owned(),
    );
    assert!(
        shown_text.starts_with("plan of hr-appointments made "),
        "{shown_text}"
    );
    assert!(
        shown_text.ends_with(&planned_text),
        "{shown_text}\n---\n{planned_text}"
    );

    let json = ws.rollcall(&["show-plan", arg(&plan), "--format", "json"]);
    let document = stdout_json(&json);
    assert_eq!(document["command"], "show-plan");
    assert_eq!(document["plan"]["outcome"], "planned");
    assert_eq!(document["store"]["lineage"]["serial"], 1);
    support::assert_matches_schema(&document, "show-plan-output.schema.json");
}
