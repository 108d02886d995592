//! Parsing one JSON value from a byte slice, with errors located in the file.
//!
//! Both JSON formats cut the stream into one slice per record first (a line,
//! or one array element) and parse it here, so serde_json always works on
//! in-memory bytes, its fastest path.

use serde_json::Value;

use super::error::SourceError;

/// serde_json's own nesting limit; deeper input fails inside serde_json.
pub(crate) const SERDE_MAX_DEPTH: usize = 128;

/// A 1-based line and byte column in the decoded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    /// The start of the text.
    pub const START: Pos = Pos { line: 1, column: 1 };

    /// The position just after `bytes`, read from this position.
    pub fn after(self, bytes: &[u8]) -> Pos {
        match memchr::memrchr(b'\n', bytes) {
            None => Pos {
                line: self.line,
                column: self.column + bytes.len() as u64,
            },
            Some(last) => Pos {
                line: self.line + memchr::memchr_iter(b'\n', bytes).count() as u64,
                column: (bytes.len() - last) as u64,
            },
        }
    }

    /// Converts a position serde_json reports inside a slice that starts here.
    fn offset_by(self, line: usize, column: usize) -> Pos {
        if line <= 1 {
            Pos {
                line: self.line,
                column: (self.column + column as u64).saturating_sub(1).max(1),
            }
        } else {
            Pos {
                line: self.line + line as u64 - 1,
                column: (column as u64).max(1),
            }
        }
    }
}

/// Parses `bytes`, which start at `at` in the file named `name`.
///
/// `max_depth` is checked here only when it is stricter than serde_json's own
/// limit, so the common case pays nothing for it.
pub(crate) fn parse_value(
    bytes: &[u8],
    at: Pos,
    name: &str,
    max_depth: usize,
) -> Result<Value, SourceError> {
    // Validating first gives a precise UTF-8 error, and lets serde_json take
    // its `&str` path, which skips re-validating every string.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let pos = at.after(&bytes[..e.valid_up_to()]);
        SourceError::InvalidUtf8 {
            name: name.to_owned(),
            line: pos.line,
            column: pos.column,
        }
    })?;
    if max_depth < SERDE_MAX_DEPTH
        && let Some(index) = depth_exceeded(bytes, max_depth)
    {
        let pos = at.after(&bytes[..index]);
        return Err(SourceError::TooDeep {
            name: name.to_owned(),
            line: pos.line,
            column: pos.column,
            limit: max_depth,
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = serde::de::DeserializeSeed::deserialize(super::members::UniqueMembers, &mut de)
        .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| {
        let pos = at.offset_by(e.line(), e.column());
        let full = e.to_string();
        // serde_json appends " at line L column C"; the error carries its own.
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        if let Some(member) = super::members::duplicate_in(message) {
            return SourceError::DuplicateMember {
                name: name.to_owned(),
                line: pos.line,
                column: pos.column,
                member: member.to_owned(),
            };
        }
        if message == "recursion limit exceeded" {
            return SourceError::TooDeep {
                name: name.to_owned(),
                line: pos.line,
                column: pos.column,
                limit: SERDE_MAX_DEPTH,
            };
        }
        SourceError::BadJson {
            name: name.to_owned(),
            line: pos.line,
            column: pos.column,
            message: message.to_owned(),
        }
    })
}

/// Why text starting with `prefix` is UTF-16 rather than UTF-8, if it is:
/// a UTF-16 byte-order mark, or a NUL beside each ASCII character. JSON
/// must be UTF-8, and without this the error would be a puzzling
/// "expected value" at column 2.
pub(crate) fn utf16_text(prefix: &[u8]) -> Option<String> {
    if prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF") {
        return Some("the file starts with a UTF-16 byte-order mark; JSON must be UTF-8".into());
    }
    super::csv::looks_like_utf16(prefix).then(|| {
        "the file looks like UTF-16 without a byte-order mark (a NUL byte beside each character); JSON must be UTF-8".into()
    })
}

/// Index of the first `{` or `[` nested deeper than `max`, ignoring strings.
fn depth_exceeded(bytes: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}
