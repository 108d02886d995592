//! The `schema` file: it must exist and compile as a JSON Schema, offline.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Span;

/// Checks the schema at `resolved` (written `written` at `span`); `None`
/// when it exists and compiles.
pub fn check_schema(written: &str, resolved: &Path, span: Span) -> Option<Diagnostic> {
    let text = match std::fs::read_to_string(resolved) {
        Ok(text) => text,
        Err(err) => {
            let reason = if err.kind() == std::io::ErrorKind::NotFound {
                "no such file".to_owned()
            } else {
                err.to_string()
            };
            return Some(
                Diagnostic::error(Code::SchemaNotFound, format!("the schema file `{written}` cannot be read"))
                    .with_label(span, format!("{reason}: {}", resolved.display()))
                    .with_help("paths are relative to the pipeline file's folder; fix the path or add the schema file"),
            );
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            return Some(invalid(span, written, format!("not JSON: {err}")));
        }
    };
    // Without the crate's resolver features, remote `$ref`s fail to compile
    // instead of being fetched: validation stays offline.
    match jsonschema::validator_for(&value) {
        Ok(_) => None,
        Err(err) => Some(invalid(span, written, format!("does not compile: {err}"))),
    }
}

/// The diagnostic for a schema file that is not a usable JSON Schema.
fn invalid(span: Span, written: &str, reason: String) -> Diagnostic {
    Diagnostic::error(Code::SchemaInvalid, format!("the schema file `{written}` is not a valid JSON Schema"))
        .with_label(span, reason)
        .with_help("fix the schema file (draft 2020-12 unless its `$schema` says otherwise); remote `$ref`s are not fetched")
}
