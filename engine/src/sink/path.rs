//! Where a sink's file goes, and writing it atomically there.
//!
//! A sink writes one plain file name into one folder: its own (the sink path
//! resolved against the pipeline's folder) or `--out-dir`. The name may not
//! step out of that folder, and an existing link at the target is refused
//! rather than followed, so an output never lands anywhere but its folder.

use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use rollcall_model::Sink;

use super::SinkError;
use crate::plan::Plan;

/// The file a sink writes, its folder made and the target checked.
pub(super) fn target(
    plan: &Plan,
    sink: &Sink,
    out_dir: Option<&Path>,
) -> Result<PathBuf, SinkError> {
    let target = planned(plan, sink, out_dir)?;
    let folder = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|source| SinkError::Io {
        path: folder.display().to_string(),
        source,
    })?;
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

/// The file a sink would write, touching nothing.
pub(super) fn planned(
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
    Ok(folder.join(&name))
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
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".rollcall-{name}.");
    remove_abandoned(folder, &prefix);
    let temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(new_file_mode())
        .tempfile_in(folder)
        .map_err(io)?;
    // A replaced file keeps its mode (a consumer's group may read it).
    if let Ok(previous) = std::fs::metadata(target) {
        temp.as_file()
            .set_permissions(previous.permissions())
            .map_err(io)?;
    }
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

/// The mode a new output file is created with: 0644, less the umask (the
/// process's umask applies at creation, as for any new file), instead of
/// the temporary file's private 0600.
fn new_file_mode() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// A temporary file this old was left by a writer that was stopped (a
/// kill between creating and renaming it); a live writer keeps touching it.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes temporary files of the same target that an earlier, stopped
/// write left behind, so killed runs do not litter the sink's folder.
/// Best effort: a file that cannot be removed is left for next time.
fn remove_abandoned(folder: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(".tmp")) {
            continue;
        }
        let abandoned = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|meta| meta.modified().ok())
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= ABANDONED_AFTER);
        if abandoned {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = %entry.path().display(), "removed an abandoned temporary file")
                }
                Err(err) => {
                    tracing::warn!(file = %entry.path().display(), "could not remove an abandoned temporary file: {err}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn touch(path: &Path, age: Duration) {
        let file = std::fs::File::create(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn writing_a_file_removes_its_abandoned_temporaries_only() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let stale = dir.path().join(".rollcall-users.csv.a1b2c3.tmp");
        let live = dir.path().join(".rollcall-users.csv.d4e5f6.tmp");
        let other = dir.path().join(".rollcall-roles.csv.a1b2c3.tmp");
        touch(&stale, 2 * hour);
        touch(&live, Duration::from_secs(5));
        touch(&other, 2 * hour);

        let target = dir.path().join("users.csv");
        let records = write_atomically(&target, |out| {
            out.write_all(b"a\n").unwrap();
            Ok(1)
        })
        .unwrap();

        assert_eq!(records, 1);
        assert_eq!(std::fs::read(&target).unwrap(), b"a\n");
        assert!(
            !stale.exists(),
            "an hour-old temporary of users.csv is removed"
        );
        assert!(live.exists(), "a fresh one may belong to a live writer");
        assert!(
            other.exists(),
            "another target's temporary is not this write's"
        );
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".rollcall-users.csv."))
            .collect();
        assert_eq!(
            left,
            [".rollcall-users.csv.d4e5f6.tmp"],
            "its own temporary was renamed"
        );
    }
}
