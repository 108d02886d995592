//! The README's walkthroughs run as written: every `rollcall` command of a
//! shell block that shows sample output is run on the bundled examples
//! (its state in a temporary folder), must succeed, and each sample line
//! under it (`#   TEXT`) must be a line the command printed. The
//! pre-commit hooks' entries run on the reference pipelines.

mod support;

use std::collections::HashMap;

use support::{parts, repo, rollcall};

/// The README's fenced blocks of `lang`.
fn blocks(lang: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, fence) if fence == format!("```{lang}") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => block.push(line.to_owned()),
            _ => {}
        }
    }
    blocks
}

/// A shell line split into its `VAR=value` prefixes and its words, without
/// a trailing comment.
fn command(line: &str) -> (Vec<(String, String)>, Vec<String>) {
    let line = line.split("  #").next().unwrap().trim();
    let mut env = Vec::new();
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        match word.split_once('=') {
            Some((name, value))
                if words.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') =>
            {
                env.push((name.to_owned(), value.to_owned()));
            }
            _ => words.push(word.to_owned()),
        }
    }
    (env, words)
}

#[test]
fn the_walkthroughs_print_what_the_readme_says() {
    let walkthroughs: Vec<_> = blocks("sh")
        .into_iter()
        .filter(|block| block.iter().any(|l| l.starts_with("#   ")))
        .collect();
    assert!(walkthroughs.len() >= 2, "the quick start and seed 002");
    let mut checked = 0;
    for block in walkthroughs {
        let dir = tempfile::tempdir().unwrap();
        let mut exported: HashMap<String, String> = HashMap::from([(
            "ROLLCALL_STATE".to_owned(),
            dir.path().join("rollcall.db").display().to_string(),
        )]);
        let mut last: Option<(String, String)> = None;
        for line in &block {
            if let Some(expected) = line.strip_prefix("#   ") {
                // Before any command it is an indented comment, not output.
                let Some((shown, stdout)) = last.as_ref() else {
                    continue;
                };
                assert!(
                    stdout.lines().any(|l| l == expected),
                    "`{shown}` prints {expected:?}; it printed:\n{stdout}"
                );
                checked += 1;
                continue;
            }
            if let Some(assignment) = line.strip_prefix("export ") {
                for (name, value) in command(assignment).0 {
                    let value = if name == "ROLLCALL_STATE" {
                        dir.path().join(value).display().to_string()
                    } else {
                        value
                    };
                    exported.insert(name, value);
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (env, words) = command(line);
            // Placeholders (KEY) are for the reader to fill in.
            if words.first().map(String::as_str) != Some("rollcall")
                || words.iter().any(|w| w == "KEY")
            {
                continue;
            }
            let output = rollcall()
                .args(&words[1..])
                .envs(&exported)
                .envs(env)
                .current_dir(repo())
                .env("RUST_LOG", "off")
                .output()
                .unwrap();
            let (code, stdout, stderr) = parts(&output);
            assert_eq!(code, 0, "{line}\n{stdout}{stderr}");
            last = Some((line.clone(), stdout));
        }
    }
    println!("{checked} sample lines checked");
    assert!(checked >= 8, "{checked}");
}

#[test]
fn the_pre_commit_hooks_run_as_documented() {
    let yaml = blocks("yaml")
        .into_iter()
        .find(|b| b.iter().any(|l| l.contains("repo: local")))
        .expect("a repo: local pre-commit snippet");
    let entries: Vec<&str> = yaml
        .iter()
        .filter_map(|l| l.trim().strip_prefix("entry: "))
        .collect();
    assert_eq!(
        entries,
        ["rollcall validate", "rollcall fmt --check", "rollcall test"]
    );
    // pre-commit passes the staged `*.kdl` files to the entry.
    let mut files: Vec<String> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    for entry in entries {
        let words: Vec<&str> = entry.split_whitespace().collect();
        let output = rollcall().args(&words[1..]).args(&files).output().unwrap();
        let (code, out, err) = parts(&output);
        assert_eq!(code, 0, "{entry}: {out}{err}");
    }
    // The hook definitions beside it name the same entries.
    let hooks = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).unwrap();
    assert!(
        hooks.contains("entry: rollcall validate")
            && hooks.contains("entry: rollcall fmt --check")
            && hooks.contains("entry: rollcall test")
    );
}
