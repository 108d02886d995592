//! Targets (issue 19) against a real SCIM 2.0 server on loopback
//! (`scim2-server`, started per test by the testkit): every scenario counts
//! the write requests the server answered (POST, PATCH, DELETE), so "a
//! rename is a rename" and "nothing is sent twice" are the server's word.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rollcall_testkit::scim::{self, ScimServer};
use support::{arg, assert_matches_schema, parts, rollcall, stdout_json};

/// A test's folder: the pipeline, its extracts and its store.
struct Case {
    dir: tempfile::TempDir,
    server: ScimServer,
}

/// A pipeline of HR people provisioned into `server`, with `extra` lines
/// inside the target block.
fn pipeline_text(server: &ScimServer, integrity: &str, extra: &str) -> String {
    format!(
        r#"pipeline people {{
    source file "people.jsonl" {{ format jsonl }}
    key employee_id
    map {{
        employee_id employee_id required=#true
        username username required=#true
        first_name first_name
        last_name last_name
        email email
        department department
    }}
    identity {{
        identifier employee-id employee_id
    }}
    role {{
        affiliation "staff"
        ou field=department
    }}
    {integrity}
    lifecycle {{
        on-removal suspended
        limbo leavers
        purge-after "90d"
    }}
    target scim saas {{
        url "{url}"
        token (env)"SCIM_TOKEN"
        page-size 2
        user {{
            user-name field=username
            attribute name.givenName field=first_name
            attribute name.familyName field=last_name
            attribute emails field=email
        }}
        groups-from-roles name="{{ou}}"
        {extra}
    }}
}}
"#,
        url = server.url()
    )
}

impl Drop for Case {
    fn drop(&mut self) {
        // The closing note's figures: what the server answered in all.
        eprintln!("scim2-server recorded: {}", self.server.totals());
    }
}

impl Case {
    fn new(extra: &str) -> Case {
        Case::with_integrity("", extra)
    }

    /// A case whose pipeline also has `integrity` (a whole block).
    fn with_integrity(integrity: &str, extra: &str) -> Case {
        let server = scim::start();
        let dir = tempfile::tempdir().unwrap();
        let text = pipeline_text(&server, integrity, extra);
        std::fs::write(dir.path().join("people.kdl"), text).unwrap();
        Case { dir, server }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the extract: one person per `(id, username, department)`.
    fn extract(&self, people: &[(&str, &str, &str)]) {
        let lines: Vec<String> = people
            .iter()
            .map(|(id, user, dept)| {
                serde_json::json!({
                    "employee_id": id, "username": user, "first_name": id.to_uppercase(),
                    "last_name": "Test", "email": format!("{id}@example.org"), "department": dept
                })
                .to_string()
            })
            .collect();
        std::fs::write(self.path("people.jsonl"), lines.join("\n") + "\n").unwrap();
    }

    /// `rollcall COMMAND people.kdl --state ...` with the token set.
    fn command(&self, command: &str, extra: &[&str]) -> Command {
        let mut cmd = rollcall();
        let pipeline = self.path("people.kdl");
        let state = self.path("state.db");
        cmd.args([command, arg(&pipeline), "--state", arg(&state)])
            .args(extra)
            .env("SCIM_TOKEN", scim::TOKEN);
        cmd
    }

    fn rollcall(&self, command: &str, extra: &[&str]) -> Output {
        self.command(command, extra)
            .output()
            .expect("rollcall runs")
    }

    /// Runs and asserts the exit code; stdout and stderr.
    fn expect(&self, command: &str, extra: &[&str], code: i32) -> (String, String) {
        let output = self.rollcall(command, extra);
        let (got, out, err) = parts(&output);
        assert_eq!(
            got, code,
            "{command}: exit {got}\nstdout:\n{out}\nstderr:\n{err}"
        );
        (out, err)
    }

    /// The write requests since the log was last cleared, as `METHOD /path`
    /// (ids replaced by the userName or displayName they belong to).
    fn writes(&self) -> Vec<String> {
        let names = self.names();
        self.server
            .writes()
            .iter()
            .map(|w| {
                let path = names
                    .iter()
                    .fold(w.path.clone(), |p, (id, name)| p.replace(id.as_str(), name));
                format!("{} {} {}", w.method, path, w.status)
            })
            .collect()
    }

    /// Object id to its name, for users and groups on the server.
    fn names(&self) -> Vec<(String, String)> {
        let users = self.server.users().into_iter().map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["userName"].as_str().unwrap().to_owned(),
            )
        });
        let groups = self.server.groups().into_iter().map(|g| {
            (
                g["id"].as_str().unwrap().to_owned(),
                g["displayName"].as_str().unwrap().to_owned(),
            )
        });
        users.chain(groups).collect()
    }

    /// A user on the server by userName.
    fn user(&self, name: &str) -> Option<serde_json::Value> {
        self.server
            .users()
            .into_iter()
            .find(|u| u["userName"] == name)
    }
}

/// The member ids of a group on the server, by displayName, as userNames.
fn members(case: &Case, group: &str) -> Vec<String> {
    let names = case.names();
    let group = case
        .server
        .groups()
        .into_iter()
        .find(|g| g["displayName"] == group);
    let mut out: Vec<String> = group
        .map(|g| g["members"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            let id = m["value"].as_str()?;
            names.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone())
        })
        .collect();
    out.sort();
    out
}

const ADA: (&str, &str, &str) = ("e1", "ada", "eng");
const GRACE: (&str, &str, &str) = ("e2", "grace", "eng");
const ALAN: (&str, &str, &str) = ("e3", "alan", "eng");

#[test]
fn join_move_leave_return_and_purge_send_only_what_changed() {
    let case = Case::new("delete-after-purge #true");
    // Join: three users, one group.
    case.extract(&[ADA, GRACE, ALAN]);
    case.expect("run", &[], 0);
    let joined = case.writes();
    assert_eq!(
        joined,
        [
            "POST /v2/Users 201",
            "POST /v2/Users 201",
            "POST /v2/Users 201",
            "POST /v2/Groups 201"
        ],
        "join"
    );
    let ada = case.user("ada").expect("ada created");
    assert_eq!(ada["active"], true);
    assert_eq!(ada["name"]["givenName"], "E1");
    assert_eq!(ada["emails"][0]["value"], "e1@example.org");
    assert!(ada["externalId"].as_str().unwrap().starts_with("rollcall-"));
    assert_eq!(members(&case, "eng"), ["ada", "alan", "grace"]);

    // The same extract again: zero write requests.
    case.server.clear_log();
    case.expect("run", &[], 0);
    assert_eq!(case.writes(), Vec::<String>::new(), "unchanged extract");

    // Move: ada's userName changes. `plan` shows the rename this extract
    // would cause, against the server's listing, and sends nothing; the run
    // sends one PATCH, never a DELETE and a POST.
    case.extract(&[("e1", "ada.l", "eng"), GRACE, ALAN]);
    case.server.clear_log();
    let (planned, err) = case.expect("plan", &[], 0);
    assert!(
        planned.contains("target saas (scim): would send 1 rename"),
        "{planned}"
    );
    assert!(planned.contains("rename person ada.l"), "{planned}");
    assert!(!err.contains("note:"), "{err}");
    assert_eq!(case.writes(), Vec::<String>::new(), "plan sends nothing");
    case.expect("run", &[], 0);
    assert_eq!(
        case.writes(),
        ["PATCH /v2/Users/ada.l 204"],
        "move is one PATCH"
    );
    assert_eq!(
        case.user("ada.l").unwrap()["id"],
        ada["id"],
        "the same account, renamed"
    );

    // Leave to limbo: alan is deactivated (active=false) and leaves the group.
    case.extract(&[("e1", "ada.l", "eng"), GRACE]);
    case.server.clear_log();
    case.expect("run", &[], 0);
    assert_eq!(
        case.writes(),
        ["PATCH /v2/Users/alan 204", "PATCH /v2/Groups/eng 204"],
        "leave"
    );
    assert_eq!(case.user("alan").unwrap()["active"], false);
    assert_eq!(members(&case, "eng"), ["ada.l", "grace"]);

    // Return: active again, back in the group.
    case.extract(&[("e1", "ada.l", "eng"), GRACE, ALAN]);
    case.server.clear_log();
    case.expect("run", &[], 0);
    assert_eq!(
        case.writes(),
        ["PATCH /v2/Users/alan 204", "PATCH /v2/Groups/eng 204"],
        "return"
    );
    assert_eq!(case.user("alan").unwrap()["active"], true);

    // Leave again, then purge 91 days later: DELETE, since the target declares it.
    case.extract(&[("e1", "ada.l", "eng"), GRACE]);
    case.expect("run", &[], 0);
    case.server.clear_log();
    let later = (chrono_now_plus_days(91)).to_string();
    let (out, _) = case.expect("run", &["--now", &later, "--force"], 0);
    let deleted = case.server.writes();
    assert_eq!(deleted.len(), 1, "{out}\n{:?}", case.writes());
    assert_eq!(deleted[0].method, "DELETE");
    assert!(
        case.user("alan").is_none(),
        "alan's account deleted after the purge"
    );
    assert!(case.user("ada.l").is_some() && case.user("grace").is_some());
}

#[test]
fn without_delete_after_purge_a_purged_persons_account_stays_deactivated() {
    let case = Case::new("");
    case.extract(&[ADA, GRACE]);
    case.expect("run", &[], 0);
    case.extract(&[ADA]);
    case.expect("run", &[], 0);
    assert_eq!(case.user("grace").unwrap()["active"], false);
    case.server.clear_log();
    let later = chrono_now_plus_days(91);
    case.expect("run", &["--now", &later, "--force"], 0);
    assert_eq!(
        case.writes(),
        Vec::<String>::new(),
        "no DELETE without delete-after-purge"
    );
    assert_eq!(case.user("grace").unwrap()["active"], false);
}

#[test]
fn a_foreign_object_is_never_touched_and_plan_lists_it() {
    let case = Case::new("delete-after-purge #true");
    let (status, body) = case.server.http(
        "POST",
        "/Users",
        Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"mallory","active":true}"#),
    );
    assert_eq!(status, 201, "{body}");
    case.extract(&[ADA, GRACE]);
    case.server.clear_log();
    case.expect("run", &[], 0);
    // A leaver and a purge later: still nothing is sent to mallory.
    case.extract(&[ADA]);
    case.expect("run", &[], 0);
    case.expect("run", &["--now", &chrono_now_plus_days(91), "--force"], 0);
    let writes = case.writes();
    assert!(writes.iter().all(|w| !w.contains("mallory")), "{writes:?}");
    let mallory = case.user("mallory").expect("mallory is still there");
    assert_eq!(mallory["active"], true);
    let (planned, _) = case.expect("plan", &[], 0);
    assert!(
        planned.contains("1 foreign object(s) left alone"),
        "{planned}"
    );
    assert!(planned.contains("foreign person mallory"), "{planned}");
}

#[test]
fn one_refused_object_is_reported_and_the_others_proceed() {
    let case = Case::new("");
    // Someone made a "grace" by hand: the create of ours is refused (409).
    let (status, _) = case.server.http(
        "POST",
        "/Users",
        Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"grace"}"#),
    );
    assert_eq!(status, 201);
    case.extract(&[ADA, GRACE, ALAN]);
    case.server.clear_log();
    let (out, err) = case.expect("run", &[], 6);
    assert_eq!(
        case.writes(),
        [
            "POST /v2/Users 201",
            "POST /v2/Users 409",
            "POST /v2/Users 201",
            "POST /v2/Groups 201"
        ],
        "{out}{err}"
    );
    assert!(
        out.contains("saas-scim") || out.contains("1 refused"),
        "{out}"
    );
    assert!(
        err.contains("refused: target saas: create person grace: POST /Users"),
        "{err}"
    );
    assert!(err.contains("409"), "{err}");
    assert!(case.user("ada").is_some() && case.user("alan").is_some());
    let (history, _) = case.expect_history();
    assert!(
        history.contains("pending for target saas: run(s) 1"),
        "{history}"
    );
    // The hand-made account is removed; `deliver` creates ours and nothing else.
    let id = case.user("grace").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        case.server.http("DELETE", &format!("/Users/{id}"), None).0,
        204
    );
    case.server.clear_log();
    case.expect("deliver", &[], 0);
    assert_eq!(
        case.writes(),
        ["POST /v2/Users 201", "PATCH /v2/Groups/eng 204"]
    );
    let (history, _) = case.expect_history();
    assert!(!history.contains("pending for target"), "{history}");
}

impl Case {
    fn expect_history(&self) -> (String, String) {
        let mut cmd = rollcall();
        let state = self.path("state.db");
        let output = cmd
            .args(["history", "people", "--state", arg(&state)])
            .output()
            .unwrap();
        let (code, out, err) = parts(&output);
        assert_eq!(code, 0, "{out}{err}");
        (out, err)
    }
}

#[test]
fn a_listing_cut_short_or_failing_refuses_removals_and_says_so() {
    let case = Case::new("");
    case.extract(&[ADA, GRACE, ALAN]);
    case.expect("run", &[], 0);
    // Page size 2: the wrapper drops the last resource of each page.
    case.server.switch("short-listing", true);
    case.extract(&[ADA, GRACE]);
    case.server.clear_log();
    let (_, err) = case.expect("run", &[], 6);
    assert_eq!(
        case.writes(),
        Vec::<String>::new(),
        "nothing sent on a short listing"
    );
    assert!(err.contains("listing of saas is incomplete"), "{err}");
    assert!(err.contains("ended early"), "{err}");
    assert!(
        err.contains("no removal is made from an incomplete listing"),
        "{err}"
    );
    assert_eq!(case.user("alan").unwrap()["active"], true);
    // A listing that fails outright is refused the same way.
    case.server.switch("short-listing", false);
    case.server.switch("fail-listing", true);
    let (_, err) = case.expect("deliver", &[], 6);
    assert!(err.contains("answered 500"), "{err}");
    assert_eq!(case.writes(), Vec::<String>::new());
    // Whole again: the queued leave is delivered.
    case.server.switch("fail-listing", false);
    case.expect("deliver", &[], 0);
    assert_eq!(
        case.writes(),
        ["PATCH /v2/Users/alan 204", "PATCH /v2/Groups/eng 204"]
    );
    assert_eq!(case.user("alan").unwrap()["active"], false);
}

#[test]
fn a_throttled_service_is_waited_out() {
    let case = Case::new("");
    case.extract(&[ADA]);
    case.server.switch("throttle-once", true);
    case.expect("run", &[], 0);
    let log = case.server.requests();
    assert_eq!(log[0].status, 429, "{log:?}");
    assert_eq!(case.server.count("POST"), 2, "{log:?}");
    assert!(case.user("ada").is_some());
}

#[test]
fn skip_upload_sends_nothing_and_marks_nothing_delivered() {
    let case = Case::new("");
    case.extract(&[ADA]);
    case.expect("run", &["--skip-upload"], 0);
    assert_eq!(case.server.requests().len(), 0);
    let (history, _) = case.expect_history();
    assert!(
        history.contains("pending for target saas: run(s) 1"),
        "{history}"
    );
    let output = case.rollcall("deliver", &["--format", "json"]);
    let document = stdout_json(&output);
    assert_matches_schema(&document, "deliver-output.schema.json");
    assert_eq!(document["exit_code"], 0, "{document:#}");
    assert_eq!(document["targets"][0]["accepted"], true, "{document:#}");
    assert_eq!(case.writes(), ["POST /v2/Users 201", "POST /v2/Groups 201"]);
    let (history, _) = case.expect_history();
    assert!(!history.contains("pending for target"), "{history}");
}

#[test]
fn a_kill_during_delivery_resumes_with_no_duplicate_writes() {
    let case = Case::new("rate \"5/s\"");
    let people: Vec<(String, String)> = (1..=10)
        .map(|i| (format!("e{i}"), format!("user{i}")))
        .collect();
    let rows: Vec<(&str, &str, &str)> = people
        .iter()
        .map(|(id, u)| (id.as_str(), u.as_str(), "eng"))
        .collect();
    case.extract(&rows);
    let mut child = case
        .command("run", &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while case.server.count("POST") < 4 {
        assert!(Instant::now() < deadline, "delivery did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no chance to finish anything.
    child.kill().unwrap();
    child.wait().unwrap();
    let before = case.server.count("POST");
    assert!(before < 10, "killed before the end ({before} POSTs)");
    let (_, _) = case.expect("run", &[], 0);
    let users = case.server.users();
    assert_eq!(users.len(), 10);
    let posts = case
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v2/Users")
        .count();
    assert_eq!(posts, 10, "each user POSTed once: {:?}", case.writes());
    assert_eq!(case.server.count("PATCH"), 0, "{:?}", case.writes());
    assert_eq!(case.server.count("DELETE"), 0);
    assert!(
        case.server.requests().iter().all(|r| r.status < 400),
        "{:?}",
        case.writes()
    );
    case.server.clear_log();
    case.expect("run", &[], 0);
    assert_eq!(case.writes(), Vec::<String>::new(), "then nothing more");
}

#[test]
fn the_integrity_gate_counts_target_deletions() {
    // One leaver per run passes the run's gate; purging both at once would
    // delete two accounts, more than max-removed 1 allows.
    let case = Case::with_integrity("integrity { max-removed 1 }", "delete-after-purge #true");
    case.extract(&[ADA, GRACE, ALAN]);
    case.expect("run", &[], 0);
    case.extract(&[ADA, GRACE]);
    case.expect("run", &["--now", &chrono_now_plus_days(1)], 0);
    case.extract(&[ADA]);
    case.expect("run", &["--now", &chrono_now_plus_days(2)], 0);
    case.server.clear_log();
    let output = case.rollcall(
        "run",
        &["--now", &chrono_now_plus_days(120), "--format", "json"],
    );
    let document = stdout_json(&output);
    assert_matches_schema(&document, "plan-output.schema.json");
    assert_eq!(document["exit_code"], 6, "{document:#}");
    assert_eq!(document["summary"]["purged"], 2, "{document:#}");
    let target = &document["targets"][0];
    let held = target["held"].as_str().unwrap();
    assert!(
        held.contains("2 deactivations/deletions exceed max-removed (1)"),
        "{held}"
    );
    assert_eq!(
        case.writes(),
        Vec::<String>::new(),
        "no DELETE beyond the gate"
    );
    assert!(case.user("grace").is_some() && case.user("alan").is_some());
}

#[test]
fn check_reach_lists_the_target_in_full() {
    let case = Case::new("");
    case.extract(&[ADA, GRACE, ALAN]);
    case.expect("run", &[], 0);
    let check = || {
        let pipeline = case.path("people.kdl");
        let output = rollcall()
            .args(["check", arg(&pipeline), "--reach"])
            .env("SCIM_TOKEN", scim::TOKEN)
            .output()
            .unwrap();
        parts(&output)
    };
    case.server.clear_log();
    let (code, out, err) = check();
    assert_eq!(code, 0, "{out}{err}");
    // Three users and one group, over pages of two.
    assert!(
        out.contains("target saas: listed in full: 4 object(s)"),
        "{out}"
    );
    assert!(case.writes().is_empty(), "check writes nothing");
    case.server.switch("fail-listing", true);
    let (code, out, err) = check();
    assert_ne!(code, 0, "{out}{err}");
    assert!(out.contains("listing of saas is incomplete"), "{out}{err}");
}

/// RFC 3339 time `days` from now (the lifecycle's `--now`).
fn chrono_now_plus_days(days: u64) -> String {
    let now = std::time::SystemTime::now() + Duration::from_secs(days * 86_400);
    let secs = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let (d, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = d + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
