//! The canonical layout of pipeline files, behind `rollcall fmt`.
//!
//! The layout rules (also in `LANGUAGE.md`, "Formatting"):
//!
//! - 4 spaces of indentation per nesting level; one node per line (nodes
//!   separated by `;` are put on their own lines, and the `;` dropped).
//! - One space between a node's name, arguments, properties and `{`;
//!   `key=value` and `(type)value` with no space inside.
//! - `{` ends the node's line and `}` stands alone, aligned with the node,
//!   except that a block *written on one line* whose children are all leaf
//!   nodes (no children of their own, no `//` or `/* */` comments) stays on
//!   one line as `{ a; b }` (an empty one as `{}`). The rule looks only at
//!   the source, so it is deterministic and formatting twice changes nothing.
//! - Blank lines between nodes are kept, at most one in a row; blank lines at
//!   the start or end of the file or of a block are dropped.
//! - Values, type annotations and names are printed exactly as written.
//! - Every comment is kept, in order: `//` comments (only their trailing
//!   white space is dropped), `/* */` comments character for character
//!   (multi-line ones too), and slashdash `/-` items, laid out like live
//!   ones with the `/-` directly before them (`/-node`, `/-arg`, `/-{`).
//!   Comments on their own line stay on their own line; comments after a
//!   node, an entry or a `{` stay on that line.
//! - A `\` line continuation is kept (continued lines are indented one level
//!   deeper than the node), except one that continues nothing.
//! - Lines end in `\n` with no trailing white space (except inside
//!   multi-line strings and block comments), and the file ends with exactly
//!   one newline.
//!
//! The formatter re-lays out the tokens of the file (module `lex`); it never
//! re-spells a value. As a guard against its own bugs it re-parses what it
//! produced and refuses (rather than writes) when the nodes, arguments,
//! properties or children differ, when any comment differs, or when the
//! slashdashed items, made live, differ.

mod lex;
mod print;
mod tree;

use std::fmt;

use kdl::KdlDocument;
use miette::{NamedSource, SourceSpan};

use crate::diagnostic::Diagnostic;

/// Why a file could not be formatted; the file must then be left unchanged.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FormatError {
    /// The file is not valid KDL v2.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(SyntaxErrors),
    /// The formatter does not understand valid KDL it was given (a bug).
    #[error("rollcall fmt cannot lay out {}, so it was left unchanged", src.name())]
    #[diagnostic(
        code(rollcall::fmt::unsupported),
        help(
            "the file is valid KDL v2; please report this to the rollcall developers with the file"
        )
    )]
    Unsupported {
        /// The file.
        #[source_code]
        src: NamedSource<String>,
        /// Where the formatter got lost.
        #[label("not understood here")]
        span: SourceSpan,
    },
    /// The formatted text would not mean what the file means (a bug).
    #[error("formatting {name} would change {what}, so it was left unchanged")]
    #[diagnostic(
        code("rollcall::fmt::changed-meaning"),
        help("this is a bug in rollcall fmt; please report it with the file")
    )]
    ChangedMeaning {
        /// The file's name.
        name: String,
        /// What would change: the nodes, a comment, ...
        what: &'static str,
    },
}

/// The syntax errors of a file that is not valid KDL v2, shown as the
/// first one (code, span, help) with the others related to it.
#[derive(Debug)]
pub struct SyntaxErrors {
    /// The errors as [`parse`](crate::parse::parse) reports them; never empty.
    pub errors: Vec<Diagnostic>,
}

impl SyntaxErrors {
    fn first(&self) -> &Diagnostic {
        self.errors.first().expect("a syntax failure has an error")
    }
}

impl fmt::Display for SyntaxErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.first(), f)
    }
}

impl std::error::Error for SyntaxErrors {}

impl miette::Diagnostic for SyntaxErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.first().code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.first())
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::help(self.first())
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.first().source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.first().labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        let rest = self.errors.get(1..).filter(|rest| !rest.is_empty())?;
        Some(Box::new(rest.iter().map(|d| d as &dyn miette::Diagnostic)))
    }
}

/// Formats pipeline-file text in the canonical layout (see the module docs).
pub fn format(text: &str) -> Result<String, FormatError> {
    format_source("<input>", text)
}

/// Like [`format`], with the file name shown in diagnostics.
pub fn format_source(name: &str, text: &str) -> Result<String, FormatError> {
    let original = crate::parse::parse(name, text)
        .map_err(|errors| FormatError::Syntax(SyntaxErrors { errors }))?;
    let unsupported = |offset: usize| FormatError::Unsupported {
        src: NamedSource::new(name, text.to_owned()),
        span: SourceSpan::new(offset.into(), 0),
    };
    let tokens = lex::tokenize(text).map_err(|e| unsupported(e.offset))?;
    let items = tree::document(text, &tokens).map_err(|e| unsupported(e.offset))?;
    let mut formatted = print::document(&items);
    // The tokenizer reads a byte-order mark as white space; keep it.
    if text.starts_with('\u{FEFF}') {
        formatted.insert(0, '\u{FEFF}');
    }
    check_same_meaning(name, text, &original, &formatted)?;
    Ok(formatted)
}

/// The comments of a KDL text in order: `//` comments without trailing
/// white space, `/* */` comments as written, and `/-` for each slashdash.
/// The text must tokenize (it does when it parses as KDL).
pub fn comments(text: &str) -> Vec<String> {
    let Ok(tokens) = lex::tokenize(text) else {
        return Vec::new();
    };
    tokens
        .iter()
        .filter_map(|token| match token.kind {
            lex::Kind::LineComment => Some(token.text.trim_end_matches(lex::is_space).to_owned()),
            lex::Kind::BlockComment => Some(token.text.replace("\r\n", "\n")),
            lex::Kind::Slashdash => Some(token.text.to_owned()),
            _ => None,
        })
        .collect()
}

/// The text with every `/-` (and the white space, continuations and
/// comments between it and its item) removed, so the commented-out items
/// become live ones; `None` if it does not tokenize.
pub fn without_slashdashes(text: &str) -> Option<String> {
    let tokens = lex::tokenize(text).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut after_slashdash = false;
    for token in &tokens {
        match token.kind {
            lex::Kind::Slashdash => after_slashdash = true,
            lex::Kind::Space
            | lex::Kind::Newline
            | lex::Kind::EscLine
            | lex::Kind::LineComment
            | lex::Kind::BlockComment
                if after_slashdash => {}
            _ => {
                after_slashdash = false;
                out.push_str(token.text);
            }
        }
    }
    Some(out)
}

/// Whether two KDL texts hold the same nodes, arguments, properties, type
/// annotations and children, ignoring layout and comments. Texts that do
/// not parse are not the same as anything.
pub fn same_document(a: &str, b: &str) -> bool {
    match (KdlDocument::parse_v2(a), KdlDocument::parse_v2(b)) {
        (Ok(a), Ok(b)) => same_nodes(&a, &b),
        _ => false,
    }
}

/// The guard: refuses output that parses differently, loses or alters a
/// comment, or changes a slashdashed item.
fn check_same_meaning(
    name: &str,
    text: &str,
    original: &KdlDocument,
    formatted: &str,
) -> Result<(), FormatError> {
    let changed = |what| FormatError::ChangedMeaning {
        name: name.to_owned(),
        what,
    };
    let reparsed = KdlDocument::parse_v2(formatted).map_err(|_| changed("it into invalid KDL"))?;
    if !same_nodes(original, &reparsed) {
        return Err(changed("its nodes"));
    }
    if comments(text) != comments(formatted) {
        return Err(changed("its comments"));
    }
    // Slashdashed items are comments the parser skips; compare them by
    // making them live. Skipped when that is not valid KDL (e.g. a
    // slashdashed children block next to a live one).
    if let (Some(live_in), Some(live_out)) =
        (without_slashdashes(text), without_slashdashes(formatted))
        && KdlDocument::parse_v2(&live_in).is_ok()
        && !same_document(&live_in, &live_out)
    {
        return Err(changed("a slashdashed (/-) item"));
    }
    Ok(())
}

/// Structural equality of two parsed documents (values compare as values,
/// identifiers by their text, not their spelling).
fn same_nodes(a: &KdlDocument, b: &KdlDocument) -> bool {
    a.nodes().len() == b.nodes().len()
        && a.nodes().iter().zip(b.nodes()).all(|(a, b)| {
            a.name().value() == b.name().value()
                && a.ty().map(|t| t.value()) == b.ty().map(|t| t.value())
                && a.entries().len() == b.entries().len()
                && a.entries().iter().zip(b.entries()).all(|(a, b)| {
                    a.name().map(|n| n.value()) == b.name().map(|n| n.value())
                        && a.ty().map(|t| t.value()) == b.ty().map(|t| t.value())
                        && a.value() == b.value()
                })
                && match (a.children(), b.children()) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same_nodes(a, b),
                    _ => false,
                }
        })
}

#[cfg(test)]
mod tests;
