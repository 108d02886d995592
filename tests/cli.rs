//! The command line itself: completions, the man page, examples in every
//! `--help`, `--quiet`.

mod support;

use support::{parts, repo, rollcall, run};

const COMMANDS: &[&str] = &[
    "validate",
    "fmt",
    "plan",
    "run",
    "deliver",
    "history",
    "show",
    "person",
    "freeze",
    "unfreeze",
    "frozen",
    "purge",
    "completions",
    "man",
];

#[test]
fn completions_for_every_shell_name_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, script, err) = parts(&run(&["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} completes {command}");
        }
        assert!(script.contains("--format"), "{shell} completes options");
    }
    // The bash script is valid bash.
    let script = parts(&run(&["completions", "bash"])).1;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rollcall.bash");
    std::fs::write(&file, script).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .unwrap();
    assert!(checked.success());
    assert_eq!(parts(&run(&["completions", "tcsh"])).0, 64);
}

#[test]
fn man_pages_for_rollcall_and_each_command() {
    let (code, page, _) = parts(&run(&["man"]));
    assert_eq!(code, 0);
    assert!(
        page.starts_with(".ie") && page.contains(".TH rollcall 1"),
        "{page}"
    );
    for command in COMMANDS {
        assert!(
            page.contains(&format!("rollcall\\-{command}")),
            "lists {command}"
        );
    }
    let (code, page, _) = parts(&run(&["man", "run"]));
    assert_eq!(code, 0);
    assert!(page.contains(".TH rollcall-run 1"), "{page}");
    assert!(page.contains("\\-\\-skip\\-upload") && page.contains("Examples:"));
    assert_eq!(parts(&run(&["man", "nope"])).0, 64);
}

/// Each command's help ends with two or three examples, and each example's
/// options are ones the command takes (clap parses it up to `--help`).
#[test]
fn every_help_ends_with_real_examples() {
    for command in COMMANDS {
        let (code, help, _) = parts(&run(&[command, "--help"]));
        assert_eq!(code, 0);
        let (_, examples) = help
            .rsplit_once("Examples:\n")
            .unwrap_or_else(|| panic!("{command} --help has examples:\n{help}"));
        let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            (2..=3).contains(&lines.len()),
            "{command}: {} examples",
            lines.len()
        );
        for line in lines {
            let example = line.split(" #").next().unwrap();
            let example = example.split(" && ").next().unwrap();
            let example = example
                .split(" > ")
                .next()
                .unwrap()
                .split(" | ")
                .next()
                .unwrap();
            let words = shell_words(example.trim());
            assert_eq!(words[0], "rollcall", "{line}");
            assert_eq!(words[1], *command, "{line}");
            let mut args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            args.push("--help");
            let (code, _, err) =
                parts(&rollcall().args(&args).current_dir(repo()).output().unwrap());
            assert_eq!(code, 0, "{line}: {err}");
        }
    }
}

/// Words as a POSIX shell splits them, for the examples' simple quoting.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let output = rollcall()
        .args(["run", "pipelines/hr-appointments.kdl", "--quiet"])
        .args(["--input", "examples/hr/appointments-2025-03-01.csv"])
        .args(["--state", state.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(parts(&output), (0, String::new(), String::new()));
    let output = rollcall()
        .args([
            "-q",
            "history",
            "nonexistent",
            "--state",
            state.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (code, out, err) = parts(&output);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("no runs of a pipeline named \"nonexistent\""),
        "{err}"
    );
}

/// `--metrics-file`: Prometheus text exposition, replaced atomically, with
/// the outcome, counts, phase durations and the last success time, which a
/// failed run keeps.
#[test]
fn metrics_file_is_prometheus_text_and_keeps_the_last_success() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let metrics = dir.path().join("metrics").join("rollcall.prom");
    std::fs::create_dir(metrics.parent().unwrap()).unwrap();
    let run_with = |input: &str| {
        rollcall()
            .args(["run", "pipelines/hr-appointments.kdl", "--input", input])
            .args(["--state", state.to_str().unwrap()])
            .args(["--metrics-file", metrics.to_str().unwrap()])
            .current_dir(repo())
            .output()
            .unwrap()
    };
    assert_eq!(
        parts(&run_with("examples/hr/appointments-2025-03-01.csv")).0,
        0
    );
    let applied = std::fs::read_to_string(&metrics).unwrap();
    println!("{applied}");
    for line in applied.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(
            series.starts_with("rollcall_") && series.ends_with("\"}"),
            "{line}"
        );
    }
    assert!(
        applied
            .contains("rollcall_run_outcome{pipeline=\"hr-appointments\",outcome=\"applied\"} 1\n")
    );
    assert!(
        applied.contains("rollcall_run_records{pipeline=\"hr-appointments\",kind=\"created\"} 8\n"),
        "{applied}"
    );
    for phase in ["reading", "diffing", "registry", "committing"] {
        assert!(
            applied.contains(&format!("phase=\"{phase}\"}}")),
            "{phase}: {applied}"
        );
    }
    let success = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("rollcall_last_success_timestamp_seconds"))
            .map(str::to_owned)
    };
    let first_success = success(&applied).expect("a success time");

    assert_eq!(parts(&run_with("examples/hr/no-such-file.csv")).0, 1);
    let failed = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        failed
            .contains("rollcall_run_outcome{pipeline=\"hr-appointments\",outcome=\"failed\"} 1\n")
    );
    assert!(failed.contains("rollcall_run_exit_code{pipeline=\"hr-appointments\"} 1\n"));
    assert_eq!(
        success(&failed),
        Some(first_success),
        "kept from the last success"
    );
    let files: Vec<_> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["rollcall.prom"], "no temporary file left");
}
