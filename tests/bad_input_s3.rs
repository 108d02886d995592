//! The bad-input corpus, delivered from S3: the same promises as
//! `tests/bad_input.rs` (a located error naming the object, the documented
//! exit code, no change to the store) when the broken extract is the newest
//! object under the reference pipeline's prefix, on a real S3-protocol server
//! on loopback (`tests/support/s3_server.rs`).

#[path = "support/s3_server.rs"]
mod s3_server;
mod support;

use std::io::Write;

use s3_server::{AwsFiles, S3Server, at};
use support::{arg, integrity_check, parts, repo, state_dump};

const BUCKET: &str = "jml-exports";
const PREFIX: &str = "data-flow-exports/StaffSSOUsersPipeline/";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/bad-input/data").join(name)).unwrap()
}

#[test]
fn broken_s3_extracts_are_located_by_their_uri_and_change_nothing() {
    let day1 = std::fs::read(repo().join("examples/staff-sso/day-1.jsonl")).unwrap();
    let cases: Vec<(&str, Vec<u8>, i32, Vec<&str>)> = vec![
        (
            "truncated gzip",
            corpus("truncated.jsonl.gz"),
            1,
            vec!["rollcall::source::truncated-gzip", ": byte "],
        ),
        (
            "a JSON line cut in half, gzipped",
            gzip(&corpus("cut-line.jsonl")),
            1,
            vec!["rollcall::source::bad-json", "full_ingestion.jsonl.gz:11:"],
        ),
        (
            "invalid UTF-8, gzipped",
            gzip(&corpus("invalid-utf8.jsonl")),
            1,
            vec!["rollcall::source::bad-utf8", "full_ingestion.jsonl.gz:6:"],
        ),
        (
            "an empty object",
            Vec::new(),
            1,
            vec!["rollcall::run::empty-extract"],
        ),
        (
            "a duplicate key",
            gzip(&corpus("duplicate-key.jsonl")),
            1,
            vec!["rollcall::run::duplicate-key", "first seen on line 2"],
        ),
    ];
    let aws = AwsFiles::new(true);
    let mut failures = Vec::new();
    for (name, bytes, exit, says) in &cases {
        let server = S3Server::start();
        server.put(
            BUCKET,
            &format!("{PREFIX}2024-09-04T00:00:00Z/full_ingestion.jsonl.gz"),
            &gzip(&day1),
            at(100),
        );
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let run = || {
            let mut command = support::rollcall();
            aws.apply(&mut command);
            command
                .env("AWS_ENDPOINT_URL_S3", &server.url)
                .env("JML_BUCKET", BUCKET)
                .args([
                    "run",
                    arg(&repo().join("pipelines/staff-sso.kdl")),
                    "--state",
                    arg(&db),
                ])
                .output()
                .unwrap()
        };
        let (code, stdout, stderr) = parts(&run());
        assert_eq!(code, 0, "the base extract applies\n{stdout}\n{stderr}");
        let before = state_dump(&db);

        let key = format!("{PREFIX}2024-09-05T00:00:00Z/full_ingestion.jsonl.gz");
        server.put(BUCKET, &key, bytes, at(200));
        let (code, stdout, stderr) = parts(&run());
        // miette wraps long lines, even inside a URI: compare without white space.
        let said = squash(
            &stderr
                .lines()
                .map(|l| l.trim_start_matches([' ', '│', '×']))
                .collect::<String>(),
        );
        let mut problems = Vec::new();
        if code != *exit {
            problems.push(format!("exit {code}, documented {exit}"));
        }
        let uri = format!("s3://{BUCKET}/{key}");
        for expected in says.iter().copied().chain([uri.as_str()]) {
            if !said.contains(&squash(expected)) {
                problems.push(format!("stderr lacks {expected:?}"));
            }
        }
        if integrity_check(&db) != "ok" || state_dump(&db) != before {
            problems.push("the store changed".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n{stdout}\n{stderr}",
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
