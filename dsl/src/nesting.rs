//! How deeply a pipeline file nests its `{ }` blocks, counted before the
//! KDL parser sees the text: the parser recurses once per block, so a file
//! of a few thousand nested blocks (a few KB) would overflow the stack and
//! abort the process instead of getting a diagnostic.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Span;

/// The deepest nesting of blocks (and of `/* */` comments) a file may have.
/// Real pipelines nest four or five levels.
pub const MAX_DEPTH: usize = 64;

/// The diagnostic for the first `{` (or `/*`) nested deeper than
/// [`MAX_DEPTH`], if any. Strings and comments are skipped as KDL v2 reads
/// them, so braces inside them do not count.
pub fn too_deep(text: &str) -> Option<Diagnostic> {
    let offset = first_too_deep(text.as_bytes(), MAX_DEPTH)?;
    Some(
        Diagnostic::error(
            Code::TooDeep,
            format!("blocks are nested more than {MAX_DEPTH} deep"),
        )
        .with_label(
            Span::new(offset, 1),
            format!("level {} opens here", MAX_DEPTH + 1),
        )
        .with_help(format!(
            "a pipeline nests a few levels of `{{ }}`; check the file for generated or unbalanced braces (at most {MAX_DEPTH} levels are read)"
        )),
    )
}

/// Where a scan step ended.
enum Step {
    /// Scanning goes on at this offset.
    At(usize),
    /// A block or comment opened past the limit at this offset.
    TooDeep(usize),
}

/// Byte offset of the first block or comment opened deeper than `max`.
fn first_too_deep(bytes: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let step = match bytes[i] {
            b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
                Step::At(i + 1)
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                Step::At(i + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => Step::At(line_end(bytes, i)),
            b'/' if bytes.get(i + 1) == Some(&b'*') => block_comment_end(bytes, i, max - depth),
            b'"' => Step::At(quoted_end(bytes, i)),
            b'#' => Step::At(raw_end(bytes, i)),
            _ => Step::At(i + 1),
        };
        match step {
            Step::At(next) => i = next,
            Step::TooDeep(at) => return Some(at),
        }
    }
    None
}

fn position_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| from + at)
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    position_from(bytes, from, b"\n").map_or(bytes.len(), |at| at + 1)
}

/// The end of a `/* */` comment (they nest) starting at `from`, or the
/// opening that goes past `room` levels.
fn block_comment_end(bytes: &[u8], from: usize, room: usize) -> Step {
    let mut nested = 0usize;
    let mut i = from;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"/*") {
            nested += 1;
            if nested > room {
                return Step::TooDeep(i);
            }
            i += 2;
        } else if bytes[i..].starts_with(b"*/") {
            nested -= 1;
            i += 2;
            if nested == 0 {
                return Step::At(i);
            }
        } else {
            i += 1;
        }
    }
    Step::At(bytes.len())
}

/// The end of a `"..."` or `"""..."""` string starting at `from`
/// (backslash escapes skip the next byte).
fn quoted_end(bytes: &[u8], from: usize) -> usize {
    let multi = bytes[from..].starts_with(b"\"\"\"");
    let mut i = from + if multi { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' if !multi => return i + 1,
            b'"' if bytes[i..].starts_with(b"\"\"\"") => return i + 3,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of a raw string `#"..."#` (any number of `#`) starting at
/// `from`; a `#` that opens no string (`#true`) is passed over.
fn raw_end(bytes: &[u8], from: usize) -> usize {
    let hashes = bytes[from..].iter().take_while(|&&b| b == b'#').count();
    let quote = from + hashes;
    if bytes.get(quote) != Some(&b'"') {
        return quote;
    }
    let multi = bytes[quote..].starts_with(b"\"\"\"");
    let mut close = if multi {
        b"\"\"\"".to_vec()
    } else {
        b"\"".to_vec()
    };
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = quote + if multi { 3 } else { 1 };
    position_from(bytes, body, &close).map_or(bytes.len(), |at| at + close.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_blocks_but_not_braces_in_strings_or_comments() {
        let nested = |n: usize| format!("{}{}", "a {".repeat(n), "}".repeat(n));
        assert_eq!(first_too_deep(nested(3).as_bytes(), 3), None);
        assert_eq!(first_too_deep(nested(4).as_bytes(), 3), Some(11));
        let hidden = r##"a "{{{{" { b #"{{{{"# // {{{{
            /* {{{{ */ c """
            {{{{ """ { } }"##;
        assert_eq!(first_too_deep(hidden.as_bytes(), 2), None);
        assert_eq!(
            first_too_deep(b"/* /* /* */ */ */", 2),
            Some(6),
            "comments nest too"
        );
    }

    #[test]
    fn two_thousand_nested_blocks_are_a_diagnostic_not_a_stack_overflow() {
        let text = format!("{}{}", "a {".repeat(2000), "}".repeat(2000));
        let diagnostic = too_deep(&text).expect("too deep");
        assert_eq!(diagnostic.code, Code::TooDeep);
        assert_eq!(diagnostic.primary().unwrap().span.offset, 64 * 3 + 2);
    }
}
