//! `rollcall test`'s report: per test file, each case passed or failed;
//! each expectation not met as a diff of expected (`-`) and found (`+`)
//! lines, with the line of the test file it was written on.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use rollcall_dsl::SourceFile;
use rollcall_engine::testing::{CaseResult, Failure};
use serde::Serialize;
use serde::ser::Serializer;

use super::terminal_safe;

/// Everything `rollcall test` ran.
#[derive(Serialize)]
pub struct TestReport {
    /// Each test file's results, in the order run.
    pub files: Vec<FileResult>,
    /// Pipeline files given that have no test file beside them.
    pub untested: Vec<PathBuf>,
    /// `passed` or `failed`.
    pub outcome: &'static str,
}

impl TestReport {
    /// Whether every case of every file passed.
    pub fn passed(&self) -> bool {
        self.files
            .iter()
            .all(|f| f.cases.iter().all(CaseResult::passed))
    }
}

/// One test file's results.
pub struct FileResult {
    /// The test file.
    pub path: PathBuf,
    /// Its text, to turn spans into lines.
    pub source: Arc<SourceFile>,
    /// Its cases.
    pub cases: Vec<CaseResult>,
}

impl FileResult {
    fn line(&self, offset: usize) -> usize {
        self.source.line_column(offset).0
    }
}

impl Serialize for FileResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|case| {
                serde_json::json!({
                    "name": case.name,
                    "line": self.line(case.span.offset),
                    "passed": case.passed(),
                    "failures": case.failures.iter().map(|f| serde_json::json!({
                        "step": f.step,
                        "line": self.line(f.span.offset),
                        "what": f.what,
                        "expected": f.expected,
                        "found": f.found,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({ "path": self.path, "cases": cases }).serialize(serializer)
    }
}

/// The report for people: a line per case, a diff per failure, a summary.
pub fn test_text(report: &TestReport) -> String {
    let mut out = String::new();
    let (mut passed, mut failed) = (0, 0);
    for file in &report.files {
        let _ = writeln!(out, "{}", file.path.display());
        for case in &file.cases {
            if case.passed() {
                passed += 1;
                let _ = writeln!(out, "  ok    {}", terminal_safe(&case.name));
                continue;
            }
            failed += 1;
            let _ = writeln!(
                out,
                "  FAIL  {} (line {})",
                terminal_safe(&case.name),
                file.line(case.span.offset)
            );
            for failure in &case.failures {
                failure_text(&mut out, file, failure);
            }
        }
    }
    for path in &report.untested {
        let _ = writeln!(out, "{}: no tests beside it", path.display());
    }
    let _ = writeln!(
        out,
        "{} test{}: {passed} passed, {failed} failed",
        passed + failed,
        if passed + failed == 1 { "" } else { "s" }
    );
    out
}

fn failure_text(out: &mut String, file: &FileResult, failure: &Failure) {
    let _ = writeln!(
        out,
        "        step {}, line {}: {}",
        failure.step,
        file.line(failure.span.offset),
        failure.what
    );
    for line in diff(&failure.expected, &failure.found) {
        let _ = writeln!(out, "          {}", terminal_safe(&line));
    }
}

/// The lines of both sides in order: `- ` expected only, `+ ` found only,
/// two spaces for both (a longest common subsequence).
fn diff(expected: &[String], found: &[String]) -> Vec<String> {
    let (n, m) = (expected.len(), found.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == found[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::new();
    while i < n || j < m {
        if i < n && j < m && expected[i] == found[j] {
            lines.push(format!("  {}", expected[i]));
            i += 1;
            j += 1;
        } else if j == m || (i < n && common[i + 1][j] >= common[i][j + 1]) {
            lines.push(format!("- {}", expected[i]));
            i += 1;
        } else {
            lines.push(format!("+ {}", found[j]));
            j += 1;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::diff;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_diff_keeps_common_lines_and_marks_the_rest() {
        assert_eq!(
            diff(&lines(&["a", "b", "c"]), &lines(&["a", "x", "c", "d"])),
            ["  a", "- b", "+ x", "  c", "+ d"]
        );
    }
}
