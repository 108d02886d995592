//! JSON Schema validation of raw records, compiled offline.

use std::path::Path;

use jsonschema::Validator;
use rollcall_model::json_schema::{self, SchemaError};
use serde_json::Value;

use super::error::CompileError;
use super::shape::Shape;

/// A compiled JSON Schema for the raw payload of each record.
#[derive(Debug)]
pub(crate) struct Schema {
    validator: Validator,
    /// The same schema for the fast path, when it stays within that subset.
    shape: Option<Shape>,
}

impl Schema {
    /// Reads and compiles the schema at `path`, as the checker did (see
    /// [`rollcall_model::json_schema`]).
    pub(crate) fn load(path: &Path) -> Result<Self, CompileError> {
        let compiled = json_schema::compile(path).map_err(|error| match error {
            SchemaError::Read { path, source } => CompileError::SchemaRead { path, source },
            SchemaError::Json { path, source } => CompileError::SchemaJson { path, source },
            SchemaError::Invalid { path, message } => CompileError::SchemaInvalid { path, message },
        })?;
        Ok(Schema {
            shape: Shape::compile(&compiled.document),
            validator: compiled.validator,
        })
    }

    /// The schema as a [`Shape`], when every keyword it uses is in the subset.
    pub(crate) fn shape(&self) -> Option<&Shape> {
        self.shape.as_ref()
    }

    /// Appends one problem per schema error, each prefixed with the JSON
    /// pointer of the offending value (`/dit:lastName: 5 is not of type "string"`).
    pub(crate) fn check(&self, raw: &Value, problems: &mut Vec<String>) {
        // Most records are valid; the boolean check skips building errors.
        if self.validator.is_valid(raw) {
            return;
        }
        for error in self.validator.iter_errors(raw) {
            let pointer = error.instance_path().as_str();
            let pointer = if pointer.is_empty() {
                "(root)"
            } else {
                pointer
            };
            problems.push(format!("{pointer}: {error}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
        path
    }

    #[test]
    fn errors_carry_json_pointers_and_all_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "s.json",
            &json!({
                "type": "object",
                "required": ["dit:StaffSSO:User:userId"],
                "properties": {"dit:lastName": {"type": "string"}, "n": {"type": "array", "items": {"type": "integer"}}}
            }),
        );
        let schema = Schema::load(&path).unwrap();
        let mut problems = Vec::new();
        schema.check(&json!({"dit:lastName": 5, "n": [1, "x"]}), &mut problems);
        problems.sort();
        assert_eq!(
            problems,
            [
                r#"(root): "dit:StaffSSO:User:userId" is a required property"#,
                r#"/dit:lastName: 5 is not of type "string""#,
                r#"/n/1: "x" is not of type "integer""#,
            ]
        );
        let mut problems = Vec::new();
        schema.check(
            &json!({"dit:StaffSSO:User:userId": "u", "dit:lastName": "B"}),
            &mut problems,
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn relative_refs_resolve_to_files_beside_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("with space");
        std::fs::create_dir(&sub).unwrap();
        write(
            &sub,
            "name.json",
            &json!({"type": "string", "minLength": 1}),
        );
        let path = write(
            &sub,
            "main.json",
            &json!({"properties": {"name": {"$ref": "name.json"}}}),
        );
        let schema = Schema::load(&path).unwrap();
        let mut problems = Vec::new();
        schema.check(&json!({"name": ""}), &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("/name: "), "{problems:?}");
    }

    #[test]
    fn remote_refs_are_not_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "s.json",
            &json!({"$ref": "https://example.invalid/s.json"}),
        );
        let error = Schema::load(&path).unwrap_err();
        assert!(
            matches!(error, CompileError::SchemaInvalid { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn unreadable_non_json_and_invalid_schemas_are_compile_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Schema::load(&dir.path().join("absent.json")).unwrap_err();
        assert!(matches!(missing, CompileError::SchemaRead { .. }));
        let garbage = dir.path().join("g.json");
        std::fs::write(&garbage, "{not json").unwrap();
        assert!(matches!(
            Schema::load(&garbage).unwrap_err(),
            CompileError::SchemaJson { .. }
        ));
        let invalid = write(dir.path(), "i.json", &json!({"type": 12}));
        assert!(matches!(
            Schema::load(&invalid).unwrap_err(),
            CompileError::SchemaInvalid { .. }
        ));
    }
}
