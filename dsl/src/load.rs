//! Loading: files and folders in, checked pipelines and every diagnostic out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check;
use crate::diagnostic::{Code, Diagnostic};
use crate::lower::lower;
use crate::model::Pipeline;
use crate::parse::parse_file;
use crate::source_file::SourceFile;

/// The outcome of loading pipeline files.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Pipelines from files without errors, in file order. Run them only
    /// when [`Loaded::is_valid`]: a duplicate name across files, for one,
    /// leaves both pipelines here.
    pub pipelines: Vec<Pipeline>,
    /// Every diagnostic, ordered by file and then position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// True when no diagnostic is an error (warnings are allowed).
    pub fn is_valid(&self) -> bool {
        self.error_count() == 0
    }

    /// The number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == miette::Severity::Warning)
            .count()
    }

    /// The pipelines when valid, else every diagnostic.
    pub fn into_result(self) -> Result<Vec<Pipeline>, Vec<Diagnostic>> {
        if self.is_valid() {
            Ok(self.pipelines)
        } else {
            Err(self.diagnostics)
        }
    }
}

/// Loads and checks pipeline files; folders are searched (recursively, in
/// sorted order) for `*.kdl` files. All files are checked together, so
/// pipeline names must be unique across them.
pub fn load_files(paths: &[PathBuf]) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            let mut visited = std::collections::HashSet::new();
            if let Err(err) = collect_kdl_files(path, &mut files, &mut visited) {
                diagnostics.push(io_error(path, &err));
            } else if files.len() == before {
                diagnostics.push(
                    Diagnostic::error(
                        Code::NoFiles,
                        format!("no `.kdl` files in `{}`", path.display()),
                    )
                    .with_help(
                        "pipeline files end in `.kdl`; pass a file or a folder holding some",
                    ),
                );
            }
        } else {
            files.push(path.clone());
        }
    }
    // A file named twice (itself and through its folder) is checked once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
    // Test files (`NAME.test.kdl`) hold tests, not pipelines: checked as such.
    let (tests, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|f| crate::test_file::is_test_file(f));
    for test in &tests {
        match crate::test_file::load_test_file(test) {
            Ok(loaded) => diagnostics.extend(loaded.diagnostics),
            Err(unreadable) => diagnostics.push(unreadable),
        }
    }

    let mut sources = Vec::new();
    for path in files {
        if let Some(refused) = not_a_regular_file(&path) {
            diagnostics.push(refused);
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push(SourceFile::new(path, text)),
                Err(err) => diagnostics.push(not_utf8(path, err)),
            },
            Err(err) => diagnostics.push(io_error(&path, &err)),
        }
    }
    let mut loaded = load_sources(&sources);
    diagnostics.append(&mut loaded.diagnostics);
    loaded.diagnostics = diagnostics;
    loaded
}

/// Loads and checks one pipeline file given as text; relative paths in it
/// are resolved against `base_dir`.
pub fn load_str(name: &str, text: &str, base_dir: &Path) -> Loaded {
    let file = SourceFile::new(name, text);
    load_with_base(&[(file, base_dir.to_path_buf())])
}

/// Loads files already read; each file's folder is its base directory.
fn load_sources(files: &[Arc<SourceFile>]) -> Loaded {
    let with_base: Vec<(Arc<SourceFile>, PathBuf)> = files
        .iter()
        .map(|f| {
            let base = match f.path().parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            (Arc::clone(f), base)
        })
        .collect();
    load_with_base(&with_base)
}

/// Parses, lowers and checks every file, then checks names across them.
fn load_with_base(files: &[(Arc<SourceFile>, PathBuf)]) -> Loaded {
    let mut per_file: Vec<(Vec<Pipeline>, Vec<Diagnostic>)> = Vec::new();
    for (file, base_dir) in files {
        let document = match parse_file(file) {
            Ok(document) => document,
            Err(errors) => {
                per_file.push((Vec::new(), errors));
                continue;
            }
        };
        let (pipelines, mut diagnostics) = lower(file, &document, base_dir);
        for pipeline in &pipelines {
            diagnostics.extend(
                check::check_pipeline(pipeline)
                    .into_iter()
                    .chain(crate::paths::check_sink_paths(pipeline, base_dir))
                    .map(|d| d.in_file(file)),
            );
        }
        per_file.push((pipelines, diagnostics));
    }

    let named: Vec<_> = per_file
        .iter()
        .zip(files)
        .flat_map(|((pipelines, _), (file, _))| pipelines.iter().map(move |p| (p, file)))
        .collect();
    let duplicates = check::check_unique_names(&named);
    for duplicate in duplicates {
        let index = files
            .iter()
            .position(|(f, _)| duplicate.file.as_ref().is_some_and(|d| Arc::ptr_eq(d, f)))
            .expect("a duplicate belongs to a loaded file");
        per_file[index].1.push(duplicate);
    }

    let mut loaded = Loaded::default();
    for (mut pipelines, mut diagnostics) in per_file {
        diagnostics.sort_by_key(|d| d.primary().map(|l| l.span.offset).unwrap_or(0));
        if !diagnostics.iter().any(Diagnostic::is_error) {
            loaded.pipelines.append(&mut pipelines);
        }
        loaded.diagnostics.append(&mut diagnostics);
    }
    loaded
}

/// Adds the `*.kdl` files under `dir`, recursively, in sorted order. A
/// folder reached again (through a symbolic link to itself or to a parent)
/// is not searched again, so a link loop cannot make the walk endless.
fn collect_kdl_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    visited: &mut std::collections::HashSet<PathBuf>,
) -> std::io::Result<()> {
    if !visited.insert(dir.canonicalize()?) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_kdl_files(&entry, files, visited)?;
        } else if entry.extension().is_some_and(|ext| ext == "kdl") {
            files.push(entry);
        }
    }
    Ok(())
}

/// The diagnostic for a file that is not UTF-8, pointing at the first bad
/// byte (shown as `\u{FFFD}` in the snippet, since it is not text).
fn not_utf8(path: PathBuf, err: std::string::FromUtf8Error) -> Diagnostic {
    let offset = err.utf8_error().valid_up_to();
    let bytes = err.into_bytes();
    let bad = bytes[offset];
    let file = SourceFile::new(&path, String::from_utf8_lossy(&bytes).into_owned());
    let (line, column) = file.line_column(offset);
    Diagnostic::error(
        Code::Io,
        format!(
            "`{}` is not UTF-8 text: byte 0x{bad:02x} at line {line}, column {column} (byte offset {offset})",
            path.display()
        ),
    )
    .with_label(
        crate::model::Span::new(offset, '\u{FFFD}'.len_utf8()),
        "not UTF-8",
    )
    .with_help("pipeline files are UTF-8; re-save the file as UTF-8 (editors often call it \"UTF-8 without BOM\")")
    .in_file(&file)
}

/// The diagnostic for a pipeline path that is not a regular file (a FIFO,
/// socket or device), checked before it is opened: opening a FIFO with no
/// writer would block `validate`, `fmt` or a scheduled `run` for ever.
/// Symbolic links are followed; a missing file is left to the read.
pub fn not_a_regular_file(path: &Path) -> Option<Diagnostic> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return None;
    }
    let what = if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Some(
        Diagnostic::error(Code::Io, format!("`{}` is {what}", path.display()))
            .with_help("pipeline files are regular files; it was not opened"),
    )
}

/// The diagnostic for a path that cannot be read.
fn io_error(path: &Path, err: &std::io::Error) -> Diagnostic {
    Diagnostic::error(Code::Io, format!("cannot read `{}`: {err}", path.display())).with_help(
        "check the path; `rollcall validate` takes pipeline files and folders holding them",
    )
}
