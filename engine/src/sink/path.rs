//! Where a sink's file goes, and writing it atomically there.
//!
//! A sink writes one plain file name into one folder: its own (the sink path
//! resolved against the pipeline's folder) or `--out-dir`. The name may not
//! step out of that folder, and an existing link at the target is refused
//! rather than followed, so an output never lands anywhere but its folder.

use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use rollcall_dsl::model::Sink;

use super::SinkError;
use crate::plan::Plan;

/// The file a sink writes.
pub(super) fn target(
    plan: &Plan,
    sink: &Sink,
    out_dir: Option<&Path>,
) -> Result<PathBuf, SinkError> {
    let written = Path::new(&sink.path.value);
    let escapes = |why: &str| SinkError::Escapes {
        path: sink.path.value.clone(),
        why: why.to_owned(),
    };
    let name = match written.components().next_back() {
        Some(Component::Normal(name)) => name.to_owned(),
        _ => return Err(escapes("does not end in a file name")),
    };
    let folder = match out_dir {
        Some(dir) => dir.to_path_buf(),
        None => plan
            .base_dir
            .join(written)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    std::fs::create_dir_all(&folder).map_err(|source| SinkError::Io {
        path: folder.display().to_string(),
        source,
    })?;
    let target = folder.join(&name);
    if let Ok(meta) = std::fs::symlink_metadata(&target)
        && !meta.file_type().is_file()
    {
        return Err(SinkError::Escapes {
            path: target.display().to_string(),
            why: "exists and is not a plain file (a link or a folder): it is not replaced".into(),
        });
    }
    Ok(target)
}

/// Writes `target` through a temporary file in the same folder, synced and
/// renamed over it, so a reader sees the old file or the new one, never
/// half of one. `fill` writes the content and returns its record count.
pub(super) fn write_atomically(
    target: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<u64, SinkError>,
) -> Result<u64, SinkError> {
    let io = |source: std::io::Error| SinkError::Io {
        path: target.display().to_string(),
        source,
    };
    let folder = target.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".rollcall-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(io)?;
    let mut out = BufWriter::new(temp);
    let records = fill(&mut out).map_err(|err| match err {
        // Writers only know they failed; this is where the file is known.
        SinkError::Io { path, source } if path.is_empty() => io(source),
        other => other,
    })?;
    out.flush().map_err(io)?;
    let temp = out.into_inner().map_err(|e| io(e.into_error()))?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(target).map_err(|e| io(e.error))?;
    Ok(records)
}
