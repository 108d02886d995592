//! `rollcall test`: runs pipeline test files (`NAME.test.kdl`) against
//! throwaway stores and shows a diff of every expectation not met.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rollcall_dsl::Diagnostic;
use rollcall_dsl::test_file::{self, LoadedTests};
use rollcall_engine::plan::Plan;
use rollcall_engine::testing::{self, TestError};

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::test::{FileResult, TestReport, test_text};

/// Arguments of `rollcall test`.
#[derive(clap::Args)]
pub struct Args {
    /// Test files, pipeline files (their `NAME.test.kdl` is run) or folders
    /// (every `*.test.kdl` under them); default: pipelines/.
    pub paths: Vec<PathBuf>,
}

/// Runs `rollcall test`.
pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("pipelines")]
    } else {
        args.paths
    };
    let (files, untested) = test_files(&paths)?;
    let mut loaded = Vec::new();
    let mut problems: Vec<Diagnostic> = Vec::new();
    for path in &files {
        match test_file::load_test_file(path) {
            Ok(file) => {
                problems.extend(file.diagnostics.iter().cloned());
                loaded.push(file);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.iter().any(Diagnostic::is_error) {
        return Err(Failure::Invalid(problems));
    }
    let mut report = TestReport {
        files: Vec::new(),
        untested,
        outcome: "passed",
    };
    for file in loaded {
        report.files.push(run_file(file, console)?);
    }
    let exit = if report.passed() {
        Exit::Ok
    } else {
        report.outcome = "failed";
        Exit::Error
    };
    if console.json() {
        console.document(&report, exit, None)?;
    } else {
        console.out(&test_text(&report))?;
    }
    Ok(exit)
}

/// Loads the pipelines a test file runs, then runs its cases.
fn run_file(file: LoadedTests, console: &mut Console) -> Result<FileResult, Failure> {
    let Some(tests) = file.tests else {
        return Err(Failure::Invalid(file.diagnostics));
    };
    let mut plans: BTreeMap<PathBuf, Plan> = BTreeMap::new();
    for pipeline in tests.pipelines() {
        let (loaded, _) = super::load::compile(&pipeline, console)?;
        plans.insert(pipeline, testing::compile(&loaded)?);
    }
    let cases = testing::run_file(&tests, &plans)?;
    Ok(FileResult {
        path: tests.file.clone(),
        source: file.file,
        cases,
    })
}

/// The test files `paths` name, in order, and the pipeline files named
/// that have none beside them.
fn test_files(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Failure> {
    let mut files = Vec::new();
    let mut untested = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if test_file::is_test_file(path) {
            files.push(path.clone());
        } else {
            let beside = path.with_file_name(format!(
                "{}{}",
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default(),
                test_file::SUFFIX
            ));
            if beside.is_file() {
                files.push(beside);
            } else if path.is_file() {
                untested.push(path.clone());
            } else {
                return Err(Failure::NoTests(path.clone()));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    if files.is_empty() && untested.is_empty() {
        return Err(Failure::NoTests(paths[0].clone()));
    }
    Ok((files, untested))
}

/// Every `*.test.kdl` under `dir`, in sorted order.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .and_then(|read| read.map(|entry| entry.map(|e| e.path())).collect())
        .map_err(TestError::Io)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, files)?;
        } else if test_file::is_test_file(&entry) {
            files.push(entry);
        }
    }
    Ok(())
}
