//! Delimited text: each row becomes a JSON object of strings keyed by column.
//!
//! The `csv` crate does the parsing. Two things it leaves to us: text
//! encodings (UTF-16 is transcoded to UTF-8 on the fly) and a quoted field
//! that is never closed, which `csv` silently extends to the end of the file,
//! swallowing every later row; [`QuoteTracker`] catches that. It also
//! supplies each row's line: the `csv` crate's own line numbers lag by one
//! after a CRLF or a blank line.

use std::collections::VecDeque;
use std::io::{self, BufRead, Cursor, Read};
use std::sync::Arc;

use encoding_rs_io::DecodeReaderBytesBuilder;
use rollcall_model::{CsvOptions, Encoding};
use serde_json::{Map, Value};

use super::decompress::{BUFFER_SIZE, read_prefix};
use super::error::SourceError;
use super::hashing::RunningHash;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// Reads CSV rows as JSON objects.
pub(crate) struct CsvReader {
    reader: csv::Reader<QuoteTracker<Box<dyn Read + Send>>>,
    name: Arc<str>,
    hash: RunningHash,
    options: CsvOptions,
    /// Column names, known once the header (if any) is read.
    columns: Option<Vec<String>>,
    row: csv::ByteRecord,
    /// Line where `row` starts.
    row_line: u64,
}

impl CsvReader {
    /// Checks the encoding against the first bytes and sets up the parser.
    pub(crate) fn new(
        mut input: Box<dyn BufRead + Send>,
        name: Arc<str>,
        hash: RunningHash,
        options: &CsvOptions,
        max_row_bytes: usize,
    ) -> Result<Self, SourceError> {
        let prefix = read_prefix(&mut input, UTF8_BOM.len())
            .map_err(|e| SourceError::from_io(e, &name, hash.bytes()))?;
        let utf16_bom = prefix.starts_with(UTF16LE_BOM) || prefix.starts_with(UTF16BE_BOM);
        let text: Box<dyn Read + Send> = match options.encoding {
            Encoding::Utf8 if utf16_bom => {
                return Err(SourceError::BadEncoding {
                    name: name.to_string(),
                    message: "the file starts with a UTF-16 byte-order mark but the source declares utf-8; set encoding=\"utf-16\"".into(),
                });
            }
            Encoding::Utf8 if looks_like_utf16(&prefix) => {
                return Err(SourceError::BadEncoding {
                    name: name.to_string(),
                    message: "the file looks like UTF-16 without a byte-order mark (a NUL byte beside each character) but the source declares utf-8".into(),
                });
            }
            Encoding::Utf8 => {
                let bom = if prefix.starts_with(UTF8_BOM) {
                    UTF8_BOM.len()
                } else {
                    0
                };
                let mut prefix = Cursor::new(prefix);
                prefix.set_position(bom as u64);
                Box::new(prefix.chain(input))
            }
            Encoding::Utf16 if prefix.is_empty() => Box::new(io::empty()),
            Encoding::Utf16 if !utf16_bom => {
                return Err(SourceError::BadEncoding {
                    name: name.to_string(),
                    message: "the source declares utf-16 but the file has no UTF-16 byte-order mark (FF FE or FE FF)".into(),
                });
            }
            // The decoder reads the mark itself to pick the byte order, and drops it.
            Encoding::Utf16 => Box::new(
                DecodeReaderBytesBuilder::new()
                    .bom_sniffing(true)
                    .build(Cursor::new(prefix).chain(input)),
            ),
        };
        let tracker = QuoteTracker::new(
            text,
            options.delimiter,
            options.quote,
            Arc::clone(&name),
            max_row_bytes,
        );
        let reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .quote(options.quote)
            // Headers and field counts are handled here, for uniform errors.
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(BUFFER_SIZE)
            .from_reader(tracker);
        Ok(CsvReader {
            reader,
            name,
            hash,
            options: options.clone(),
            columns: None,
            row: csv::ByteRecord::new(),
            row_line: 0,
        })
    }

    /// The next row as an object and the line it starts on; `None` at the end.
    pub(crate) fn next_value(&mut self) -> Option<Result<(u64, Value), SourceError>> {
        if self.columns.is_none() {
            match self.read_columns() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        match self.read_row() {
            Ok(true) => Some(self.row_value()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Settles the column names from the header and/or `columns`; false
    /// when the file has no rows at all.
    fn read_columns(&mut self) -> Result<bool, SourceError> {
        let declared = self.options.columns.clone();
        if !self.options.header {
            if declared.is_empty() {
                return Err(self.bad_columns(
                    1,
                    "no header row and no `columns` to name the fields".into(),
                ));
            }
            self.columns = Some(declared);
            return Ok(true);
        }
        if !self.read_row()? {
            return Ok(false);
        }
        let line = self.line();
        let header = (0..self.row.len())
            .map(|i| self.field(i, line, "header").map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let columns = if declared.is_empty() {
            header
        } else if declared.len() == header.len() {
            declared
        } else {
            return Err(self.bad_columns(
                line,
                format!(
                    "`columns` lists {} names but the header has {} columns",
                    declared.len(),
                    header.len()
                ),
            ));
        };
        for (i, column) in columns.iter().enumerate() {
            if columns[..i].contains(column) {
                return Err(self.bad_columns(line, format!("column `{column}` appears twice")));
            }
        }
        self.columns = Some(columns);
        Ok(true)
    }

    /// Reads the next row into `self.row`; false at the end.
    fn read_row(&mut self) -> Result<bool, SourceError> {
        let more = self.reader.read_byte_record(&mut self.row).map_err(|e| {
            let offset = self.hash.bytes();
            match e.into_kind() {
                csv::ErrorKind::Io(e) => SourceError::from_io(e, &self.name, offset),
                other => SourceError::Read {
                    name: self.name.to_string(),
                    offset,
                    source: io::Error::other(format!("{other:?}")),
                },
            }
        })?;
        // An unclosed quote runs to the end of the file, so it can only show
        // up once the tracker has seen the end.
        let tracker = self.reader.get_mut();
        if tracker.at_end && tracker.in_quoted_field() {
            return Err(SourceError::UnclosedQuote {
                name: self.name.to_string(),
                line: tracker.quote_line,
            });
        }
        if more {
            // The tracker has read at least the row's first byte, so its line is queued.
            self.row_line = tracker.record_lines.pop_front().unwrap_or_default();
        }
        Ok(more)
    }

    fn row_value(&self) -> Result<(u64, Value), SourceError> {
        let line = self.line();
        let columns = self.columns.as_deref().unwrap_or_default();
        let found = self.row.len();
        if found > columns.len() && self.options.ragged_rows {
            return Err(SourceError::LongRow {
                name: self.name.to_string(),
                line,
                expected: columns.len(),
                found,
            });
        }
        if found != columns.len() && !self.options.ragged_rows {
            return Err(SourceError::RaggedRow {
                name: self.name.to_string(),
                line,
                expected: columns.len(),
                found,
            });
        }
        let mut object = Map::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            // Legacy exports drop trailing empty cells: a missing field is an empty one.
            let text = if i < found {
                self.field(i, line, column)?
            } else {
                ""
            };
            object.insert(column.clone(), Value::String(text.to_owned()));
        }
        Ok((line, Value::Object(object)))
    }

    fn field(&self, index: usize, line: u64, column: &str) -> Result<&str, SourceError> {
        std::str::from_utf8(&self.row[index]).map_err(|_| SourceError::InvalidUtf8Field {
            name: self.name.to_string(),
            line,
            field: index + 1,
            column: column.to_owned(),
        })
    }

    fn line(&self) -> u64 {
        self.row_line
    }

    fn bad_columns(&self, line: u64, message: String) -> SourceError {
        SourceError::BadColumns {
            name: self.name.to_string(),
            line,
            message,
        }
    }
}

/// True when the first bytes have a NUL beside a non-NUL byte: UTF-16 text
/// (of mostly ASCII characters) written without a byte-order mark.
pub(crate) fn looks_like_utf16(prefix: &[u8]) -> bool {
    matches!(prefix, [0, b, ..] | [b, 0, ..] if *b != 0)
}

/// Where [`QuoteTracker`] is inside the CSV grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Between rows: line breaks here are skipped, like the `csv` crate does.
    StartRecord,
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: closes it, or starts a doubled `""`.
    QuoteInQuoted,
}

/// Follows the CSV quoting rules of the `csv` crate over the bytes it reads,
/// to notice a quoted field still open at the end of the file.
struct QuoteTracker<R> {
    inner: R,
    delimiter: u8,
    quote: u8,
    state: Field,
    /// Line of the next byte.
    line: u64,
    /// Line where the current quoted field opened.
    quote_line: u64,
    /// Lines where rows start, read but not yet taken by the parser.
    record_lines: VecDeque<u64>,
    at_end: bool,
    /// The extract's name, for the row-length error.
    name: Arc<str>,
    /// Bytes of the current row read so far, and the most allowed: the
    /// `csv` crate holds a whole row in memory, and an unclosed quote would
    /// otherwise make the rest of the file one row.
    row_bytes: usize,
    max_row_bytes: usize,
    /// Line where the current row starts.
    row_line: u64,
}

impl<R> QuoteTracker<R> {
    fn new(inner: R, delimiter: u8, quote: u8, name: Arc<str>, max_row_bytes: usize) -> Self {
        QuoteTracker {
            inner,
            delimiter,
            quote,
            state: Field::StartRecord,
            line: 1,
            quote_line: 0,
            record_lines: VecDeque::new(),
            at_end: false,
            name,
            row_bytes: 0,
            max_row_bytes,
            row_line: 1,
        }
    }

    fn in_quoted_field(&self) -> bool {
        self.state == Field::Quoted
    }

    /// Follows the grammar over `bytes`; false when the current row has
    /// grown past the limit.
    fn track(&mut self, bytes: &[u8]) -> bool {
        let mut i = 0;
        while i < bytes.len() {
            // Inside a field only a few bytes matter: jump straight to the next one.
            let skip = match self.state {
                Field::Unquoted => memchr::memchr3(self.delimiter, b'\n', b'\r', &bytes[i..]),
                Field::Quoted => memchr::memchr2(self.quote, b'\n', &bytes[i..]),
                _ => Some(0),
            };
            let Some(skip) = skip else {
                self.row_bytes += bytes.len() - i;
                return self.row_bytes <= self.max_row_bytes;
            };
            i += skip;
            self.row_bytes += skip + 1;
            let b = bytes[i];
            i += 1;
            let ends_record = b == b'\n' || b == b'\r';
            let ends_field = b == self.delimiter || ends_record;
            if self.state == Field::StartRecord && !ends_record {
                self.record_lines.push_back(self.line);
                self.row_line = self.line;
                self.row_bytes = 1;
                self.state = Field::Start;
            }
            self.state = match self.state {
                Field::StartRecord => Field::StartRecord,
                Field::Start if b == self.quote => {
                    self.quote_line = self.line;
                    Field::Quoted
                }
                Field::Start | Field::Unquoted | Field::QuoteInQuoted if ends_record => {
                    Field::StartRecord
                }
                Field::Start | Field::Unquoted | Field::QuoteInQuoted if ends_field => Field::Start,
                Field::Start | Field::Unquoted => Field::Unquoted,
                Field::Quoted if b == self.quote => Field::QuoteInQuoted,
                Field::Quoted => Field::Quoted,
                Field::QuoteInQuoted if b == self.quote => Field::Quoted,
                // `"ab"c`: the csv crate keeps reading the field unquoted.
                Field::QuoteInQuoted => Field::Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
            if self.state == Field::StartRecord {
                self.row_bytes = 0;
            }
            if self.row_bytes > self.max_row_bytes {
                return false;
            }
        }
        true
    }
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.at_end = true;
        }
        if !self.track(&buf[..n]) {
            return Err(SourceError::RecordTooLong {
                name: self.name.to_string(),
                line: self.row_line,
                limit: self.max_row_bytes,
            }
            .into_io());
        }
        Ok(n)
    }
}
