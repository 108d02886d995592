//! JSON Lines: one JSON value per line.
//!
//! Lines are cut from the decoded buffer into one reused vector, so the only
//! allocations per record are the ones serde_json makes for the value.

use std::io::{self, BufRead};
use std::sync::Arc;

use serde_json::Value;

use super::error::SourceError;
use super::hashing::RunningHash;
use super::parse::{Pos, SERDE_MAX_DEPTH, parse_value, utf16_text};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line: taken by the caller from its text, or parsed; with its number.
pub(crate) enum Line<T> {
    Taken(u64, T),
    Parsed(u64, Value),
}

/// Reads JSON values line by line.
pub(crate) struct JsonlReader {
    input: Box<dyn BufRead + Send>,
    name: Arc<str>,
    hash: RunningHash,
    /// Lines read so far (the current line's number once it is read).
    line: u64,
    buf: Vec<u8>,
    max_line_bytes: usize,
    max_depth: usize,
}

impl JsonlReader {
    /// Reads from the decoded stream.
    pub(crate) fn new(
        input: Box<dyn BufRead + Send>,
        name: Arc<str>,
        hash: RunningHash,
        max_line_bytes: usize,
        max_depth: usize,
    ) -> Self {
        JsonlReader {
            input,
            name,
            hash,
            line: 0,
            buf: Vec::new(),
            max_line_bytes,
            max_depth,
        }
    }

    /// The next line offered to `take` as text first, parsed when it
    /// declines (or when the text is not UTF-8, or a depth limit stricter
    /// than serde_json's applies: the parser reports those). `None` at the end.
    pub(crate) fn next_or_take<T>(
        &mut self,
        take: &mut impl FnMut(&str) -> Option<T>,
    ) -> Option<Result<Line<T>, SourceError>> {
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let mut bytes = self.buf.as_slice();
            if let Some(rest) = bytes.strip_suffix(b"\r") {
                bytes = rest;
            }
            if self.line == 1 {
                if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
                    bytes = rest;
                } else if let Some(message) = utf16_text(bytes) {
                    return Some(Err(SourceError::BadEncoding {
                        name: self.name.to_string(),
                        message,
                    }));
                }
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if self.max_depth >= SERDE_MAX_DEPTH
                && let Ok(text) = std::str::from_utf8(bytes)
                && let Some(taken) = take(text)
            {
                return Some(Ok(Line::Taken(self.line, taken)));
            }
            let at = Pos {
                line: self.line,
                column: 1,
            };
            return Some(
                parse_value(bytes, at, &self.name, self.max_depth)
                    .map(|value| Line::Parsed(self.line, value)),
            );
        }
    }

    /// Reads the next line (without its `\n`) into `buf`; false at the end.
    fn read_line(&mut self) -> Result<bool, SourceError> {
        self.buf.clear();
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(SourceError::from_io(e, &self.name, self.hash.bytes()));
                }
            };
            if available.is_empty() {
                if self.buf.is_empty() {
                    return Ok(false);
                }
                self.line += 1;
                return Ok(true);
            }
            let (take, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (i, true),
                None => (available.len(), false),
            };
            // Checked before copying, so memory stays bounded by the limit.
            if self.buf.len() + take > self.max_line_bytes {
                return Err(SourceError::RecordTooLong {
                    name: self.name.to_string(),
                    line: self.line + 1,
                    limit: self.max_line_bytes,
                });
            }
            self.buf.extend_from_slice(&available[..take]);
            self.input.consume(if done { take + 1 } else { take });
            if done {
                self.line += 1;
                return Ok(true);
            }
        }
    }
}
