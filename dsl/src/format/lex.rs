//! A KDL v2 tokenizer that keeps everything: whitespace, newlines and every
//! comment. The formatter re-lays out these tokens; it never re-spells a
//! value, so strings, numbers and keywords come out exactly as written.
//!
//! The text has already been accepted by the `kdl` parser when this runs, so
//! the tokenizer only needs to find token boundaries, not validate them.

/// What a token is; its text is kept alongside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A run of non-newline white space.
    Space,
    /// One newline (`\n`, `\r\n`, `\r`, or a Unicode newline).
    Newline,
    /// `// ...` up to, not including, the newline.
    LineComment,
    /// `/* ... */`, nested comments included.
    BlockComment,
    /// `/-`, which comments out the next node, entry or children block.
    Slashdash,
    /// `\`, a line continuation.
    EscLine,
    /// `{`
    OpenBrace,
    /// `}`
    CloseBrace,
    /// `;`
    Semicolon,
    /// `=`
    Equals,
    /// `(`, opening a type annotation.
    OpenParen,
    /// `)`, closing a type annotation.
    CloseParen,
    /// A string (identifier, quoted, raw, multi-line), number or keyword.
    Value,
    /// End of input; always the last token.
    Eof,
}

/// One token: its kind, its text and its byte offset in the input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub start: usize,
}

/// The tokenizer met text it does not understand, at this byte offset.
#[derive(Debug)]
pub(super) struct LexError {
    pub offset: usize,
}

/// KDL v2 newline characters (CRLF is handled separately).
pub(super) fn is_newline(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{85}' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}'
    )
}

/// KDL v2 `unicode-space`.
pub(super) fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Characters allowed in an identifier string (and so in bare numbers and
/// keywords after `#`).
fn is_identifier_char(c: char) -> bool {
    !is_space(c)
        && !is_newline(c)
        && !matches!(
            c,
            '\\' | '/' | '(' | ')' | '{' | '}' | ';' | '[' | ']' | '"' | '#' | '='
        )
}

/// Splits `text` into tokens, ending with one [`Kind::Eof`].
pub(super) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let rest = &text[pos..];
        let (kind, len) = if rest.starts_with("\r\n") {
            (Kind::Newline, 2)
        } else if is_newline(c) {
            (Kind::Newline, c.len_utf8())
        } else if is_space(c) || (pos == 0 && c == '\u{FEFF}') {
            (Kind::Space, run_len(rest, is_space).max(c.len_utf8()))
        } else if rest.starts_with("//") {
            (Kind::LineComment, run_len(rest, |c| !is_newline(c)))
        } else if rest.starts_with("/*") {
            (
                Kind::BlockComment,
                block_comment_len(rest).ok_or(LexError { offset: pos })?,
            )
        } else if rest.starts_with("/-") {
            (Kind::Slashdash, 2)
        } else if c == '"' {
            (
                Kind::Value,
                quoted_len(rest).ok_or(LexError { offset: pos })?,
            )
        } else if c == '#' {
            (Kind::Value, hash_len(rest).ok_or(LexError { offset: pos })?)
        } else if is_identifier_char(c) {
            (Kind::Value, run_len(rest, is_identifier_char))
        } else {
            let kind = match c {
                '\\' => Kind::EscLine,
                '{' => Kind::OpenBrace,
                '}' => Kind::CloseBrace,
                ';' => Kind::Semicolon,
                '=' => Kind::Equals,
                '(' => Kind::OpenParen,
                ')' => Kind::CloseParen,
                _ => return Err(LexError { offset: pos }),
            };
            (kind, 1)
        };
        tokens.push(Token {
            kind,
            text: &rest[..len],
            start: pos,
        });
        pos += len;
    }
    tokens.push(Token {
        kind: Kind::Eof,
        text: "",
        start: pos,
    });
    Ok(tokens)
}

/// Length in bytes of the leading run of characters matching `pred`.
fn run_len(text: &str, pred: impl Fn(char) -> bool) -> usize {
    text.find(|c| !pred(c)).unwrap_or(text.len())
}

/// Length of a (possibly nested) block comment starting at `/*`.
fn block_comment_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if rest.starts_with("/*") {
            depth += 1;
            pos += 2;
        } else if rest.starts_with("*/") {
            depth -= 1;
            pos += 2;
            if depth == 0 {
                return Some(pos);
            }
        } else {
            pos += rest.chars().next()?.len_utf8();
        }
    }
    None
}

/// Length of a quoted string starting at `"`, single- or multi-line
/// (`"""`). A backslash escapes the next character, which covers `\"`,
/// `\\` and the start of a whitespace escape.
fn quoted_len(text: &str) -> Option<usize> {
    let (open, close) = if text.starts_with("\"\"\"") {
        (3, "\"\"\"")
    } else {
        (1, "\"")
    };
    let mut pos = open;
    while pos < text.len() {
        let rest = &text[pos..];
        if let Some(escaped) = rest.strip_prefix('\\') {
            pos += 1 + escaped.chars().next()?.len_utf8();
        } else if rest.starts_with(close) {
            return Some(pos + close.len());
        } else {
            pos += rest.chars().next()?.len_utf8();
        }
    }
    None
}

/// Length of a token starting with `#`: a raw string (`#"..."#`,
/// `##"""..."""##`) or a keyword (`#true`, `#null`, `#-inf`).
fn hash_len(text: &str) -> Option<usize> {
    let hashes = run_len(text, |c| c == '#');
    let after = &text[hashes..];
    if !after.starts_with('"') {
        let len = hashes + run_len(after, is_identifier_char);
        return (len > hashes).then_some(len);
    }
    let quotes = if after.starts_with("\"\"\"") { 3 } else { 1 };
    let close = format!("{}{}", "\"".repeat(quotes), "#".repeat(hashes));
    let body_start = hashes + quotes;
    let end = text[body_start..].find(&close)?;
    Some(body_start + end + close.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_and_texts(text: &str) -> Vec<(Kind, &str)> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn strings_hide_comment_markers() {
        let tokens = kinds_and_texts(r####"a "// no" #"/* no"# ##"""x"#"""## b"####);
        let values: Vec<_> = tokens
            .iter()
            .filter(|(k, _)| *k == Kind::Value)
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            values,
            ["a", "\"// no\"", "#\"/* no\"#", "##\"\"\"x\"#\"\"\"##", "b"]
        );
    }

    #[test]
    fn nested_block_comment_is_one_token() {
        let tokens = kinds_and_texts("/* a /* b */ c */x");
        assert_eq!(tokens[0], (Kind::BlockComment, "/* a /* b */ c */"));
        assert_eq!(tokens[1], (Kind::Value, "x"));
    }

    #[test]
    fn escaped_quote_stays_inside_the_string() {
        let tokens = kinds_and_texts(r#""a\"b" c"#);
        assert_eq!(tokens[0], (Kind::Value, r#""a\"b""#));
    }

    #[test]
    fn keywords_and_type_annotations() {
        let tokens = kinds_and_texts(r#"(env)"X" #true #-inf"#);
        let kinds: Vec<_> = tokens.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                Kind::OpenParen,
                Kind::Value,
                Kind::CloseParen,
                Kind::Value,
                Kind::Space,
                Kind::Value,
                Kind::Space,
                Kind::Value,
                Kind::Eof
            ]
        );
        assert_eq!(tokens[7].1, "#-inf");
    }
}
