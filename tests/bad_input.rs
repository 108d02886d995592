//! The bad-input corpus (`tests/bad-input/`): extracts, pipeline files and
//! state stores that are broken or hostile. Every case runs the real binary
//! against a real state store that already holds a pipeline's records and
//! checks three things: the exit code documented in
//! `tests/bad-input/README.md`, an error that says where the problem is
//! (file, line or byte offset, and the key when there is one), and that the
//! store is exactly as it was (`PRAGMA integrity_check` ok, same dump).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use std::time::Duration;

use support::{arg, integrity_check, output_within, parts, repo, rollcall, state_dump};

/// The pipeline a case runs, each with its own base extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `pipelines/staff-sso.kdl` (and its variants), base `examples/staff-sso/day-1.jsonl`.
    StaffSso,
    /// `people-jsonl*.kdl`, base `data/people-base.jsonl`.
    PeopleJsonl,
    /// `people-json.kdl`, base `data/people-base.json`.
    PeopleJson,
    /// `people-csv*.kdl`, base `data/people-base.csv`.
    PeopleCsv,
}

impl Family {
    fn default_pipeline(self) -> PathBuf {
        match self {
            Family::StaffSso => repo().join("pipelines/staff-sso.kdl"),
            Family::PeopleJsonl => corpus("pipelines/people-jsonl.kdl"),
            Family::PeopleJson => corpus("pipelines/people-json.kdl"),
            Family::PeopleCsv => corpus("pipelines/people-csv.kdl"),
        }
    }

    fn base(self) -> PathBuf {
        match self {
            Family::StaffSso => repo().join("examples/staff-sso/day-1.jsonl"),
            Family::PeopleJsonl => corpus("data/people-base.jsonl"),
            Family::PeopleJson => corpus("data/people-base.json"),
            Family::PeopleCsv => corpus("data/people-base.csv"),
        }
    }
}

/// Where a case's extract comes from.
enum Input {
    /// A committed file under `tests/bad-input/data/`.
    Data(&'static str),
    /// Made in the case's temporary folder (too big to commit, or a file
    /// system oddity such as a symbolic-link loop).
    Made(fn(&Path) -> PathBuf),
    /// The pipeline's declared source (for glob cases made in the folder).
    Declared,
}

/// What a case runs.
enum Command {
    /// `rollcall run PIPELINE --input DELIVERY`.
    Run,
    /// `rollcall run` with a pipeline written into the case's folder.
    RunMadePipeline(fn(&Path) -> PathBuf),
    /// `rollcall run` on a state store made by the case (not the family's).
    RunOnStore(fn(&Path) -> PathBuf),
}

struct Case {
    name: &'static str,
    family: Family,
    /// A pipeline under `tests/bad-input/pipelines/`, else the family's.
    pipeline: Option<&'static str>,
    input: Input,
    command: Command,
    exit: i32,
    /// Every one of these must appear on stderr.
    says: &'static [&'static str],
}

fn corpus(path: &str) -> PathBuf {
    repo().join("tests/bad-input").join(path)
}

const fn case(
    name: &'static str,
    family: Family,
    input: Input,
    exit: i32,
    says: &'static [&'static str],
) -> Case {
    Case {
        name,
        family,
        pipeline: None,
        input,
        command: Command::Run,
        exit,
        says,
    }
}

impl Case {
    const fn with_pipeline(mut self, pipeline: &'static str) -> Case {
        self.pipeline = Some(pipeline);
        self
    }

    const fn with_command(mut self, command: Command) -> Case {
        self.command = command;
        self
    }
}

use Family::{PeopleCsv, PeopleJson, PeopleJsonl, StaffSso};
use Input::{Data, Declared, Made};

/// Every kind of bad input, grouped as in `tests/bad-input/README.md`.
fn cases() -> Vec<Case> {
    vec![
        // ---- compression
        case(
            "truncated gzip",
            StaffSso,
            Data("truncated.jsonl.gz"),
            1,
            &[
                "rollcall::source::truncated-gzip",
                "truncated.jsonl.gz: byte ",
                "ends early",
            ],
        ),
        case(
            "gzip header followed by garbage",
            StaffSso,
            Data("garbage.jsonl.gz"),
            1,
            &["rollcall::source::bad-gzip", "garbage.jsonl.gz: byte "],
        ),
        case(
            "gzip with a bad checksum",
            StaffSso,
            Data("bad-crc.jsonl.gz"),
            1,
            &["rollcall::source::bad-gzip", "bad-crc.jsonl.gz: byte "],
        ),
        case(
            "gzip whose second member is garbage",
            StaffSso,
            Data("bad-second-member.jsonl.gz"),
            1,
            &["bad-second-member.jsonl.gz: byte "],
        ),
        case(
            "a plain file named .gz where gzip is declared",
            StaffSso,
            Data("not-gzip.jsonl.gz"),
            1,
            &[
                "rollcall::source::bad-gzip",
                "not-gzip.jsonl.gz: byte 0",
                "magic bytes",
            ],
        )
        .with_pipeline("staff-sso-gzip.kdl"),
        case(
            "a text note named .gz (content decides, not the name)",
            StaffSso,
            Data("text-named-gz.jsonl.gz"),
            1,
            &["rollcall::source::bad-json", "text-named-gz.jsonl.gz:1:"],
        ),
        case(
            "gzip bomb past max-decompressed",
            StaffSso,
            Made(gzip_bomb),
            1,
            &[
                "rollcall::source::too-large",
                "bomb.jsonl.gz: byte ",
                "limit of 1048576 bytes",
                "max-decompressed",
            ],
        )
        .with_pipeline("staff-sso-limits.kdl"),
        // ---- JSON Lines
        case(
            "a JSON line cut in half at the end",
            StaffSso,
            Data("cut-line.jsonl"),
            1,
            &["rollcall::source::bad-json", "cut-line.jsonl:11:"],
        ),
        case(
            "a JSON line broken in two",
            StaffSso,
            Data("line-broken-in-two.jsonl"),
            1,
            &["rollcall::source::bad-json", "line-broken-in-two.jsonl:5:"],
        ),
        case(
            "JSON nested 10000 deep",
            StaffSso,
            Data("deep.jsonl"),
            1,
            &["rollcall::source::too-deep", "deep.jsonl:3:"],
        ),
        case(
            "nesting past max-depth",
            StaffSso,
            Made(nested_nine),
            1,
            &[
                "rollcall::source::too-deep",
                "nested.jsonl:2:",
                "limit of 8",
            ],
        )
        .with_pipeline("staff-sso-limits.kdl"),
        case(
            "a 100 MB single line",
            StaffSso,
            Made(hundred_megabyte_line),
            1,
            &[
                "rollcall::source::record-too-long",
                "long-line.jsonl:2:",
                "16777216 bytes",
            ],
        ),
        case(
            "a line past max-line",
            StaffSso,
            Made(long_second_line),
            1,
            &[
                "rollcall::source::record-too-long",
                "longer-than-4k.jsonl:2:",
                "4096 bytes",
                "max-line",
            ],
        )
        .with_pipeline("staff-sso-limits.kdl"),
        case(
            "a NUL byte inside a string",
            StaffSso,
            Data("nul-byte.jsonl"),
            1,
            &[
                "rollcall::source::bad-json",
                "nul-byte.jsonl:4:",
                "control character",
            ],
        ),
        case(
            "invalid UTF-8",
            StaffSso,
            Data("invalid-utf8.jsonl"),
            1,
            &["rollcall::source::bad-utf8", "invalid-utf8.jsonl:6:"],
        ),
        case(
            "UTF-16 without a byte-order mark",
            StaffSso,
            Data("utf16le-no-bom.jsonl"),
            1,
            &[
                "rollcall::source::bad-encoding",
                "utf16le-no-bom.jsonl: byte 0",
                "UTF-16",
            ],
        ),
        case(
            "UTF-16 with a byte-order mark",
            StaffSso,
            Data("utf16-bom.jsonl"),
            1,
            &[
                "rollcall::source::bad-encoding",
                "utf16-bom.jsonl: byte 0",
                "UTF-16",
            ],
        ),
        case(
            "a number out of range",
            StaffSso,
            Data("huge-number.jsonl"),
            1,
            &[
                "rollcall::source::bad-json",
                "huge-number.jsonl:9:",
                "out of range",
            ],
        ),
        case(
            "a lone UTF-16 surrogate escape",
            StaffSso,
            Data("lone-surrogate.jsonl"),
            1,
            &[
                "rollcall::source::bad-json",
                "lone-surrogate.jsonl:10:",
                "surrogate",
            ],
        ),
        case(
            "terminal control bytes in a JSON line that does not parse",
            PeopleJsonl,
            Data("control-bytes.jsonl"),
            1,
            &["rollcall::source::bad-json", "control-bytes.jsonl:2:"],
        ),
        case(
            "a member named twice on the key path (issue 13, 5)",
            PeopleJsonl,
            Data("duplicate-member.jsonl"),
            1,
            &[
                "rollcall::source::duplicate-member",
                "duplicate-member.jsonl:3:",
                "the member `id` appears twice",
            ],
        ),
        case(
            "the record path named twice on one line",
            PeopleJsonl,
            Data("duplicate-record-path.jsonl"),
            1,
            &[
                "rollcall::source::duplicate-member",
                "duplicate-record-path.jsonl:4:",
                "the member `person` appears twice",
            ],
        ),
        // ---- records and keys
        case(
            "a duplicate key",
            StaffSso,
            Data("duplicate-key.jsonl"),
            1,
            &[
                "rollcall::run::duplicate-key",
                "duplicate-key.jsonl:7:",
                "first seen on line 2",
            ],
        ),
        case(
            "an empty key",
            PeopleJsonl,
            Data("empty-key.jsonl"),
            3,
            &["invalid: ", "empty-key.jsonl:3", "max-invalid"],
        ),
        case(
            "a null key",
            PeopleJsonl,
            Data("null-key.jsonl"),
            3,
            &["null-key.jsonl:2", "max-invalid"],
        ),
        case(
            "a number where a string is expected",
            PeopleJsonl,
            Data("number-key.jsonl"),
            3,
            &["number-key.jsonl:3 key \"12345\"", "max-invalid"],
        ),
        case(
            "a number key JSON cannot hold exactly (past 2^64, or 1e0 vs 10e-1; issue 13)",
            PeopleJsonl,
            Data("inexact-number-keys.jsonl"),
            3,
            &[
                "inexact-number-keys.jsonl:3",
                "inexact-number-keys.jsonl:4",
                "inexact-number-keys.jsonl:5",
                "not a whole number rollcall can keep exactly",
                "max-invalid",
            ],
        )
        .with_pipeline("people-jsonl-untyped.kdl"),
        case(
            "a missing record path",
            PeopleJsonl,
            Data("missing-record-path.jsonl"),
            3,
            &["missing-record-path.jsonl:4", "no `person`", "max-invalid"],
        ),
        case(
            "a line that is a scalar, not an object",
            PeopleJsonl,
            Data("scalar-line.jsonl"),
            3,
            &["scalar-line.jsonl:4", "no `person`", "max-invalid"],
        ),
        case(
            "keys differing only in case, compared lowercased",
            PeopleJsonl,
            Data("case-only-keys.jsonl"),
            1,
            &[
                "rollcall::run::duplicate-key",
                "case-only-keys.jsonl:6:",
                "\"p1\"",
                "first seen on line 1",
            ],
        )
        .with_pipeline("people-jsonl-lowercase.kdl"),
        case(
            "keys differing only in normalisation, compared in NFC",
            PeopleJsonl,
            Data("nfc-keys.jsonl"),
            1,
            &[
                "rollcall::run::duplicate-key",
                "nfc-keys.jsonl:7:",
                "first seen on line 6",
            ],
        )
        .with_pipeline("people-jsonl-nfc.kdl"),
        // ---- empty extracts are never "everyone left"
        case(
            "an empty extract",
            StaffSso,
            Data("empty.jsonl"),
            1,
            &[
                "rollcall::run::empty-extract",
                "empty.jsonl",
                "If the source is really empty",
            ],
        ),
        case(
            "an extract of blank lines",
            StaffSso,
            Data("blank-lines.jsonl"),
            1,
            &["rollcall::run::empty-extract", "blank-lines.jsonl"],
        ),
        case(
            "an empty JSON array",
            PeopleJson,
            Data("empty-array.json"),
            1,
            &["rollcall::run::empty-extract", "empty-array.json"],
        ),
        case(
            "a CSV with only a header",
            PeopleCsv,
            Data("header-only.csv"),
            1,
            &["rollcall::run::empty-extract", "header-only.csv"],
        ),
        case(
            "every record invalid, no thresholds declared",
            PeopleJson,
            Data("all-invalid.json"),
            3,
            &[
                "no-valid-records",
                "none of the 3 records read is valid (3 invalid, 0 filtered)",
                "would remove all 5 present records",
                "all-invalid.json:2",
                "nothing was applied",
            ],
        ),
        // ---- JSON arrays
        case(
            "a JSON array missing `]`",
            PeopleJson,
            Data("missing-bracket.json"),
            1,
            &[
                "rollcall::source::bad-json",
                "missing-bracket.json:6:",
                "missing `]`",
            ],
        ),
        case(
            "a trailing comma",
            PeopleJson,
            Data("trailing-comma.json"),
            1,
            &[
                "rollcall::source::bad-json",
                "trailing-comma.json:6:",
                "trailing comma",
            ],
        ),
        case(
            "an object where the array belongs",
            PeopleJson,
            Data("object-not-array.json"),
            1,
            &[
                "rollcall::source::bad-json",
                "object-not-array.json:1:1",
                "expected `[`",
            ],
        ),
        case(
            "terminal control bytes in a JSON array element that does not parse (issue 13, 4)",
            PeopleJson,
            Data("control-bytes.json"),
            1,
            &["rollcall::source::bad-json", "control-bytes.json:3:"],
        ),
        case(
            "data after the closing `]`",
            PeopleJson,
            Data("after-close.json"),
            1,
            &[
                "rollcall::source::bad-json",
                "after-close.json:8:1",
                "after the end of the array",
            ],
        ),
        // ---- CSV
        case(
            "a CSV quote never closed",
            PeopleCsv,
            Data("unbalanced-quote.csv"),
            1,
            &["rollcall::source::bad-csv-quote", "unbalanced-quote.csv:4:"],
        ),
        case(
            "a ragged CSV row",
            PeopleCsv,
            Data("ragged-row.csv"),
            1,
            &[
                "rollcall::source::ragged-row",
                "ragged-row.csv:5:",
                "2 fields but there are 3 columns",
            ],
        ),
        case(
            "a column named twice",
            PeopleCsv,
            Data("duplicate-columns.csv"),
            1,
            &[
                "rollcall::source::bad-columns",
                "duplicate-columns.csv:1:",
                "`email` appears twice",
            ],
        ),
        case(
            "invalid UTF-8 in a CSV field",
            PeopleCsv,
            Data("invalid-utf8.csv"),
            1,
            &[
                "rollcall::source::bad-utf8",
                "invalid-utf8.csv:3:",
                "field 3 (`name`)",
            ],
        ),
        case(
            "a UTF-16 CSV without a byte-order mark",
            PeopleCsv,
            Data("utf16le-no-bom.csv"),
            1,
            &[
                "rollcall::source::bad-encoding",
                "utf16le-no-bom.csv: byte 0",
                "UTF-16",
            ],
        ),
        case(
            "a runaway quote past max-line",
            PeopleCsv,
            Made(runaway_quote),
            1,
            &[
                "rollcall::source::record-too-long",
                "runaway.csv:3:",
                "1024 bytes",
            ],
        )
        .with_pipeline("people-csv-limits.kdl"),
        // ---- files and folders
        case(
            "a symbolic-link loop in a glob",
            PeopleJsonl,
            Declared,
            1,
            &[
                "rollcall::source::unreadable",
                "loop.jsonl",
                "symbolic links",
            ],
        )
        .with_command(Command::RunMadePipeline(symlink_loop)),
        case(
            "a dangling symbolic link in a glob",
            PeopleJsonl,
            Declared,
            1,
            &["rollcall::source::unreadable", "dangling.jsonl"],
        )
        .with_command(Command::RunMadePipeline(dangling_link)),
        case(
            "a glob matching nothing",
            PeopleJsonl,
            Declared,
            1,
            &["rollcall::source::not-found", "drops/*.jsonl"],
        )
        .with_command(Command::RunMadePipeline(empty_drop_folder)),
        case(
            "a directory where the extract belongs",
            PeopleJsonl,
            Made(directory),
            1,
            &[
                "rollcall::source::unreadable",
                "a-directory.jsonl",
                "is a directory",
            ],
        ),
        case(
            "a path through a regular file",
            PeopleJsonl,
            Made(through_a_file),
            1,
            &[
                "rollcall::source::unreadable",
                "people-base.jsonl/inner.jsonl",
            ],
        ),
        case(
            "a FIFO where the extract belongs (refused, never opened)",
            PeopleJsonl,
            Made(fifo),
            1,
            &[
                "rollcall::source::unreadable",
                "fifo.jsonl",
                "not a regular file",
            ],
        ),
        case(
            "an extract that does not exist",
            PeopleJsonl,
            Made(missing_file),
            1,
            &["rollcall::source::unreadable", "absent.jsonl"],
        ),
        // ---- the pipeline file
        case(
            "a pipeline file that is not UTF-8",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &["rollcall::io", "not-utf8.kdl", "byte 0xe9 at line 1"],
        )
        .with_pipeline("not-utf8.kdl"),
        case(
            "a pipeline with a KDL syntax error",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &["rollcall::syntax", "syntax-error.kdl"],
        )
        .with_pipeline("syntax-error.kdl"),
        case(
            "a pipeline with an inline secret",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &["rollcall::inline-secret", "inline-secret.kdl"],
        )
        .with_pipeline("inline-secret.kdl"),
        case(
            "source limits that are not sizes or out of range",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &[
                "`16 furlongs` is not a size",
                "`max-decompressed` is out of range",
                "`max-depth` is out of range",
            ],
        )
        .with_pipeline("bad-limits.kdl"),
        case(
            "a pipeline file declaring no pipeline",
            PeopleJsonl,
            Data("people-base.jsonl"),
            64,
            &["no-pipeline.kdl holds 0 pipelines"],
        )
        .with_pipeline("no-pipeline.kdl"),
        case(
            "a pipeline file of 2000 nested blocks (issue 13, 6)",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &[
                "rollcall::too-deep",
                "deep.kdl:1:",
                "blocks are nested more than 64 deep",
            ],
        )
        .with_command(Command::RunMadePipeline(deep_pipeline)),
        case(
            "a FIFO as the pipeline file (issue 13, 8)",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &["rollcall::io", "fifo.kdl", "not a regular file"],
        )
        .with_command(Command::RunMadePipeline(fifo_pipeline)),
        case(
            "a sink writing the pipeline's own source (issue 13, 2)",
            PeopleJsonl,
            Declared,
            1,
            &[
                "rollcall::sink-overwrites-input",
                "sink `people.jsonl` would overwrite the pipeline's source",
            ],
        )
        .with_command(Command::RunMadePipeline(sink_on_source)),
        // ---- the state store
        case(
            "a sink writing the state store (issue 13, 1)",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &[
                "rollcall::run::sink-overwrites-input",
                "sink `state.db` would write",
                "which is the state store",
            ],
        )
        .with_command(Command::RunMadePipeline(sink_on_store)),
        case(
            "a sink writing the state store's write-ahead log",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &[
                "rollcall::run::sink-overwrites-input",
                "the state store's `-wal` file",
            ],
        )
        .with_command(Command::RunMadePipeline(sink_on_wal)),
        case(
            "a state store that is not a database",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &["rollcall::store::sqlite", "garbage.db"],
        )
        .with_command(Command::RunOnStore(garbage_store)),
        case(
            "a state store from a newer rollcall",
            PeopleJsonl,
            Data("people-base.jsonl"),
            1,
            &["rollcall::store::too-new", "newer.db", "schema version 99"],
        )
        .with_command(Command::RunOnStore(newer_store)),
    ]
}

/// 64 MiB of newlines in about 64 KiB of gzip, against a 1 MiB limit.
fn gzip_bomb(dir: &Path) -> PathBuf {
    let path = dir.join("bomb.jsonl.gz");
    let file = std::fs::File::create(&path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let chunk = vec![b'\n'; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap();
    path
}

fn day_one_line() -> String {
    let day1 = std::fs::read_to_string(repo().join("examples/staff-sso/day-1.jsonl")).unwrap();
    day1.lines().next().unwrap().to_owned()
}

/// A valid line, then 100 MB on one line (generated, never committed).
fn hundred_megabyte_line(dir: &Path) -> PathBuf {
    let path = dir.join("long-line.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "{}", day_one_line()).unwrap();
    out.write_all(b"{\"object\": \"").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..100 {
        out.write_all(&chunk).unwrap();
    }
    out.write_all(b"\"}\n").unwrap();
    out.flush().unwrap();
    path
}

fn long_second_line(dir: &Path) -> PathBuf {
    let path = dir.join("longer-than-4k.jsonl");
    let long = format!("{{\"pad\": \"{}\"}}", "y".repeat(5000));
    std::fs::write(&path, format!("{}\n{long}\n", day_one_line())).unwrap();
    path
}

fn nested_nine(dir: &Path) -> PathBuf {
    let path = dir.join("nested.jsonl");
    let nested = format!("{{\"object\": {}1{}}}", "[".repeat(8), "]".repeat(8));
    std::fs::write(&path, format!("{}\n{nested}\n", day_one_line())).unwrap();
    path
}

fn runaway_quote(dir: &Path) -> PathBuf {
    let path = dir.join("runaway.csv");
    let text = format!(
        "id,email,name\np1,p1@example.org,Person 1\np2,\"p2@example.org,{}\n",
        "z,".repeat(2000)
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A pipeline reading `drops/*.jsonl` from the case's folder.
fn drop_pipeline(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("drops")).unwrap();
    let schema = corpus("people.schema.json");
    let text = format!(
        r#"pipeline people {{
    source file "drops/*.jsonl" {{
        format jsonl
        record person
    }}
    schema "{}"
    key id
    map {{
        id id required=#true
        email email
        name name
    }}
}}
"#,
        schema.display()
    );
    let path = dir.join("people.kdl");
    std::fs::write(&path, text).unwrap();
    path
}

fn symlink_loop(dir: &Path) -> PathBuf {
    let pipeline = drop_pipeline(dir);
    std::fs::copy(
        corpus("data/people-base.jsonl"),
        dir.join("drops/2024-09-01.jsonl"),
    )
    .unwrap();
    std::os::unix::fs::symlink("loop.jsonl", dir.join("drops/loop.jsonl")).unwrap();
    pipeline
}

fn dangling_link(dir: &Path) -> PathBuf {
    let pipeline = drop_pipeline(dir);
    std::os::unix::fs::symlink("gone.jsonl", dir.join("drops/dangling.jsonl")).unwrap();
    pipeline
}

fn empty_drop_folder(dir: &Path) -> PathBuf {
    drop_pipeline(dir)
}

fn directory(dir: &Path) -> PathBuf {
    let path = dir.join("a-directory.jsonl");
    std::fs::create_dir(&path).unwrap();
    path
}

fn through_a_file(dir: &Path) -> PathBuf {
    let file = dir.join("people-base.jsonl");
    std::fs::copy(corpus("data/people-base.jsonl"), &file).unwrap();
    file.join("inner.jsonl")
}

fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("fifo.jsonl");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

fn missing_file(dir: &Path) -> PathBuf {
    dir.join("absent.jsonl")
}

/// A valid pipeline reading `people.jsonl` (a copy of the base) from the
/// case's folder, with `sink` added at its end.
fn people_pipeline_with(dir: &Path, name: &str, sink: &str) -> PathBuf {
    std::fs::copy(corpus("data/people-base.jsonl"), dir.join("people.jsonl")).unwrap();
    let text = format!(
        r#"pipeline people {{
    source file "people.jsonl" {{
        format jsonl
        record person
    }}
    key id
    map {{
        id id required=#true
        email email
        name name
    }}
    {sink}
}}
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The case's store is `state.db` beside the pipeline.
fn sink_on_store(dir: &Path) -> PathBuf {
    people_pipeline_with(
        dir,
        "people.kdl",
        r#"sink csv "state.db" { column ID id; }"#,
    )
}

fn sink_on_wal(dir: &Path) -> PathBuf {
    people_pipeline_with(dir, "people.kdl", r#"sink jsonl "./state.db-wal""#)
}

fn sink_on_source(dir: &Path) -> PathBuf {
    people_pipeline_with(dir, "people.kdl", r#"sink json "people.jsonl""#)
}

/// 2000 nested blocks, about 8 KB: deep enough to overflow the parser's stack.
fn deep_pipeline(dir: &Path) -> PathBuf {
    let path = dir.join("deep.kdl");
    std::fs::write(&path, format!("{}{}", "a {".repeat(2000), "}".repeat(2000))).unwrap();
    path
}

fn fifo_pipeline(dir: &Path) -> PathBuf {
    let path = dir.join("fifo.kdl");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

fn garbage_store(dir: &Path) -> PathBuf {
    let path = dir.join("garbage.db");
    std::fs::write(
        &path,
        b"this is not a SQLite database, it only has its name\n".repeat(200),
    )
    .unwrap();
    path
}

fn newer_store(dir: &Path) -> PathBuf {
    let path = dir.join("newer.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    path
}

/// Stderr with miette's line wrapping undone: the lines of one message
/// joined by single spaces, so expected phrases match across a wrap.
fn unwrapped(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| line.trim_start_matches([' ', '│', '×']).trim_end())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A state store holding `family`'s base extract, made once and copied per case.
fn base_store(family: Family, cache: &Path) -> PathBuf {
    let db = cache.join(format!("{family:?}.db"));
    if !db.exists() {
        let output = rollcall()
            .args(["run", arg(&family.default_pipeline()), "--state", arg(&db)])
            .args(["--input", arg(&family.base())])
            .output()
            .unwrap();
        let (code, stdout, stderr) = parts(&output);
        assert_eq!(code, 0, "base of {family:?}\n{stdout}\n{stderr}");
    }
    db
}

/// Copies a store file (after a clean close it has no WAL to carry).
fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
}

#[test]
fn every_kind_of_bad_input_is_located_exits_as_documented_and_changes_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 30, "the corpus has {} kinds", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        let base = base_store(case.family, cache.path());
        let pipeline = match (&case.command, case.pipeline) {
            (Command::RunMadePipeline(make), _) => make(dir.path()),
            (_, Some(name)) => corpus(&format!("pipelines/{name}")),
            (_, None) => case.family.default_pipeline(),
        };
        let db = match &case.command {
            Command::RunOnStore(make) => make(dir.path()),
            _ => {
                let db = dir.path().join("state.db");
                copy_store(&base, &db);
                db
            }
        };
        let raw_before = std::fs::read(&db).unwrap();
        let dump_before = matches!(case.command, Command::RunOnStore(_))
            .then(String::new)
            .unwrap_or_else(|| state_dump(&db));

        let mut command = rollcall();
        command.args(["run", arg(&pipeline), "--state", arg(&db)]);
        let input = match &case.input {
            Data(name) => Some(corpus(&format!("data/{name}"))),
            Made(make) => Some(make(dir.path())),
            Declared => None,
        };
        if let Some(input) = &input {
            command.args(["--input", arg(input)]);
        }
        let (output, in_time) = output_within(&mut command, Duration::from_secs(120));
        let (code, stdout, stderr) = parts(&output);
        let said = unwrapped(&stderr);

        let mut problems = Vec::new();
        if !in_time {
            problems.push("still running after 120 s (killed)".into());
        }
        // Nothing from the input may reach the terminal as control bytes.
        let text = format!("{stdout}{stderr}");
        if text.contains(['\u{1b}', '\u{7}', '\u{9b}']) {
            problems.push("terminal control bytes on stdout or stderr".into());
        }
        if code != case.exit {
            problems.push(format!("exit {code}, documented {}", case.exit));
        }
        for says in case.says {
            if !said.contains(says) {
                problems.push(format!("stderr lacks {says:?}"));
            }
        }
        match &case.command {
            Command::RunOnStore(_) => {
                if std::fs::read(&db).unwrap() != raw_before {
                    problems.push("the store file changed".into());
                }
            }
            _ => {
                let check = integrity_check(&db);
                if check != "ok" {
                    problems.push(format!("integrity_check: {check}"));
                }
                if state_dump(&db) != dump_before {
                    problems.push("the state changed".into());
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stdout\n{stdout}--- stderr\n{stderr}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Without a normalising transform, keys that differ only in case or in
/// Unicode normalisation are different keys (and so different people): the
/// engine compares keys byte for byte, as the source system does.
#[test]
fn keys_differing_only_in_case_or_normalisation_are_distinct_without_a_transform() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    for (input, created) in [("case-only-keys.jsonl", 6), ("nfc-keys.jsonl", 7)] {
        let output = rollcall()
            .args(["plan", arg(&corpus("pipelines/people-jsonl.kdl"))])
            .args(["--state", arg(&db), "--format", "json"])
            .args(["--input", arg(&corpus(&format!("data/{input}")))])
            .output()
            .unwrap();
        let plan = support::stdout_json(&output);
        assert_eq!(plan["summary"]["created"], created, "{input}");
    }
}

/// `validate` and `fmt` on hostile pipeline files and folders (issue 13,
/// items 6, 7 and 8): each answers within a minute with a located error or,
/// for a folder that links to itself, checks each file once. Before, 2000
/// nested blocks aborted with a stack overflow (134), a FIFO hung both
/// commands and two links to `.` made them walk for ever.
#[test]
fn validate_and_fmt_answer_hostile_pipeline_files_and_folders_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let deep = deep_pipeline(root);
    let fifo = fifo_pipeline(root);
    let looped = root.join("looped");
    std::fs::create_dir(&looped).unwrap();
    let valid = people_pipeline_with(&looped, "people.kdl", "");
    let formatted = rollcall().args(["fmt", arg(&valid)]).output().unwrap();
    assert_eq!(parts(&formatted).0, 0, "{}", parts(&formatted).2);
    std::os::unix::fs::symlink(".", looped.join("again")).unwrap();
    std::os::unix::fs::symlink("..", looped.join("up")).unwrap();
    // `up` leads to the folder holding `fifo.kdl` and `deep.kdl`: move them
    // aside so the loop case sees only the valid pipeline.
    let odd = root.join("odd");
    std::fs::create_dir(&odd).unwrap();
    let (deep, fifo) = {
        let (d, f) = (odd.join("deep.kdl"), odd.join("fifo.kdl"));
        std::fs::rename(&deep, &d).unwrap();
        std::fs::rename(&fifo, &f).unwrap();
        (d, f)
    };
    std::fs::remove_file(looped.join("up")).unwrap();
    std::os::unix::fs::symlink("../looped", looped.join("up")).unwrap();

    let cases: Vec<(Vec<&str>, i32, &[&str])> = vec![
        (
            vec!["validate", arg(&deep)],
            1,
            &["rollcall::too-deep", "deep.kdl:1:"],
        ),
        (
            vec!["fmt", "--check", arg(&deep)],
            1,
            &["rollcall::too-deep", "deep.kdl:1:"],
        ),
        (
            vec!["validate", arg(&fifo)],
            1,
            &["rollcall::io", "fifo.kdl", "not a regular file"],
        ),
        (
            vec!["fmt", arg(&fifo)],
            1,
            &["rollcall::io", "fifo.kdl", "not a regular file"],
        ),
        (vec!["validate", arg(&looped)], 0, &[]),
        (vec!["fmt", "--check", arg(&looped)], 0, &[]),
    ];
    let mut failures = Vec::new();
    for (args, exit, says) in &cases {
        let mut command = rollcall();
        command.args(args);
        let (output, in_time) = output_within(&mut command, Duration::from_secs(60));
        let (code, stdout, stderr) = parts(&output);
        let said = unwrapped(&stderr);
        let missing: Vec<_> = says.iter().filter(|s| !said.contains(*s)).collect();
        if !in_time || code != *exit || !missing.is_empty() {
            failures.push(format!(
                "`rollcall {}`: exit {code} (want {exit}), in time {in_time}, lacks {missing:?}\n{stdout}\n{stderr}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where the command line decides the paths (issue 13, item 1 and Deliver
/// 2): `--out-dir` holding the store, `--state` naming a sink's file, and
/// `--input` naming one are refused before anything is locked or read, and
/// the store (and the file) are left exactly as they were.
#[test]
fn a_sink_never_writes_the_store_or_the_input_the_command_line_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pipeline = people_pipeline_with(
        root,
        "people.kdl",
        r#"sink csv "out/rollcall.db" { column ID id; }"#,
    );
    let state_dir = root.join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let db = state_dir.join("rollcall.db");
    let output = rollcall()
        .args(["run", arg(&pipeline), "--state", arg(&db)])
        .output()
        .unwrap();
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);
    let dump = state_dump(&db);
    let written = root.join("out/rollcall.db");
    let input = root.join("input.jsonl");
    std::fs::copy(root.join("people.jsonl"), &input).unwrap();

    // A store where the sink's file would go (the sink had written a CSV
    // there; a copy of the store takes its place).
    std::fs::copy(&db, &written).unwrap();
    let attempts: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--state".into(),
                arg(&db).into(),
                "--out-dir".into(),
                arg(&state_dir).into(),
            ],
            "which is the state store",
        ),
        (
            vec!["--state".into(), arg(&written).into()],
            "which is the state store",
        ),
        (
            vec![
                "--state".into(),
                arg(&db).into(),
                "--out-dir".into(),
                arg(root).into(),
                "--input".into(),
                "rollcall.db".into(),
            ],
            "which is the extract read (`--input`)",
        ),
    ];
    for (args, says) in &attempts {
        let input_arg: Vec<String> = if args.contains(&"--input".to_owned()) {
            // `--input` relative to the working folder: the sink's file there.
            Vec::new()
        } else {
            vec!["--input".into(), arg(&input).into()]
        };
        std::fs::write(root.join("rollcall.db"), "id\n").unwrap();
        let output = rollcall()
            .current_dir(root)
            .args(["run", arg(&pipeline)])
            .args(args)
            .args(&input_arg)
            .output()
            .unwrap();
        let (code, stdout, stderr) = parts(&output);
        let said = unwrapped(&stderr);
        assert_eq!(code, 1, "{args:?}\n{stdout}\n{stderr}");
        assert!(
            said.contains("rollcall::run::sink-overwrites-input") && said.contains(says),
            "{args:?}: lacks {says:?}\n{stderr}"
        );
        for store in [&db, &written] {
            assert_eq!(integrity_check(store), "ok");
            assert_eq!(state_dump(store), dump, "{args:?}: the store changed");
        }
        assert_eq!(
            std::fs::read_to_string(root.join("rollcall.db")).unwrap(),
            "id\n"
        );
    }

    // `rollcall deliver` writes the same sinks again, so the same check
    // stands before it: its `--out-dir` pointed at the store's folder.
    let output = rollcall()
        .current_dir(root)
        .args(["deliver", arg(&pipeline), "--state", arg(&db)])
        .args(["--out-dir", arg(&state_dir)])
        .output()
        .unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 1, "deliver:\n{stdout}\n{stderr}");
    let said = unwrapped(&stderr);
    assert!(
        said.contains("rollcall::run::sink-overwrites-input")
            && said.contains("which is the state store"),
        "deliver: {stderr}"
    );
    assert_eq!(integrity_check(&db), "ok");
    assert_eq!(state_dump(&db), dump, "deliver: the store changed");
}

/// Issue 13 (weak): a gzip extract padded with zero bytes after its last
/// member (as tape and block devices leave it) is accepted, as `gzip -t`
/// accepts it ("trailing zero bytes ignored"); bytes after the padding are
/// still refused with the compressed offset. Before, both were refused.
#[test]
fn a_gzip_extract_padded_with_zero_bytes_reads_like_gzip_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(Family::StaffSso.base()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let member = gz.finish().unwrap();
    let padded = dir.path().join("padded.jsonl.gz");
    let mut bytes = member.clone();
    bytes.extend(std::iter::repeat_n(0u8, 1024));
    std::fs::write(&padded, &bytes).unwrap();
    let plan = |input: &Path| {
        rollcall()
            .args(["plan", arg(&Family::StaffSso.default_pipeline())])
            .args(["--state", arg(&dir.path().join("state.db"))])
            .args(["--input", arg(input), "--format", "json"])
            .output()
            .unwrap()
    };
    let output = plan(&padded);
    assert_eq!(parts(&output).0, 0, "{}", parts(&output).2);
    let lines = plain
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(
        support::stdout_json(&output)["summary"]["read"],
        lines as u64
    );

    let garbage = dir.path().join("garbage-after-padding.jsonl.gz");
    bytes.extend_from_slice(b"garbage");
    std::fs::write(&garbage, &bytes).unwrap();
    let (code, _, stderr) = parts(&plan(&garbage));
    assert_eq!(code, 1, "{stderr}");
    let said = unwrapped(&stderr);
    assert!(
        said.contains("data follows the zero padding after the last gzip member")
            && said.contains(&format!("byte {}", member.len() + 1024)),
        "{stderr}"
    );
}
