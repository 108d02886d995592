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
    };
    read_all(rest, Format::Csv(options), Compression::None, &[]);
}

/// Gzip (detected and forced) in front of the JSONL decoder.
pub fn gzip(data: &[u8]) {
    read_all(data, Format::Jsonl, Compression::Gzip, &[]);
    read_all(data, Format::Json, Compression::Auto, &[]);
}
