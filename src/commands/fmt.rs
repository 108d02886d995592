//! `rollcall fmt`: rewrite pipeline files in the canonical layout.
//!
//! The layout itself is `rollcall_dsl::format`; this command finds the
//! files, writes the changed ones atomically, and reports.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rollcall_dsl::format::format_source;

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::ErrorJson;

/// Arguments of `rollcall fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// Write nothing; list the files that would change and exit 1 if any would.
    #[arg(long)]
    pub check: bool,
    /// Pipeline files or folders (default: pipelines/); folders are searched
    /// for `*.kdl` files recursively.
    pub paths: Vec<PathBuf>,
}

/// A file or folder that could not be read or written.
#[derive(Debug, miette::Diagnostic)]
#[diagnostic(code(rollcall::io))]
struct IoError {
    action: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            action,
            path,
            source,
        } = self;
        write!(f, "cannot {action} {}: {source}", path.display())
    }
}

impl std::error::Error for IoError {}

/// Formats the files; prints the name of every file rewritten (or, with
/// `--check`, every file that would be). Exit 1 on any error, and with
/// `--check` when a file would change.
pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("pipelines")]
    } else {
        args.paths
    };
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in &paths {
        if let Err(err) = collect_files(path, &mut files) {
            errors.push(report(err.into(), console)?);
        }
    }
    let mut changed = Vec::new();
    for file in &files {
        match format_file(file, args.check) {
            Ok(false) => {}
            Ok(true) => {
                if !console.json() {
                    console.out(&format!("{}\n", file.display()))?;
                }
                changed.push(file.display().to_string());
            }
            Err(err) => errors.push(report(err, console)?),
        }
    }
    let would_change = args.check && !changed.is_empty();
    let exit = if !errors.is_empty() || would_change {
        Exit::Error
    } else {
        Exit::Ok
    };
    if console.json() {
        let outcome = match (errors.is_empty(), would_change, args.check) {
            (false, _, _) => "failed",
            (true, true, _) => "would-change",
            (true, false, true) => "formatted-already",
            (true, false, false) => "formatted",
        };
        let document = serde_json::json!({
            "outcome": outcome,
            "check": args.check,
            "files": files.len(),
            "changed": changed,
            "errors": errors,
        });
        let error = errors.first().cloned().or_else(|| {
            would_change.then(|| {
                ErrorJson::new(
                    "rollcall::fmt::would-change",
                    format!("{} file(s) are not in the canonical layout", changed.len()),
                    Some("`rollcall fmt PATH` rewrites them"),
                )
            })
        });
        console.document(&document, exit, error.as_ref())?;
    }
    Ok(exit)
}

/// An error as miette renders it (code, file, span, help), written to
/// stderr; returned as JSON for the document.
fn report(err: miette::Report, console: &mut Console) -> Result<ErrorJson, Failure> {
    let error = ErrorJson::of(err.as_ref());
    console.problem(&format!("{err:?}\n"), Some(&error))?;
    Ok(error)
}

/// A file as itself; a folder as its `*.kdl` files, recursively, sorted.
fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), IoError> {
    let read_error = |source| IoError {
        action: "read",
        path: path.to_owned(),
        source,
    };
    if !fs::metadata(path).map_err(read_error)?.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    let mut found = Vec::new();
    walk(path, &mut found, &mut std::collections::HashSet::new())?;
    found.sort();
    files.extend(found);
    Ok(())
}

/// A folder reached again through a symbolic link is not searched again,
/// so a link loop cannot make the walk endless.
fn walk(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    visited: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), IoError> {
    let read_error = |source| IoError {
        action: "read",
        path: dir.to_owned(),
        source,
    };
    if !visited.insert(fs::canonicalize(dir).map_err(read_error)?) {
        return Ok(());
    }
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        // `metadata` follows symlinks, so linked files and folders count.
        let Ok(metadata) = fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            walk(&path, found, visited)?;
        } else if path.extension().is_some_and(|ext| ext == "kdl") {
            found.push(path);
        }
    }
    Ok(())
}

/// Formats one file; returns whether its text changes. Writes it unless
/// `check`. An error leaves the file untouched.
fn format_file(path: &Path, check: bool) -> miette::Result<bool> {
    if let Some(refused) = rollcall_dsl::load::not_a_regular_file(path) {
        return Err(refused.into());
    }
    let text = fs::read_to_string(path).map_err(|source| IoError {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let formatted = format_source(&path.display().to_string(), &text)?;
    if formatted == text {
        return Ok(false);
    }
    if !check {
        write_atomically(path, &formatted).map_err(|source| IoError {
            action: "write",
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(true)
}

/// Replaces the file's contents via a temporary file in the same folder and
/// a rename, so a reader (or a crash) never sees half a file. The target of
/// a symlink is replaced, not the link, and its permissions are kept.
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.rollcall-fmt-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::set_permissions(&temp, fs::metadata(&target)?.permissions())?;
        fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
