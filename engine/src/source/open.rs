//! Opening a pipeline's declared source (or the `--input` override) as a
//! stream of records, with the identity of the extract it read.
//!
//! Locating and opening are two steps so that a run can look at the
//! extract it would read (and skip one already applied) before reading it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rollcall_model::{Location, Source};
use serde::Serialize;

use super::s3::{Bucket, Object};
use super::{Limits, RecordReader, SourceError, resolve_file};

/// Which extract a run read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceIdentity {
    /// Local path or `s3://bucket/key`.
    pub uri: String,
    /// S3 entity tag, when read from S3.
    pub etag: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Last-modified time (RFC 3339).
    pub modified: Option<String>,
    /// SHA-256 of the bytes read, hex.
    pub sha256: Option<String>,
}

impl SourceIdentity {
    /// True when both name the same extract: the same URI and, when both
    /// know one, the same entity tag (else the same size and time).
    pub fn same_extract(&self, other: &SourceIdentity) -> bool {
        if self.uri != other.uri {
            return false;
        }
        match (&self.etag, &other.etag) {
            (Some(a), Some(b)) => a == b,
            _ => self.size == other.size && self.modified == other.modified,
        }
    }
}

/// An extract opened for reading.
pub struct Opened {
    /// Which extract it is.
    pub identity: SourceIdentity,
    /// Its records.
    pub records: RecordReader,
}

/// An extract found but not yet read.
#[derive(Clone)]
pub struct Located {
    /// Which extract it is (no hash yet: nothing has been read).
    pub identity: SourceIdentity,
    place: Place,
}

/// Where a located extract's bytes are.
#[derive(Clone)]
enum Place {
    File(PathBuf),
    S3(Object),
}

impl std::fmt::Debug for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Located")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Located {
    /// True when the extract came from the declared source, not `--input`
    /// (only those can be skipped as already applied or cleaned up).
    pub fn is_declared(&self) -> bool {
        matches!(self.place, Place::S3(_))
    }

    /// Starts reading: opens the file, or sends GetObject. Records are
    /// decoded lazily as the returned reader is iterated.
    pub fn open(self, source: &Source, limits: Limits) -> Result<Opened, SourceError> {
        let (input, identity): (Box<dyn Read + Send>, _) = match &self.place {
            Place::File(path) => {
                let uri = path.display().to_string();
                regular_file(path, &uri)?;
                let file = File::open(path).map_err(|e| SourceError::Unreadable {
                    path: uri.clone(),
                    source: e,
                })?;
                let meta = file.metadata().ok();
                let identity = SourceIdentity {
                    uri,
                    etag: None,
                    size: meta.as_ref().map(|m| m.len()),
                    modified: meta.and_then(|m| m.modified().ok()).map(rfc3339),
                    sha256: None,
                };
                (Box::new(file), identity)
            }
            Place::S3(object) => (object.reader()?, self.identity.clone()),
        };
        let records = RecordReader::new(
            input,
            &identity.uri,
            &source.format,
            source.compression,
            &source.record_path,
            limits.with_source(&source.limits),
        );
        Ok(Opened { identity, records })
    }

    /// After a successful run from an S3 source with `delete-older`, deletes
    /// the extracts older than this one; returns their URIs. Does nothing
    /// for other sources or without `delete-older`.
    pub fn delete_older(&self, source: &Source) -> Result<Vec<String>, SourceError> {
        match (&self.place, &source.location) {
            (Place::S3(object), Location::S3(s3)) if s3.delete_older => {
                object.bucket().delete_older(object)
            }
            _ => Ok(Vec::new()),
        }
    }
}

/// Finds the extract a run reads: `input` when given (no client of any
/// store is built then), else the newest (or only) match of the declared source.
pub fn locate(
    source: &Source,
    base_dir: &Path,
    input: Option<&Path>,
) -> Result<Located, SourceError> {
    let path = match (input, &source.location) {
        (Some(input), _) => input.to_path_buf(),
        (None, Location::File { path }) => {
            PathBuf::from(resolve_file(&path.value, base_dir, source.pick)?.uri)
        }
        (None, Location::S3(s3)) => {
            let object = Bucket::connect(s3, source.pick)?.newest()?;
            return Ok(Located {
                identity: object.identity(),
                place: Place::S3(object),
            });
        }
    };
    Ok(Located {
        identity: SourceIdentity {
            uri: path.display().to_string(),
            ..SourceIdentity::default()
        },
        place: Place::File(path),
    })
}

/// Opens the extract a run reads: `input` when given, else the newest (or
/// only) match of the declared source. `limits` are the defaults; the
/// source's own `limits { ... }` override them.
pub fn open(
    source: &Source,
    base_dir: &Path,
    input: Option<&Path>,
    limits: Limits,
) -> Result<Opened, SourceError> {
    locate(source, base_dir, input)?.open(source, limits)
}

/// Refuses a path that is not a regular file, before opening it: opening a
/// FIFO blocks until a writer appears, and a directory opens fine but fails
/// on the first read.
fn regular_file(path: &Path, uri: &str) -> Result<(), SourceError> {
    let kind = std::fs::metadata(path).map_err(|e| SourceError::Unreadable {
        path: uri.to_owned(),
        source: e,
    })?;
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(SourceError::Unreadable {
        path: uri.to_owned(),
        source: std::io::Error::other(format!("is {what}; an extract must be a file")),
    })
}

/// A system time as RFC 3339 UTC, whole seconds.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(uri: &str, etag: Option<&str>, size: u64) -> SourceIdentity {
        SourceIdentity {
            uri: uri.into(),
            etag: etag.map(str::to_owned),
            size: Some(size),
            modified: Some("2024-09-04T12:00:00Z".into()),
            sha256: None,
        }
    }

    #[test]
    fn s3_same_extract_means_same_key_and_entity_tag() {
        let a = identity("s3://b/k", Some("abc"), 10);
        assert!(a.same_extract(&identity("s3://b/k", Some("abc"), 10)));
        // Re-uploaded under the same key: a new extract.
        assert!(!a.same_extract(&identity("s3://b/k", Some("def"), 10)));
        assert!(!a.same_extract(&identity("s3://b/other", Some("abc"), 10)));
        // Without entity tags, size and time decide.
        let bare = identity("s3://b/k", None, 10);
        assert!(bare.same_extract(&identity("s3://b/k", None, 10)));
        assert!(!bare.same_extract(&identity("s3://b/k", None, 11)));
    }
}
