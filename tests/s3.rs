//! The `s3` source and S3 uploads against a real S3-protocol server on
//! loopback (`s3s-fs`, SigV4 checked), started by each test. The binary is
//! run with its AWS credential chain pointed at temporary files, instance
//! metadata off; nothing leaves 127.0.0.1.

#[path = "support/s3_server.rs"]
mod s3_server;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use s3_server::{AwsFiles, S3Server, at};
use support::{arg, parts, repo, stdout_json};

const BUCKET: &str = "jml-exports";
const PREFIX: &str = "data-flow-exports/StaffSSOUsersPipeline/";

fn staff_sso() -> PathBuf {
    repo().join("pipelines/staff-sso.kdl")
}

/// `rollcall ARGS` against `server`, the way an operator points the
/// reference pipeline at an S3-compatible store: bucket and endpoint from
/// the environment, credentials and region from the AWS profile files.
fn rollcall(server: &S3Server, aws: &AwsFiles, args: &[&str]) -> Output {
    command(server, aws)
        .args(args)
        .output()
        .expect("rollcall runs")
}

fn command(server: &S3Server, aws: &AwsFiles) -> Command {
    let mut cmd = support::rollcall();
    aws.apply(&mut cmd);
    cmd.env("AWS_ENDPOINT_URL_S3", &server.url)
        .env("JML_BUCKET", BUCKET);
    cmd
}

fn run(server: &S3Server, aws: &AwsFiles, db: &Path) -> (i32, String, String) {
    parts(&rollcall(
        server,
        aws,
        &["run", arg(&staff_sso()), "--state", arg(db)],
    ))
}

fn history(db: &Path) -> Vec<serde_json::Value> {
    let output = support::run(&[
        "history",
        "staff-sso",
        "--state",
        arg(db),
        "--format",
        "json",
    ]);
    stdout_json(&output)["runs"].as_array().unwrap().clone()
}

/// Writes a staff-SSO extract of `n` users, gzip-compressed, into `out`.
/// The first `renamed` users carry a changed last name (updates against an
/// earlier extract); `pad` random characters per record make the bytes
/// incompressible enough for size tests.
fn write_extract(out: impl Write, n: usize, renamed: usize, pad: usize) {
    let mut gz = GzEncoder::new(out, Compression::fast());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = String::with_capacity(pad);
    for i in 0..n {
        noise.clear();
        for _ in 0..pad {
            // xorshift: cheap bytes that gzip cannot shrink much.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                [(seed % 64) as usize];
            noise.push(c as char);
        }
        let last = if i < renamed {
            format!("Last{i}-renamed")
        } else {
            format!("Last{i}")
        };
        writeln!(
            gz,
            r#"{{"published": "2024-09-04T14:58:05.864Z", "object": {{"id": "dit:StaffSSO:User:u-{i:06}", "type": "dit:StaffSSO:User", "name": "User {i}", "dit:StaffSSO:User:userId": "u-{i:06}", "dit:StaffSSO:User:emailUserId": "user{i}@example.net", "dit:StaffSSO:User:contactEmailAddress": "contact{i}@example.com", "dit:StaffSSO:User:joined": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:lastAccessed": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:permittedApplications": [], "dit:StaffSSO:User:status": "active", "dit:StaffSSO:User:becameInactiveOn": null, "dit:firstName": "First{i}", "dit:lastName": "{last}", "dit:emailAddress": ["user{i}@example.net"], "padding": "{noise}"}}}}"#
        )
        .unwrap();
    }
    gz.finish().unwrap().flush().unwrap();
}

fn extract(n: usize, renamed: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_extract(&mut bytes, n, renamed, 0);
    bytes
}

/// The key of the extract made at `timestamp`.
fn extract_key(timestamp: &str) -> String {
    format!("{PREFIX}{timestamp}/full_ingestion.jsonl.gz")
}

fn uri(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

#[test]
fn the_newest_of_three_extracts_is_applied_and_recorded() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    // The key's time decides, not LastModified: the oldest extract was
    // copied in last, so its LastModified is the newest.
    server.put(
        BUCKET,
        &extract_key("2024-09-03T12:00:00Z"),
        &extract(180, 0),
        at(300),
    );
    server.put(
        BUCKET,
        &extract_key("2024-09-04T00:00:00Z"),
        &extract(190, 0),
        at(100),
    );
    let newest = extract_key("2024-09-04T12:00:00Z");
    server.put(BUCKET, &newest, &extract(200, 0), at(200));
    // Not an extract: another file in an extract folder.
    server.put(
        BUCKET,
        &format!("{PREFIX}2024-09-05T00:00:00Z/manifest.json"),
        b"{}",
        at(400),
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = run(&server, &aws, &db);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("200 created"), "{stdout}");
    assert!(stdout.contains(&uri(&newest)), "{stdout}");

    let runs = history(&db);
    let source = &runs[0]["source"];
    assert_eq!(source["uri"], uri(&newest));
    let size = std::fs::metadata(server.path(BUCKET, &newest))
        .unwrap()
        .len();
    assert_eq!(source["size"], size);
    assert_eq!(
        source["modified"], "2024-08-30T06:43:20Z",
        "LastModified of the object"
    );
    let etag = source["etag"].as_str().unwrap();
    assert_eq!(etag.len(), 32, "an MD5 entity tag, unquoted: {etag}");
    assert_eq!(source["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_extract_is_applied_once_and_the_next_one_when_it_lands() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    let first = extract_key("2024-09-04T00:00:00Z");
    server.put(BUCKET, &first, &extract(200, 0), at(0));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");

    let (code, stdout, stderr) = run(&server, &aws, &db);
    eprintln!("rollcall run: exit {code}\n{stdout}");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("run 1: applied"), "{stdout}");
    assert!(stdout.contains("200 created"), "{stdout}");
    let state = support::state_dump(&db);

    let (code, stdout, stderr) = run(&server, &aws, &db);
    eprintln!("rollcall run: exit {code}\n{stdout}");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("run 2: no new extract"), "{stdout}");
    assert!(stdout.contains(&uri(&first)), "{stdout}");
    assert_eq!(support::state_dump(&db), state, "nothing applied twice");
    let runs = history(&db);
    assert_eq!(runs[0]["outcome"], "no-change");
    // History is truthful: the no-change run read nothing.
    assert_eq!(runs[0]["summary"]["read"], 0, "{:#}", runs[0]);
    assert_eq!(runs[1]["summary"]["read"], 200);
    assert_eq!(runs[0]["source"]["uri"], uri(&first));
    assert_eq!(runs[0]["source"]["etag"], runs[1]["source"]["etag"]);

    // A scheduler tells it apart by exit code: 4 with --detailed-exitcode.
    let output = rollcall(
        &server,
        &aws,
        &[
            "run",
            arg(&staff_sso()),
            "--state",
            arg(&db),
            "--detailed-exitcode",
            "--format",
            "json",
        ],
    );
    let report = stdout_json(&output);
    eprintln!("rollcall run --detailed-exitcode --format json: {report}");
    assert_eq!(parts(&output).0, 4);
    assert_eq!(report["outcome"], "no-new-extract");
    assert_eq!(
        (
            report["exit_code"].as_i64(),
            report["summary"]["read"].as_i64()
        ),
        (Some(4), Some(0))
    );

    // --force reads it again: a real run that finds nothing to change.
    let output = rollcall(
        &server,
        &aws,
        &["run", arg(&staff_sso()), "--state", arg(&db), "--force"],
    );
    let (code, stdout, stderr) = parts(&output);
    eprintln!("rollcall run: exit {code}\n{stdout}");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("run 4: no change"), "{stdout}");
    assert!(stdout.contains("200 read"), "{stdout}");
    assert_eq!(history(&db)[0]["forced"], true);

    // Twelve hours later the next extract lands: 3 renamed, 1 leaver.
    let second = extract_key("2024-09-04T12:00:00Z");
    server.put(BUCKET, &second, &extract(199, 3), at(43_200));
    let (code, stdout, stderr) = run(&server, &aws, &db);
    eprintln!("rollcall run: exit {code}\n{stdout}");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("run 5: applied"), "{stdout}");
    assert!(stdout.contains("3 updated, 1 removed"), "{stdout}");
    assert_eq!(history(&db)[0]["source"]["uri"], uri(&second));

    let (code, stdout, _) = run(&server, &aws, &db);
    eprintln!("rollcall run: exit {code}\n{stdout}");
    assert_eq!(code, 0);
    assert!(stdout.contains("run 6: no new extract"), "{stdout}");
}

/// A pipeline in `dir` reading `prefix` of `bucket` with the given extra
/// source children; its own endpoint setting comes from `S3_ENDPOINT`.
fn custom_pipeline(dir: &Path, bucket: &str, prefix: &str, children: &str) -> PathBuf {
    let path = dir.join("people.kdl");
    std::fs::write(
        &path,
        format!(
            r#"pipeline people {{
    source s3 bucket="{bucket}" prefix="{prefix}" {{
        endpoint (env)"S3_ENDPOINT"
        format jsonl
        record "object"
        {children}
    }}
    key user_id
    map {{
        user_id "dit:StaffSSO:User:userId" required=#true
        last_name "dit:lastName"
    }}
}}
"#
        ),
    )
    .unwrap();
    path
}

fn run_custom(server: &S3Server, aws: &AwsFiles, pipeline: &Path, db: &Path) -> Output {
    let mut cmd = support::rollcall();
    aws.apply(&mut cmd);
    cmd.env("S3_ENDPOINT", &server.url)
        .env("ROLLCALL_S3_PATH_STYLE", "true")
        .args(["run", arg(pipeline), "--state", arg(db)])
        .output()
        .unwrap()
}

#[test]
fn without_a_timestamp_in_the_pattern_the_newest_last_modified_wins() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    server.put("hr-exports", "exports/b.jsonl.gz", &extract(10, 0), at(100));
    server.put("hr-exports", "exports/c.jsonl.gz", &extract(12, 0), at(300));
    server.put("hr-exports", "exports/a.jsonl.gz", &extract(11, 0), at(200));
    server.put(
        "hr-exports",
        "elsewhere/z.jsonl.gz",
        &extract(13, 0),
        at(900),
    );
    let dir = tempfile::tempdir().unwrap();
    let pipeline = custom_pipeline(
        dir.path(),
        "hr-exports",
        "exports/",
        r#"key-pattern "*.jsonl.gz""#,
    );
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = parts(&run_custom(&server, &aws, &pipeline, &db));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("s3://hr-exports/exports/c.jsonl.gz"),
        "{stdout}"
    );
    assert!(stdout.contains("12 created"), "{stdout}");
}

#[test]
fn fifteen_hundred_keys_under_one_prefix_are_listed_past_the_first_page() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    let small = extract(3, 0);
    let mut newest = String::new();
    for i in 0..1500u64 {
        // Unix seconds, twice a day from 2024-01-01.
        newest = extract_key(&(1_704_067_200 + 43_200 * i).to_string());
        // LastModified says the opposite, so only the key's time can pick right.
        server.put(BUCKET, &newest, &small, at(10_000 - i));
    }
    // The newest key sorts last: on the second page of a listing.
    server.put(BUCKET, &newest, &extract(7, 0), at(0));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = run(&server, &aws, &db);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&uri(&newest)), "{stdout}");
    assert!(stdout.contains("7 created"), "{stdout}");

    // `pick only` counts every match, across pages.
    let pipeline = custom_pipeline(
        dir.path(),
        BUCKET,
        PREFIX,
        r#"key-pattern "{timestamp}/full_ingestion.jsonl.gz"
        pick only"#,
    );
    let (code, _, stderr) = parts(&run_custom(&server, &aws, &pipeline, &db));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("matches 21 extracts"),
        "20 shown and a count: {stderr}"
    );
    assert!(stderr.contains("and 1480 more"), "{stderr}");
}

/// Peak resident memory of a running process, polled until it exits.
fn peak_rss_kib(child: &mut std::process::Child) -> u64 {
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run did not finish");
        if let Ok(text) = std::fs::read_to_string(&status) {
            for line in text.lines() {
                if let Some(kib) = line.strip_prefix("VmHWM:") {
                    let kib: u64 = kib.trim().trim_end_matches(" kB").trim().parse().unwrap();
                    peak = peak.max(kib);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    peak
}

fn run_measured(server: &S3Server, aws: &AwsFiles, db: &Path) -> (Output, u64) {
    let mut child = command(server, aws)
        .args(["run", arg(&staff_sso()), "--state", arg(db), "--force"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let peak = peak_rss_kib(&mut child);
    (child.wait_with_output().unwrap(), peak)
}

#[test]
fn a_50_mb_gzip_extract_is_streamed_with_flat_memory() {
    const RECORDS: usize = 40_000;
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    let dir = tempfile::tempdir().unwrap();

    // A small extract first: the baseline the big one is compared with.
    let key = extract_key("2024-09-04T00:00:00Z");
    let path = server.put(BUCKET, &key, &[], at(0));
    write_extract(std::fs::File::create(&path).unwrap(), 2_000, 0, 1_600);
    let small_db = dir.path().join("small.db");
    let (output, small_peak) = run_measured(&server, &aws, &small_db);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    write_extract(std::fs::File::create(&path).unwrap(), RECORDS, 0, 1_600);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= 50 << 20, "the object is {size} bytes");
    let db = dir.path().join("state.db");
    let started = Instant::now();
    let (output, peak) = run_measured(&server, &aws, &db);
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{RECORDS} created")), "{stdout}");
    eprintln!(
        "50 MB extract: {} bytes gzip, {RECORDS} records, {:.1}s; peak RSS {} KiB (2,000-record extract: {} KiB)",
        size,
        started.elapsed().as_secs_f64(),
        peak,
        small_peak
    );
    // Streamed: the process never holds the object, not even compressed.
    assert!(
        peak * 1024 < size,
        "peak RSS {peak} KiB against a {size}-byte object"
    );
    // Flat: 20 times the records and bytes cost a few MiB more (the prior
    // state's keys and SQLite's cache), far less than the object.
    assert!(
        peak < small_peak + 16 * 1024,
        "peak RSS {peak} KiB, small extract {small_peak} KiB"
    );
}

#[test]
fn delete_older_removes_older_extracts_after_a_successful_run_only() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    let older = [
        "exports/2024-09-03T00:00:00Z/full.jsonl.gz",
        "exports/2024-09-03T12:00:00Z/full.jsonl.gz",
    ];
    for (i, key) in older.iter().enumerate() {
        server.put("hr-exports", key, &extract(100, 0), at(i as u64));
    }
    let newest = "exports/2024-09-04T00:00:00Z/full.jsonl.gz";
    server.put("hr-exports", newest, &extract(100, 0), at(10));
    let unrelated = "exports/README.txt";
    server.put("hr-exports", unrelated, b"not an extract", at(0));

    let dir = tempfile::tempdir().unwrap();
    let pipeline = custom_pipeline(
        dir.path(),
        "hr-exports",
        "exports/",
        r#"key-pattern "{timestamp}/full.jsonl.gz"
        delete-older #true"#,
    );
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let strict = text.replace(
        "    key user_id",
        "    integrity { min-ratio 0.95; }\n    key user_id",
    );
    std::fs::write(&pipeline, strict).unwrap();
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = parts(&run_custom(&server, &aws, &pipeline, &db));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for key in older {
        assert!(
            !server.path("hr-exports", key).exists(),
            "{key} was deleted"
        );
    }
    assert!(
        server.path("hr-exports", newest).exists(),
        "the applied one stays"
    );
    assert!(
        server.path("hr-exports", unrelated).exists(),
        "keys not matching the pattern stay"
    );

    // A newer extract refused by the integrity gate deletes nothing.
    let refused = "exports/2024-09-04T12:00:00Z/full.jsonl.gz";
    server.put("hr-exports", refused, &extract(50, 0), at(20));
    let (code, stdout, stderr) = parts(&run_custom(&server, &aws, &pipeline, &db));
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        server.path("hr-exports", newest).exists(),
        "nothing deleted after a breach"
    );
}

/// Runs the reference pipeline and returns its exit code and stderr,
/// asserting that the run changed nothing in the store.
fn failing_run(server: &S3Server, aws: &AwsFiles) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = run(server, aws, &db);
    assert_eq!(support::state_dump(&db), "", "nothing stored\n{stdout}");
    let runs = history(&db);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "failed");
    (code, stderr)
}

/// The error's message and its help, as miette renders them (one `×`
/// line, wrapped to the terminal's width), with all whitespace removed so
/// the wrapping does not matter; compare with [`squash`]ed text.
fn error_and_help(stderr: &str) -> (String, String) {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains('×')).collect();
    assert_eq!(errors.len(), 1, "exactly one error: {stderr}");
    let (message, help) = stderr
        .split_once('×')
        .and_then(|(_, rest)| rest.split_once("help:"))
        .unwrap_or_else(|| panic!("no error with help in {stderr}"));
    (squash(&message.replace('│', "")), squash(help))
}

/// Text without whitespace.
fn squash(text: &str) -> String {
    text.split_whitespace().collect()
}

#[test]
fn access_denied_is_one_line_with_a_hint() {
    let server = S3Server::start_denying(&[BUCKET]);
    server.put(
        BUCKET,
        &extract_key("2024-09-04T00:00:00Z"),
        &extract(5, 0),
        at(0),
    );
    let (code, stderr) = failing_run(&server, &AwsFiles::new(true));
    assert_eq!(code, 1, "{stderr}");
    let (line, help) = error_and_help(&stderr);
    assert!(
        line.contains(&squash(&format!(
            "access denied: ListObjectsV2 on s3://{BUCKET}/{PREFIX}"
        ))),
        "{stderr}"
    );
    assert!(help.contains(&squash("s3:ListBucket")), "{stderr}");
}

#[test]
fn a_missing_bucket_is_one_line_with_a_hint() {
    let server = S3Server::start();
    let (code, stderr) = failing_run(&server, &AwsFiles::new(true));
    assert_eq!(code, 1, "{stderr}");
    let (line, help) = error_and_help(&stderr);
    assert!(
        line.contains(&squash(&format!("bucket \"{BUCKET}\" does not exist"))),
        "{stderr}"
    );
    assert!(help.contains(&squash("check the bucket name")), "{stderr}");
}

#[test]
fn missing_credentials_are_one_line_with_a_hint() {
    let server = S3Server::start();
    server.bucket(BUCKET);
    let started = Instant::now();
    let (code, stderr) = failing_run(&server, &AwsFiles::new(false));
    assert_eq!(code, 1, "{stderr}");
    let (line, help) = error_and_help(&stderr);
    assert!(
        line.contains(&squash("no AWS credentials found")),
        "{stderr}"
    );
    assert!(help.contains(&squash("AWS_ACCESS_KEY_ID")), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "no instance-metadata probing: {:?}",
        started.elapsed()
    );
}

#[test]
fn wrong_credentials_are_one_line_with_a_hint_and_no_secret() {
    let server = S3Server::start();
    server.bucket(BUCKET);
    let aws = AwsFiles::new(true);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let output = command(&server, &aws)
        .env("AWS_ACCESS_KEY_ID", s3_server::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret-0123456789")
        .args(["run", arg(&staff_sso()), "--state", arg(&db)])
        .output()
        .unwrap();
    let (code, _, stderr) = parts(&output);
    assert_eq!(code, 1, "{stderr}");
    let (line, help) = error_and_help(&stderr);
    assert!(
        line.contains(&squash(
            "S3 rejected the credentials (SignatureDoesNotMatch)"
        )),
        "{stderr}"
    );
    assert!(help.contains(&squash("AWS chain")), "{stderr}");
    assert!(
        !stderr.contains("not-the-secret"),
        "never print a secret: {stderr}"
    );
}

#[test]
fn an_empty_prefix_is_one_line_with_a_hint() {
    let server = S3Server::start();
    server.put(
        BUCKET,
        &format!("{PREFIX}notes.txt"),
        b"not an extract",
        at(0),
    );
    let (code, stderr) = failing_run(&server, &AwsFiles::new(true));
    assert_eq!(code, 1, "{stderr}");
    let (line, help) = error_and_help(&stderr);
    assert!(
        line.contains(&squash(&format!(
            "no extract under s3://{BUCKET}/{PREFIX} matching `{{timestamp}}/full_ingestion.jsonl.gz`"
        ))),
        "{stderr}"
    );
    assert!(help.contains(&squash("key-pattern")), "{stderr}");
}

#[test]
fn input_replaces_the_s3_source_without_reaching_any_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let aws = AwsFiles::new(false);
    let mut cmd = support::rollcall();
    aws.apply(&mut cmd);
    // No bucket variable, no credentials, an endpoint nobody listens on.
    cmd.env_remove("JML_BUCKET")
        .env("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
        .args([
            "run",
            arg(&staff_sso()),
            "--state",
            arg(&db),
            "--input",
            arg(&repo().join("examples/staff-sso/day-1.jsonl")),
        ]);
    let (code, stdout, stderr) = parts(&cmd.output().unwrap());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("200 created"), "{stdout}");
}

mod upload {
    use super::*;
    use rollcall_engine::s3::Endpoint;
    use rollcall_engine::upload::UploadError;
    use rollcall_engine::upload::s3::{Target, UploadOptions, upload, upload_with};

    fn target(server: &S3Server, bucket: &str, key: &str) -> Target {
        s3_server::in_process_aws_env();
        Target {
            bucket: bucket.into(),
            key: key.into(),
            endpoint: Endpoint {
                url: Some(server.url.clone()),
                region: Some(s3_server::REGION.into()),
                path_style: true,
            },
        }
    }

    #[test]
    fn a_sink_file_is_uploaded_in_one_put() {
        let server = S3Server::start();
        server.bucket("cora");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.json");
        std::fs::write(&file, br#"[{"ExternalId": "u-1", "status": 0}]"#).unwrap();
        let target = target(&server, "cora", "tenant/usersync/users.json");
        let uploaded = upload(&file, &target).unwrap();
        assert_eq!(uploaded.uri, "s3://cora/tenant/usersync/users.json");
        assert_eq!(uploaded.parts, 1);
        assert_eq!(uploaded.etag.as_deref().map(str::len), Some(32));
        let stored = std::fs::read(server.path("cora", "tenant/usersync/users.json")).unwrap();
        assert_eq!(stored, std::fs::read(&file).unwrap());

        // Uploading again replaces the object whole.
        std::fs::write(&file, b"[]").unwrap();
        upload(&file, &target).unwrap();
        let stored = std::fs::read(server.path("cora", "tenant/usersync/users.json")).unwrap();
        assert_eq!(stored, b"[]");
    }

    #[test]
    fn a_large_sink_file_is_uploaded_in_parts_completed_at_the_end() {
        let server = S3Server::start();
        server.bucket("cora");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.jsonl.gz");
        write_extract(std::fs::File::create(&file).unwrap(), 9_000, 0, 1_500);
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size > 10 << 20, "{size}");
        let options = UploadOptions {
            single_put_limit: 5 << 20,
            part_size: 5 << 20,
        };
        let target = target(&server, "cora", "feeds/big.jsonl.gz");
        let uploaded = upload_with(&file, &target, &options).unwrap();
        assert_eq!(uploaded.parts as u64, size.div_ceil(5 << 20));
        assert_eq!(uploaded.size, size);
        let stored = std::fs::read(server.path("cora", "feeds/big.jsonl.gz")).unwrap();
        assert!(stored == std::fs::read(&file).unwrap(), "same bytes");
    }

    #[test]
    fn an_upload_to_a_denied_bucket_fails_and_stores_nothing() {
        let server = S3Server::start_denying(&["cora"]);
        server.bucket("cora");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.json");
        std::fs::write(&file, b"[]").unwrap();
        let err = upload(&file, &target(&server, "cora", "users.json")).unwrap_err();
        assert!(matches!(err, UploadError::S3(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "access denied: PutObject on s3://cora/users.json"
        );
        assert!(!server.path("cora", "users.json").exists());
    }
}

/// A TCP proxy on loopback in front of the server that cuts a connection
/// once it has carried `cut_after` bytes back to the client, `cuts` times
/// in all: a network that drops mid-download. Stops when dropped.
struct CuttingProxy {
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CuttingProxy {
    fn start(server: &S3Server, cut_after: u64, cuts: usize) -> CuttingProxy {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        let upstream = server.url.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let left = Arc::new(AtomicUsize::new(cuts));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            while !stopping.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(&upstream).unwrap();
                let (mut client_in, mut server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_in, &mut server_out);
                });
                let left = Arc::clone(&left);
                std::thread::spawn(move || {
                    let (mut from, mut to) = (server, client);
                    let mut carried = 0u64;
                    let mut buf = vec![0u8; 16 << 10];
                    loop {
                        let n = match std::io::Read::read(&mut from, &mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        carried += n as u64;
                        let cut = carried > cut_after
                            && left
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                        if cut || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                });
            }
        });
        CuttingProxy { url, stop }
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs the reference pipeline through `proxy`.
fn run_through(proxy: &CuttingProxy, server: &S3Server, aws: &AwsFiles, db: &Path) -> Output {
    command(server, aws)
        .env("AWS_ENDPOINT_URL_S3", &proxy.url)
        .args(["run", arg(&staff_sso()), "--state", arg(db)])
        .output()
        .unwrap()
}

#[test]
fn a_download_cut_mid_body_is_resumed_where_it_stopped() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    let key = extract_key("2024-09-04T00:00:00Z");
    let path = server.put(BUCKET, &key, &[], at(0));
    write_extract(std::fs::File::create(&path).unwrap(), 3_000, 0, 1_000);
    assert!(std::fs::metadata(&path).unwrap().len() > 2 << 20);
    // Two cuts, each after 1 MiB of a response: the listing is far smaller,
    // so both land inside the object's body.
    let proxy = CuttingProxy::start(&server, 1 << 20, 2);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = parts(&run_through(&proxy, &server, &aws, &db));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("3000 created"), "{stdout}");
    assert_eq!(stderr.matches("resuming").count(), 2, "{stderr}");
    // The bytes hashed are exactly the object's: nothing lost or repeated.
    let sha = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(std::fs::read(&path).unwrap()))
    };
    assert_eq!(history(&db)[0]["source"]["sha256"], sha);
}

#[test]
fn a_download_cut_more_often_than_the_bound_fails_and_changes_nothing() {
    let server = S3Server::start();
    let aws = AwsFiles::new(true);
    let key = extract_key("2024-09-04T00:00:00Z");
    let path = server.put(BUCKET, &key, &[], at(0));
    write_extract(std::fs::File::create(&path).unwrap(), 3_000, 0, 1_000);
    // Every response is cut after 64 KiB: each resumed request gets 64 KiB
    // further, never to the end.
    let proxy = CuttingProxy::start(&server, 64 << 10, usize::MAX);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (code, stdout, stderr) = parts(&run_through(&proxy, &server, &aws, &db));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("after 5 resumed requests"), "{stderr}");
    assert_eq!(support::state_dump(&db), "", "nothing stored");
    assert_eq!(history(&db)[0]["outcome"], "failed");
}

#[test]
fn a_run_uploads_its_cora_action_file_to_s3() {
    let server = S3Server::start();
    server.bucket("cora-tenant");
    let aws = AwsFiles::new(true);
    let dir = tempfile::tempdir().unwrap();
    let (db, out) = (dir.path().join("state.db"), dir.path().join("out"));
    let mut cmd = support::rollcall();
    aws.apply(&mut cmd);
    let output = cmd
        .env("AWS_ENDPOINT_URL_S3", &server.url)
        .env("ROLLCALL_S3_PATH_STYLE", "true")
        .env("CORA_BUCKET", "cora-tenant")
        .env("CORA_REASSIGN_TO", "E1001")
        .args([
            "run",
            arg(&repo().join("pipelines/cora-user-sync.kdl")),
            "--state",
            arg(&db),
            "--out-dir",
            arg(&out),
            "--input",
            arg(&repo().join("examples/cora/registry-day-1.jsonl")),
        ])
        .output()
        .unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("-> s3://cora-tenant/tenant/usersync/users.json"),
        "{stdout}"
    );
    let written = std::fs::read(out.join("cora-users.json")).unwrap();
    let stored = std::fs::read(server.path("cora-tenant", "tenant/usersync/users.json")).unwrap();
    assert!(!written.is_empty());
    assert!(stored == written, "the object is the sink file, whole");
}
