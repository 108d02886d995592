//! Environment checks (issue 16): `rollcall check` lists every value a
//! pipeline reads from the environment by name, never its value; with
//! `--reach` it contacts the source and each target, here the loopback
//! servers the suite starts (S3, sshd, SMTP, an HTTP listener). `plan`
//! warns about values `run` would need; `run` refuses before it commits
//! when its outputs' settings are missing, and the store is unchanged.

#[path = "support/s3_server.rs"]
mod s3_server;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use s3_server::{AwsFiles, S3Server};
use support::servers::{Smtp, Sshd, Webhook, free_port};
use support::{arg, parts, repo, rollcall, says, show, state_dump, stdout_json};

/// The variables the Cora pipeline reads, unset, so the developer's own
/// environment cannot answer for the test.
const CORA_VARIABLES: &[&str] = &["CORA_REASSIGN_TO", "CORA_BUCKET", "CORA_ALERT_WEBHOOK"];

fn cora(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = rollcall();
    for name in CORA_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.args(args).env("RUST_LOG", "off");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn cora_pipeline() -> PathBuf {
    repo().join("pipelines/cora-user-sync.kdl")
}

fn cora_extract(day: u32) -> PathBuf {
    repo().join(format!("examples/cora/registry-day-{day}.jsonl"))
}

/// Runs the Cora pipeline on one day's extract into `dir`.
fn cora_run(dir: &Path, day: u32, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let (pipeline, input) = (cora_pipeline(), cora_extract(day));
    let (db, out) = (dir.join("state.db"), dir.join("out"));
    let args = [
        "run",
        arg(&pipeline),
        "--input",
        arg(&input),
        "--state",
        arg(&db),
        "--out-dir",
        arg(&out),
    ];
    cora(&[&args[..], extra].concat(), env)
}

/// The store's state and the number of runs it has recorded.
fn store_state(db: &Path) -> (String, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM runs", [], |row| row.get(0))
        .unwrap();
    (state_dump(db), runs)
}

#[test]
fn plan_of_cora_without_its_reassignment_variable_warns_and_run_refuses_before_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let first = cora_run(
        dir.path(),
        1,
        &["--skip-upload"],
        &[("CORA_REASSIGN_TO", "E1001")],
    );
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    let before = store_state(&db);

    let (pipeline, input) = (cora_pipeline(), cora_extract(2));
    let plan = cora(
        &[
            "plan",
            arg(&pipeline),
            "--input",
            arg(&input),
            "--state",
            arg(&db),
        ],
        &[],
    );
    let (code, _, stderr) = parts(&plan);
    assert_eq!(code, 0, "{}", show(&plan));
    assert!(
        stderr.contains(
            "warning: CORA_REASSIGN_TO is not set: it is the action sink's `reassign-to` \
             (sink, after the commit); `run` refuses to start without it"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: CORA_BUCKET is not set"),
        "{stderr}"
    );

    let refused = cora_run(dir.path(), 2, &["--skip-upload"], &[]);
    let (code, _, stderr) = parts(&refused);
    assert_eq!(code, 1, "{}", show(&refused));
    assert!(
        says(
            &stderr,
            "cora-user-sync would commit and then fail to deliver its outputs: \
             CORA_REASSIGN_TO (the action sink's `reassign-to`) is not set"
        ),
        "{stderr}"
    );
    assert_eq!(store_state(&db), before, "the store is unchanged");

    // Uploads need their settings too, unless they are skipped.
    let refused = cora_run(dir.path(), 2, &[], &[("CORA_REASSIGN_TO", "E1001")]);
    let (code, _, stderr) = parts(&refused);
    assert_eq!(code, 1, "{}", show(&refused));
    assert!(
        says(&stderr, "CORA_BUCKET (the s3 upload's bucket) is not set"),
        "{stderr}"
    );
    assert_eq!(store_state(&db), before, "the store is unchanged");
}

#[test]
fn check_lists_missing_values_by_name_and_never_prints_values() {
    let secret = "E1001-secret-value";
    let pipeline = cora_pipeline();
    let output = cora(&["check", arg(&pipeline)], &[("CORA_REASSIGN_TO", secret)]);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 1, "{}", show(&output));
    assert_eq!(
        stdout,
        "cora-user-sync: 3 environment values, 2 missing\n  \
         set     CORA_REASSIGN_TO    the action sink's `reassign-to` (sink, after the commit)\n  \
         missing CORA_BUCKET         the s3 upload's bucket (upload, after the commit)\n  \
         missing CORA_ALERT_WEBHOOK  the webhook URL (notification)\n"
    );
    assert!(!stdout.contains(secret) && !stderr.contains(secret));

    let json = cora(
        &["check", arg(&pipeline), "--format", "json"],
        &[("CORA_REASSIGN_TO", secret)],
    );
    let document = stdout_json(&json);
    support::assert_matches_schema(&document, "check-output.schema.json");
    assert_eq!(document["outcome"], "not-ready");
    assert_eq!(
        document["error"]["message"],
        "CORA_BUCKET is not set; CORA_ALERT_WEBHOOK is not set"
    );
    assert!(
        !json
            .stdout
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    );
}

/// A pipeline that reads from S3 and delivers to S3 and SFTP, notifies by
/// email and webhook, and matches with an external command.
fn reaching_pipeline(dir: &Path) -> PathBuf {
    let path = dir.join("reach.kdl");
    std::fs::write(
        &path,
        r#"pipeline people-feed {
    source s3 bucket=(env)"SRC_BUCKET" prefix="exports/" {
        endpoint (env)"S3_ENDPOINT"
        format jsonl
    }
    key id
    map {
        id "id" required=#true
    }
    match external command="cat" timeout="2s"
    sink csv "out/people.csv" {
        column ID id
        upload s3 bucket=(env)"OUT_BUCKET" key="feeds/people.csv" endpoint=(env)"S3_ENDPOINT"
        upload sftp host=(env)"SFTP_HOST" user=(env)"SFTP_USER" key-file=(env)"SFTP_KEY" path="people.csv" host-key=(env)"SFTP_HOST_KEY"
    }
    notify email "ops@example.org" on=failure
    notify webhook (env)"HOOK_URL" on=problem
}
"#,
    )
    .unwrap();
    path
}

/// `rollcall check --reach` of that pipeline, with every setting pointed
/// at the servers given, then `changes` applied.
fn check_reach(
    pipeline: &Path,
    servers: (&S3Server, &Sshd, &Smtp, &Webhook),
    aws: &AwsFiles,
    changes: &[(&str, String)],
) -> Output {
    let (s3, sshd, smtp, hook) = servers;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    aws.apply(&mut cmd);
    cmd.env("NO_COLOR", "1")
        .env("RUST_LOG", "off")
        .env("ROLLCALL_S3_PATH_STYLE", "true")
        .env("S3_ENDPOINT", &s3.url)
        .env("SRC_BUCKET", "source")
        .env("OUT_BUCKET", "outbox")
        .env("SFTP_HOST", format!("127.0.0.1:{}", sshd.port))
        .env("SFTP_USER", &sshd.user)
        .env("SFTP_KEY", &sshd.client_key)
        .env("SFTP_HOST_KEY", &sshd.known_hosts_line)
        .env("ROLLCALL_SMTP_HOST", "127.0.0.1")
        .env("ROLLCALL_SMTP_PORT", smtp.port.to_string())
        .env("HOOK_URL", &hook.url);
    for (name, value) in changes {
        cmd.env(name, value);
    }
    cmd.args(["check", arg(pipeline), "--reach"])
        .output()
        .unwrap()
}

#[test]
fn check_reach_contacts_every_target_and_a_wrong_one_fails_by_name() {
    let s3 = S3Server::start_denying(&["denied"]);
    s3.put(
        "source",
        "exports/2025-03-01.jsonl",
        b"{\"id\":\"1\"}\n",
        s3_server::at(1_700_000_000),
    );
    std::fs::create_dir_all(s3.bucket("outbox").join("feeds")).unwrap();
    let aws = AwsFiles::new(true);
    let (sshd, smtp, hook) = (Sshd::start(), Smtp::start(), Webhook::start(200));
    let dir = tempfile::tempdir().unwrap();
    let pipeline = reaching_pipeline(dir.path());
    let servers = (&s3, &sshd, &smtp, &hook);

    let ready = check_reach(&pipeline, servers, &aws, &[]);
    let (code, stdout, _) = parts(&ready);
    assert_eq!(code, 0, "{}", show(&ready));
    let reach = stdout.split_once("\nreach: ").map(|(_, r)| r).unwrap_or("");
    assert!(reach.starts_with("6 targets, 0 failed\n"), "{stdout}");
    for line in [
        "  ok     source s3 prefix \"exports/\": found s3://source/exports/2025-03-01.jsonl\n",
        "  ok     matcher command \"cat\": found ",
        "  ok     upload s3 of sink out/people.csv: listed s3://outbox/feeds/\n",
        "  ok     upload sftp of sink out/people.csv: logged in to sftp://",
        "  ok     notify email via smtp 127.0.0.1:",
        "  ok     notify webhook http://127.0.0.1:",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }
    // The listener saw a connection, and no request in it: nothing was POSTed.
    let bodies = hook.received();
    assert!(bodies.iter().all(String::is_empty), "{bodies:?}");
    assert!(smtp.messages().is_empty(), "no mail is sent");

    // Each wrong setting fails its own target, by name.
    let other_key = std::fs::read_to_string(sshd.client_key.with_extension("pub")).unwrap();
    let wrong: [(&str, String, &str); 4] = [
        (
            "SFTP_HOST_KEY",
            format!("[127.0.0.1]:{} {}", sshd.port, other_key.trim()),
            "  failed upload sftp of sink out/people.csv: sftp 127.0.0.1:",
        ),
        (
            "OUT_BUCKET",
            "denied".into(),
            "  failed upload s3 of sink out/people.csv: ",
        ),
        (
            "ROLLCALL_SMTP_PORT",
            free_port().to_string(),
            "  failed notify email via smtp 127.0.0.1:",
        ),
        (
            "HOOK_URL",
            format!("http://127.0.0.1:{}/hook", free_port()),
            "  failed notify webhook http://127.0.0.1:",
        ),
    ];
    for (name, value, line) in wrong {
        let output = check_reach(&pipeline, servers, &aws, &[(name, value)]);
        let (code, stdout, _) = parts(&output);
        assert_eq!(code, 1, "{name}: {}", show(&output));
        assert!(stdout.contains("6 targets, 1 failed"), "{name}: {stdout}");
        assert!(stdout.contains(line), "{name}: {line:?} in:\n{stdout}");
    }
}
