//! The exact text of `plan`, `run`, `history`, `show`, `person` and
//! `frozen` (and the operator commands around them), as insta snapshots, on
//! the bundled examples: each command runs from the repository root with a
//! fixed `ROLLCALL_NOW`, its state in a temporary folder whose path is
//! written `[tmp]`, and the wall-clock times `history` shows written
//! `[finished]`. Each snapshot holds the command, its exit code, stdout and
//! stderr.

mod support;

use std::path::Path;

use support::{arg, repo, rollcall};

/// The time every command here decides at.
const NOW: &str = "2025-03-10T00:00:00Z";

/// A scenario: a state store in a temporary folder, and the commands run
/// against it, each shown as its snapshot.
struct Scenario {
    dir: tempfile::TempDir,
}

impl Scenario {
    fn new() -> Self {
        Scenario {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    fn tmp(&self) -> &Path {
        self.dir.path()
    }

    fn state(&self) -> String {
        arg(&self.tmp().join("state.db")).to_owned()
    }

    /// Runs `rollcall ARGS --state STATE` from the repository root and
    /// returns its output as one text.
    fn run(&self, args: &[&str]) -> String {
        self.run_at(NOW, args)
    }

    fn run_at(&self, now: &str, args: &[&str]) -> String {
        let state = self.state();
        self.run_with(now, args, &["--state", &state])
    }

    /// A command that takes no state store (`test` makes its own).
    fn run_storeless(&self, args: &[&str]) -> String {
        self.run_with(NOW, args, &[])
    }

    fn run_with(&self, now: &str, args: &[&str], more: &[&str]) -> String {
        let output = rollcall()
            .args(args)
            .args(more)
            .current_dir(repo())
            .env("ROLLCALL_NOW", now)
            // Log lines carry the wall-clock time; rendering is what is tested.
            .env("RUST_LOG", "off")
            .env_remove("ROLLCALL_OUT_DIR")
            .env_remove("ROLLCALL_USER")
            .output()
            .expect("rollcall runs");
        let tmp = arg(self.tmp());
        let shown_args = args.join(" ").replace(tmp, "[tmp]");
        let text = format!(
            "$ rollcall {shown_args}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        text.replace(tmp, "[tmp]")
    }
}

/// `history`'s finished times are the wall clock's: written `[finished]`,
/// padded to the same width so the table stays aligned.
fn mask_finished_times(text: &str) -> String {
    fn is_time(window: &[u8]) -> bool {
        // 2026-12-01T06:56:06.605Z
        const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
        window.len() == SHAPE.len()
            && window.iter().zip(SHAPE).all(|(c, s)| match s {
                b'd' => c.is_ascii_digit(),
                s => c == s,
            })
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes.len() - i >= 24 && is_time(&bytes[i..i + 24]) {
            out.push_str(&format!("{:<24}", "[finished]"));
            i += 24;
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "render/snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn finished_times_are_masked_and_the_table_keeps_its_width() {
    let line = "    2  2026-12-01T06:56:06.605Z  applied  8";
    assert_eq!(
        mask_finished_times(line),
        "    2  [finished]                applied  8"
    );
    assert_eq!(
        mask_finished_times("until 2025-06-01T00:00:00Z"),
        "until 2025-06-01T00:00:00Z"
    );
}

/// The campus HR extract over two weeks: creates, an unresolved manager,
/// a diff with updates and a removal, a role into its grace period; then
/// the record, the person, the history, and freezes.
#[test]
fn hr_appointments_two_weeks() {
    let s = Scenario::new();
    let pipeline = "pipelines/hr-appointments.kdl";
    let day = |date: &str| format!("examples/hr/appointments-{date}.csv");
    let (first, second) = (day("2025-03-01"), day("2025-03-08"));
    snapshot("hr-run-1", &s.run(&["run", pipeline, "--input", &first]));
    snapshot("hr-plan-2", &s.run(&["plan", pipeline, "--input", &second]));
    snapshot("hr-run-2", &s.run(&["run", pipeline, "--input", &second]));
    snapshot(
        "hr-run-2-again",
        &s.run(&["run", pipeline, "--input", &second]),
    );
    snapshot(
        "hr-history",
        &mask_finished_times(&s.run(&["history", "hr-appointments"])),
    );
    snapshot(
        "hr-show-updated",
        &s.run(&["show", "hr-appointments", "A-1002"]),
    );
    snapshot(
        "hr-show-removed",
        &s.run(&["show", "hr-appointments", "A-1003"]),
    );
    snapshot(
        "hr-show-unknown",
        &s.run(&["show", "hr-appointments", "A-9999"]),
    );
    snapshot("hr-person-2", &s.run(&["person", "2"]));
    snapshot("hr-person-unknown", &s.run(&["person", "99"]));
    snapshot(
        "hr-freeze",
        &s.run(&[
            "freeze",
            "1",
            "telephone",
            "--value",
            "+44 20 7946 0000",
            "--reason",
            "asked by HR",
            "--until",
            "2025-06-01",
            "--by",
            "alice",
        ]),
    );
    snapshot(
        "hr-freeze-role",
        &s.run(&["freeze", "2", "role.3.title", "--by", "bob"]),
    );
    snapshot("hr-frozen", &s.run(&["frozen"]));
    snapshot(
        "hr-frozen-lapsed",
        &s.run_at("2025-07-01T00:00:00Z", &["frozen", "--person", "1"]),
    );
    snapshot(
        "hr-plan-frozen",
        &s.run(&["plan", pipeline, "--input", &second, "--resync"]),
    );
    snapshot("hr-person-1-frozen", &s.run(&["person", "1"]));
    snapshot(
        "hr-unfreeze",
        &s.run(&["unfreeze", "2", "role.3.title", "--by", "bob"]),
    );
    snapshot(
        "hr-purge-dry-run",
        &s.run_at("2026-06-01T00:00:00Z", &["purge", "--dry-run"]),
    );
}

/// The staff-SSO activity stream: 200 joiners, then a day's diff of
/// creates, updates and removals; an extract cut short is refused.
#[test]
fn staff_sso_days_and_a_truncated_extract() {
    let s = Scenario::new();
    let pipeline = "pipelines/staff-sso.kdl";
    snapshot(
        "sso-run-1",
        &s.run(&["run", pipeline, "--input", "examples/staff-sso/day-1.jsonl"]),
    );
    snapshot(
        "sso-plan-2",
        &s.run(&[
            "plan",
            pipeline,
            "--input",
            "examples/staff-sso/day-2.jsonl",
        ]),
    );
    let day_2 = std::fs::read_to_string(repo().join("examples/staff-sso/day-2.jsonl")).unwrap();
    let truncated = s.tmp().join("truncated.jsonl");
    let kept: Vec<&str> = day_2.lines().take(150).collect();
    std::fs::write(&truncated, kept.join("\n") + "\n").unwrap();
    snapshot(
        "sso-plan-truncated",
        &s.run(&["plan", pipeline, "--input", arg(&truncated)]),
    );
    snapshot(
        "sso-run-truncated",
        &s.run(&["run", pipeline, "--input", arg(&truncated)]),
    );
    snapshot(
        "sso-history",
        &mask_finished_times(&s.run(&["history", pipeline])),
    );
}

/// Invalid records on stderr, between the report's lines, and a rejected
/// run's explanation.
#[test]
fn cora_inbound_invalid_records() {
    let s = Scenario::new();
    let out = s.tmp().join("out");
    snapshot(
        "cora-inbound-invalid",
        &s.run(&[
            "run",
            "pipelines/cora-inbound.kdl",
            "--input",
            "examples/cora/inbound/invalid-fields.json",
            "--out-dir",
            arg(&out),
        ]),
    );
}

/// A lookup joined by key and a file written (its upload skipped).
#[test]
fn cim_lookup_and_written_file() {
    let s = Scenario::new();
    let out = s.tmp().join("out");
    let pipeline = "pipelines/cim-user-provisioning.kdl";
    snapshot(
        "cim-run",
        &s.run(&["run", pipeline, "--out-dir", arg(&out), "--skip-upload"]),
    );
    snapshot(
        "cim-deliver",
        &s.run(&["deliver", pipeline, "--out-dir", arg(&out), "--skip-upload"]),
    );
}

/// Two schools sharing one system, each importing its slice of one export:
/// a student leaves one school (limbo) and is imported by the other
/// (linked, out of limbo); a pupil of both leaves one (still active), then
/// the other (limbo).
#[test]
fn ucs_school_move_between_schools() {
    let s = Scenario::new();
    let steps = [
        ("gym-mitte", "export-2025-03-03"),
        ("rs-nord", "export-2025-03-04"),
        ("gym-mitte", "export-2025-03-10"),
        ("rs-nord", "export-2025-03-12"),
    ];
    for (school, export) in steps {
        let pipeline = format!("pipelines/ucs-school-{school}.kdl");
        let input = format!("examples/ucs-school/{export}.csv");
        snapshot(
            &format!("ucs-plan-{school}-{export}"),
            &s.run(&["plan", &pipeline, "--input", &input]),
        );
        snapshot(
            &format!("ucs-run-{school}-{export}"),
            &s.run(&["run", &pipeline, "--input", &input]),
        );
    }
    snapshot("ucs-person-3", &s.run(&["person", "3"]));
    // Lukas, a pupil of both schools, left one and then the other.
    snapshot("ucs-person-6", &s.run(&["person", "6"]));
}

/// `explain`'s step lines start with the run's wall-clock start: written
/// `[started]` (times inside the lines are decision times, kept).
fn mask_started_times(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once("  run ") {
            Some((time, rest)) if time.len() == 24 && time.ends_with('Z') => {
                format!("[started]  run {rest}")
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The README's UCS@school walkthrough, each import at its own date, then
/// `explain` of Mia (person 3), the pupil who moved from gym-mitte to
/// rs-nord: removed by gym-mitte's run with the rule that put her in limbo
/// and her purge date, reinstated by rs-nord's, each with run and extract hash.
#[test]
fn ucs_school_explain_the_pupil_who_moved() {
    let s = Scenario::new();
    let steps = [
        ("gym-mitte", "2025-03-03"),
        ("rs-nord", "2025-03-04"),
        ("gym-mitte", "2025-03-10"),
        ("rs-nord", "2025-03-12"),
    ];
    for (school, date) in steps {
        let pipeline = format!("pipelines/ucs-school-{school}.kdl");
        let input = format!("examples/ucs-school/export-{date}.csv");
        let out = s.run_at(date, &["run", &pipeline, "--input", &input, "--quiet"]);
        assert!(out.contains("exit: 0"), "{out}");
    }
    let person = mask_started_times(&s.run(&["explain", "3"]));
    let sha = |date: &str| {
        let bytes = std::fs::read(repo().join(format!("examples/ucs-school/export-{date}.csv")))
            .expect("the export");
        use sha2::Digest as _;
        format!("{:x}", sha2::Sha256::digest(bytes))
    };
    // The removal, in run 3 from the 10th's extract, with its rule ...
    let removal = format!(
        "[started]  run 3  applied  ucs-school-gym-mitte\n    extract examples/ucs-school/export-2025-03-10.csv  sha256 {}\n    - remove        ucs-school-gym-mitte/uid-0003\n        why: the record left the source: on-removal suspended, no grace period\n",
        sha("2025-03-10")
    );
    assert!(person.contains(&removal), "{person}");
    // ... the rule that put her in limbo, with the purge date ...
    assert!(person.contains(
        "    > person-status person 3  active -> suspended, into limbo \"limbo\", purge at 2025-04-09T00:00:00.000Z\n        why: no live role left since 2025-03-10T00:00:00.000Z: limbo \"limbo\", purge-after 30d (purge at 2025-04-09T00:00:00.000Z)\n"
    ), "{person}");
    // ... and the reinstatement, in run 4 from the 12th's extract.
    let reinstated = format!(
        "[started]  run 4  applied  ucs-school-rs-nord\n    extract examples/ucs-school/export-2025-03-12.csv  sha256 {}\n",
        sha("2025-03-12")
    );
    assert!(person.contains(&reinstated), "{person}");
    assert!(person.contains(
        "    > person-status person 3  suspended -> active, out of limbo \"limbo\"\n        why: a live role again"
    ), "{person}");
    snapshot("ucs-explain-person-3", &person);
    // Lukas, in limbo since the 12th, purged by an operator after 30 days.
    let purge = s.run_at("2025-06-01", &["purge", "--by", "carol", "--quiet"]);
    assert!(purge.contains("exit: 0"), "{purge}");
    let purged = mask_started_times(&s.run(&["explain", "6"]));
    assert!(
        purged.starts_with("$ rollcall explain 6\nexit: 0\n--- stdout\nperson 6: purged\n"),
        "{purged}"
    );
    assert!(purged.contains(
        "[started]  run 5  applied  @purge\n    - purge         ucs-school-gym-mitte/uid-0006  was suspended, inactive since 2025-03-12T00:00:00.000Z\n        why: purge-after passed: inactive since 2025-03-12T00:00:00.000Z, due at 2025-04-11T00:00:00.000Z; `rollcall purge` by carol\n"
    ), "{purged}");
    snapshot(
        "ucs-explain-record",
        &mask_started_times(&s.run(&["explain", "ucs-school-rs-nord", "uid-0003"])),
    );
}

/// A value an operator froze and a later extract changes: `explain` shows
/// the record's update with the value held, who froze it and why, and the
/// freeze itself as the `@freeze` run with its operator.
#[test]
fn explain_shows_a_frozen_value_held_and_the_freeze() {
    let s = Scenario::new();
    let hr = "pipelines/hr-appointments.kdl";
    let day = |date: &str| format!("examples/hr/appointments-{date}.csv");
    let first = s.run_at(
        "2025-03-01",
        &["run", hr, "--input", &day("2025-03-01"), "-q"],
    );
    assert!(first.contains("exit: 0"), "{first}");
    let freeze = s.run(&[
        "freeze",
        "2",
        "telephone",
        "--reason",
        "asked by HR",
        "--by",
        "alice",
        "-q",
    ]);
    assert!(freeze.contains("exit: 0"), "{freeze}");
    let second = s.run_at(
        "2025-03-08",
        &["run", hr, "--input", &day("2025-03-08"), "-q"],
    );
    assert!(second.contains("exit: 0"), "{second}");
    let explained = mask_started_times(&s.run(&["explain", "hr-appointments", "A-1002"]));
    assert!(explained.contains(
        "[started]  run 2  applied  @freeze\n    * freeze        person 2  telephone \"+44 20 7946 0102\", frozen_by \"alice\", reason \"asked by HR\", until null\n        why: operator command by alice: \"asked by HR\"\n"
    ), "{explained}");
    assert!(explained.contains(
        "        why: frozen value held: telephone kept \"+44 20 7946 0102\" (the source says \"+44 20 7946 0199\"), frozen by alice: \"asked by HR\"\n"
    ), "{explained}");
}

/// `rollcall test`: the reference pipelines' tests pass; a test file with
/// wrong expectations (a field value, a change, a transition, a count, an
/// outcome, a rejection) fails with a diff of each, naming its line, exit 1.
#[test]
fn pipeline_tests_pass_and_wrong_expectations_show_a_diff() {
    let s = Scenario::new();
    let passing = s.run_storeless(&["test", "pipelines/"]);
    assert!(
        passing.starts_with("$ rollcall test pipelines/\nexit: 0\n"),
        "{passing}"
    );
    assert!(passing.contains(" passed, 0 failed\n"), "{passing}");
    snapshot("test-reference-pipelines", &passing);

    let pipeline = repo().join("pipelines/hr-appointments.kdl");
    let day =
        |date: &str| arg(&repo().join(format!("examples/hr/appointments-{date}.csv"))).to_owned();
    let wrong = format!(
        r#"pipeline "{pipeline}"

test "the first week is as expected" {{
    extract file="{day1}" now="2025-03-01" {{
        expect {{
            counts created=8
        }}
    }}
}}

test "wrong on purpose" {{
    extract file="{day1}" now="2025-03-01" {{
        expect {{
            counts created=7 invalid=0
            mapped A-1002 {{
                job_title "Research Consultant IV"
                telephone "+44 20 7946 0100"
            }}
        }}
    }}
    extract file="{day2}" now="2025-03-08" {{
        expect {{
            changes {{
                update A-1002 {{ telephone "+44 20 7946 0199" }}
                remove A-1004
                update A-1004 {{ job_title "Research Fellow" }}
                create A-1009
            }}
            transitions {{
                role A-1003 from=active to=suspended
            }}
            rejected A-1009 code="rollcall::record::invalid"
        }}
    }}
    extract file="{day2}" now="2025-03-23" {{
        expect {{
            outcome no-change
        }}
    }}
}}
"#,
        pipeline = arg(&pipeline),
        day1 = day("2025-03-01"),
        day2 = day("2025-03-08"),
    );
    let file = s.tmp().join("hr.test.kdl");
    std::fs::write(&file, wrong).expect("the test file");
    let failing = s.run_storeless(&["test", arg(&file)]);
    assert!(failing.contains("\nexit: 1\n"), "{failing}");
    assert!(
        failing.contains("  FAIL  wrong on purpose (line 11)\n"),
        "{failing}"
    );
    assert!(failing.contains("          - update A-1004 { job_title \"Research Fellow\" }\n          + update A-1004 { job_title \"Senior Research Fellow\" }\n"), "{failing}");
    snapshot("test-wrong-expectations", &failing);
}

/// Errors as a person sees them: a JSON syntax error on its line, a folder
/// where one pipeline is expected, an unreadable time, a missing store.
#[test]
fn errors() {
    let s = Scenario::new();
    snapshot(
        "error-bad-json",
        &s.run(&[
            "plan",
            "pipelines/cora-inbound.kdl",
            "--input",
            "examples/cora/inbound/malformed/missing-comma.json",
        ]),
    );
    snapshot("error-not-one-pipeline", &s.run(&["run", "pipelines"]));
    snapshot("error-bad-now", &s.run_at("not-a-time", &["frozen"]));
    snapshot(
        "error-bad-until",
        &s.run(&["freeze", "1", "telephone", "--until", "soon"]),
    );
    snapshot("error-no-store", &s.run(&["person", "1"]));
}

/// A command that takes no `--state` (`show-plan`), run as `Scenario::run`
/// runs the others, with the Cora pipeline's variables unset.
fn run_without_state(s: &Scenario, args: &[&str]) -> String {
    let output = rollcall()
        .args(args)
        .current_dir(repo())
        .env("ROLLCALL_NOW", NOW)
        .env("RUST_LOG", "off")
        .env_remove("CORA_REASSIGN_TO")
        .env_remove("CORA_BUCKET")
        .env_remove("CORA_ALERT_WEBHOOK")
        .output()
        .expect("rollcall runs");
    let tmp = arg(s.tmp());
    format!(
        "$ rollcall {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    .replace(tmp, "[tmp]")
}

/// A saved plan's wall-clock time, random lineage and pipeline file hash
/// (which any edit of the reference pipeline changes) masked.
fn mask_plan(text: &str) -> String {
    text.lines()
        .map(|line| {
            if let Some(rest) = line.strip_prefix("plan of hr-appointments made ") {
                let by = rest.find(" by ").map_or("", |at| &rest[at..]);
                format!("plan of hr-appointments made [created]{by}")
            } else if let Some((head, _)) = line.split_once(" lineage ") {
                let serial = line.rsplit_once(" serial ").map_or("", |(_, s)| s);
                format!("{head} lineage [lineage] serial {serial}")
            } else if line.contains("hr-appointments.kdl  sha256 ") {
                format!("{} [sha256]", line.split(" sha256 ").next().unwrap_or(line))
            } else {
                line.to_owned()
            }
        })
        .map(|line| line + "\n")
        .collect()
}

/// The review workflow: a plan saved, shown (whole and digest only),
/// applied, and refused once another run moved the store.
#[test]
fn review_plan_show_apply() {
    let s = Scenario::new();
    let pipeline = "pipelines/hr-appointments.kdl";
    let day = |date: &str| format!("examples/hr/appointments-{date}.csv");
    let (first, second) = (day("2025-03-01"), day("2025-03-08"));
    let plan = s.tmp().join("day-2.plan");
    let digest_only = s.tmp().join("day-2.digest.plan");
    s.run(&["run", pipeline, "--input", &first]);
    snapshot(
        "review-plan-out",
        &s.run(&["plan", pipeline, "--input", &second, "--out", arg(&plan)]),
    );
    snapshot(
        "review-show-plan",
        &mask_plan(&run_without_state(&s, &["show-plan", arg(&plan)])),
    );
    s.run(&[
        "plan",
        pipeline,
        "--input",
        &second,
        "--out",
        arg(&digest_only),
        "--digest-only",
    ]);
    snapshot(
        "review-show-plan-digest-only",
        &mask_plan(&run_without_state(&s, &["show-plan", arg(&digest_only)])),
    );
    snapshot("review-apply", &s.run(&["apply", arg(&plan)]));
    snapshot("review-apply-stale", &s.run(&["apply", arg(&digest_only)]));
}

/// Environment checks on the Cora pipeline with none of its variables
/// set: `check` lists them, `plan` warns, `run` refuses before it starts.
#[test]
fn environment_checks() {
    let s = Scenario::new();
    let pipeline = "pipelines/cora-user-sync.kdl";
    snapshot("check-cora", &run_without_state(&s, &["check", pipeline]));
    let input = "examples/cora/registry-day-1.jsonl";
    let out = s.tmp().join("out");
    let state = s.state();
    snapshot(
        "cora-plan-missing-settings",
        &run_without_state(&s, &["plan", pipeline, "--input", input, "--state", &state]),
    );
    snapshot(
        "cora-run-missing-settings",
        &run_without_state(
            &s,
            &[
                "run",
                pipeline,
                "--input",
                input,
                "--state",
                &state,
                "--out-dir",
                arg(&out),
            ],
        ),
    );
}
