//! A sink may not write a file its pipeline reads: its source, a lookup's
//! source or the pipeline file itself. The run would replace the input with
//! its own output (and the next run read that). Checked where the pipeline
//! names the paths; the engine checks again at run time, where `--input`,
//! `--out-dir` and `--state` decide the rest.

use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Location, Pipeline, Source, Span};

/// Every sink of `pipeline` whose file is one the pipeline reads; relative
/// paths are resolved against `base_dir` (the pipeline file's folder).
pub fn check_sink_paths(pipeline: &Pipeline, base_dir: &Path) -> Vec<Diagnostic> {
    let mut read: Vec<(PathBuf, Option<Span>, String)> = Vec::new();
    let mut add_source = |source: &Source, what: String| {
        if let Location::File { path } = &source.location
            && !is_glob(&path.value)
        {
            read.push((base_dir.join(&path.value), Some(path.span), what));
        }
    };
    add_source(&pipeline.source, "the pipeline's source".to_owned());
    for lookup in &pipeline.lookups {
        add_source(
            &lookup.source,
            format!("lookup `{}`'s source", lookup.name.value),
        );
    }
    read.push((
        pipeline.file.clone(),
        None,
        "the pipeline file itself".to_owned(),
    ));

    let mut found = Vec::new();
    for sink in &pipeline.sinks {
        let written = base_dir.join(&sink.path.value);
        for (path, span, what) in &read {
            if !same_file(&written, path) {
                continue;
            }
            let mut diagnostic = Diagnostic::error(
                Code::SinkOverwritesInput,
                format!("sink `{}` would overwrite {what}", sink.path.value),
            )
            .with_label(sink.path.span, "written here");
            if let Some(span) = span {
                diagnostic = diagnostic.with_label(*span, "read here");
            }
            found.push(diagnostic.with_help(
                "a run must never replace what it reads; write the sink to a file of its own",
            ));
        }
    }
    found
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Whether two paths name one file: the same once `.` and `..` are resolved
/// in the text, or the same once their folders are resolved on disk
/// (symbolic links, `..` through a link).
pub fn same_file(a: &Path, b: &Path) -> bool {
    if lexical(a) == lexical(b) {
        return true;
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `path` with `.` dropped and `..` taken back from the text.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` with its folder resolved on disk (the file itself need not exist;
/// a link at the file is followed when it does).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_naming_one_file_are_the_same() {
        assert!(same_file(Path::new("a/./b/../c.csv"), Path::new("a/c.csv")));
        assert!(!same_file(Path::new("a/c.csv"), Path::new("a/d.csv")));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        assert!(same_file(
            &dir.path().join("link/x.csv"),
            &dir.path().join("real/x.csv")
        ));
    }
}
