//! `rollcall fmt`, driven through the binary on temporary copies of files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rollcall");

/// Runs `rollcall fmt ARGS` in `dir`.
fn fmt(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("fmt")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn fixture(name: &str) -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fmt")
            .join(name),
    )
    .unwrap()
}

/// Copies `text` to `dir/name` and formats it there; returns the result.
fn format_copy(dir: &Path, name: &str, text: &str) -> String {
    fs::write(dir.join(name), text).unwrap();
    let output = fmt(dir, &[name]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    fs::read_to_string(dir.join(name)).unwrap()
}

/// The comments in KDL text, found by a scanner separate from the
/// formatter's: `//` comments (trailing white space trimmed), `/* */`
/// comments (nesting included) as written, and each slashdash as `/-`
/// followed by the first word of what it comments out. Strings are skipped
/// so comment markers inside them do not count.
fn comments(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if at(i, "//") {
            let end = (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len());
            found.push(
                chars[i..end]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_owned(),
            );
            i = end;
        } else if at(i, "/*") {
            let (mut depth, mut j) = (0, i);
            loop {
                if at(j, "/*") {
                    depth += 1;
                    j += 2;
                } else if at(j, "*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            found.push(chars[i..j].iter().collect());
            i = j;
        } else if at(i, "/-") {
            let start = (i + 2..chars.len())
                .find(|&j| !chars[j].is_whitespace())
                .unwrap();
            let end = (start..chars.len())
                .find(|&j| chars[j].is_whitespace())
                .unwrap_or(chars.len());
            found.push(format!(
                "/-{}",
                chars[start..end].iter().collect::<String>()
            ));
            i = start;
        } else if chars[i] == '#' || chars[i] == '"' {
            let hashes = (i..).take_while(|&j| chars[j] == '#').count();
            let quote = i + hashes;
            if chars.get(quote) != Some(&'"') {
                i = quote; // a keyword such as #true
                continue;
            }
            let quotes = if at(quote, "\"\"\"") { "\"\"\"" } else { "\"" };
            let close = format!("{quotes}{}", "#".repeat(hashes));
            let mut j = quote + quotes.len();
            while !at(j, &close) {
                // Only non-raw strings have escapes.
                j += if hashes == 0 && chars[j] == '\\' {
                    2
                } else {
                    1
                };
            }
            i = j + close.chars().count();
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn comment_scanner_skips_strings_and_finds_every_kind() {
    let found = comments("a \"// no\" #\"/* no\"# // yes  \n/* x /* y */ */ /- b /-{");
    assert_eq!(found, ["// yes", "/* x /* y */ */", "/-b", "/-{"]);
}

#[test]
fn comments_fixture_keeps_every_comment_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("comments.kdl");
    let output = format_copy(dir.path(), "comments.kdl", &input);

    let before = comments(&input);
    let after = comments(&output);
    assert!(before.len() >= 20, "the fixture has comments: {before:?}");
    assert_eq!(before, after);
    // Multi-line block comments survive character for character.
    assert!(output.contains("/*\n * A multi-line block comment,\n *     with its own indentation"));
    assert!(output.contains("/*\n            a multi-line block comment\n            at the end"));
    assert_eq!(output, fixture("comments.expected.kdl"));
}

#[test]
fn messy_fixture_becomes_the_canonical_layout() {
    let dir = tempfile::tempdir().unwrap();
    let output = format_copy(dir.path(), "messy.kdl", &fixture("messy.kdl"));
    assert_eq!(output, fixture("messy.expected.kdl"));
}

#[test]
fn expected_fixtures_are_already_canonical() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["comments.expected.kdl", "messy.expected.kdl"] {
        fs::write(dir.path().join(name), fixture(name)).unwrap();
    }
    let output = fmt(dir.path(), &["--check", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stdout(&output), "");
}

/// Every `.kdl` file under `dir`, recursively.
fn kdl_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            kdl_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "kdl") {
            found.push(path);
        }
    }
}

#[test]
fn formatting_twice_changes_nothing_on_every_checked_in_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["pipelines", "tests/fmt", "tests/validate/good"] {
        kdl_files(&root.join(dir), &mut files);
    }
    assert!(!files.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let mut formatted = 0;
    for (index, file) in files.iter().enumerate() {
        let name = format!("{index}.kdl");
        fs::copy(file, dir.path().join(&name)).unwrap();
        let first = fmt(dir.path(), &[&name]);
        if stderr(&first).contains("rollcall::syntax") {
            continue; // only files that parse are in scope
        }
        assert_eq!(
            first.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            stderr(&first)
        );
        let once = fs::read(dir.path().join(&name)).unwrap();
        let second = fmt(dir.path(), &[&name]);
        assert_eq!(second.status.code(), Some(0), "{}", file.display());
        assert_eq!(stdout(&second), "", "{} changed again", file.display());
        assert_eq!(
            fs::read(dir.path().join(&name)).unwrap(),
            once,
            "{}",
            file.display()
        );
        formatted += 1;
    }
    assert!(formatted > 0);
}

/// A folder with one canonical file, two that need formatting (one in a
/// subfolder) and a file that is not `.kdl`.
fn mixed_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("pipes");
    fs::create_dir_all(files.join("sub")).unwrap();
    fs::write(files.join("a.kdl"), "pipeline a {\n    key id\n}\n").unwrap();
    fs::write(files.join("b.kdl"), "pipeline b {key id}").unwrap();
    fs::write(files.join("sub/c.kdl"), "pipeline c {\n  key id\n}\n").unwrap();
    fs::write(files.join("notes.txt"), "not   kdl {").unwrap();
    dir
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walk_all(dir);
    files.sort();
    files
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect()
}

fn walk_all(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk_all(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn check_lists_the_files_that_would_change_exits_1_and_writes_nothing() {
    let dir = mixed_folder();
    let before = snapshot(dir.path());
    let output = fmt(dir.path(), &["--check", "pipes"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "pipes/b.kdl\npipes/sub/c.kdl\n");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn check_exits_0_and_prints_nothing_when_all_files_are_canonical() {
    let dir = mixed_folder();
    assert_eq!(fmt(dir.path(), &["pipes"]).status.code(), Some(0));
    let output = fmt(dir.path(), &["--check", "pipes"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
}

#[test]
fn fmt_rewrites_changed_files_in_place_and_names_only_them() {
    let dir = mixed_folder();
    let output = fmt(dir.path(), &["pipes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "pipes/b.kdl\npipes/sub/c.kdl\n");
    let pipes = dir.path().join("pipes");
    let read = |name: &str| fs::read_to_string(pipes.join(name)).unwrap();
    assert_eq!(read("a.kdl"), "pipeline a {\n    key id\n}\n");
    assert_eq!(read("b.kdl"), "pipeline b { key id }\n");
    assert_eq!(read("sub/c.kdl"), "pipeline c {\n    key id\n}\n");
    assert_eq!(read("notes.txt"), "not   kdl {");
    // The temporary files of the atomic writes are gone.
    assert_eq!(walk_all(&pipes).len(), 4);
}

#[test]
fn default_path_is_the_pipelines_folder() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("pipelines")).unwrap();
    fs::write(dir.path().join("pipelines/x.kdl"), "x   1\n").unwrap();
    fs::write(dir.path().join("elsewhere.kdl"), "y   1\n").unwrap();
    let output = fmt(dir.path(), &["--check"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "pipelines/x.kdl\n");
}

#[test]
fn syntax_error_exits_1_with_a_diagnostic_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "pipeline a {\n   key   id\n";
    fs::write(dir.path().join("broken.kdl"), broken).unwrap();
    fs::write(dir.path().join("fine.kdl"), "b   1\n").unwrap();
    let output = fmt(dir.path(), &["."]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("rollcall::syntax"), "{err}");
    assert!(err.contains("broken.kdl"), "{err}");
    assert!(err.contains("pipeline a {"), "the snippet is shown: {err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("broken.kdl")).unwrap(),
        broken
    );
    // Other files are still formatted.
    assert_eq!(
        fs::read_to_string(dir.path().join("fine.kdl")).unwrap(),
        "b 1\n"
    );
}

#[test]
fn missing_path_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let output = fmt(dir.path(), &["nowhere.kdl"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("nowhere.kdl"));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(fmt(dir.path(), &["--bogus"]).status.code(), Some(64));
}
