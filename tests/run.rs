//! `plan`, `run`, `history` and `show` against a real SQLite state store,
//! on the staff-SSO reference pipeline and its sample extracts.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{Backend, State, arg, parts, repo, run, state_dump, stdout_json};

fn pipeline() -> PathBuf {
    repo().join("pipelines/staff-sso.kdl")
}

fn example(name: &str) -> PathBuf {
    repo().join("examples/staff-sso").join(name)
}

fn run_input(db: &Path, input: &Path, extra: &[&str]) -> std::process::Output {
    let pipeline = pipeline();
    let mut args = vec![
        "run",
        arg(&pipeline),
        "--state",
        arg(db),
        "--input",
        arg(input),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn plan_json(db: &Path, input: &Path) -> serde_json::Value {
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
    stdout_json(&output)
}

fn summary_counts(plan: &serde_json::Value) -> [u64; 4] {
    let s = &plan["summary"];
    ["created", "updated", "removed", "unchanged"].map(|k| s[k].as_u64().unwrap())
}

fn day_two_is_planned_then_applied_and_both_runs_are_in_history(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());

    let output = run_input(&db, &example("day-1.jsonl"), &[]);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "day 1 applies\n{stdout}\n{stderr}");
    assert!(stdout.contains("200 created"), "{stdout}");

    let plan = plan_json(&db, &example("day-2.jsonl"));
    // day-2: 5 joiners, 6 changed users, 4 leavers; lastAccessed changed on
    // every line and is not mapped, so the other 190 are unchanged.
    assert_eq!(summary_counts(&plan), [5, 6, 4, 190]);
    assert_eq!(plan["summary"]["read"], 201);
    assert_eq!(plan["integrity"]["passed"], true);
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 15);
    let update = changes.iter().find(|c| c["action"] == "update").unwrap();
    let fields = update["fields"].as_array().unwrap();
    assert!(
        fields.iter().all(|f| f["field"] != "lastAccessed"),
        "unmapped fields never appear in an update: {update}"
    );

    let output = run_input(&db, &example("day-2.jsonl"), &[]);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "day 2 applies\n{stdout}\n{stderr}");
    assert_eq!(
        summary_counts(&plan_json(&db, &example("day-2.jsonl"))),
        [0, 0, 0, 201]
    );

    let history = stdout_json(&run(&[
        "history",
        "staff-sso",
        "--state",
        arg(&db),
        "--format",
        "json",
    ]));
    let runs = history["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs[0]["id"].as_i64() > runs[1]["id"].as_i64(),
        "newest first"
    );
    assert_eq!(runs[0]["outcome"], "applied");
    assert_eq!(runs[0]["summary"]["created"], 5);
    assert_eq!(runs[0]["summary"]["removed"], 4);
    assert_eq!(runs[1]["summary"]["created"], 200);
    assert!(runs[0]["source"]["sha256"].as_str().unwrap().len() == 64);
}

#[test]
fn detailed_exitcode_says_whether_plan_would_change_anything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let plan = |input: &Path| {
        let output = run(&[
            "plan",
            arg(&pipeline()),
            "--state",
            arg(&db),
            "--input",
            arg(input),
            "--detailed-exitcode",
        ]);
        parts(&output).0
    };
    assert_eq!(
        plan(&example("day-1.jsonl")),
        2,
        "an empty store would change"
    );
    assert!(!db.exists(), "plan never creates the store");
    assert_eq!(parts(&run_input(&db, &example("day-1.jsonl"), &[])).0, 0);
    assert_eq!(
        plan(&example("day-1.jsonl")),
        0,
        "replaying day 1 changes nothing"
    );
}

fn an_extract_missing_ten_percent_is_refused_and_changes_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    assert_eq!(parts(&run_input(&db, &example("day-1.jsonl"), &[])).0, 0);
    let before_plan = plan_json(&db, &example("day-2.jsonl"));
    let before_state = state_dump(&db);

    // Drop every tenth line of day 2: 181 of 201 lines remain.
    let day2 = std::fs::read_to_string(example("day-2.jsonl")).unwrap();
    let truncated: String = day2
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 10 != 9)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let short = dir.path().join("day-2-short.jsonl");
    std::fs::write(&short, truncated).unwrap();

    let output = run_input(&db, &short, &[]);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 3, "integrity breach exits 3\n{stdout}\n{stderr}");
    assert!(stderr.contains("min-ratio"), "{stderr}");
    assert!(
        stderr.contains("--accept-breach"),
        "says how to override: {stderr}"
    );
    assert_eq!(state_dump(&db), before_state, "nothing applied");

    let history = stdout_json(&run(&[
        "history",
        "staff-sso",
        "--state",
        arg(&db),
        "--format",
        "json",
    ]));
    let rejected = &history["runs"][0];
    assert_eq!(rejected["outcome"], "rejected");
    let checks = rejected["checks"].as_array().unwrap();
    let ratio = checks.iter().find(|c| c["name"] == "min-ratio").unwrap();
    assert_eq!(ratio["passed"], false);
    assert_eq!(ratio["limit"], 0.95);
    assert_eq!(ratio["actual"], 0.905, "181 of the previous 200");

    let after_plan = plan_json(&db, &example("day-2.jsonl"));
    assert_eq!(summary_counts(&after_plan), summary_counts(&before_plan));

    // An operator who knows the change is real can override, and it is recorded.
    let output = run_input(&db, &short, &["--accept-breach"]);
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);
    let history = stdout_json(&run(&[
        "history",
        "staff-sso",
        "--state",
        arg(&db),
        "--format",
        "json",
    ]));
    assert_eq!(history["runs"][0]["outcome"], "applied");
    assert_eq!(history["runs"][0]["overridden"], true);
}

fn show_prints_a_record_and_its_change_log(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    assert_eq!(parts(&run_input(&db, &example("day-1.jsonl"), &[])).0, 0);
    assert_eq!(parts(&run_input(&db, &example("day-2.jsonl"), &[])).0, 0);
    let plan = plan_json(&db, &example("day-1.jsonl"));
    // Replaying day 1 reinstates the four leavers.
    assert_eq!(plan["summary"]["reinstated"], 4);
    let leaver = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "reinstate")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let output = run(&[
        "show",
        "staff-sso",
        &leaver,
        "--state",
        arg(&db),
        "--format",
        "json",
    ]);
    let shown = stdout_json(&output);
    assert_eq!(shown["record"]["state"], "removed");
    assert_eq!(shown["record"]["person_status"], "suspended");
    let actions: Vec<&str> = shown["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "remove"]);
}

/// Starts `rollcall run` on a large extract and returns once it is applying
/// (SQLite: its write-ahead log has grown; PostgreSQL: it streams the
/// extract, which it opens only once it holds its locks), with the process
/// still running.
fn start_large_run(db: &State, input: &Path) -> std::process::Child {
    let mut child = support::rollcall()
        .args([
            "run",
            arg(&pipeline()),
            "--state",
            arg(db),
            "--input",
            arg(input),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let wal = db.with_extension("db-wal");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let applying = match db.backend() {
            Backend::Sqlite => std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) >= 2 << 20,
            Backend::Postgres => support::input_offset(child.id(), input).is_some_and(|at| at > 0),
        };
        if applying {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was seen applying"
        );
        assert!(Instant::now() < deadline, "the run never started writing");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn a_run_killed_while_applying_leaves_the_state_as_before(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    let small = dir.path().join("small.jsonl");
    support::write_staff_sso_extract(&small, 1000, "2024-09-04T00:00:00Z");
    assert_eq!(parts(&run_input(&db, &small, &[])).0, 0);
    let before = state_dump(&db);

    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 60_000, "2024-09-05T00:00:00Z");
    let mut child = start_large_run(&db, &large);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed before finishing");

    assert_eq!(support::integrity_check(&db), "ok");
    assert_eq!(state_dump(&db), before, "no trace of the killed run");
    let output = run_input(&db, &large, &[]);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "the next run succeeds\n{stdout}\n{stderr}");
    assert!(stdout.contains("59000 created"), "{stdout}");
}

fn a_second_run_is_refused_at_once_while_one_holds_the_store(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    let large = dir.path().join("large.jsonl");
    support::write_staff_sso_extract(&large, 60_000, "2024-09-05T00:00:00Z");
    let mut first = start_large_run(&db, &large);

    let started = Instant::now();
    let output = run_input(&db, &example("day-1.jsonl"), &[]);
    let elapsed = started.elapsed();
    let (code, _, stderr) = parts(&output);
    let still_running = first.try_wait().unwrap().is_none();
    first.kill().ok();
    first.wait().unwrap();
    assert!(
        still_running,
        "the first run held the store during the second"
    );
    assert_eq!(code, 75, "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    assert!(
        elapsed < Duration::from_secs(10),
        "refused at once, took {elapsed:?}"
    );
}

fn plan_json_matches_its_schema(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    assert_eq!(parts(&run_input(&db, &example("day-1.jsonl"), &[])).0, 0);
    let plan = plan_json(&db, &example("day-2.jsonl"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/plan-output.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(!plan["changes"].as_array().unwrap().is_empty());
}

/// Issue 3's bad inputs, each through `rollcall run` on a store that holds
/// day 1: exit 1, an error naming the file and the line (or byte offset),
/// and the store exactly as before.
fn bad_input_is_refused_with_its_place_and_changes_nothing(backend: Backend) {
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    assert_eq!(parts(&run_input(&db, &example("day-1.jsonl"), &[])).0, 0);
    let day1 = std::fs::read_to_string(example("day-1.jsonl")).unwrap();
    let lines: Vec<&str> = day1.lines().collect();

    let malformed = dir.path().join("malformed.jsonl");
    let mut text = lines[..4].join("\n");
    text.push_str("\n{\"object\": {\"dit:StaffSSO:User:userId\" \"x\"}}\n");
    std::fs::write(&malformed, text).unwrap();

    let gz = dir.path().join("truncated.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(day1.as_bytes()).unwrap();
    let bytes = encoder.finish().unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();

    let not_utf8 = dir.path().join("latin1.jsonl");
    // Line 3 carries a Latin-1 "ü" (0xFC) inside a last name.
    let mut raw = format!("{}\n{}\n", lines[0], lines[1]).into_bytes();
    let (head, tail) = lines[2].split_at(lines[2].find("\"dit:lastName\": \"").unwrap() + 17);
    raw.extend_from_slice(head.as_bytes());
    raw.push(0xFC);
    raw.extend_from_slice(tail.as_bytes());
    raw.push(b'\n');
    std::fs::write(&not_utf8, raw).unwrap();

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let missing = dir.path().join("missing.jsonl");

    let cases: [(&Path, &str); 5] = [
        (&malformed, "malformed.jsonl:5:"),
        (&gz, "truncated.jsonl.gz"),
        (&not_utf8, "latin1.jsonl:3"),
        (&empty, "empty.jsonl: the extract is empty"),
        (&missing, "missing.jsonl"),
    ];
    let before = state_dump(&db);
    for (input, expected) in cases {
        let (code, stdout, stderr) = parts(&run_input(&db, input, &[]));
        assert_eq!(code, 1, "{}\n{stdout}\n{stderr}", input.display());
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
        assert_eq!(
            state_dump(&db),
            before,
            "{} applied nothing",
            input.display()
        );
    }
    let (_, _, stderr) = parts(&run_input(&db, &gz, &[]));
    assert!(
        stderr.contains("byte"),
        "a truncated gzip names the byte offset: {stderr}"
    );

    // A CSV with a broken quote, through a CSV pipeline of its own.
    let pipeline = dir.path().join("people.kdl");
    std::fs::write(
        &pipeline,
        r#"pipeline people {
    source file "people.csv" { format csv }
    key id
    map {
        id "id" required=#true
        name "name"
    }
}
"#,
    )
    .unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "id,name\n1,Ada\n2,Grace\n").unwrap();
    let run_csv = || run(&["run", arg(&pipeline), "--state", arg(&db)]);
    assert_eq!(parts(&run_csv()).0, 0);
    let before = state_dump(&db);
    std::fs::write(&csv, "id,name\n1,Ada\n2,\"Grace\n3,Alan\n").unwrap();
    let (code, _, stderr) = parts(&run_csv());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("people.csv:3"),
        "names the line the quote opens on: {stderr}"
    );
    assert_eq!(state_dump(&db), before);
}

fn a_key_twice_in_one_extract_names_both_lines(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    let day1 = std::fs::read_to_string(example("day-1.jsonl")).unwrap();
    let lines: Vec<&str> = day1.lines().collect();
    let twice = dir.path().join("twice.jsonl");
    std::fs::write(
        &twice,
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[0]),
    )
    .unwrap();
    let (code, _, stderr) = parts(&run_input(&db, &twice, &[]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("twice.jsonl:3"), "{stderr}");
    assert!(stderr.contains("first seen on line 1"), "{stderr}");
}

#[test]
fn log_format_json_writes_one_json_object_per_line_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let output = support::rollcall()
        .env("RUST_LOG", "info")
        .args([
            "--log-format",
            "json",
            "run",
            arg(&pipeline()),
            "--state",
            arg(&db),
        ])
        .args(["--input", arg(&example("day-1.jsonl"))])
        .output()
        .unwrap();
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let finished = events
        .iter()
        .find(|e| e["fields"]["message"] == "run finished")
        .expect("a run-finished event");
    assert_eq!(finished["fields"]["created"], 200);
    assert_eq!(finished["level"], "INFO");
}

fn an_invalid_record_holds_its_key_instead_of_removing_it(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = State::new(backend, dir.path());
    assert_eq!(parts(&run_input(&db, &example("day-1.jsonl"), &[])).0, 0);
    // Line 7 of day 1 again, with a status the schema does not allow and a
    // changed last name: neither the change nor a removal may happen.
    let day1 = std::fs::read_to_string(example("day-1.jsonl")).unwrap();
    let bad: String = day1
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let line = if i == 6 {
                line.replace(
                    "\"dit:StaffSSO:User:status\": \"active\"",
                    "\"dit:StaffSSO:User:status\": \"gone\"",
                )
                .replace(
                    "\"dit:StaffSSO:User:status\": \"inactive\"",
                    "\"dit:StaffSSO:User:status\": \"gone\"",
                )
                .replace("\"dit:lastName\": \"", "\"dit:lastName\": \"Changed")
            } else {
                line.to_owned()
            };
            format!("{line}\n")
        })
        .collect();
    let input = dir.path().join("one-invalid.jsonl");
    std::fs::write(&input, bad).unwrap();
    let key =
        serde_json::from_str::<serde_json::Value>(day1.lines().nth(6).unwrap()).unwrap()["object"]
            ["dit:StaffSSO:User:userId"]
            .as_str()
            .unwrap()
            .to_owned();

    // max-invalid 0 refuses it; the operator overrides to see what is applied.
    let output = run_input(&db, &input, &[]);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!("one-invalid.jsonl:7 key {key:?}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("/dit:StaffSSO:User:status"),
        "names the schema path: {stderr}"
    );

    let plan = plan_json(&db, &input);
    assert_eq!(plan["summary"]["invalid"], 1);
    assert_eq!(plan["summary"]["held"], 1);
    assert_eq!(summary_counts(&plan), [0, 0, 0, 199]);
    assert_eq!(plan["invalid"][0]["key"], key.as_str());
    assert_eq!(plan["invalid"][0]["line"], 7);

    assert_eq!(parts(&run_input(&db, &input, &["--accept-breach"])).0, 0);
    let shown = stdout_json(&run(&[
        "show",
        "staff-sso",
        &key,
        "--state",
        arg(&db),
        "--format",
        "json",
    ]));
    assert_eq!(shown["record"]["state"], "present", "held, not removed");
    assert!(
        !shown["record"]["fields"]["last_name"]
            .as_str()
            .unwrap()
            .starts_with("Changed"),
        "held, not updated"
    );
}

/// `rollcall plan | head`: a reader that goes away early ends the output
/// quietly; the command still exits with its own code and panics nowhere.
#[test]
fn a_closed_stdout_ends_the_output_quietly_with_the_commands_own_code() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = support::rollcall()
        .args([
            "plan",
            arg(&pipeline()),
            "--state",
            arg(&db),
            "--input",
            arg(&example("day-1.jsonl")),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Issue 13 (weak): a disk that fills during a run. The store's writes are
/// capped by the file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so the
/// write fails instead of killing the process), so the run's transaction
/// fails half way. The error names the write failure and the store; the
/// rollback's own complaint ("cannot rollback - no transaction is active")
/// no longer replaces it; the store is as before.
#[test]
fn a_write_failure_mid_run_names_its_cause_and_leaves_the_store_as_before() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (code, _, stderr) = parts(&run_input(&db, &example("day-1.jsonl"), &[]));
    assert_eq!(code, 0, "{stderr}");
    let before = state_dump(&db);
    let big = dir.path().join("big.jsonl");
    support::write_staff_sso_extract(&big, 5_000, "2024-10-01T00:00:00.000Z");
    let limit = std::fs::metadata(&db).unwrap().len() + 64 * 1024;
    let mut command = support::rollcall();
    command.args([
        "run",
        arg(&pipeline()),
        "--state",
        arg(&db),
        "--input",
        arg(&big),
        "--accept-breach",
    ]);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork
    // and exec.
    unsafe {
        command.pre_exec(move || {
            let cap = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let said = stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !said.contains("cannot rollback") && said.contains("disk I/O error"),
        "{stderr}"
    );
    assert!(said.contains(arg(&db)), "names the store: {stderr}");
    assert_eq!(support::integrity_check(&db), "ok");
    assert_eq!(state_dump(&db), before, "the store is as before");
}

backends!(
    day_two_is_planned_then_applied_and_both_runs_are_in_history,
    an_extract_missing_ten_percent_is_refused_and_changes_nothing,
    show_prints_a_record_and_its_change_log,
    a_run_killed_while_applying_leaves_the_state_as_before,
    a_second_run_is_refused_at_once_while_one_holds_the_store,
    plan_json_matches_its_schema,
    bad_input_is_refused_with_its_place_and_changes_nothing,
    a_key_twice_in_one_extract_names_both_lines,
    an_invalid_record_holds_its_key_instead_of_removing_it,
);
