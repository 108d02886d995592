//! One function per fuzz target. Each takes arbitrary bytes and must never
//! panic; errors are fine, but each one is rendered (as the CLI would) so a
//! panic in error reporting is caught too. Limits are kept small so one
//! input cannot make a slow execution.

use std::io::Cursor;
use std::path::Path;

use rollcall_dsl::model::{Compression, CsvOptions, Encoding, Format, PathSegment};
use rollcall_engine::source::{Limits, RecordReader};

/// Limits that keep each execution fast whatever the input.
fn small_limits() -> Limits {
    Limits {
        max_line_bytes: 1 << 16,
        max_decompressed_bytes: 1 << 22,
        max_depth: 128,
    }
}

/// Reads every record of `data` as `format`, checking what the reader
/// promises: records come in line order, at most one fatal error ends the
/// stream, and every error renders.
fn read_all(data: &[u8], format: Format, compression: Compression, record_path: &[PathSegment]) {
    let reader = RecordReader::new(
        Box::new(Cursor::new(data.to_vec())),
        "fuzz-input",
        &format,
        compression,
        record_path,
        small_limits(),
    );
    let mut last_line = 0;
    let mut fatal = false;
    for item in reader {
        assert!(!fatal, "a record after a fatal error");
        match item {
            Ok(record) => {
                assert!(record.line >= last_line, "lines go backwards");
                assert!(record.line >= 1, "lines are 1-based");
                last_line = record.line;
            }
            Err(err) => {
                fatal = !err.is_record_level();
                let _ = format!("{:?}", miette::Report::new(err));
            }
        }
    }
}

/// The pipeline language: parse, lower, check, compile, and render every
/// diagnostic with its source snippet.
pub fn pipeline(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A folder that does not exist: schema paths resolve to nothing, so no
    // input can make the target read the machine's files.
    let loaded = rollcall_dsl::load_str("fuzz.kdl", text, Path::new("/nonexistent-fuzz-base"));
    for pipeline in &loaded.pipelines {
        let _ = rollcall_engine::plan::Plan::compile(pipeline);
    }
    for diagnostic in loaded.diagnostics {
        let _ = format!("{:?}", miette::Report::new(diagnostic));
    }
}

/// `rollcall fmt`: formatting never panics, and formatting its own output
/// changes nothing.
pub fn fmt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match rollcall_dsl::format::format(text) {
        Ok(formatted) => {
            let again = rollcall_dsl::format::format(&formatted)
                .unwrap_or_else(|e| panic!("formatted output does not format: {e}\n{formatted}"));
            assert_eq!(again, formatted, "formatting is not idempotent");
        }
        Err(err) => {
            let _ = format!("{:?}", miette::Report::new(err));
        }
    }
}

/// JSON Lines, plain, with and without a record path.
pub fn jsonl(data: &[u8]) {
    read_all(data, Format::Jsonl, Compression::None, &[]);
    read_all(
        data,
        Format::Jsonl,
        Compression::None,
        &[PathSegment::Key("object".into()), PathSegment::Index(0)],
    );
}

/// One JSON array, plain.
pub fn json_array(data: &[u8]) {
    read_all(data, Format::Json, Compression::None, &[]);
}

/// CSV, with the options taken from the first byte so every combination
/// of header, columns, delimiter, quote and encoding is reached.
pub fn csv(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let options = CsvOptions {
        delimiter: [b',', b';', b'\t', b'|'][usize::from(flags & 3)],
        quote: if flags & 4 == 0 { b'"' } else { b'\'' },
        header: flags & 8 == 0,
        columns: if flags & 16 == 0 {
            Vec::new()
        } else {
            vec!["a".into(), "b".into(), "c".into()]
        },
        encoding: if flags & 32 == 0 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        },
        ragged_rows: flags & 64 != 0,
    };
    read_all(rest, Format::Csv(options), Compression::None, &[]);
}

/// Gzip (detected and forced) in front of the JSONL decoder.
pub fn gzip(data: &[u8]) {
    read_all(data, Format::Jsonl, Compression::Gzip, &[]);
    read_all(data, Format::Json, Compression::Auto, &[]);
}

/// The pipeline loader on deeply nested text: the first two bytes pick a
/// depth (up to 4095) and what nests (blocks, `/* */` comments, slashdashed
/// blocks, blocks behind a string holding `{`); the rest is the innermost
/// text. No depth may overflow the parser's stack (issue 13: 2000 blocks
/// aborted `validate`, `fmt` and `run`).
pub fn pipeline_nesting(data: &[u8]) {
    let Some((&[low, high], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let depth = usize::from(u16::from_le_bytes([low, high]) & 0x0fff);
    let (open, close) = match high >> 6 {
        0 => ("n {", "}"),
        1 => ("/* ", " */"),
        2 => ("n { /- m {", "} }"),
        _ => ("n \"{\" {", "}"),
    };
    let inner = String::from_utf8_lossy(rest);
    let text = format!(
        "pipeline p {{\n{}{inner}{}\n}}\n",
        open.repeat(depth),
        close.repeat(depth)
    );
    pipeline(text.as_bytes());
    if let Err(err) = rollcall_dsl::format::format(&text) {
        let _ = format!("{:?}", miette::Report::new(err));
    }
}

/// A mapper with the fast path (no schema, a record path of keys).
fn duplicates_plan() -> &'static rollcall_engine::plan::Plan {
    static PLAN: std::sync::OnceLock<rollcall_engine::plan::Plan> = std::sync::OnceLock::new();
    PLAN.get_or_init(|| {
        let text = r#"pipeline dup {
    source file "x.jsonl" {
        format jsonl
        record person
    }
    key id
    map {
        id id required=#true
        email email
        first apps { pluck "key"; }
        tags tags
    }
}
"#;
        let loaded = rollcall_dsl::load_str("dup.kdl", text, Path::new("/nonexistent-fuzz-base"));
        assert!(loaded.is_valid(), "{:?}", loaded.diagnostics);
        rollcall_engine::plan::Plan::compile(&loaded.pipelines[0]).expect("compiles")
    })
}

/// The line with the first member of its `person` object named twice.
fn first_member_twice(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let person = value.get("person")?.as_object()?;
    let (name, first) = person.iter().next()?;
    let members: Vec<String> = std::iter::once((name, &serde_json::Value::Null))
        .chain(std::iter::once((name, first)))
        .chain(person.iter().skip(1))
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
        .collect();
    Some(format!("{{\"person\":{{{}}}}}", members.join(",")))
}

/// The JSON fast path against the full parse, on lines with members named
/// twice: the input's first line, and a copy with its first `person` member
/// repeated. Whenever the fast path answers, the full parse accepts the
/// line too and maps it to the same values; a repeated member is refused
/// by the full parse (`source::duplicate-member`), so the fast path must
/// never answer for one.
pub fn json_duplicates(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let line = text.lines().next().unwrap_or("");
    let mapper = &duplicates_plan().mapper;
    assert!(mapper.has_fast_path());
    let candidates = std::iter::once(line.to_owned()).chain(first_member_twice(line));
    for candidate in candidates {
        let mut slots = Vec::new();
        let Some(fast) = mapper.map_text(&candidate, &mut slots) else {
            continue;
        };
        let mut reader = RecordReader::new(
            Box::new(Cursor::new(candidate.clone().into_bytes())),
            "fuzz-input",
            &Format::Jsonl,
            Compression::None,
            &[PathSegment::Key("person".into())],
            small_limits(),
        );
        match reader.next() {
            Some(Ok(record)) => assert_eq!(
                mapper.map(&record.value),
                fast,
                "the fast and full paths disagree on {candidate:?}"
            ),
            other => panic!(
                "the fast path answered a line the full parse refuses: {candidate:?} ({other:?})"
            ),
        }
    }
}
