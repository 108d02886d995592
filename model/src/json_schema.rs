//! A pipeline's `schema` file compiled into a JSON Schema validator, the one
//! way both the checker and the runtime read it, so a schema the checker
//! accepts is one the runtime compiles.
//!
//! Relative `$ref`s resolve to files beside the schema; remote `$ref`s are
//! refused, never fetched, so neither validation nor a run can depend on (or
//! leak to) the network.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;
use thiserror::Error;

/// A schema file, compiled.
#[derive(Debug)]
pub struct CompiledSchema {
    /// The validator for records.
    pub validator: Validator,
    /// The schema document as read, for callers that analyse it further.
    pub document: Value,
}

/// Why a schema file cannot be used.
#[derive(Debug, Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("cannot read schema {}", path.display())]
    Read {
        /// The schema file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("schema {} is not valid JSON", path.display())]
    Json {
        /// The schema file.
        path: PathBuf,
        /// Where parsing failed.
        #[source]
        source: serde_json::Error,
    },
    /// The file is JSON but not a schema that compiles.
    #[error("schema {} does not compile: {message}", path.display())]
    Invalid {
        /// The schema file.
        path: PathBuf,
        /// What the validator reported.
        message: String,
    },
}

/// Reads and compiles the schema at `path` (already resolved against the
/// pipeline file's folder).
pub fn compile(path: &Path) -> Result<CompiledSchema, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
        path: path.to_owned(),
        source,
    })?;
    let document: Value = serde_json::from_str(&text).map_err(|source| SchemaError::Json {
        path: path.to_owned(),
        source,
    })?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let validator = jsonschema::options()
        .with_base_uri(file_uri(&absolute))
        .with_retriever(LocalFiles)
        .build(&document)
        .map_err(|error| SchemaError::Invalid {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
    Ok(CompiledSchema {
        validator,
        document,
    })
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
