//! Text for people, and JSON for machines, built as values: each function
//! returns what a command shows and nothing here prints, so every output is
//! testable exactly. `main` hands the text to the [`Console`](crate::console::Console).

pub mod check;
pub mod error;
pub mod explain;
pub mod frozen;
pub mod history;
pub mod operator;
pub mod person;
pub mod plan;
pub mod registry;
pub mod report;
pub mod review;
pub mod run;
mod screen;
pub mod show;
pub mod targets;
pub mod test;

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

pub use screen::{Screen, Stream};

/// Text from a record (a key, a field value) made safe to print on a
/// terminal: control characters (an escape sequence could clear the screen
/// or recolour text; a newline could forge a line of the plan) and
/// bidirectional overrides (which reorder what is shown) are written as
/// `\u{..}` escapes. Ordinary text is returned as it is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(safe, "\\u{{{:x}}}", c as u32);
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// Characters that must not reach a terminal as they are.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// An extract's text made safe to show as a snippet: every control
/// character but newline, tab and the carriage return of a CRLF line end
/// (a lone one could overwrite the line shown), and every bidirectional
/// override, becomes `?` repeated to its length in bytes, so the error's
/// byte offsets still point at the same place and no escape sequence
/// reaches the terminal.
pub fn inert_text(text: String) -> String {
    let unsafe_here = |c: char, next: Option<&char>| {
        unsafe_char(c) && !matches!((c, next), ('\n' | '\t', _) | ('\r', Some('\n')))
    };
    let mut chars = text.chars().peekable();
    let mut inert = String::with_capacity(text.len());
    let mut changed = false;
    while let Some(c) = chars.next() {
        if unsafe_here(c, chars.peek()) {
            inert.extend(std::iter::repeat_n('?', c.len_utf8()));
            changed = true;
        } else {
            inert.push(c);
        }
    }
    if changed { inert } else { text }
}

/// Any value as pretty JSON, one document and a newline.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("reports serialize");
    text.push('\n');
    text
}

/// An error as JSON documents carry it: what a script branches on (`code`),
/// what happened, and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorJson {
    /// The diagnostic code, `rollcall::...`.
    pub code: String,
    /// What went wrong, in one line.
    pub message: String,
    /// How to fix it, when known.
    pub help: Option<String>,
}

impl ErrorJson {
    /// A diagnostic's code, message and help.
    pub fn of(diagnostic: &dyn miette::Diagnostic) -> ErrorJson {
        ErrorJson {
            code: diagnostic
                .code()
                .map(|code| code.to_string())
                .unwrap_or_else(|| "rollcall::error".to_owned()),
            message: diagnostic.to_string(),
            help: diagnostic.help().map(|help| help.to_string()),
        }
    }

    /// An error with a code of the command line's own.
    pub fn new(code: &str, message: impl Into<String>, help: Option<&str>) -> ErrorJson {
        ErrorJson {
            code: code.to_owned(),
            message: message.into(),
            help: help.map(str::to_owned),
        }
    }
}

/// A command's JSON document with the fields every one carries added at the
/// end: `outcome` (`ok` unless the document names its own), `exit_code`
/// (what the process exits with) and `error` (or null).
pub fn document<T: Serialize>(
    value: &T,
    exit: crate::exit::Exit,
    error: Option<&ErrorJson>,
) -> String {
    let mut value = serde_json::to_value(value).expect("reports serialize");
    if let serde_json::Value::Object(fields) = &mut value {
        if !fields.contains_key("outcome") {
            fields.insert("outcome".into(), "ok".into());
        }
        fields.insert("exit_code".into(), (exit as u8).into());
        fields.insert(
            "error".into(),
            serde_json::to_value(error).expect("errors serialize"),
        );
    }
    json(&value)
}

/// "person 7", or "a new person" for one a plan would create.
fn person(id: Option<i64>) -> String {
    id.map(|id| format!("person {id}"))
        .unwrap_or_else(|| "a new person".to_owned())
}

/// `, until DATE` (or another prefix) when there is a value, else nothing.
fn suffix(prefix: &str, value: Option<&str>) -> String {
    value.map(|v| format!("{prefix}{v}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(terminal_safe("ada"), Cow::Borrowed("ada")));
        assert_eq!(terminal_safe("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\u{a}");
        assert_eq!(terminal_safe("x\u{202e}y"), "x\\u{202e}y");
    }

    #[test]
    fn a_document_ends_with_its_exit_code_and_error() {
        let error = ErrorJson::new("rollcall::cli::x", "bad", None);
        assert_eq!(
            document(
                &serde_json::json!({ "a": 1 }),
                crate::exit::Exit::Error,
                Some(&error)
            ),
            "{\n  \"a\": 1,\n  \"outcome\": \"ok\",\n  \"exit_code\": 1,\n  \"error\": {\n    \"code\": \"rollcall::cli::x\",\n    \"message\": \"bad\",\n    \"help\": null\n  }\n}\n"
        );
    }

    #[test]
    fn json_is_pretty_and_ends_with_a_newline() {
        assert_eq!(json(&serde_json::json!({ "a": 1 })), "{\n  \"a\": 1\n}\n");
    }
}
