//! Feeds out (issue 6), end to end through the `rollcall` binary with real
//! servers on loopback: the MIT provisioning CSV (seed 003) delivered to an
//! OpenSSH sshd, the Cora action file (seed 004) across a scripted sequence
//! of runs, the Cora-style inbound file with its whole-file validation and
//! per-user failures, and failure notifications by email and webhook.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::servers::{Smtp, Sshd, Webhook};
use support::{Backend, State, arg, parts, repo, rollcall, says, show, state_dump, stdout_json};

fn pipeline(name: &str) -> PathBuf {
    repo().join("pipelines").join(name)
}

fn example(path: &str) -> PathBuf {
    repo().join("examples").join(path)
}

/// `rollcall run PIPELINE --state DB --out-dir OUT ARGS` with `env` set.
fn run_with(pipeline: &Path, db: &Path, out: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = rollcall();
    cmd.args([
        "run",
        arg(pipeline),
        "--state",
        arg(db),
        "--out-dir",
        arg(out),
    ])
    .args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().expect("rollcall runs")
}

/// An email as text, with quoted-printable soft line breaks undone.
fn unfold(message: &str) -> String {
    message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

// ---------------------------------------------------------------- MIT (003)

/// The SFTP settings of the MIT pipeline, pointed at the test sshd.
fn sftp_env(sshd: &Sshd, host_key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("COURSELEAF_SFTP_HOST", format!("127.0.0.1:{}", sshd.port)),
        ("COURSELEAF_SFTP_USER", sshd.user.clone()),
        (
            "COURSELEAF_SFTP_KEY_FILE",
            sshd.client_key.display().to_string(),
        ),
        ("COURSELEAF_SFTP_HOST_KEY", host_key.to_owned()),
    ]
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn mit_feed_is_byte_identical_to_the_expected_file_and_delivered_by_sftp(backend: Backend) {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let env = sftp_env(&sshd, &sshd.known_hosts_line);
    let expected = std::fs::read(repo().join("tests/feeds/userprovisioning.expected.csv")).unwrap();
    let pipeline = pipeline("cim-user-provisioning.kdl");

    let output = run_with(&pipeline, &db, &out, &[], &borrowed(&env));
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "{}", show(&output));
    // 8 people: 6 kept, sviewer filtered (no subject role), nroles without
    // any role row (dropped by the lookup and reported).
    assert!(
        stdout.contains("8 read, 6 valid, 0 invalid, 2 filtered | 6 created"),
        "{stdout}"
    );
    assert!(stdout.contains("lookup roles: 9 records"), "{stdout}");
    assert!(
        stdout.contains("7 matched, 1 without a match (drop)"),
        "{stdout}"
    );
    assert!(
        says(&stderr, "key \"nroles\": lookup roles has no \"nroles\""),
        "{stderr}"
    );

    let written = std::fs::read(out.join("userprovisioning.csv")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&expected),
        "the feed differs from tests/feeds/userprovisioning.expected.csv"
    );
    assert_eq!(written, expected, "byte for byte");
    let delivered = std::fs::read(sshd.remote("userprovisioning/userprovisioning.csv")).unwrap();
    assert_eq!(delivered, expected, "the SFTP server holds the same bytes");
    assert!(
        stdout.contains(&format!(
            "sftp://{}@127.0.0.1:{}/~/userprovisioning/userprovisioning.csv",
            sshd.user, sshd.port
        )),
        "{stdout}"
    );

    // The nightly run with nothing new delivers the same file again, over
    // the existing one, leaving no temporary file behind.
    let output = run_with(&pipeline, &db, &out, &[], &borrowed(&env));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    assert!(parts(&output).1.contains("no change"), "{}", show(&output));
    let delivered = std::fs::read(sshd.remote("userprovisioning/userprovisioning.csv")).unwrap();
    assert_eq!(delivered, expected);
    let names: Vec<String> = std::fs::read_dir(sshd.remote("userprovisioning"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["userprovisioning.csv"], "no temporary file is left");
    let local: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        local,
        ["userprovisioning.csv"],
        "no temporary file is left locally"
    );
}

fn an_unpinned_host_key_is_refused_before_logging_in(backend: Backend) {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    // A well-formed pin of another key (the client's own).
    let other = std::fs::read_to_string(sshd.client_key.with_extension("pub")).unwrap();
    let env = sftp_env(
        &sshd,
        &format!("[127.0.0.1]:{} {}", sshd.port, other.trim()),
    );
    let output = run_with(
        &pipeline("cim-user-provisioning.kdl"),
        &db,
        &out,
        &[],
        &borrowed(&env),
    );
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{}", show(&output));
    assert!(
        says(&stderr, "does not match the pinned host key"),
        "{stderr}"
    );
    assert!(
        says(&stderr, "host key SHA256:"),
        "names the key it saw: {stderr}"
    );
    assert!(
        !sshd
            .remote("userprovisioning/userprovisioning.csv")
            .exists()
    );
    // The change is applied but not delivered, and history says so.
    let history = support::run(&["history", "cim-user-provisioning", "--state", arg(&db)]);
    assert!(
        says(&parts(&history).1, "applied, but not delivered"),
        "{}",
        show(&history)
    );
    assert!(
        says(
            &parts(&history).1,
            "outputs not delivered: `rollcall deliver PIPELINE --run 1`"
        ),
        "{}",
        show(&history)
    );

    // A pin that is not a key at all is refused too, never accepted blindly.
    let env = sftp_env(&sshd, "accept-new");
    let output = run_with(
        &pipeline("cim-user-provisioning.kdl"),
        &db,
        &out,
        &[],
        &borrowed(&env),
    );
    assert_eq!(parts(&output).0, 1, "{}", show(&output));
    assert!(
        says(
            &parts(&output).2,
            "neither a `SHA256:` fingerprint nor a known-hosts line"
        ),
        "{}",
        show(&output)
    );
    // The next run starts by saying that run 1's outputs never went out.
    assert!(
        says(
            &parts(&output).2,
            "run 1 of cim-user-provisioning was applied but its outputs were never delivered"
        ),
        "{}",
        show(&output)
    );
    assert!(
        !sshd
            .remote("userprovisioning/userprovisioning.csv")
            .exists()
    );

    // With the fingerprint form of the right pin, `rollcall deliver` sends
    // the last applied run's file (run 2: the second, refused, attempt
    // found nothing new to apply).
    let public = std::fs::read_to_string(sshd.dir.path().join("host_key.pub")).unwrap();
    let blob = base64_decode(public.split_whitespace().nth(1).unwrap());
    let fingerprint = rollcall_engine::upload::host_key_fingerprint(&blob);
    let env = sftp_env(&sshd, &fingerprint);
    let output = deliver_mit(&db, &out, &env, &[]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    assert!(
        parts(&output)
            .1
            .contains("cim-user-provisioning run 2: delivered"),
        "{}",
        show(&output)
    );
    let expected = std::fs::read(repo().join("tests/feeds/userprovisioning.expected.csv")).unwrap();
    assert_eq!(
        std::fs::read(sshd.remote("userprovisioning/userprovisioning.csv")).unwrap(),
        expected
    );

    // Run 1 itself is still undelivered until it is delivered by number.
    let history = support::run(&["history", "cim-user-provisioning", "--state", arg(&db)]);
    assert!(says(&parts(&history).1, "--run 1`"), "{}", show(&history));
    let output = deliver_mit(&db, &out, &env, &["--run", "1"]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let history = support::run(&["history", "cim-user-provisioning", "--state", arg(&db)]);
    assert!(
        !says(&parts(&history).1, "outputs not delivered"),
        "{}",
        show(&history)
    );
}

/// `rollcall deliver` of the MIT feed pipeline with `env` and `extra` arguments.
fn deliver_mit(db: &Path, out: &Path, env: &[(&str, String)], extra: &[&str]) -> Output {
    let mut deliver = rollcall();
    deliver.args([
        "deliver",
        arg(&pipeline("cim-user-provisioning.kdl")),
        "--state",
        arg(db),
        "--out-dir",
        arg(out),
    ]);
    deliver.args(extra);
    for (name, value) in env {
        deliver.env(name, value);
    }
    deliver.output().unwrap()
}

/// Standard base64 (an OpenSSH public key's blob), without a crate.
fn base64_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | alphabet.iter().position(|&a| a == c).unwrap() as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

fn a_failed_run_sends_exactly_one_email_naming_the_pipeline_and_the_error(backend: Backend) {
    let smtp = Smtp::start();
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let broken = dir.path().join("people.json");
    std::fs::write(
        &broken,
        "[\n  {\"kerberosId\": \"jadmin\"}\n  {\"kerberosId\": \"frang\"}\n]\n",
    )
    .unwrap();
    let port = smtp.port.to_string();
    let env = [
        ("ROLLCALL_SMTP_HOST", "127.0.0.1"),
        ("ROLLCALL_SMTP_PORT", port.as_str()),
        ("CIM_EMAIL_TO", "cim-courses-support@mit.edu"),
    ];
    // Uploads skipped: without their settings the run would refuse to start
    // (issue 16), before the extract is read.
    let output = run_with(
        &pipeline("cim-user-provisioning.kdl"),
        &db,
        &out,
        &["--input", arg(&broken), "--skip-upload"],
        &env,
    );
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{}", show(&output));
    assert!(says(&stderr, "people.json:3:3"), "{stderr}");

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "exactly one email: {messages:#?}");
    let message = &unfold(&messages[0]);
    assert!(
        message
            .contains("Subject: Error in User-Provisioning Outbound Feed (cim-user-provisioning)"),
        "{message}"
    );
    assert!(
        message.contains("To: cim-courses-support@mit.edu"),
        "{message}"
    );
    assert!(
        message.contains("Pipeline: cim-user-provisioning"),
        "{message}"
    );
    assert!(message.contains("Outcome: failed"), "{message}");
    assert!(
        message.contains("people.json:3:3: expected `,` or `]` after an array element"),
        "{message}"
    );
    assert!(
        !out.join("userprovisioning.csv").exists(),
        "a failed run writes no feed"
    );

    // `on=failure`: a run that succeeds mails nobody (its upload is skipped).
    let output = run_with(
        &pipeline("cim-user-provisioning.kdl"),
        &db,
        &out,
        &["--skip-upload"],
        &env,
    );
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    assert_eq!(smtp.messages().len(), 1, "no mail for a successful run");
}

fn a_notification_that_cannot_be_sent_never_changes_the_exit_code(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let broken = dir.path().join("people.json");
    std::fs::write(&broken, "[{\"kerberosId\": \"jadmin\"}").unwrap();
    // Nothing listens on this port.
    let port = support::servers::free_port().to_string();
    let env = [
        ("ROLLCALL_SMTP_HOST", "127.0.0.1"),
        ("ROLLCALL_SMTP_PORT", port.as_str()),
        ("CIM_EMAIL_TO", "cim-courses-support@mit.edu"),
    ];
    let pipeline = pipeline("cim-user-provisioning.kdl");
    let args = ["--input", arg(&broken), "--skip-upload"];
    let output = run_with(&pipeline, &db, &out, &args, &env);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "the run's own failure: {}", show(&output));
    assert!(says(&stderr, "missing `]`"), "{stderr}");
    assert!(says(&stderr, "notification not sent"), "{stderr}");
}

// --------------------------------------------------------------- Cora (004)

/// Runs the Cora outbound pipeline on one day's registry extract.
fn cora_day(db: &Path, out: &Path, day: u32, reassign_to: &str, extra: &[(&str, &str)]) -> Output {
    let input = example(&format!("cora/registry-day-{day}.jsonl"));
    let mut env = vec![("CORA_REASSIGN_TO", reassign_to)];
    env.extend_from_slice(extra);
    run_with(
        &pipeline("cora-user-sync.kdl"),
        db,
        out,
        &["--input", arg(&input), "--skip-upload", "--format", "json"],
        &env,
    )
}

fn actions(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join("cora-users.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn by_id<'a>(actions: &'a [Value], id: &str) -> &'a Value {
    actions
        .iter()
        .find(|a| a["ExternalId"] == id)
        .unwrap_or_else(|| panic!("no action for {id}: {actions:#?}"))
}

fn cora_actions_give_one_of_each_status_across_join_change_leave_and_return(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let mut seen = std::collections::BTreeSet::new();

    // Day 1: three joiners.
    let output = cora_day(&db, &out, 1, "E1001", &[]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let day1 = actions(&out);
    assert_eq!(day1.len(), 3);
    assert!(day1.iter().all(|a| a["status"] == 0), "{day1:#?}");
    let dana = by_id(&day1, "E1001");
    assert_eq!(dana["Email"], "dana.boss@example.org");
    assert_eq!(dana["Culture"], "en-GB");
    assert_eq!(dana["TimeZone"], "UTC");
    assert_eq!(dana["EnableLogin"], true);
    assert_eq!(
        dana["UserGroups"],
        serde_json::json!(["Safety Managers", "System Wide Access"])
    );
    seen.extend(day1.iter().map(|a| a["status"].as_u64().unwrap()));

    // Day 2: Alex changes job, Sam leaves, Kim joins.
    let output = cora_day(&db, &out, 2, "E1001", &[]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let day2 = actions(&out);
    assert_eq!(day2.len(), 3, "{day2:#?}");
    let alex = by_id(&day2, "E1002");
    assert_eq!(alex["status"], 1);
    // An update carries every field, not only the changed job title.
    for field in [
        "Email",
        "Forename",
        "Surname",
        "UserName",
        "JobTitle",
        "OrganisationalUnit",
        "Culture",
        "TimeZone",
        "EnableLogin",
    ] {
        assert!(alex.get(field).is_some(), "update lacks {field}: {alex}");
    }
    assert_eq!(alex["JobTitle"], "Captain");
    assert_eq!(alex["Forename"], "Alex");
    let sam = by_id(&day2, "E1003");
    assert_eq!(
        sam,
        &serde_json::json!({"ExternalId": "E1003", "ReassignedUserId": "E1001", "status": 2})
    );
    assert_eq!(by_id(&day2, "E1004")["status"], 0);
    seen.extend(day2.iter().map(|a| a["status"].as_u64().unwrap()));

    // Day 3: Sam returns: Reinstate, not Create. He is no longer listed in
    // the protected group, but the file never removes him from it.
    let output = cora_day(&db, &out, 3, "E1001", &[]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let day3 = actions(&out);
    assert_eq!(day3.len(), 1, "{day3:#?}");
    let sam = by_id(&day3, "E1003");
    assert_eq!(sam["status"], 3);
    assert_eq!(
        sam["UserGroups"],
        serde_json::json!(["Maintenance", "System Wide Access"])
    );
    seen.extend(day3.iter().map(|a| a["status"].as_u64().unwrap()));

    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);

    // `rollcall deliver --run 2` rebuilds day 2's file from the change log.
    std::fs::remove_file(out.join("cora-users.json")).unwrap();
    let output = rollcall()
        .args([
            "deliver",
            arg(&pipeline("cora-user-sync.kdl")),
            "--state",
            arg(&db),
        ])
        .args(["--out-dir", arg(&out), "--run", "2", "--skip-upload"])
        .env("CORA_REASSIGN_TO", "E1001")
        .output()
        .unwrap();
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    assert_eq!(actions(&out), day2, "the same actions as the run wrote");
}

fn an_archive_whose_reassignment_target_is_not_present_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let hook = Webhook::start(200);
    assert_eq!(parts(&cora_day(&db, &out, 1, "E1001", &[])).0, 0);
    let before = state_dump(&db);
    let day1 = std::fs::read(out.join("cora-users.json")).unwrap();

    let output = cora_day(&db, &out, 2, "E9999", &[("CORA_ALERT_WEBHOOK", &hook.url)]);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{}", show(&output));
    assert!(
        says(&stderr, "would be reassigned to ExternalId \"E9999\""),
        "{stderr}"
    );
    assert_eq!(state_dump(&db), before, "nothing changed");
    assert_eq!(
        std::fs::read(out.join("cora-users.json")).unwrap(),
        day1,
        "no new file"
    );

    // `notify webhook ... on=problem` POSTed the failure.
    let bodies = hook.received();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let event: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(event["pipeline"], "cora-user-sync");
    assert_eq!(event["outcome"], "failed");
    // The failed run is the newest in history (SQLite numbers it 2;
    // PostgreSQL's sequence may have spent a number on the rolled-back try).
    let history = support::run(&[
        "history",
        "cora-user-sync",
        "--state",
        arg(&db),
        "--format",
        "json",
    ]);
    let newest = stdout_json(&history)["runs"][0].clone();
    assert_eq!(newest["outcome"], "failed", "{newest}");
    assert_eq!(event["run"], newest["id"], "the failed run's id: {event}");
    if backend == Backend::Sqlite {
        assert_eq!(event["run"], 2, "{event}");
    }
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo().join("schemas/webhook-payload.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&event), "{event}");
    assert!(
        event["error"].as_str().unwrap().contains("E9999"),
        "{event}"
    );
}

// ------------------------------------------------------- Cora inbound (004)

fn inbound(db: &Path, out: &Path, file: &Path) -> Output {
    run_with(
        &pipeline("cora-inbound.kdl"),
        db,
        out,
        &["--input", arg(file), "--format", "json"],
        &[],
    )
}

fn each_malformed_cora_file_gives_a_located_error_and_changes_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let output = inbound(&db, &out, &example("cora/inbound/users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let before = state_dump(&db);

    for (file, place, message) in [
        // 9.2: the missing comma between `}` and `{`.
        (
            "missing-comma.json",
            ":12:1:",
            "expected `,` or `]` after an array element, found `{`",
        ),
        // 9.3: the missing square brackets around the group names.
        ("missing-group-brackets.json", ":9:35:", "expected `:`"),
        // 9.4: the missing closing square bracket.
        ("missing-closing-bracket.json", ":11:2:", "missing `]`"),
    ] {
        let path = example("cora/inbound/malformed").join(file);
        let output = inbound(&db, &out, &path);
        let (code, _, stderr) = parts(&output);
        assert_eq!(code, 1, "{file}: {}", show(&output));
        let located = format!("{}{place} ", path.display());
        assert!(
            says(&stderr, &located),
            "{file}: expected {located:?} in\n{stderr}"
        );
        assert!(
            says(&stderr, message),
            "{file}: expected {message:?} in\n{stderr}"
        );
        assert_eq!(state_dump(&db), before, "{file} changed the store");
    }
}

fn an_invalid_action_refuses_the_whole_file_listing_every_error(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let output = inbound(&db, &out, &example("cora/inbound/users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let before = state_dump(&db);

    let output = inbound(&db, &out, &example("cora/inbound/invalid-fields.json"));
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 3, "refused as a whole: {}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["outcome"], "rejected");
    assert_eq!(report["summary"]["invalid"], 4);
    let problems: Vec<(u64, String)> = report["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bad| (bad["line"].as_u64().unwrap(), bad["problems"].to_string()))
        .collect();
    assert_eq!(problems.len(), 4, "every error is listed: {problems:#?}");
    assert!(
        problems[0].1.contains("/Email") && problems[0].1.contains("not-an-email"),
        "{problems:#?}"
    );
    assert!(
        problems[1].1.contains("/UserName") && problems[1].1.contains("a-name-far-too-long"),
        "{problems:#?}"
    );
    assert!(
        problems[2]
            .1
            .contains("\\\"Surname\\\" is a required property"),
        "{problems:#?}"
    );
    assert!(problems[3].1.contains("/status"), "{problems:#?}");
    assert_eq!(
        problems.iter().map(|p| p.0).collect::<Vec<_>>(),
        [1, 11, 21, 30]
    );
    assert!(says(&stderr, "max-invalid"), "{stderr}");
    assert_eq!(state_dump(&db), before, "nothing applied");
}

fn a_taken_user_name_or_email_fails_that_user_alone_and_the_rest_apply(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let output = inbound(&db, &out, &example("cora/inbound/users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));

    let output = inbound(&db, &out, &example("cora/inbound/duplicates.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["outcome"], "applied");
    let summary = &report["summary"];
    assert_eq!(
        (summary["created"].as_u64(), summary["removed"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    let conflicts = report["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    // UserName "test.user" is Test.User's (an earlier file), ignoring case.
    assert_eq!(conflicts[0]["key"], "someone.else@ideagen.com");
    assert_eq!(conflicts[0]["field"], "user_name");
    assert_eq!(conflicts[0]["held_by"], "test.user@ideagen.com");
    // The email was claimed earlier in this very file.
    assert_eq!(conflicts[1]["key"], "test3.again@ideagen.com");
    assert_eq!(conflicts[1]["field"], "email");
    assert_eq!(conflicts[1]["held_at"], 1);

    // The refused users were not created; the archive took effect.
    let plan = support::run(&[
        "show",
        "cora-inbound",
        "test2.user@ideagen.com",
        "--state",
        arg(&db),
    ]);
    assert!(parts(&plan).1.contains("Removed"), "{}", show(&plan));
    let refused = support::run(&[
        "show",
        "cora-inbound",
        "someone.else@ideagen.com",
        "--state",
        arg(&db),
    ]);
    assert_ne!(parts(&refused).0, 0, "{}", show(&refused));
}

/// One stored field of a Cora user, read back through `rollcall show`.
fn stored(db: &Path, key: &str, field: &str) -> Value {
    let output = support::run(&[
        "show",
        "cora-inbound",
        key,
        "--state",
        arg(db),
        "--format",
        "json",
    ]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    stdout_json(&output)["record"]["fields"][field].clone()
}

fn an_update_without_user_groups_leaves_the_groups_as_they_are(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let output = inbound(&db, &out, &example("cora/inbound/users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));

    let output = inbound(
        &db,
        &out,
        &example("cora/inbound/update-without-groups.json"),
    );
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    assert_eq!(stdout_json(&output)["summary"]["updated"], 2);
    let kept = ["Group 1", "Group 2", "Group 3"];
    // No UserGroups: the other fields change, the groups stay.
    let key = "test.user@ideagen.com";
    assert_eq!(stored(&db, key, "groups"), serde_json::json!(kept));
    assert_eq!(stored(&db, key, "job_title"), "Senior Test User");
    // UserGroups []: removed from every (non-system) group.
    let key = "test2.user@ideagen.com";
    assert_eq!(stored(&db, key, "groups"), serde_json::json!([]));
}

fn unknown_users_and_unknown_reassignment_targets_fail_per_user_and_are_reported(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let output = inbound(&db, &out, &example("cora/inbound/users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));

    let output = inbound(&db, &out, &example("cora/inbound/unknown-users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["outcome"], "applied");
    let summary = &report["summary"];
    assert_eq!(
        (summary["created"].as_u64(), summary["removed"].as_u64()),
        (Some(0), Some(0)),
        "an unknown Update creates nobody, a refused Archive removes nobody: {summary}"
    );
    assert_eq!(summary["updated"], 1, "the valid Update still applies");
    let refused: Vec<(u64, String, String)> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let text = |f: &str| r[f].as_str().unwrap().to_owned();
            (r["line"].as_u64().unwrap(), text("key"), text("reason"))
        })
        .collect();
    let unknown = "the key is not known: there is nothing to change or remove";
    assert_eq!(
        refused,
        [
            (1, "ghost.user@ideagen.com".into(), unknown.into()),
            (11, "nobody@ideagen.com".into(), unknown.into()),
            (
                16,
                "test2.user@ideagen.com".into(),
                "reassign_to \"tset.user@ideagen.com\" is not a known key".into()
            ),
        ]
    );
    assert_eq!(
        stored(&db, "test.user@ideagen.com", "job_title"),
        "Lead Test User"
    );
    let ghost = support::run(&[
        "show",
        "cora-inbound",
        "ghost.user@ideagen.com",
        "--state",
        arg(&db),
    ]);
    assert_ne!(parts(&ghost).0, 0, "never created: {}", show(&ghost));
    let still = support::run(&[
        "show",
        "cora-inbound",
        "test2.user@ideagen.com",
        "--state",
        arg(&db),
    ]);
    assert!(!parts(&still).1.contains("Removed"), "{}", show(&still));

    // The human report names each refused user.
    let text = run_with(
        &pipeline("cora-inbound.kdl"),
        &db,
        &out,
        &["--input", arg(&example("cora/inbound/unknown-users.json"))],
        &[],
    );
    let stderr = parts(&text).2;
    assert!(
        says(&stderr, "unknown-users.json:11 key \"nobody@ideagen.com\""),
        "{stderr}"
    );
}

fn a_misspelt_reassignment_field_refuses_the_whole_file(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (State::new(backend, dir.path()), dir.path().join("out"));
    let output = inbound(&db, &out, &example("cora/inbound/users.json"));
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let before = state_dump(&db);

    let output = inbound(
        &db,
        &out,
        &example("cora/inbound/misspelt-reassignment.json"),
    );
    assert_eq!(parts(&output).0, 3, "refused as a whole: {}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["outcome"], "rejected");
    let problems = report["invalid"][0]["problems"].to_string();
    assert!(
        problems.contains("'ReasignedUserId' was unexpected"),
        "{problems}"
    );
    assert!(
        problems.contains("\\\"ReassignedUserId\\\" is a required property"),
        "{problems}"
    );
    assert_eq!(state_dump(&db), before, "the valid Update was not applied");
}

// ------------------------------------------------- the other sinks, lookups

/// A small pipeline in its own folder: people joined with a lookup, all four
/// sink kinds but the action file.
fn scratch(dir: &Path, on_missing: &str) -> PathBuf {
    std::fs::write(
        dir.join("people.jsonl"),
        "{\"id\": \"a\", \"name\": \"Ann\", \"team\": \"t1\"}\n{\"id\": \"b\", \"name\": \"=Bob\", \"team\": \"t9\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("teams.csv"), "TEAM,LEAD\nt1,Lee\n").unwrap();
    let pipeline = dir.join("feed.kdl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
pipeline scratch {{
    source file "people.jsonl" {{ format jsonl }}
    key id
    map {{ id "id" required=#true; name "name"; team "team" }}
    lookup teams {{
        source file "teams.csv" {{ format csv }}
        key team_id
        on team
        on-missing {on_missing}
        map {{ team_id "TEAM" required=#true; lead "LEAD" }}
    }}
    sink csv "out/people.csv" {{
        column ID id
        column NAME name
        column LEAD lead
    }}
    sink json "out/people.json" {{ fields id lead }}
    sink jsonl "out/changes.jsonl"
}}
"#
        ),
    )
    .unwrap();
    pipeline
}

fn csv_json_and_jsonl_sinks_write_current_records_and_this_runs_changes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = scratch(dir.path(), "keep");
    let db = State::new(backend, dir.path());
    let output = support::run(&["run", arg(&pipeline), "--state", arg(&db)]);
    let (code, stdout, _) = parts(&output);
    assert_eq!(code, 0, "{}", show(&output));
    assert!(
        stdout.contains("1 matched, 1 without a match (keep)"),
        "{stdout}"
    );
    let out = dir.path().join("out");
    // Necessary quoting, the formula guard on by default, CRLF rows.
    assert_eq!(
        std::fs::read_to_string(out.join("people.csv")).unwrap(),
        "ID,NAME,LEAD\r\na,Ann,Lee\r\nb,'=Bob,\r\n"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("people.json")).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"id": "a", "lead": "Lee"}, {"id": "b", "lead": null}])
    );
    let events: Vec<Value> = std::fs::read_to_string(out.join("changes.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["action"], "create");
    assert_eq!(events[0]["fields"]["lead"], "Lee");
    assert_eq!(events[0]["pipeline"], "scratch");

    // Nothing changed: the current-state files are written again, the
    // change file is left as it was (no empty run overwrites it).
    std::fs::write(out.join("changes.jsonl"), "previous\n").unwrap();
    let output = support::run(&["run", arg(&pipeline), "--state", arg(&db)]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    assert_eq!(
        std::fs::read_to_string(out.join("changes.jsonl")).unwrap(),
        "previous\n"
    );
    assert!(out.join("people.csv").exists());

    // Bob leaves: one remove event.
    std::fs::write(
        dir.path().join("people.jsonl"),
        "{\"id\": \"a\", \"name\": \"Ann\", \"team\": \"t1\"}\n",
    )
    .unwrap();
    let output = support::run(&["run", arg(&pipeline), "--state", arg(&db)]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let events = std::fs::read_to_string(out.join("changes.jsonl")).unwrap();
    let event: Value = serde_json::from_str(events.trim()).unwrap();
    assert_eq!(
        (event["action"].as_str(), event["key"].as_str()),
        (Some("remove"), Some("b"))
    );
    assert_eq!(event["fields"]["name"], "=Bob", "the record as it was");
}

fn a_lookup_miss_can_make_the_record_invalid(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = scratch(dir.path(), "error");
    let db = State::new(backend, dir.path());
    let output = support::run(&[
        "run",
        arg(&pipeline),
        "--state",
        arg(&db),
        "--format",
        "json",
    ]);
    assert_eq!(parts(&output).0, 0, "{}", show(&output));
    let report = stdout_json(&output);
    assert_eq!(report["summary"]["invalid"], 1);
    assert_eq!(report["invalid"][0]["key"], "b");
    assert_eq!(
        report["invalid"][0]["problems"][0],
        "lookup teams has no record with team_id \"t9\""
    );
    assert_eq!(report["lookups"][0]["unmatched"], 1);
}

fn a_sink_never_writes_through_a_link_out_of_its_folder(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = scratch(dir.path(), "keep");
    let db = State::new(backend, dir.path());
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "untouched").unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("out/people.csv")).unwrap();
    let output = support::run(&["run", arg(&pipeline), "--state", arg(&db)]);
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{}", show(&output));
    assert!(says(&stderr, "is not a plain file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched");
}

backends!(
    mit_feed_is_byte_identical_to_the_expected_file_and_delivered_by_sftp,
    an_unpinned_host_key_is_refused_before_logging_in,
    a_failed_run_sends_exactly_one_email_naming_the_pipeline_and_the_error,
    a_notification_that_cannot_be_sent_never_changes_the_exit_code,
    cora_actions_give_one_of_each_status_across_join_change_leave_and_return,
    an_archive_whose_reassignment_target_is_not_present_is_refused_and_changes_nothing,
    each_malformed_cora_file_gives_a_located_error_and_changes_nothing,
    an_invalid_action_refuses_the_whole_file_listing_every_error,
    a_taken_user_name_or_email_fails_that_user_alone_and_the_rest_apply,
    an_update_without_user_groups_leaves_the_groups_as_they_are,
    unknown_users_and_unknown_reassignment_targets_fail_per_user_and_are_reported,
    a_misspelt_reassignment_field_refuses_the_whole_file,
    csv_json_and_jsonl_sinks_write_current_records_and_this_runs_changes,
    a_lookup_miss_can_make_the_record_invalid,
    a_sink_never_writes_through_a_link_out_of_its_folder,
);
