//! One top-level JSON array, streamed element by element.
//!
//! A small scanner walks the punctuation between elements and finds where
//! each element ends (tracking strings and nesting), copying just that
//! element into a reused buffer for serde_json. The array is never held
//! whole, so memory stays bounded by the largest element.

use std::io::{self, BufRead};
use std::sync::Arc;

use serde_json::Value;

use super::error::SourceError;
use super::hashing::RunningHash;
use super::parse::{Pos, parse_value, utf16_text};

/// Where the scanner is in the array's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the `[`.
    Start,
    /// Just after the `[`: an element or `]`.
    AfterOpen,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After a `,` (at this position): an element.
    AfterComma(Pos),
    /// After the `]`: only white space may follow.
    AfterClose,
    /// Finished, or stopped by an error.
    Done,
}

/// Reads the elements of one JSON array.
pub(crate) struct JsonArrayReader {
    input: Box<dyn BufRead + Send>,
    name: Arc<str>,
    hash: RunningHash,
    /// Position of the next unread byte.
    pos: Pos,
    /// Position just after the last non-white-space byte, where a missing
    /// `]` or `,` belongs.
    content_end: Pos,
    state: State,
    element: Vec<u8>,
    max_element_bytes: usize,
    max_depth: usize,
}

impl JsonArrayReader {
    /// Reads from the decoded stream.
    pub(crate) fn new(
        input: Box<dyn BufRead + Send>,
        name: Arc<str>,
        hash: RunningHash,
        max_element_bytes: usize,
        max_depth: usize,
    ) -> Self {
        JsonArrayReader {
            input,
            name,
            hash,
            pos: Pos::START,
            content_end: Pos::START,
            state: State::Start,
            element: Vec::new(),
            max_element_bytes,
            max_depth,
        }
    }

    /// The next element and the line it starts on; `None` at the end.
    pub(crate) fn next_value(&mut self) -> Option<Result<(u64, Value), SourceError>> {
        let result = self.step();
        if !matches!(result, Some(Ok(_))) {
            self.state = State::Done;
        }
        result
    }

    fn step(&mut self) -> Option<Result<(u64, Value), SourceError>> {
        loop {
            let next = match self.state {
                State::Done => return None,
                State::Start => {
                    if let Err(e) = self.skip_bom() {
                        return Some(Err(e));
                    }
                    self.skip_ws()
                }
                _ => self.skip_ws(),
            };
            let next = match next {
                Ok(next) => next,
                Err(e) => return Some(Err(e)),
            };
            match (self.state, next) {
                // Empty (or all white space) input: zero records.
                (State::Start, None) | (State::AfterClose, None) => return None,
                (State::Start, Some(b'[')) => {
                    self.bump();
                    self.state = State::AfterOpen;
                }
                (State::Start, Some(b)) => {
                    return Some(Err(self.syntax(
                        self.pos,
                        format!(
                            "expected `[` (a JSON array of records), found {}",
                            describe(b)
                        ),
                    )));
                }
                (State::AfterOpen, Some(b']')) | (State::AfterElement, Some(b']')) => {
                    self.bump();
                    self.state = State::AfterClose;
                }
                (State::AfterElement, Some(b',')) => {
                    let at = self.pos;
                    self.bump();
                    self.state = State::AfterComma(at);
                }
                (State::AfterElement, Some(b)) => {
                    return Some(Err(self.syntax(
                        self.pos,
                        format!(
                            "expected `,` or `]` after an array element, found {}",
                            describe(b)
                        ),
                    )));
                }
                (State::AfterComma(comma), Some(b']')) => {
                    return Some(Err(self.syntax(comma, "trailing comma before `]`".into())));
                }
                (State::AfterOpen, Some(_)) | (State::AfterComma(_), Some(_)) => {
                    self.state = State::AfterElement;
                    return Some(self.element());
                }
                (State::AfterOpen | State::AfterElement | State::AfterComma(_), None) => {
                    return Some(Err(self.syntax(
                        self.content_end,
                        "end of file inside the array: missing `]`".into(),
                    )));
                }
                (State::AfterClose, Some(b)) => {
                    return Some(Err(self.syntax(
                        self.pos,
                        format!("unexpected {} after the end of the array", describe(b)),
                    )));
                }
                (State::Done, _) => return None,
            }
        }
    }

    /// Scans one element into `self.element` and parses it.
    fn element(&mut self) -> Result<(u64, Value), SourceError> {
        let start = self.pos;
        self.scan_element(start)?;
        let value = parse_value(&self.element, start, &self.name, usize::MAX)?;
        Ok((start.line, value))
    }

    /// Copies bytes up to the end of the element starting at `start`.
    fn scan_element(&mut self, start: Pos) -> Result<(), SourceError> {
        self.element.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        // A backslash ended the previous chunk: skip the first byte of the next.
        let mut escape_pending = false;
        let mut first = true;
        let mut scalar = false;
        loop {
            let available = fill(&mut self.input, &self.name, &self.hash)?;
            if available.is_empty() {
                if scalar && !in_string {
                    return Ok(());
                }
                let pos = self.content_end;
                return Err(self.syntax(
                    pos,
                    format!(
                        "end of file inside the array element that starts at {}:{}: missing `]`",
                        start.line, start.column
                    ),
                ));
            }
            if first {
                scalar = !matches!(available[0], b'{' | b'[' | b'"');
                first = false;
            }
            let mut end = None;
            let mut i = 0;
            if escape_pending {
                escape_pending = false;
                i = 1;
            }
            while i < available.len() {
                if in_string {
                    match memchr::memchr2(b'"', b'\\', &available[i..]) {
                        None => i = available.len(),
                        Some(j) if available[i + j] == b'\\' => {
                            i += j + 2;
                            if i > available.len() {
                                escape_pending = true;
                                i = available.len();
                            }
                        }
                        Some(j) => {
                            i += j + 1;
                            in_string = false;
                            if depth == 0 {
                                end = Some(i);
                                break;
                            }
                        }
                    }
                    continue;
                }
                match available[i] {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > self.max_depth {
                            let pos = self.pos.after(&available[..i]);
                            return Err(SourceError::TooDeep {
                                name: self.name.to_string(),
                                line: pos.line,
                                column: pos.column,
                                limit: self.max_depth,
                            });
                        }
                    }
                    b'}' | b']' if depth == 0 => {
                        // Only a scalar gets here: the bracket closes the array.
                        end = Some(i);
                        break;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    b',' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            let take = end.unwrap_or(available.len());
            if self.element.len() + take > self.max_element_bytes {
                return Err(SourceError::RecordTooLong {
                    name: self.name.to_string(),
                    line: start.line,
                    limit: self.max_element_bytes,
                });
            }
            self.element.extend_from_slice(&available[..take]);
            self.pos = self.pos.after(&available[..take]);
            self.content_end = self.pos;
            self.input.consume(take);
            if end.is_some() {
                return Ok(());
            }
        }
    }

    /// Skips a UTF-8 byte-order mark at the very start; refuses UTF-16.
    fn skip_bom(&mut self) -> Result<(), SourceError> {
        let start = fill(&mut self.input, &self.name, &self.hash)?;
        if let Some(message) = utf16_text(start) {
            return Err(SourceError::BadEncoding {
                name: self.name.to_string(),
                message,
            });
        }
        if start.first() != Some(&0xEF) {
            return Ok(());
        }
        // Byte by byte: the mark may straddle two reads.
        for expected in [0xEF, 0xBB, 0xBF] {
            if fill(&mut self.input, &self.name, &self.hash)?.first() != Some(&expected) {
                return Err(SourceError::InvalidUtf8 {
                    name: self.name.to_string(),
                    line: 1,
                    column: 1,
                });
            }
            self.input.consume(1);
        }
        Ok(())
    }

    /// Skips white space; returns the next byte (not consumed), `None` at the end.
    fn skip_ws(&mut self) -> Result<Option<u8>, SourceError> {
        loop {
            let available = fill(&mut self.input, &self.name, &self.hash)?;
            if available.is_empty() {
                return Ok(None);
            }
            let skip = available
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
            let n = skip.unwrap_or(available.len());
            let next = skip.map(|i| available[i]);
            self.pos = self.pos.after(&available[..n]);
            self.input.consume(n);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Consumes one (punctuation) byte.
    fn bump(&mut self) {
        self.input.consume(1);
        self.pos.column += 1;
        self.content_end = self.pos;
    }

    fn syntax(&self, pos: Pos, message: String) -> SourceError {
        SourceError::BadJson {
            name: self.name.to_string(),
            line: pos.line,
            column: pos.column,
            message,
        }
    }
}

/// The buffered bytes, refilled when empty; empty at the end of the data.
///
/// A free function so the returned slice borrows only the input, not the
/// whole reader.
fn fill<'a>(
    input: &'a mut Box<dyn BufRead + Send>,
    name: &str,
    hash: &RunningHash,
) -> Result<&'a [u8], SourceError> {
    loop {
        match input.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SourceError::from_io(e, name, hash.bytes())),
        }
    }
    // Asked again outside the loop: returning the borrow from inside a loop
    // is rejected by the current borrow checker. With data buffered this
    // call only returns the buffer; at the end it reports the end again.
    input
        .fill_buf()
        .map_err(|e| SourceError::from_io(e, name, hash.bytes()))
}

/// A byte as an error message shows it.
fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
