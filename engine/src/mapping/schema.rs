//! JSON Schema validation of raw records, compiled offline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jsonschema::{Retrieve, Uri, Validator};
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
    /// Reads and compiles the schema at `path`. Relative `$ref`s resolve to
    /// files beside it; remote `$ref`s are refused, never fetched, so a run
    /// cannot depend on (or leak to) the network.
    pub(crate) fn load(path: &Path) -> Result<Self, CompileError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompileError::SchemaRead {
            path: path.to_owned(),
            source,
        })?;
        let schema: Value =
            serde_json::from_str(&text).map_err(|source| CompileError::SchemaJson {
                path: path.to_owned(),
                source,
            })?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let validator = jsonschema::options()
            .with_base_uri(file_uri(&absolute))
            .with_retriever(LocalFiles)
            .build(&schema)
            .map_err(|error| CompileError::SchemaInvalid {
                path: path.to_owned(),
                message: error.to_string(),
            })?;
        Ok(Schema {
            validator,
            shape: Shape::compile(&schema),
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

/// Resolves `$ref`s to `file:` URIs by reading the file; refuses all others.
struct LocalFiles;

impl Retrieve for LocalFiles {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let Some(path) = uri.as_str().strip_prefix("file://") else {
            return Err(
                format!("remote $ref {uri} is not fetched: schemas are compiled offline").into(),
            );
        };
        let path = path.split(['#', '?']).next().unwrap_or_default();
        let path = PathBuf::from(percent_decode(path)?);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// A `file://` URI for an absolute path, percent-encoding every byte that
/// is not unreserved, so paths with spaces or `#` stay one valid URI.
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    let text = path.to_string_lossy();
    if !text.starts_with('/') {
        // A Windows path (`C:\...`) becomes `file:///C:/...`.
        uri.push('/');
    }
    for byte in text.bytes() {
        match byte {
            b'\\' => uri.push('/'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                uri.push(byte as char)
            }
            _ => {
                let _ = write!(uri, "%{byte:02X}");
            }
        }
    }
    uri
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("bad percent escape in {text:?}"))?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn file_uris_round_trip() {
        let uri = file_uri(Path::new("/srv/pipe lines/#1/s.json"));
        assert_eq!(uri, "file:///srv/pipe%20lines/%231/s.json");
        assert_eq!(
            percent_decode(&uri["file://".len()..]).unwrap(),
            "/srv/pipe lines/#1/s.json"
        );
    }
}
