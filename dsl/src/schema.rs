//! The `schema` file: it must exist and compile as a JSON Schema, offline,
//! with relative `$ref`s resolved beside it as the runtime resolves them.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Span;
use crate::model::json_schema::{self, SchemaError};

/// Checks the schema at `resolved` (written `written` at `span`) by
/// compiling it exactly as the runtime will; `None` when that succeeds.
pub fn check_schema(written: &str, resolved: &Path, span: Span) -> Option<Diagnostic> {
    match json_schema::compile(resolved) {
        Ok(_) => None,
        Err(SchemaError::Read { source, .. }) => {
            let reason = if source.kind() == std::io::ErrorKind::NotFound {
                "no such file".to_owned()
            } else {
                source.to_string()
            };
            Some(
                Diagnostic::error(Code::SchemaNotFound, format!("the schema file `{written}` cannot be read"))
                    .with_label(span, format!("{reason}: {}", resolved.display()))
                    .with_help("paths are relative to the pipeline file's folder; fix the path or add the schema file"),
            )
        }
        Err(SchemaError::Json { source, .. }) => {
            Some(invalid(span, written, format!("not JSON: {source}")))
        }
        Err(SchemaError::Invalid { message, .. }) => Some(invalid(
            span,
            written,
            format!("does not compile: {message}"),
        )),
    }
}

/// The diagnostic for a schema file that is not a usable JSON Schema.
fn invalid(span: Span, written: &str, reason: String) -> Diagnostic {
    Diagnostic::error(Code::SchemaInvalid, format!("the schema file `{written}` is not a valid JSON Schema"))
        .with_label(span, reason)
        .with_help("fix the schema file (draft 2020-12 unless its `$schema` says otherwise); remote `$ref`s are not fetched")
}
