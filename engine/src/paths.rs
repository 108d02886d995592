//! A run never writes what it reads. Before anything is locked or read, the
//! file each sink would write (after `--out-dir`) is compared with the state
//! store and its `-wal`, `-shm` and `-journal` files, the pipeline file, the
//! extract (`--input`, or every file the source's pattern matches now) and
//! each lookup's source. `rollcall deliver` runs the same check, since its
//! `--out-dir` and `--state` can point a sink at the store just as well. `rollcall validate` refuses what the pipeline file
//! alone says (`rollcall::sink-overwrites-input`); this is the check for
//! what only the command line decides.

use std::path::{Path, PathBuf};

use rollcall_model::{Location, Source};

use crate::plan::Plan;
use crate::sink;
use crate::store::Store;

/// A sink would write a file the run reads or keeps its state in.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("sink `{sink}` would write {target}, which is {what}")]
#[diagnostic(
    code("rollcall::run::sink-overwrites-input"),
    help(
        "nothing was run. A sink must never replace the state store, the pipeline file or what the run reads: \
         give the sink (or `--out-dir`, `--state`, `--input`) a path of its own"
    )
)]
pub struct OverlapError {
    /// The sink's path as the pipeline writes it.
    pub sink: String,
    /// The file it would write.
    pub target: String,
    /// What that file is to the run.
    pub what: String,
}

/// Checks every sink's file against everything the run reads or keeps.
pub fn check_outputs(
    plan: &Plan,
    store: &Store,
    input: Option<&Path>,
    out_dir: Option<&Path>,
) -> Result<(), OverlapError> {
    let store = Some(store.path()).filter(|path| *path != Path::new(":memory:"));
    let targets = sink::planned_targets(plan, out_dir);
    if targets.is_empty() {
        return Ok(());
    }
    let guarded = guarded_files(plan, store, input);
    for (sink, target) in targets {
        let Some(resolved) = resolved(&target) else {
            continue;
        };
        if let Some((_, what)) = guarded.iter().find(|(file, _)| *file == resolved) {
            return Err(OverlapError {
                sink: sink.path.value.clone(),
                target: target.display().to_string(),
                what: what.clone(),
            });
        }
    }
    Ok(())
}

/// The files a run reads or keeps, resolved, each with what it is.
fn guarded_files(
    plan: &Plan,
    store: Option<&Path>,
    input: Option<&Path>,
) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut add = |path: &Path, what: String| {
        if let Some(path) = resolved(path) {
            files.push((path, what));
        }
    };
    if let Some(store) = store {
        add(store, "the state store".into());
        for suffix in ["-wal", "-shm", "-journal"] {
            let companion = PathBuf::from(format!("{}{suffix}", store.display()));
            add(&companion, format!("the state store's `{suffix}` file"));
        }
    }
    add(&plan.file, "the pipeline file".into());
    match input {
        Some(input) => add(input, "the extract read (`--input`)".into()),
        None => {
            for path in source_files(&plan.source, &plan.base_dir) {
                add(&path, "the pipeline's source".into());
            }
        }
    }
    for source in plan.joiner.sources() {
        for path in source_files(source, &plan.base_dir) {
            add(&path, "a lookup's source".into());
        }
    }
    files
}

/// The local files a source names: its path, or what its pattern matches.
fn source_files(source: &Source, base_dir: &Path) -> Vec<PathBuf> {
    let Location::File { path } = &source.location else {
        return Vec::new();
    };
    let full = base_dir.join(&path.value);
    if !path.value.contains(['*', '?', '[']) {
        return vec![full];
    }
    glob::glob(&full.to_string_lossy())
        .map(|found| found.flatten().collect())
        .unwrap_or_default()
}

/// `path` with its folder resolved on disk (symbolic links, `..`); the file
/// itself need not exist, and a link at it is followed when it does.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(full) = path.canonicalize() {
        return Some(full);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}
