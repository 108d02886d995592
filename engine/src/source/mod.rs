//! Sources: finding an extract and streaming its bytes into raw JSON records.
//!
//! The stages, outermost first: [`HashingReader`] counts and hashes the raw
//! bytes (the extract's identity); `decompress` undoes gzip; both run on a
//! thread of their own (`prefetch`); a format reader (`jsonl`,
//! `json_array`, `csv`) cuts the text into records; the record path then
//! picks each record's payload. Every stage reports errors
//! as a [`SourceError`] naming the extract and the place in it.

mod csv;
mod decompress;
mod error;
mod hashing;
mod json_array;
mod jsonl;
mod locate;
pub(crate) mod members;
mod open;
mod parse;
mod prefetch;
mod s3;

use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use rollcall_model::{Compression, Format, PathSegment, Source, SourceLimits, describe_path};
use serde_json::Value;

pub use error::SourceError;
pub use hashing::{HashingReader, RunningHash, SourceStats};
pub use locate::{LocalExtract, resolve_file};
pub use open::{Located, Opened, SourceIdentity, locate, open, rfc3339};

use self::csv::CsvReader;
use decompress::decoded_stream;
use json_array::JsonArrayReader;
use jsonl::JsonlReader;

/// One record as read from the source, before mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// 1-based line where the record starts: the line of a JSONL value, the
    /// first physical line of a CSV row, the first line of a JSON array element.
    pub line: u64,
    /// The record's payload (after the record path).
    pub value: Value,
}

/// Safety limits on what one extract may contain. The defaults are safe for
/// any real extract; a source's `limits { ... }` overrides them one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest JSONL line, JSON array element or CSV row, in bytes.
    pub max_line_bytes: usize,
    /// Most bytes a compressed extract may decompress to.
    pub max_decompressed_bytes: u64,
    /// Deepest JSON nesting inside one record (serde_json stops at 128 anyway).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 16 << 20,
            // Far above any people extract (a million records of 2 KiB is
            // 2 GiB), yet a gzip bomb stops after seconds, not hours.
            max_decompressed_bytes: 8 << 30,
            max_depth: parse::SERDE_MAX_DEPTH,
        }
    }
}

impl Limits {
    /// These limits with those a source's `limits { ... }` sets.
    pub fn with_source(mut self, limits: &SourceLimits) -> Limits {
        if let Some(max) = &limits.max_line {
            self.max_line_bytes = usize::try_from(max.value).unwrap_or(usize::MAX);
        }
        if let Some(max) = &limits.max_decompressed {
            self.max_decompressed_bytes = max.value;
        }
        if let Some(max) = &limits.max_depth {
            let depth = usize::try_from(max.value).unwrap_or(usize::MAX);
            self.max_depth = depth.min(parse::SERDE_MAX_DEPTH);
        }
        self
    }
}

/// Streams the records of one extract.
///
/// Yields `Ok` records, record-level errors ([`SourceError::is_record_level`])
/// that only make one record invalid, and at most one fatal error, after
/// which it ends.
pub struct RecordReader {
    name: Arc<str>,
    hash: RunningHash,
    record_path: Vec<PathSegment>,
    state: State,
}

/// Where a [`RecordReader`] is; nothing is read until the first record is asked for.
enum State {
    Pending(Box<Pending>),
    Jsonl(JsonlReader),
    Json(JsonArrayReader),
    Csv(Box<CsvReader>),
    Done,
}

/// What is needed to start reading.
struct Pending {
    raw: HashingReader,
    format: Format,
    compression: Compression,
    limits: Limits,
}

impl RecordReader {
    /// Reads `input`, called `name` in errors (a file path or S3 URI).
    /// Nothing is read until the first record is asked for.
    pub fn new(
        input: Box<dyn Read + Send>,
        name: &str,
        format: &Format,
        compression: Compression,
        record_path: &[PathSegment],
        limits: Limits,
    ) -> Self {
        let name: Arc<str> = Arc::from(name);
        let raw = HashingReader::new(input, Arc::clone(&name));
        RecordReader {
            hash: raw.running_hash(),
            name,
            record_path: record_path.to_vec(),
            state: State::Pending(Box::new(Pending {
                raw,
                format: format.clone(),
                compression,
                limits,
            })),
        }
    }

    /// Opens a local extract found by [`resolve_file`] and reads it as `source` says.
    pub fn open_file(
        extract: &LocalExtract,
        source: &Source,
        limits: Limits,
    ) -> Result<Self, SourceError> {
        let file = File::open(&extract.uri).map_err(|e| SourceError::Unreadable {
            path: extract.uri.clone(),
            source: e,
        })?;
        Ok(RecordReader::new(
            Box::new(file),
            &extract.uri,
            &source.format,
            source.compression,
            &source.record_path,
            limits.with_source(&source.limits),
        ))
    }

    /// The extract's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A handle on the count and hash of the raw bytes read, readable
    /// while the records are decoded elsewhere.
    pub fn running_hash(&self) -> RunningHash {
        self.hash.clone()
    }

    /// Size and hash of the raw bytes read so far.
    pub fn stats(&self) -> SourceStats {
        self.hash.stats()
    }

    /// Size and hash of the raw bytes read: the whole extract once the
    /// iterator has returned `None` without a fatal error.
    pub fn finish(self) -> SourceStats {
        self.hash.stats()
    }

    fn start(&self, pending: Pending) -> Result<State, SourceError> {
        let Pending {
            raw,
            format,
            compression,
            limits,
        } = pending;
        let decoded = decoded_stream(raw, &self.name, compression, limits.max_decompressed_bytes)?;
        let name = Arc::clone(&self.name);
        let hash = self.hash.clone();
        Ok(match format {
            Format::Jsonl => State::Jsonl(JsonlReader::new(
                decoded,
                name,
                hash,
                limits.max_line_bytes,
                limits.max_depth,
            )),
            Format::Json => State::Json(JsonArrayReader::new(
                decoded,
                name,
                hash,
                limits.max_line_bytes,
                limits.max_depth,
            )),
            Format::Csv(options) => State::Csv(Box::new(CsvReader::new(
                decoded,
                name,
                hash,
                &options,
                limits.max_line_bytes,
            )?)),
        })
    }

    /// Takes the payload out of `value` (moved, not cloned).
    fn payload(&self, line: u64, value: Value) -> Result<RawRecord, SourceError> {
        let mut value = value;
        for segment in &self.record_path {
            let next = match segment {
                PathSegment::Key(key) => value.get_mut(key.as_str()),
                PathSegment::Index(index) => value.get_mut(*index),
            };
            match next {
                Some(next) => value = next.take(),
                None => {
                    return Err(SourceError::MissingPayload {
                        name: self.name.to_string(),
                        line,
                        path: describe_path(&self.record_path),
                    });
                }
            }
        }
        Ok(RawRecord { line, value })
    }
}

/// One record of [`RecordReader::next_or_take`].
#[derive(Debug)]
pub enum Next<T> {
    /// The caller took the record from its text.
    Taken {
        /// 1-based line of the record.
        line: u64,
        /// What the caller made of it.
        taken: T,
    },
    /// The record as parsed (the caller declined, or the format has no text
    /// per record).
    Parsed(RawRecord),
}

impl RecordReader {
    /// The next record, offered first as the text of its whole line (record
    /// path included) to `take`; parsed as [`Iterator::next`] would when
    /// `take` declines. Only JSON Lines records are offered; a JSON array's
    /// elements and CSV rows are always parsed.
    ///
    /// This lets a caller that needs a few members of each record skip
    /// building the record as a JSON value.
    pub fn next_or_take<T>(
        &mut self,
        mut take: impl FnMut(&str) -> Option<T>,
    ) -> Option<Result<Next<T>, SourceError>> {
        if matches!(self.state, State::Pending(_)) {
            let State::Pending(pending) = std::mem::replace(&mut self.state, State::Done) else {
                unreachable!("checked just above");
            };
            match self.start(*pending) {
                Ok(state) => self.state = state,
                Err(e) => return Some(Err(e)),
            }
        }
        let item = match &mut self.state {
            State::Jsonl(reader) => reader.next_or_take(&mut take).map(|item| {
                item.map(|line| match line {
                    jsonl::Line::Taken(line, taken) => Ok(Next::Taken { line, taken }),
                    jsonl::Line::Parsed(line, value) => Err((line, value)),
                })
            }),
            State::Json(reader) => reader.next_value().map(|item| item.map(Err)),
            State::Csv(reader) => reader.next_value().map(|item| item.map(Err)),
            State::Pending(_) | State::Done => None,
        };
        match item {
            Some(Ok(Ok(taken))) => Some(Ok(taken)),
            Some(Ok(Err((line, value)))) => Some(self.payload(line, value).map(Next::Parsed)),
            Some(Err(e)) => {
                // Fatal: the stream's position is unknown, so nothing after it is trustworthy.
                self.state = State::Done;
                Some(Err(e))
            }
            None => {
                self.state = State::Done;
                None
            }
        }
    }
}

impl Iterator for RecordReader {
    type Item = Result<RawRecord, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_or_take(|_| None::<std::convert::Infallible>)
            .map(|item| {
                item.map(|next| match next {
                    Next::Parsed(raw) => raw,
                    Next::Taken { taken, .. } => match taken {},
                })
            })
    }
}

// The engine may stream a source on a worker thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<RecordReader>();
};
