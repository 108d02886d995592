//! Errors raised while locating an extract and decoding its records.
//!
//! Every error names the extract (file path or S3 URI) and where in it the
//! problem sits, so an operator can open the file at that place: a line and
//! column for text problems, a byte offset for binary ones (gzip).

use std::io;

use miette::Diagnostic;
use thiserror::Error;

/// A problem finding an extract or reading its records.
///
/// All kinds are fatal for the run except [`SourceError::MissingPayload`],
/// which only makes one record invalid (see [`SourceError::is_record_level`]).
#[derive(Debug, Error, Diagnostic)]
pub enum SourceError {
    /// No file matches the source's path or glob.
    #[error("no extract matches `{pattern}`")]
    #[diagnostic(
        code("rollcall::source::not-found"),
        help(
            "check the path in the pipeline's `source file` (it is resolved against the pipeline file's folder) and that the extract has arrived"
        )
    )]
    NotFound {
        /// The pattern, resolved against the base folder.
        pattern: String,
    },

    /// `pick only` found more than one match.
    #[error("`{pattern}` matches {} extracts but `pick only` needs exactly one: {}", matches.len(), matches.join(", "))]
    #[diagnostic(
        code("rollcall::source::ambiguous"),
        help("remove the stale extracts, narrow the glob, or use `pick newest`")
    )]
    Ambiguous {
        /// The pattern, resolved against the base folder.
        pattern: String,
        /// Every matching path, sorted.
        matches: Vec<String>,
    },

    /// The glob pattern itself is malformed.
    #[error("invalid glob `{pattern}`: {message}")]
    #[diagnostic(
        code("rollcall::source::bad-pattern"),
        help("globs support `*`, `?` and `[...]`; escape a literal `[` as `[[]`")
    )]
    BadPattern {
        /// The pattern as resolved.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },

    /// A path matched (or named) could not be inspected or opened.
    #[error("{path}: cannot read: {source}")]
    #[diagnostic(
        code("rollcall::source::unreadable"),
        help(
            "check the file's permissions, and for symbolic links that their target exists and does not loop"
        )
    )]
    Unreadable {
        /// The path that failed.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },

    /// Reaching an S3 source failed (credentials, bucket, access, nothing there).
    #[error(transparent)]
    #[diagnostic(transparent)]
    S3(#[from] crate::s3::S3Error),

    /// A setting of the source names an environment variable that is not usable.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Env(#[from] crate::env::EnvError),

    /// Reading the extract's bytes failed part-way.
    #[error("{name}: read failed at byte {offset}: {source}")]
    #[diagnostic(
        code("rollcall::source::read-failed"),
        help("the storage or network failed while streaming the extract; retry the run")
    )]
    Read {
        /// The extract's display name.
        name: String,
        /// Bytes of the (compressed) extract read before the failure.
        offset: u64,
        /// The underlying error.
        source: io::Error,
    },

    /// The gzip stream is not valid gzip (bad header, corrupt data, bad checksum).
    #[error("{name}: byte {offset}: invalid gzip data: {message}")]
    #[diagnostic(
        code("rollcall::source::bad-gzip"),
        help(
            "check that the extract is really gzip (`compression none` if it is plain) and was copied completely; `gzip -t FILE` tests it"
        )
    )]
    BadGzip {
        /// The extract's display name.
        name: String,
        /// Offset in the compressed bytes where decoding failed.
        offset: u64,
        /// What the decoder reported.
        message: String,
    },

    /// The gzip stream ends before its end-of-stream marker.
    #[error("{name}: byte {offset}: gzip data ends early (truncated extract)")]
    #[diagnostic(
        code("rollcall::source::truncated-gzip"),
        help(
            "the extract was cut off, probably during upload or copy; wait for a complete extract or ask its producer to resend it"
        )
    )]
    TruncatedGzip {
        /// The extract's display name.
        name: String,
        /// Compressed size at which the data stops.
        offset: u64,
    },

    /// Decompressing produced more bytes than allowed (a gzip bomb or a
    /// far larger extract than expected).
    #[error("{name}: byte {offset}: decompressed data exceeds the limit of {limit} bytes")]
    #[diagnostic(
        code("rollcall::source::too-large"),
        help(
            "if the extract is genuinely this large, raise the source's `limits {{ max-decompressed \"16GiB\" }}`; otherwise the extract may be a decompression bomb"
        )
    )]
    DecompressedTooLarge {
        /// The extract's display name.
        name: String,
        /// Offset in the compressed bytes where the limit was crossed.
        offset: u64,
        /// The limit in bytes.
        limit: u64,
    },

    /// One line (JSONL), array element (JSON) or row (CSV) is longer than allowed.
    #[error("{name}:{line}: record is longer than the limit of {limit} bytes")]
    #[diagnostic(
        code("rollcall::source::record-too-long"),
        help(
            "check that the file really is one record per line (JSONL) and not one huge JSON document, and that no CSV quote is left open; if records this long are genuine, raise the source's `limits {{ max-line \"64MiB\" }}`"
        )
    )]
    RecordTooLong {
        /// The extract's display name.
        name: String,
        /// Line where the record starts.
        line: u64,
        /// The limit in bytes.
        limit: usize,
    },

    /// JSON nesting deeper than allowed.
    #[error("{name}:{line}:{column}: JSON nesting is deeper than the limit of {limit}")]
    #[diagnostic(
        code("rollcall::source::too-deep"),
        help(
            "records nested this deeply are almost certainly malformed; if they are genuine, raise the source's `limits {{ max-depth 128 }}` (128 at most)"
        )
    )]
    TooDeep {
        /// The extract's display name.
        name: String,
        /// 1-based line.
        line: u64,
        /// 1-based column, in bytes.
        column: u64,
        /// The nesting limit.
        limit: usize,
    },

    /// Malformed JSON.
    #[error("{name}:{line}:{column}: {message}")]
    #[diagnostic(
        code("rollcall::source::bad-json"),
        help(
            "open the file at this line and column; check the producer writes valid JSON (for `format jsonl`, exactly one value per line; for `format json`, one array)"
        )
    )]
    BadJson {
        /// The extract's display name.
        name: String,
        /// 1-based line.
        line: u64,
        /// 1-based column, in bytes.
        column: u64,
        /// What is wrong.
        message: String,
    },

    /// A JSON object naming one member twice: which value counts is not
    /// written down anywhere (parsers keep the first, the last, or refuse),
    /// so a record that says two things is refused.
    #[error("{name}:{line}:{column}: the member `{member}` appears twice in one object")]
    #[diagnostic(
        code("rollcall::source::duplicate-member"),
        help(
            "each object may name a member once; fix the producer of the extract (two values for one member are ambiguous, even where one is never read)"
        )
    )]
    DuplicateMember {
        /// The delivery's display name.
        name: String,
        /// 1-based line.
        line: u64,
        /// 1-based column, in bytes (just after the second name).
        column: u64,
        /// The member's name.
        member: String,
    },

    /// Bytes that are not UTF-8 in a UTF-8 source.
    #[error("{name}:{line}:{column}: invalid UTF-8")]
    #[diagnostic(
        code("rollcall::source::bad-utf8"),
        help("the file is not UTF-8; re-export it as UTF-8")
    )]
    InvalidUtf8 {
        /// The extract's display name.
        name: String,
        /// 1-based line.
        line: u64,
        /// 1-based column, in bytes.
        column: u64,
    },

    /// A CSV field that is not UTF-8 in a UTF-8 source.
    #[error("{name}:{line}: field {field} (`{column}`) is not valid UTF-8")]
    #[diagnostic(
        code("rollcall::source::bad-utf8"),
        help(
            "the file is not UTF-8; re-export it as UTF-8, or declare `encoding=\"utf-16\"` if it has a UTF-16 byte-order mark"
        )
    )]
    InvalidUtf8Field {
        /// The extract's display name.
        name: String,
        /// Line where the row starts.
        line: u64,
        /// 1-based field number in the row.
        field: usize,
        /// The field's column name (`header` for the header row).
        column: String,
    },

    /// The text encoding does not match the declared one.
    #[error("{name}: byte 0: {message}")]
    #[diagnostic(
        code("rollcall::source::bad-encoding"),
        help(
            "JSON sources must be UTF-8; a CSV source in UTF-16 declares `encoding=\"utf-16\"` and the file must start with a byte-order mark; re-export the file as UTF-8 if you can"
        )
    )]
    BadEncoding {
        /// The extract's display name.
        name: String,
        /// What does not match.
        message: String,
    },

    /// A CSV quoted field is never closed.
    #[error("{name}:{line}: quoted field opened here is never closed")]
    #[diagnostic(
        code("rollcall::source::bad-csv-quote"),
        help(
            "a field starting with the quote character must end with one; quotes inside a quoted field are written twice (`\"\"`)"
        )
    )]
    UnclosedQuote {
        /// The extract's display name.
        name: String,
        /// Line where the unclosed quoted field starts.
        line: u64,
    },

    /// A CSV row with a different number of fields than there are columns.
    #[error("{name}:{line}: row has {found} fields but there are {expected} columns")]
    #[diagnostic(
        code("rollcall::source::ragged-row"),
        help(
            "check the delimiter (`delimiter=`) and quoting of this row; every row needs one field per column (`ragged-rows=#true` pads short rows with empty fields)"
        )
    )]
    RaggedRow {
        /// The extract's display name.
        name: String,
        /// Line where the row starts.
        line: u64,
        /// Number of columns.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },

    /// A CSV row with more fields than columns in a `ragged-rows` source:
    /// short rows are padded, but an extra field has no column to go to.
    #[error("{name}:{line}: row has {found} fields but there are only {expected} columns")]
    #[diagnostic(
        code("rollcall::source::long-row"),
        help(
            "`ragged-rows` pads short rows only; a longer row usually means a stray delimiter or an unquoted field, or a missing name in `columns`"
        )
    )]
    LongRow {
        /// The extract's display name.
        name: String,
        /// Line where the row starts.
        line: u64,
        /// Number of columns.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },

    /// The CSV column names are unusable (count mismatch, duplicates, none).
    #[error("{name}:{line}: {message}")]
    #[diagnostic(
        code("rollcall::source::bad-columns"),
        help(
            "`columns` must name every column of the header exactly once; without a header row, `columns` is required"
        )
    )]
    BadColumns {
        /// The extract's display name.
        name: String,
        /// Line of the header row (1), or of the first row.
        line: u64,
        /// What is wrong.
        message: String,
    },

    /// The record path (`record ...`) is missing from one record. Record-level:
    /// the record is invalid, the run continues.
    #[error("{name}:{line}: record has no `{path}`")]
    #[diagnostic(
        code("rollcall::source::missing-payload"),
        help(
            "the record lacks the payload named by the source's `record` path; check the record or the path"
        )
    )]
    MissingPayload {
        /// The extract's display name.
        name: String,
        /// Line where the record starts.
        line: u64,
        /// The record path, dotted.
        path: String,
    },
}

impl SourceError {
    /// True for problems that only make one record invalid; all others stop the read.
    pub fn is_record_level(&self) -> bool {
        matches!(self, SourceError::MissingPayload { .. })
    }

    /// The 1-based line the error points at, when it has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            SourceError::RecordTooLong { line, .. }
            | SourceError::TooDeep { line, .. }
            | SourceError::BadJson { line, .. }
            | SourceError::DuplicateMember { line, .. }
            | SourceError::InvalidUtf8 { line, .. }
            | SourceError::InvalidUtf8Field { line, .. }
            | SourceError::UnclosedQuote { line, .. }
            | SourceError::RaggedRow { line, .. }
            | SourceError::LongRow { line, .. }
            | SourceError::BadColumns { line, .. }
            | SourceError::MissingPayload { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// Carries this error through an `io::Read` stage so the stage above can
    /// recover it intact (see [`SourceError::from_io`]).
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    /// Recovers an error raised by an inner stage, or describes a plain
    /// read failure at `offset`.
    pub(crate) fn from_io(err: io::Error, name: &str, offset: u64) -> SourceError {
        if err.get_ref().is_some_and(|inner| inner.is::<SourceError>()) {
            let inner = err.into_inner().and_then(|inner| inner.downcast().ok());
            return *inner.expect("checked above to hold a SourceError");
        }
        SourceError::Read {
            name: name.to_owned(),
            offset,
            source: err,
        }
    }
}
