//! Sources end to end: real files in temporary folders, read through the
//! public API, with exact error locations.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::Compression as Level;
use flate2::write::GzEncoder;
use rollcall_engine::source::{Limits, RawRecord, RecordReader, SourceError, resolve_file};
use rollcall_model::{Compression, CsvOptions, Encoding, Format, PathSegment, Pick};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Level::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn csv_format(f: impl FnOnce(&mut CsvOptions)) -> Format {
    let mut options = CsvOptions {
        delimiter: b',',
        quote: b'"',
        header: true,
        columns: Vec::new(),
        encoding: Encoding::Utf8,
        ragged_rows: false,
    };
    f(&mut options);
    Format::Csv(options)
}

fn reader(path: &Path, format: &Format, compression: Compression, limits: Limits) -> RecordReader {
    let file = File::open(path).unwrap();
    let name = path.display().to_string();
    RecordReader::new(Box::new(file), &name, format, compression, &[], limits)
}

/// Every item of a read.
fn items(
    path: &Path,
    format: &Format,
    compression: Compression,
    limits: Limits,
) -> Vec<Result<RawRecord, SourceError>> {
    reader(path, format, compression, limits).collect()
}

/// The records of a read that must succeed.
fn records(path: &Path, format: &Format) -> Vec<RawRecord> {
    items(path, format, Compression::Auto, Limits::default())
        .into_iter()
        .map(|item| item.unwrap_or_else(|e| panic!("unexpected error: {e}")))
        .collect()
}

/// (line, value) pairs, for compact assertions.
fn lines_and_values(records: &[RawRecord]) -> Vec<(u64, Value)> {
    records.iter().map(|r| (r.line, r.value.clone())).collect()
}

/// The fatal error that ends a read, checking it is the last item.
fn fatal(path: &Path, format: &Format, compression: Compression, limits: Limits) -> SourceError {
    let mut all = items(path, format, compression, limits);
    let last = all.pop().expect("at least one item");
    assert!(
        all.iter().all(Result::is_ok),
        "only the last item is an error"
    );
    let error = last.expect_err("the read ends with an error");
    assert!(!error.is_record_level(), "{error} is fatal");
    error
}

/// A reader that hands out at most a few bytes per call, so every buffer
/// boundary case (a BOM, an escape, a CRLF split across reads) happens.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn trickle(bytes: &[u8], format: &Format) -> Vec<RawRecord> {
    let input = Trickle {
        bytes: bytes.to_vec(),
        at: 0,
        step: 0,
    };
    RecordReader::new(
        Box::new(input),
        "trickle",
        format,
        Compression::Auto,
        &[],
        Limits::default(),
    )
    .map(Result::unwrap)
    .collect()
}

/// UTF-16 text with its byte-order mark.
fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        bytes.extend(if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    bytes
}

/// Grouped under `source` so `cargo test -p rollcall-engine source` selects them.
mod source {
    /// JSONL.
    mod jsonl {
        use crate::*;

        const STAFF_SSO_LINE: &str = r#"{"published": "2024-09-04T14:58:05.864Z", "object": {"id": "dit:StaffSSO:User:d1966051", "dit:firstName": "Roberta", "dit:emailAddress": ["jlee@example.net"]}}"#;

        #[test]
        fn jsonl_plain_with_bom_blank_lines_and_crlf() {
            let dir = TempDir::new().unwrap();
            let text = "\u{feff}{\"a\":1}\r\n\n   \n{\"a\":2}\r\n[3]\n\"four\""; // no final newline
            let path = write(&dir, "day.jsonl", text.as_bytes());
            let got = records(&path, &Format::Jsonl);
            assert_eq!(
                lines_and_values(&got),
                vec![
                    (1, json!({"a": 1})),
                    (4, json!({"a": 2})),
                    (5, json!([3])),
                    (6, json!("four"))
                ]
            );
        }

        #[test]
        fn jsonl_gzipped_detected_by_magic_bytes_with_record_path_and_stats() {
            let dir = TempDir::new().unwrap();
            let text = format!("{STAFF_SSO_LINE}\n{STAFF_SSO_LINE}\n");
            let compressed = gzip(text.as_bytes());
            // No `.gz` in the name: detection is by content.
            let path = write(&dir, "full_ingestion", &compressed);
            let file = File::open(&path).unwrap();
            let path_segments = [PathSegment::Key("object".into())];
            let mut reader = RecordReader::new(
                Box::new(file),
                "full_ingestion",
                &Format::Jsonl,
                Compression::Auto,
                &path_segments,
                Limits::default(),
            );
            let got: Vec<RawRecord> = reader.by_ref().map(Result::unwrap).collect();
            assert_eq!(got.len(), 2);
            assert_eq!(got[1].line, 2);
            assert_eq!(got[0].value["dit:firstName"], "Roberta");
            assert_eq!(
                got[0].value["dit:emailAddress"],
                json!(["jlee@example.net"])
            );
            let stats = reader.finish();
            assert_eq!(
                stats.bytes,
                compressed.len() as u64,
                "counts the compressed bytes"
            );
            let expected: String = Sha256::digest(&compressed)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(stats.sha256, expected);
        }

        #[test]
        fn jsonl_multi_member_gzip_reads_every_member() {
            let dir = TempDir::new().unwrap();
            let mut bytes = gzip(b"{\"n\":1}\n{\"n\":2}\n");
            bytes.extend(gzip(b"{\"n\":3}\n"));
            bytes.extend(gzip(b""));
            bytes.extend(gzip(b"{\"n\":4}\n"));
            let path = write(&dir, "multi.jsonl.gz", &bytes);
            let got = records(&path, &Format::Jsonl);
            let values: Vec<_> = got.iter().map(|r| r.value["n"].as_u64().unwrap()).collect();
            assert_eq!(values, [1, 2, 3, 4]);
            assert_eq!(got[3].line, 4, "lines count across members");
        }

        #[test]
        fn jsonl_forced_gzip_reads_gzip() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "x.bin", &gzip(b"{\"a\":1}\n"));
            let got = items(&path, &Format::Jsonl, Compression::Gzip, Limits::default());
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].as_ref().unwrap().value, json!({"a": 1}));
        }

        #[test]
        fn jsonl_compression_none_reads_gzip_bytes_as_text() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "x.jsonl", &gzip(b"{\"a\":1}\n"));
            let error = fatal(&path, &Format::Jsonl, Compression::None, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::InvalidUtf8 {
                        line: 1,
                        column: 2,
                        ..
                    }
                ),
                "{error}"
            );
        }

        #[test]
        fn jsonl_survives_tiny_reads() {
            let text = "\u{feff}{\"a\":\"x\\\"y\"}\r\n\r\n{\"b\":[1,2]}\r\n";
            let got = trickle(text.as_bytes(), &Format::Jsonl);
            assert_eq!(
                lines_and_values(&got),
                vec![(1, json!({"a": "x\"y"})), (3, json!({"b": [1, 2]}))]
            );
            let gz = trickle(&gzip(text.as_bytes()), &Format::Jsonl);
            assert_eq!(gz, got);
        }
    }

    /// JSON array.
    mod json_array {
        use crate::*;

        /// A large array whose strings hold brackets, commas, quotes and escapes,
        /// spread over lines, so elements straddle every buffer boundary.
        fn large_array() -> (String, Vec<(u64, Value)>) {
            let mut text = String::from("\u{feff}  [\n");
            let mut expected = Vec::new();
            let mut line = 2;
            for i in 0..20_000u64 {
                let value = json!({
                    "ExternalId": format!("e-{i}"),
                    "UserGroup": ["a]b", "c,d", "e\"]", "\\", [], [[i]]],
                    "Note": "x}{y\\\"]",
                    "n": i,
                });
                if i > 0 {
                    text.push_str(",\n");
                    line += 1;
                }
                if i % 3 == 0 {
                    // Pretty-printed: the element spans several lines.
                    let pretty = serde_json::to_string_pretty(&value).unwrap();
                    expected.push((line, value));
                    line += pretty.matches('\n').count() as u64;
                    text.push_str(&pretty);
                } else {
                    expected.push((line, value.clone()));
                    text.push_str(&value.to_string());
                }
            }
            // Scalars too, the last one right before `]`.
            text.push_str(",\n\"s]\" , 12.5e3,null,true\n]\n");
            line += 1;
            expected.extend([
                (line, json!("s]")),
                (line, json!(12.5e3)),
                (line, Value::Null),
                (line, json!(true)),
            ]);
            (text, expected)
        }

        #[test]
        fn json_array_streams_large_input_across_buffer_boundaries() {
            let dir = TempDir::new().unwrap();
            let (text, expected) = large_array();
            assert!(
                text.len() > 3 * 256 * 1024,
                "larger than several buffers: {}",
                text.len()
            );
            let path = write(&dir, "cora.json", text.as_bytes());
            let got = records(&path, &Format::Json);
            assert_eq!(got.len(), expected.len());
            assert_eq!(lines_and_values(&got), expected);

            let gz = write(&dir, "cora.json.gz", &gzip(text.as_bytes()));
            assert_eq!(records(&gz, &Format::Json), got);
        }

        #[test]
        fn json_array_survives_tiny_reads() {
            let text = "[{\"a\":\"q\\\\\",\"b\":\"\\\"]\"},\n 7 ,\"x\\\\\"]";
            let got = trickle(text.as_bytes(), &Format::Json);
            assert_eq!(
                lines_and_values(&got),
                vec![
                    (1, json!({"a": "q\\", "b": "\"]"})),
                    (2, json!(7)),
                    (2, json!("x\\"))
                ]
            );
        }

        #[test]
        fn json_array_empty_array_and_whitespace() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "empty.json", b"  [ \n ]  \n");
            assert!(records(&path, &Format::Json).is_empty());
        }
    }

    /// CSV.
    mod csv {
        use crate::*;

        #[test]
        fn csv_with_header() {
            let dir = TempDir::new().unwrap();
            let text = "FIRST_NAME,LAST_NAME,KERBEROS_NAME,EMAIL,QUALIFIERS\n\"Jane\",\"Admin\",\"jadmin\",\"jadmin@mit.edu\",\"FSEM\"\n\"Frankie\",\"Ng\",\"frang\",\"frang@mit.edu\",\"\"\n";
            let path = write(&dir, "mit.csv", text.as_bytes());
            let got = records(&path, &csv_format(|_| {}));
            assert_eq!(
                lines_and_values(&got),
                vec![
                    (
                        2,
                        json!({"FIRST_NAME": "Jane", "LAST_NAME": "Admin", "KERBEROS_NAME": "jadmin", "EMAIL": "jadmin@mit.edu", "QUALIFIERS": "FSEM"})
                    ),
                    (
                        3,
                        json!({"FIRST_NAME": "Frankie", "LAST_NAME": "Ng", "KERBEROS_NAME": "frang", "EMAIL": "frang@mit.edu", "QUALIFIERS": ""})
                    ),
                ]
            );
            // Keys keep the column order.
            let keys: Vec<_> = got[0].value.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                [
                    "FIRST_NAME",
                    "LAST_NAME",
                    "KERBEROS_NAME",
                    "EMAIL",
                    "QUALIFIERS"
                ]
            );
        }

        #[test]
        fn csv_columns_without_header_and_custom_delimiter_and_quote() {
            let dir = TempDir::new().unwrap();
            let text = "u1;'Anna';'Meier; Dr.'\r\nu2;Ben;'O''Neil'\r\n";
            let path = write(&dir, "school-a.csv", text.as_bytes());
            let format = csv_format(|o| {
                o.delimiter = b';';
                o.quote = b'\'';
                o.header = false;
                o.columns = vec!["record_uid".into(), "first_name".into(), "last_name".into()];
            });
            let got = records(&path, &format);
            assert_eq!(
                lines_and_values(&got),
                vec![
                    (
                        1,
                        json!({"record_uid": "u1", "first_name": "Anna", "last_name": "Meier; Dr."})
                    ),
                    (
                        2,
                        json!({"record_uid": "u2", "first_name": "Ben", "last_name": "O'Neil"})
                    ),
                ]
            );
        }

        #[test]
        fn csv_columns_rename_header() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", b"Vorname,Nachname\nAnna,Meier\n");
            let format = csv_format(|o| o.columns = vec!["first".into(), "last".into()]);
            let got = records(&path, &format);
            assert_eq!(
                lines_and_values(&got),
                vec![(2, json!({"first": "Anna", "last": "Meier"}))]
            );
        }

        #[test]
        fn csv_multiline_field_reports_the_row_start_line() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", b"id,note\n1,\"two\nlines\"\n2,x\n");
            let got = records(&path, &csv_format(|_| {}));
            assert_eq!(
                lines_and_values(&got),
                vec![
                    (2, json!({"id": "1", "note": "two\nlines"})),
                    (4, json!({"id": "2", "note": "x"}))
                ]
            );
        }

        #[test]
        fn csv_blank_lines_are_skipped_and_lines_stay_exact() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", b"id,name\r\n\r\n1,Anna\r\n\n\n2,Ben\n3,Cem");
            let got = records(&path, &csv_format(|_| {}));
            let lines: Vec<_> = got.iter().map(|r| r.line).collect();
            assert_eq!(lines, [3, 6, 7]);
        }

        #[test]
        fn csv_utf8_bom_is_skipped() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", "\u{feff}id,name\n1,Zoë\n".as_bytes());
            let got = records(&path, &csv_format(|_| {}));
            assert_eq!(
                lines_and_values(&got),
                vec![(2, json!({"id": "1", "name": "Zoë"}))]
            );
        }

        #[test]
        fn csv_utf16_le_and_be_with_bom() {
            let dir = TempDir::new().unwrap();
            let text = "record_uid;first_name\nu1;Jürgen\nu2;李\n";
            let format = csv_format(|o| {
                o.delimiter = b';';
                o.encoding = Encoding::Utf16;
            });
            let expected = vec![
                (2, json!({"record_uid": "u1", "first_name": "Jürgen"})),
                (3, json!({"record_uid": "u2", "first_name": "李"})),
            ];
            let le = write(&dir, "le.csv", &utf16(text, true));
            assert_eq!(lines_and_values(&records(&le, &format)), expected);
            let be = write(&dir, "be.csv", &utf16(text, false));
            assert_eq!(lines_and_values(&records(&be, &format)), expected);
            let be_gz = write(&dir, "be.csv.gz", &gzip(&utf16(text, false)));
            assert_eq!(lines_and_values(&records(&be_gz, &format)), expected);
        }

        #[test]
        fn csv_survives_tiny_reads() {
            let text = "\u{feff}id,note\r\n1,\"a\"\"b\"\r\n2,\"c,\r\nd\"\r\n";
            let got = trickle(text.as_bytes(), &csv_format(|_| {}));
            assert_eq!(
                lines_and_values(&got),
                vec![
                    (2, json!({"id": "1", "note": "a\"b"})),
                    (3, json!({"id": "2", "note": "c,\r\nd"}))
                ]
            );
        }
    }

    /// Locating.
    mod locate {
        use crate::*;

        fn set_mtime(path: &Path, seconds_after_epoch: u64) {
            let file = File::options().write(true).open(path).unwrap();
            file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds_after_epoch))
                .unwrap();
        }

        #[test]
        fn newest_of_three_by_timestamp_in_name_beats_mtime() {
            let dir = TempDir::new().unwrap();
            let old = write(&dir, "staff/20240903T235959/full_ingestion.jsonl.gz", b"a");
            let newest = write(&dir, "staff/20240904T145805/full_ingestion.jsonl.gz", b"bb");
            let middle = write(
                &dir,
                "staff/20240904T120000/full_ingestion.jsonl.gz",
                b"ccc",
            );
            // Modification times say the opposite: the name must win.
            set_mtime(&old, 3_000_000_000);
            set_mtime(&middle, 2_000_000_000);
            set_mtime(&newest, 1_000_000_000);
            let extract =
                resolve_file("staff/*/full_ingestion.jsonl.gz", dir.path(), Pick::Newest).unwrap();
            assert_eq!(extract.uri, newest.display().to_string());
            assert_eq!(extract.size, 2);
            assert_eq!(
                extract.modified,
                Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
            );
            assert_eq!(extract.etag, None);
        }

        #[test]
        fn newest_compares_iso_timestamps_as_times_not_text() {
            let dir = TempDir::new().unwrap();
            // 14:00+02:00 is 12:00 UTC, earlier than 13:00Z despite sorting later as text.
            write(&dir, "export-2024-09-04T14:00:00+02:00.json", b"1");
            let newest = write(&dir, "export-2024-09-04T13:00:00Z.json", b"2");
            write(&dir, "export-2024-09-04T12:30:00Z.json", b"3");
            let extract = resolve_file("export-*.json", dir.path(), Pick::Newest).unwrap();
            assert_eq!(extract.uri, newest.display().to_string());
        }

        #[test]
        fn newest_of_three_by_mtime_without_timestamps() {
            let dir = TempDir::new().unwrap();
            let a = write(&dir, "people-a.csv", b"a");
            let b = write(&dir, "people-b.csv", b"b");
            let c = write(&dir, "people-c.csv", b"c");
            set_mtime(&a, 1_700_000_000);
            set_mtime(&b, 1_700_000_300);
            set_mtime(&c, 1_700_000_100);
            let extract = resolve_file("people-*.csv", dir.path(), Pick::Newest).unwrap();
            assert_eq!(extract.uri, b.display().to_string());
            // Equal times: the name breaks the tie.
            set_mtime(&c, 1_700_000_300);
            let extract = resolve_file("people-*.csv", dir.path(), Pick::Newest).unwrap();
            assert_eq!(extract.uri, c.display().to_string());
        }

        #[test]
        fn pick_only_rejects_several_matches() {
            let dir = TempDir::new().unwrap();
            write(&dir, "a.csv", b"1");
            write(&dir, "b.csv", b"2");
            let error = resolve_file("*.csv", dir.path(), Pick::Only).unwrap_err();
            let SourceError::Ambiguous { matches, .. } = &error else {
                panic!("{error}")
            };
            assert_eq!(matches.len(), 2);
            assert!(
                error.to_string().contains("a.csv") && error.to_string().contains("b.csv"),
                "{error}"
            );
            fs::remove_file(dir.path().join("b.csv")).unwrap();
            let extract = resolve_file("*.csv", dir.path(), Pick::Only).unwrap();
            assert!(extract.uri.ends_with("a.csv"));
        }

        #[test]
        fn plain_path_and_base_folder_with_glob_characters() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "in[1]/people.jsonl", b"{}\n");
            let base = dir.path().join("in[1]");
            assert_eq!(
                resolve_file("people.jsonl", &base, Pick::Only).unwrap().uri,
                path.display().to_string()
            );
            assert_eq!(
                resolve_file("*.jsonl", &base, Pick::Only).unwrap().uri,
                path.display().to_string()
            );
        }

        #[test]
        fn missing_file_error_names_the_path() {
            let dir = TempDir::new().unwrap();
            let error = resolve_file("nowhere/people.jsonl", dir.path(), Pick::Newest).unwrap_err();
            let expected = dir
                .path()
                .join("nowhere/people.jsonl")
                .display()
                .to_string();
            assert!(
                matches!(&error, SourceError::NotFound { pattern } if *pattern == expected),
                "{error}"
            );
            assert_eq!(
                error.to_string(),
                format!("no extract matches `{expected}`")
            );
            let error = resolve_file("*.jsonl", dir.path(), Pick::Newest).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&dir.path().join("*.jsonl").display().to_string()),
                "{error}"
            );
        }

        #[cfg(unix)]
        #[test]
        fn symlink_loop_in_glob_is_a_located_error() {
            let dir = TempDir::new().unwrap();
            write(&dir, "good.jsonl", b"{}\n");
            let looped = dir.path().join("loop.jsonl");
            std::os::unix::fs::symlink(&looped, &looped).unwrap();
            let error = resolve_file("*.jsonl", dir.path(), Pick::Newest).unwrap_err();
            assert!(
                matches!(&error, SourceError::Unreadable { path, .. } if *path == looped.display().to_string()),
                "{error}"
            );
        }
    }

    /// Bad input.
    mod bad_input {
        use crate::*;

        #[test]
        fn malformed_json_line_reports_file_line_and_column() {
            let dir = TempDir::new().unwrap();
            let path = write(
                &dir,
                "day2.jsonl",
                b"{\"a\":1}\n\n{\"a\":2}\n{\"a\" 3}\n{\"a\":4}\n",
            );
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 4,
                        column: 6,
                        ..
                    }
                ),
                "{error:?}"
            );
            let prefix = format!("{}:4:6: expected `:`", path.display());
            assert!(error.to_string().starts_with(&prefix), "{error}");
        }

        #[test]
        fn truncated_gzip_reports_the_byte_offset() {
            let dir = TempDir::new().unwrap();
            let text: String = (0..5000)
                .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 50)))
                .collect();
            let compressed = gzip(text.as_bytes());
            let cut = compressed.len() / 2;
            let path = write(&dir, "cut.jsonl.gz", &compressed[..cut]);
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(
                matches!(error, SourceError::TruncatedGzip { offset, .. } if offset == cut as u64),
                "{error:?}"
            );
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("{}: byte {cut}:", path.display())),
                "{error}"
            );

            // Cut inside the 8-byte trailer: the data is all there, the check is not.
            let path = write(
                &dir,
                "trailer.jsonl.gz",
                &compressed[..compressed.len() - 3],
            );
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            let expected = compressed.len() as u64 - 3;
            assert!(
                matches!(error, SourceError::TruncatedGzip { offset, .. } if offset == expected),
                "{error:?}"
            );
        }

        #[test]
        fn gzip_of_garbage_is_bad_gzip_with_offset() {
            let dir = TempDir::new().unwrap();
            // A valid 10-byte header, then bytes that are not a deflate stream.
            let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
            bytes.extend([0xff; 64]);
            let path = write(&dir, "garbage.jsonl.gz", &bytes);
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            let SourceError::BadGzip { offset, .. } = error else {
                panic!("{error:?}")
            };
            // The first deflate byte (at index 10, so 11 consumed) is already invalid.
            assert_eq!(offset, 11);

            // Magic bytes but a bad header (compression method 7).
            let path = write(
                &dir,
                "header.jsonl.gz",
                &[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0xff, 1, 2],
            );
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(matches!(error, SourceError::BadGzip { .. }), "{error:?}");
        }

        #[test]
        fn non_gzip_file_with_forced_gzip() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "plain.jsonl", b"{\"a\":1}\n");
            let error = fatal(&path, &Format::Jsonl, Compression::Gzip, Limits::default());
            assert!(
                matches!(error, SourceError::BadGzip { offset: 0, .. }),
                "{error:?}"
            );
            assert!(error.to_string().contains("1f 8b"), "{error}");
        }

        #[test]
        fn csv_broken_quote_reports_the_line_it_opens_on() {
            let dir = TempDir::new().unwrap();
            // Row 3's quote never closes: without the check, it would swallow rows 4-5
            // into one well-formed looking row.
            let path = write(&dir, "a.csv", b"id,name\n1,Anna\n2,\"Ben\n3,Cem\n4,Dana\n");
            let error = fatal(
                &path,
                &csv_format(|_| {}),
                Compression::Auto,
                Limits::default(),
            );
            assert!(
                matches!(error, SourceError::UnclosedQuote { line: 3, .. }),
                "{error:?}"
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "{}:3: quoted field opened here is never closed",
                    path.display()
                )
            );
            // Only row 2 came before it.
            let got = items(
                &path,
                &csv_format(|_| {}),
                Compression::Auto,
                Limits::default(),
            );
            assert_eq!(got.len(), 2);
        }

        #[test]
        fn csv_ragged_row_reports_its_line() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", b"id,name\n1,Anna\n2,Ben,extra\n3,Cem\n");
            let error = fatal(
                &path,
                &csv_format(|_| {}),
                Compression::Auto,
                Limits::default(),
            );
            assert!(
                matches!(
                    error,
                    SourceError::RaggedRow {
                        line: 3,
                        expected: 2,
                        found: 3,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn csv_columns_count_must_match_header() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", b"a,b,c\n1,2,3\n");
            let format = csv_format(|o| o.columns = vec!["x".into(), "y".into()]);
            let error = fatal(&path, &format, Compression::Auto, Limits::default());
            assert!(
                matches!(error, SourceError::BadColumns { line: 1, .. }),
                "{error:?}"
            );
        }

        #[test]
        fn non_utf8_bytes_report_the_line() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.jsonl", b"{\"a\":\"ok\"}\n{\"a\":\"caf\xe9\"}\n");
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::InvalidUtf8 {
                        line: 2,
                        column: 10,
                        ..
                    }
                ),
                "{error:?}"
            );

            let path = write(&dir, "a.json", b"[\n{\"a\":\"ok\"},\n{\"a\":\"caf\xe9\"}]");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::InvalidUtf8 {
                        line: 3,
                        column: 10,
                        ..
                    }
                ),
                "{error:?}"
            );

            let path = write(&dir, "a.csv", b"id,name\n1,Anna\n2,Jos\xe9\n");
            let error = fatal(
                &path,
                &csv_format(|_| {}),
                Compression::Auto,
                Limits::default(),
            );
            assert!(
                matches!(&error, SourceError::InvalidUtf8Field { line: 3, field: 2, column, .. } if column == "name"),
                "{error:?}"
            );
        }

        #[test]
        fn empty_input_yields_zero_records() {
            let dir = TempDir::new().unwrap();
            let empty = write(&dir, "empty", b"");
            let gz_empty = write(&dir, "empty.gz", &gzip(b""));
            let blank = write(&dir, "blank", b"\n \n");
            for format in [Format::Jsonl, Format::Json, csv_format(|_| {})] {
                for compression in [Compression::Auto, Compression::Gzip, Compression::None] {
                    let got = items(&empty, &format, compression, Limits::default());
                    assert!(got.is_empty(), "{format:?} {compression:?}");
                }
                assert!(
                    items(&gz_empty, &format, Compression::Auto, Limits::default()).is_empty(),
                    "{format:?}"
                );
            }
            assert!(items(&blank, &Format::Jsonl, Compression::Auto, Limits::default()).is_empty());
            assert!(items(&blank, &Format::Json, Compression::Auto, Limits::default()).is_empty());
            let utf16 = csv_format(|o| o.encoding = Encoding::Utf16);
            assert!(items(&empty, &utf16, Compression::Auto, Limits::default()).is_empty());
        }

        #[test]
        fn json_array_missing_close_bracket_points_at_the_end() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.json", b"[\n  {\"a\":1},\n  {\"a\":2}\n\n");
            let got = items(&path, &Format::Json, Compression::Auto, Limits::default());
            assert_eq!(got.len(), 3, "two records, then the error");
            let error = got.into_iter().last().unwrap().unwrap_err();
            // Just after the last `}`: where the `]` belongs.
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 3,
                        column: 10,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(error.to_string().contains("missing `]`"), "{error}");

            // Cut inside an element.
            let path = write(&dir, "b.json", b"[{\"a\":[1,2");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 1,
                        column: 11,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn json_array_missing_comma_between_elements() {
            let dir = TempDir::new().unwrap();
            let path = write(
                &dir,
                "a.json",
                b"[\n  {\"a\":1},\n  {\"a\":2}\n  {\"a\":3}\n]",
            );
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 4,
                        column: 3,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(
                error
                    .to_string()
                    .ends_with("expected `,` or `]` after an array element, found `{`"),
                "{error}"
            );
        }

        #[test]
        fn json_array_trailing_comma_points_at_the_comma() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.json", b"[{\"a\":1},{\"a\":2} , ]");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 1,
                        column: 18,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(error.to_string().contains("trailing comma"), "{error}");
        }

        #[test]
        fn json_top_level_not_an_array() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.json", b"\n  {\"users\": []}");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 2,
                        column: 3,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(error.to_string().contains("expected `[`"), "{error}");
        }

        #[test]
        fn json_array_error_inside_an_element_is_located_in_the_file() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.json", b"[{\"a\":1},\n {\"a\":\n   tru}]");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(error, SourceError::BadJson { line: 3, .. }),
                "{error:?}"
            );
            let path = write(&dir, "b.json", b"[{\"a\":1}, {\"a\" 2}]");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 1,
                        column: 16,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn json_array_trailing_data_after_the_array() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.json", b"[1]\n[2]");
            let error = fatal(&path, &Format::Json, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 2,
                        column: 1,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn json_nesting_over_the_depth_limit() {
            let dir = TempDir::new().unwrap();
            let limits = Limits {
                max_depth: 3,
                ..Limits::default()
            };
            let path = write(&dir, "a.json", b"[[[[1]]], [[[[2]]]]]");
            let got = items(&path, &Format::Json, Compression::Auto, limits.clone());
            assert_eq!(got[0].as_ref().unwrap().value, json!([[[1]]]));
            let error = got.into_iter().last().unwrap().unwrap_err();
            assert!(
                matches!(
                    error,
                    SourceError::TooDeep {
                        line: 1,
                        column: 14,
                        limit: 3,
                        ..
                    }
                ),
                "{error:?}"
            );

            let path = write(&dir, "a.jsonl", b"[[[1]]]\n{\"a\":{\"b\":{\"c\":{}}}}\n");
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, limits);
            assert!(
                matches!(
                    error,
                    SourceError::TooDeep {
                        line: 2,
                        column: 16,
                        ..
                    }
                ),
                "{error:?}"
            );

            // serde_json's own limit applies with the default limits.
            let deep = format!("{}{}\n", "[".repeat(200), "]".repeat(200));
            let path = write(&dir, "deep.jsonl", deep.as_bytes());
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::TooDeep {
                        line: 1,
                        limit: 128,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn line_over_the_limit_names_the_limit() {
            let dir = TempDir::new().unwrap();
            let limits = Limits {
                max_line_bytes: 1000,
                ..Limits::default()
            };
            let long = format!("{{\"a\":\"{}\"}}", "x".repeat(5000));
            let text = format!("{{\"a\":1}}\n{long}\n{{\"a\":2}}\n");
            let path = write(&dir, "a.jsonl", text.as_bytes());
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, limits.clone());
            assert!(
                matches!(
                    error,
                    SourceError::RecordTooLong {
                        line: 2,
                        limit: 1000,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(error.to_string().contains("1000 bytes"), "{error}");

            // A line of exactly the limit is fine.
            let exact = format!("{{\"a\":\"{}\"}}\n", "x".repeat(1000 - 8));
            let path = write(&dir, "b.jsonl", exact.as_bytes());
            assert_eq!(
                items(&path, &Format::Jsonl, Compression::Auto, limits.clone()).len(),
                1
            );

            let text = format!("[{{\"a\":1}},\n{long}]");
            let path = write(&dir, "a.json", text.as_bytes());
            let error = fatal(&path, &Format::Json, Compression::Auto, limits);
            assert!(
                matches!(
                    error,
                    SourceError::RecordTooLong {
                        line: 2,
                        limit: 1000,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn decompressed_size_over_the_limit_stops_a_bomb() {
            let dir = TempDir::new().unwrap();
            // 8 MiB of one line of zeros compresses to a few kilobytes.
            let bomb = gzip(&vec![b'0'; 8 << 20]);
            assert!(bomb.len() < 64 << 10);
            let path = write(&dir, "bomb.jsonl.gz", &bomb);
            let limits = Limits {
                max_decompressed_bytes: 1 << 20,
                ..Limits::default()
            };
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, limits);
            assert!(
                matches!(
                    error,
                    SourceError::DecompressedTooLarge {
                        limit: 1_048_576,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert!(
                error
                    .to_string()
                    .contains("exceeds the limit of 1048576 bytes"),
                "{error}"
            );
        }

        #[test]
        fn nul_bytes_in_a_json_line() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.jsonl", b"{\"a\":1}\n{\"a\":\"x\0y\"}\n");
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 2,
                        column: 8,
                        ..
                    }
                ),
                "{error:?}"
            );
            let path = write(&dir, "b.jsonl", b"\0\0\0\0\n");
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert!(
                matches!(
                    error,
                    SourceError::BadJson {
                        line: 1,
                        column: 1,
                        ..
                    }
                ),
                "{error:?}"
            );
        }

        #[test]
        fn csv_declared_utf16_without_bom() {
            let dir = TempDir::new().unwrap();
            let mut bytes = utf16("id,name\n1,Anna\n", true);
            bytes.drain(..2);
            let path = write(&dir, "a.csv", &bytes);
            let format = csv_format(|o| o.encoding = Encoding::Utf16);
            let error = fatal(&path, &format, Compression::Auto, Limits::default());
            assert!(
                matches!(error, SourceError::BadEncoding { .. }),
                "{error:?}"
            );
            assert!(error.to_string().contains("byte-order mark"), "{error}");
        }

        #[test]
        fn csv_declared_utf8_with_utf16_bom() {
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.csv", &utf16("id\n1\n", true));
            let error = fatal(
                &path,
                &csv_format(|_| {}),
                Compression::Auto,
                Limits::default(),
            );
            assert!(
                matches!(error, SourceError::BadEncoding { .. }),
                "{error:?}"
            );
        }

        #[test]
        fn missing_record_path_is_record_level_and_reading_continues() {
            let dir = TempDir::new().unwrap();
            let text = "{\"object\":{\"id\":1}}\n{\"other\":{}}\n{\"object\":{\"items\":[{\"id\":3}]}}\n{\"object\":{\"items\":[]}}\n";
            let path = write(&dir, "a.jsonl", text.as_bytes());
            let file = File::open(&path).unwrap();
            let record_path = [
                PathSegment::Key("object".into()),
                PathSegment::Key("items".into()),
                PathSegment::Index(0),
            ];
            let got: Vec<_> = RecordReader::new(
                Box::new(file),
                "a.jsonl",
                &Format::Jsonl,
                Compression::Auto,
                &record_path,
                Limits::default(),
            )
            .collect();
            assert_eq!(got.len(), 4);
            for (item, line) in got.iter().zip(1..) {
                if line == 3 {
                    assert_eq!(item.as_ref().unwrap().value, json!({"id": 3}));
                    assert_eq!(item.as_ref().unwrap().line, 3);
                    continue;
                }
                let error = item.as_ref().unwrap_err();
                assert!(error.is_record_level());
                assert_eq!(error.line(), Some(line));
                assert_eq!(
                    error.to_string(),
                    format!("a.jsonl:{line}: record has no `object.items[0]`")
                );
            }
        }

        #[test]
        fn read_failures_of_the_underlying_stream_are_located() {
            struct Failing(usize);
            impl Read for Failing {
                fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    if self.0 == 0 {
                        return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
                    }
                    let n = self.0.min(buf.len());
                    buf[..n].fill(b' ');
                    self.0 -= n;
                    Ok(n)
                }
            }
            for compression in [Compression::None, Compression::Auto] {
                let mut reader = RecordReader::new(
                    Box::new(Failing(100)),
                    "s3://bucket/key",
                    &Format::Jsonl,
                    compression,
                    &[],
                    Limits::default(),
                );
                let error = reader.next().unwrap().unwrap_err();
                assert!(
                    matches!(error, SourceError::Read { offset: 100, .. }),
                    "{error:?}"
                );
                assert!(reader.next().is_none(), "a fatal error ends the read");
            }
        }

        #[test]
        fn errors_carry_codes_and_help() {
            use miette::Diagnostic;
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "a.jsonl", b"{\n");
            let error = fatal(&path, &Format::Jsonl, Compression::Auto, Limits::default());
            assert_eq!(
                error.code().unwrap().to_string(),
                "rollcall::source::bad-json"
            );
            assert!(error.help().is_some());
        }
    }
}
