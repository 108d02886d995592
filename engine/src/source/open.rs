//! Opening a pipeline's declared source (or the `--input` override) as a
//! stream of records, with the identity of the delivery it read.

use std::fs::File;
use std::path::{Path, PathBuf};

use rollcall_dsl::model::{Location, Source};
use serde::Serialize;

use super::{Limits, RecordReader, SourceError, resolve_file};

/// Which delivery a run read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

/// A delivery opened for reading.
pub struct Opened {
    /// Which delivery it is.
    pub identity: SourceIdentity,
    /// Its records.
    pub records: RecordReader,
}

/// Opens the delivery a run reads: `input` when given, else the newest (or
/// only) match of the declared source.
pub fn open(
    source: &Source,
    base_dir: &Path,
    input: Option<&Path>,
    limits: Limits,
) -> Result<Opened, SourceError> {
    let path = match (input, &source.location) {
        (Some(input), _) => input.to_path_buf(),
        (None, Location::File { path }) => {
            PathBuf::from(resolve_file(&path.value, base_dir, source.pick)?.uri)
        }
        (None, Location::S3(s3)) => {
            return Err(SourceError::Unsupported {
                what: format!("the s3 source (prefix {:?})", s3.prefix),
            });
        }
    };
    let uri = path.display().to_string();
    let file = File::open(&path).map_err(|e| SourceError::Unreadable {
        path: uri.clone(),
        source: e,
    })?;
    let meta = file.metadata().ok();
    let identity = SourceIdentity {
        uri: uri.clone(),
        etag: None,
        size: meta.as_ref().map(|m| m.len()),
        modified: meta.and_then(|m| m.modified().ok()).map(rfc3339),
        sha256: None,
    };
    let records = RecordReader::new(
        Box::new(file),
        &uri,
        &source.format,
        source.compression,
        &source.record_path,
        limits,
    );
    Ok(Opened { identity, records })
}

/// A system time as RFC 3339 UTC, whole seconds.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
