//! Secrets: values of `(env)` settings are read only when a pipeline runs
//! (`engine/src/env.rs`) and never written anywhere. A planted secret is put
//! in every environment variable a pipeline refers to, every command is run
//! with `RUST_LOG=trace` (text and JSON logs), and every output is searched
//! for it: stdout and stderr of each command, the JSON documents, the state
//! store and its WAL, and every file the commands leave behind.
//!
//! When sinks, uploads and notifications land they resolve more of these
//! variables; this test then covers their outputs too (the files they
//! write are under the same folder, which is searched whole).

mod support;

use std::path::Path;
use std::process::Output;

use support::{arg, parts, rollcall};

const SECRET: &str = "pl4nted-S3CRET-value-5d8f1c";

/// Variables holding secrets: the pipeline's password and webhook URL (a
/// token in its path), the SMTP password, and the AWS credentials the S3
/// client reads from the environment.
const SECRETS: &[&str] = &[
    "SFTP_PASSWORD",
    "ALERT_WEBHOOK",
    "ROLLCALL_SMTP_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Variables holding ordinary settings, which may appear in output (a
/// bucket names the delivery it read). The endpoint is a closed loopback
/// port, so nothing ever leaves the machine.
const SETTINGS: &[(&str, &str)] = &[
    ("PEOPLE_BUCKET", "people-bucket"),
    ("PEOPLE_ENDPOINT", "http://127.0.0.1:9"),
    ("SFTP_HOST", "127.0.0.1"),
    ("SFTP_USER", "feed"),
    (
        "SFTP_HOST_KEY",
        "SHA256:AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyNotASecret",
    ),
    ("OUT_BUCKET", "out-bucket"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEONLY"),
    ("AWS_REGION", "eu-west-2"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

const PIPELINE: &str = r#"
pipeline people {
    source s3 bucket=(env)"PEOPLE_BUCKET" prefix="exports/" {
        endpoint (env)"PEOPLE_ENDPOINT"
        path-style #true
        format jsonl
    }
    key id
    map {
        id id required=#true
        email email
    }
    integrity {
        max-removed "50%"
    }
    sink csv "out/people.csv" {
        column ID id
        column EMAIL email
        upload sftp host=(env)"SFTP_HOST" user=(env)"SFTP_USER" password=(env)"SFTP_PASSWORD" path="people.csv" host-key=(env)"SFTP_HOST_KEY"
    }
    sink json "out/people.json" {
        upload s3 bucket=(env)"OUT_BUCKET" key="people.json"
    }
    notify webhook (env)"ALERT_WEBHOOK" on=always
    notify email "ops@example.org" on=failure
}
"#;

/// Runs `rollcall ARGS` with the secret in every variable and trace logs.
fn with_secret(dir: &Path, args: &[&str], json_logs: bool) -> Output {
    let mut command = rollcall();
    command.current_dir(dir).env("RUST_LOG", "trace");
    for name in SECRETS {
        command.env(name, SECRET);
    }
    command.envs(SETTINGS.iter().copied());
    if json_logs {
        command.arg("--log-format").arg("json");
    }
    command.args(args).output().unwrap()
}

/// Every file under `dir`, recursively.
fn every_file(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            every_file(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_planted_secret_appears_in_no_output_log_plan_or_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pipeline = root.join("people.kdl");
    std::fs::write(&pipeline, PIPELINE).unwrap();
    let day1 = root.join("day-1.jsonl");
    std::fs::write(
        &day1,
        "{\"id\": \"p1\", \"email\": \"p1@example.org\"}\n{\"id\": \"p2\", \"email\": \"p2@example.org\"}\n",
    )
    .unwrap();
    let day2 = root.join("day-2.jsonl");
    std::fs::write(
        &day2,
        "{\"id\": \"p1\", \"email\": \"new@example.org\"}\n{\"id\": \"p3\", \"email\": \"p3@example.org\"}\n",
    )
    .unwrap();
    let broken = root.join("broken.jsonl");
    std::fs::write(&broken, "{\"id\": \"p1\"\n").unwrap();
    let (p, d1, d2, bad) = (arg(&pipeline), arg(&day1), arg(&day2), arg(&broken));

    // Validation is offline: it passes without the variables set at all.
    let offline = rollcall()
        .args(["validate", p])
        .envs(SECRETS.iter().map(|v| (*v, "")))
        .envs(SETTINGS.iter().map(|(v, _)| (*v, "")))
        .output()
        .unwrap();
    assert_eq!(parts(&offline).0, 0, "{}", parts(&offline).2);

    let state = "state.db";
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate", p],
        vec!["validate", p, "--format", "json"],
        vec!["plan", p, "--state", state, "--input", d1],
        vec![
            "run", p, "--state", state, "--input", d1, "--format", "json",
        ],
        vec![
            "plan", p, "--state", state, "--input", d2, "--format", "json",
        ],
        vec![
            "plan",
            p,
            "--state",
            state,
            "--input",
            d2,
            "--detailed-exitcode",
        ],
        vec!["run", p, "--state", state, "--input", d2],
        vec!["run", p, "--state", state, "--input", d2],
        vec!["run", p, "--state", state, "--input", bad],
        vec!["history", "people", "--state", state],
        vec!["history", "people", "--state", state, "--format", "json"],
        vec!["show", "people", "p1", "--state", state],
        vec!["show", "people", "p1", "--state", state, "--format", "json"],
        vec!["run", p, "--state", state],
    ];
    let mut leaks = Vec::new();
    let mut ran = 0;
    for args in &commands {
        for json_logs in [false, true] {
            let output = with_secret(root, args, json_logs);
            ran += 1;
            let (code, stdout, stderr) = parts(&output);
            if contains(&output.stdout, SECRET.as_bytes())
                || contains(&output.stderr, SECRET.as_bytes())
            {
                leaks.push(format!(
                    "`rollcall {}` (exit {code}):\n{stdout}\n{stderr}",
                    args.join(" ")
                ));
            }
        }
    }
    // The commands did real work: both runs applied, the broken one failed.
    let history = with_secret(
        root,
        &["history", "people", "--state", state, "--format", "json"],
        false,
    );
    let runs = support::stdout_json(&history)["runs"]
        .as_array()
        .unwrap()
        .clone();
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"applied") && outcomes.contains(&"failed"),
        "{outcomes:?}"
    );

    let mut files = Vec::new();
    every_file(root, &mut files);
    assert!(files.iter().any(|f| f.ends_with("state.db")));
    for file in &files {
        if contains(&std::fs::read(file).unwrap(), SECRET.as_bytes()) {
            leaks.push(format!("the file {}", file.display()));
        }
    }
    assert!(
        leaks.is_empty(),
        "the secret leaked ({} commands run):\n{}",
        ran,
        leaks.join("\n")
    );
}

/// Issue 13, item 3: a secret in a URL or command line the pipeline names
/// (the external matcher, a webhook, an S3 endpoint, an SFTP or SMTP host)
/// is never shown. Each run below fails because of the URL, so its error
/// names it: on stderr, in `runs.error`, in `history` and in the webhook's
/// body. Only the redacted form (`***`) may appear.
#[test]
fn secrets_in_urls_and_commands_are_redacted_wherever_they_are_named() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("people.jsonl"),
        "{\"id\": \"p1\", \"email\": \"p1@example.org\"}\n",
    )
    .unwrap();
    // A webhook receiver on loopback that keeps every request it gets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        // Never waits for ever: a run that sent nothing fails the count below.
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while bodies.len() < 3 && std::time::Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .and_then(|n| n.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            let text = String::from_utf8_lossy(&request).into_owned();
            bodies.push(
                text.split_once("\r\n\r\n")
                    .map(|(_, b)| b.to_owned())
                    .unwrap_or_default(),
            );
        }
        bodies
    });
    let matcher_pipeline = |name: &str, matcher: &str| {
        format!(
            r#"pipeline {name} {{
    source file "people.jsonl" {{ format jsonl; }}
    key id
    map {{
        id id required=#true
        email email
    }}
    identity {{
        email work email verified=#true
    }}
    match external {matcher}
    notify webhook (env)"HOOK_URL" on=always
    notify email "ops@example.org" on=failure
}}
"#
        )
    };
    let cases = [
        (
            "matcher-url",
            matcher_pipeline("matcher-url", r#"url=(env)"MATCHER_URL""#),
        ),
        (
            "matcher-command",
            matcher_pipeline(
                "matcher-command",
                // A literal secret here is refused by `validate`
                // (`inline-secret`); the query value is still hidden.
                r#"command="exit 3; ./match https://h/find?k=v""#,
            ),
        ),
        (
            "endpoint",
            r#"pipeline endpoint {
    source s3 bucket="people" prefix="x/" {
        endpoint (env)"PEOPLE_ENDPOINT"
        format jsonl
    }
    key id
    map { id id required=#true; }
    notify webhook (env)"HOOK_URL" on=always
}
"#
            .to_owned(),
        ),
        (
            "sftp",
            r#"pipeline sftp {
    source file "people.jsonl" { format jsonl; }
    key id
    map { id id required=#true; }
    sink csv "out/people.csv" {
        column ID id
        upload sftp host=(env)"SFTP_HOST" user="feed" password=(env)"SFTP_PASSWORD" path="people.csv" host-key="SHA256:AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyNotASecret"
    }
}
"#
            .to_owned(),
        ),
    ];
    let secret_url = format!("http://feed:{SECRET}@127.0.0.1:9/match?token={SECRET}&x=1");
    let mut leaks = Vec::new();
    let mut said = String::new();
    for (name, text) in &cases {
        let file = root.join(format!("{name}.kdl"));
        std::fs::write(&file, text).unwrap();
        let validate = rollcall()
            .current_dir(root)
            .args(["validate", arg(&file)])
            .output()
            .unwrap();
        assert_eq!(parts(&validate).0, 0, "{name}: {}", parts(&validate).2);
        let output = rollcall()
            .current_dir(root)
            .env("MATCHER_URL", &secret_url)
            .env("MATCH_TOKEN", SECRET)
            .env("HOOK_URL", format!("http://127.0.0.1:{port}/hook"))
            .env(
                "PEOPLE_ENDPOINT",
                format!("ftp://feed:{SECRET}@127.0.0.1:9/?token={SECRET}"),
            )
            .env("SFTP_HOST", format!("feed:{SECRET}@127.0.0.1"))
            .env("SFTP_PASSWORD", "not-the-secret")
            .env("ROLLCALL_SMTP_HOST", format!("ops:{SECRET}@127.0.0.1"))
            .env("ROLLCALL_SMTP_PORT", "9")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEONLY")
            .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
            .env("AWS_REGION", "eu-west-2")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "trace")
            .args(["run", arg(&file), "--state", "state.db"])
            .output()
            .unwrap();
        let (code, stdout, stderr) = parts(&output);
        assert_ne!(
            code, 0,
            "{name} should fail on its URL:\n{stdout}\n{stderr}"
        );
        said.push_str(&stderr);
        if stdout.contains(SECRET) || stderr.contains(SECRET) {
            leaks.push(format!("`run {name}` (exit {code}):\n{stdout}\n{stderr}"));
        }
    }
    let history = rollcall()
        .current_dir(root)
        .args([
            "history",
            "matcher-url",
            "--state",
            "state.db",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let history_text = String::from_utf8_lossy(&history.stdout).into_owned();
    if history_text.contains(SECRET) {
        leaks.push(format!("history:\n{history_text}"));
    }
    let bodies = received.join().unwrap();
    for body in &bodies {
        if body.contains(SECRET) {
            leaks.push(format!("a webhook body: {body}"));
        }
    }
    let store = std::fs::read(root.join("state.db")).unwrap();
    if contains(&store, SECRET.as_bytes()) {
        leaks.push("the state store".into());
    }
    assert!(leaks.is_empty(), "the secret leaked:\n{}", leaks.join("\n"));

    // The places are still named, with their secrets hidden.
    for shown in [
        "url http://***@127.0.0.1:9/match?token=***&x=***",
        "https://h/find?k=***",
        "ftp://***@127.0.0.1:9/?token=***",
        "feed@***@127.0.0.1:22",
    ] {
        assert!(said.contains(shown), "stderr lacks {shown:?}:\n{said}");
    }
    assert!(
        history_text.contains("url http://***@127.0.0.1:9/match?token=***"),
        "{history_text}"
    );
    assert_eq!(bodies.len(), 3, "three runs sent their webhook");
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("url http://***@127.0.0.1")),
        "{bodies:?}"
    );
}
