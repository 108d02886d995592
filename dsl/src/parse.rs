//! KDL v2 syntax: text to a [`KdlDocument`], or our syntax diagnostics.
//!
//! The `kdl` crate's errors are relabelled with the file name and, where
//! the cause is a common one (an unclosed block, a KDL v1 keyword), reworded
//! to say how to fix it.

use std::sync::Arc;

use kdl::{KdlDiagnostic, KdlDocument};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Span;
use crate::source_file::SourceFile;

/// Parses `text` (the contents of the file called `name`) as KDL v2.
pub fn parse(name: &str, text: &str) -> Result<KdlDocument, Vec<Diagnostic>> {
    parse_file(&SourceFile::new(name, text))
}

/// Parses a [`SourceFile`] as KDL v2; every diagnostic points into it.
pub fn parse_file(file: &Arc<SourceFile>) -> Result<KdlDocument, Vec<Diagnostic>> {
    // Before the parser, which would recurse once per block.
    if let Some(too_deep) = crate::nesting::too_deep(file.text()) {
        return Err(vec![too_deep.in_file(file)]);
    }
    let error = match KdlDocument::parse_v2(file.text()) {
        Ok(document) => return Ok(document),
        Err(error) => error,
    };
    let unclosed_block = error
        .diagnostics
        .iter()
        .any(|d| d.message.as_deref() == Some(UNCLOSED_BLOCK));
    let mut diagnostics: Vec<Diagnostic> = error
        .diagnostics
        .iter()
        // The parser reports an unclosed block twice: at the `{` and again
        // over the nodes inside; the `{` is the place to fix.
        .filter(|d| !(unclosed_block && d.message.as_deref() == Some(UNCLOSED_NODES)))
        .map(|d| syntax_diagnostic(file, d))
        .collect();
    if diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::error(Code::Syntax, "the file is not valid KDL v2")
                .with_help("check the file against https://kdl.dev (KDL v2)"),
        );
    }
    Err(diagnostics.into_iter().map(|d| d.in_file(file)).collect())
}

const UNCLOSED_BLOCK: &str = "No closing '}' for child block";
const UNCLOSED_NODES: &str = "Closing '}' was not found after nodes";

/// Our version of one of the parser's diagnostics.
fn syntax_diagnostic(file: &SourceFile, kdl: &KdlDiagnostic) -> Diagnostic {
    let span = Span::from(kdl.span);
    let text = file.slice(span.offset, span.len);
    let message = kdl.message.as_deref().unwrap_or("invalid KDL");
    if message == UNCLOSED_BLOCK {
        return Diagnostic::error(Code::Syntax, "this block is never closed")
            .with_label(span, "this `{` has no matching `}`")
            .with_help("add a `}` after the last node of the block");
    }
    if let Some(v2) = v1_keyword(text) {
        return Diagnostic::error(
            Code::Syntax,
            format!("`{text}` is KDL v1; pipeline files are KDL v2"),
        )
        .with_label(span, format!("write `{v2}` here"))
        .with_help(format!(
            "KDL v2 spells booleans and null `#true`, `#false` and `#null`: replace `{text}` with `{v2}`"
        ));
    }
    let label = kdl.label.clone().unwrap_or_else(|| "here".to_owned());
    let help = kdl.help.clone().unwrap_or_else(|| {
        "fix the KDL v2 syntax at the marked place (https://kdl.dev)".to_owned()
    });
    Diagnostic::error(Code::Syntax, first_lowercase(message))
        .with_label(span, label)
        .with_help(help)
}

/// The KDL v2 spelling of a bare KDL v1 keyword.
fn v1_keyword(text: &str) -> Option<&'static str> {
    match text {
        "true" => Some("#true"),
        "false" => Some("#false"),
        "null" => Some("#null"),
        _ => None,
    }
}

/// Our messages start in lower case, like rustc's.
fn first_lowercase(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<Diagnostic> {
        parse("t.kdl", text).expect_err("should not parse")
    }

    #[test]
    fn valid_kdl_parses() {
        let doc = parse("t.kdl", "pipeline a { key x }").unwrap();
        assert_eq!(doc.nodes().len(), 1);
    }

    #[test]
    fn unclosed_block_points_at_its_brace() {
        let errors = errors("pipeline a {\n    key x\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, Code::Syntax);
        assert_eq!(errors[0].primary().unwrap().span, Span::new(11, 1));
        assert_eq!(errors[0].file.as_ref().unwrap().name(), "t.kdl");
    }

    #[test]
    fn v1_booleans_get_the_v2_spelling_as_help() {
        let errors = errors("pipeline a { keep-raw true }");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].help.as_ref().unwrap().contains("`#true`"));
        assert_eq!(errors[0].primary().unwrap().span, Span::new(22, 4));
    }
}
