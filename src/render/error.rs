//! Errors as text for stderr: miette's rendering (code, message, help), and
//! a JSON syntax error shown on its line of the file.

/// An error as miette renders it, with a closing newline.
pub fn diagnostic(err: impl miette::Diagnostic + Send + Sync + 'static) -> String {
    format!("{:?}\n", miette::Report::new(err))
}

/// A JSON syntax error shown on its line of the file, if the file can be
/// read back (not a compressed or very large extract).
pub fn bad_json_at(name: &str, line: u64, column: u64, message: &str) -> Option<String> {
    JsonAt::read(name, line, column, message).map(diagnostic)
}

/// A JSON syntax error shown on its line of the file, with a caret where
/// the missing `,` or `]` belongs.
#[derive(Debug, miette::Diagnostic)]
#[diagnostic(
    code("rollcall::source::bad-json"),
    help(
        "open the file at this line and column; check the producer writes valid JSON (for `format jsonl`, exactly one value per line; for `format json`, one array)"
    )
)]
struct JsonAt {
    name: String,
    line: u64,
    column: u64,
    message: String,
    #[source_code]
    text: miette::NamedSource<String>,
    #[label("{message}")]
    at: miette::SourceSpan,
}

impl JsonAt {
    /// Reads the file back to show the place; `None` when it cannot (a
    /// compressed or very large extract), and the plain error is shown.
    fn read(name: &str, line: u64, column: u64, message: &str) -> Option<JsonAt> {
        let meta = std::fs::metadata(name).ok()?;
        if meta.len() > 16 << 20 {
            return None;
        }
        let text = String::from_utf8(std::fs::read(name).ok()?).ok()?;
        let start: usize = text
            .split_inclusive('\n')
            .take(usize::try_from(line).ok()?.checked_sub(1)?)
            .map(str::len)
            .sum();
        let offset = (start + usize::try_from(column).ok()?.saturating_sub(1)).min(text.len());
        let len = usize::from(offset < text.len());
        Some(JsonAt {
            name: name.to_owned(),
            line,
            column,
            message: message.to_owned(),
            text: miette::NamedSource::new(name, super::inert_text(text)),
            at: (offset, len).into(),
        })
    }
}

impl std::fmt::Display for JsonAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.name, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonAt {}
