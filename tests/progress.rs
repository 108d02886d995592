//! The progress display on a terminal: driven through a pseudo-terminal
//! (`script` from util-linux), it names each phase of a run, shows the
//! share of the extract read with an ETA, and rounds its rate; on a pipe
//! it shows nothing.

mod support;

use std::process::Command;

use support::{arg, parts, repo, rollcall};

/// Runs `rollcall ARGS` with stderr (and stdout) on a pseudo-terminal and
/// returns what the terminal received, escape sequences removed.
fn on_a_terminal(args: &[&str]) -> String {
    let binary = env!("CARGO_BIN_EXE_rollcall");
    let line = std::iter::once(binary)
        .chain(args.iter().copied())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .env("COLUMNS", "160")
        .output()
        .expect("`script` (util-linux) runs: install util-linux");
    assert!(output.status.success(), "{}", parts(&output).2);
    strip_escapes(&String::from_utf8_lossy(&output.stdout))
}

/// Text without CSI escape sequences.
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn a_run_on_a_terminal_names_each_phase_and_its_progress() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let out = dir.path().join("out");
    let screen = on_a_terminal(&[
        "run",
        "pipelines/cim-user-provisioning.kdl",
        "--state",
        arg(&state),
        "--out-dir",
        arg(&out),
        "--skip-upload",
    ]);
    println!("{screen}");
    for label in [
        "locating",
        "reading",
        "diffing",
        "registry",
        "committing",
        "writing outputs",
    ] {
        // Each phase ends as a line of its own: its label and duration.
        let ended = format!("  {label:<16} ");
        assert!(screen.contains(&ended), "phase {label:?} shown:\n{screen}");
    }
    assert!(
        screen.contains("100% ["),
        "percentage of the extract:\n{screen}"
    );
    assert!(screen.contains("ETA"), "{screen}");
    assert!(
        screen.contains("reading          0.") || screen.contains("(8 records)"),
        "{screen}"
    );
    // Rates are whole numbers with separators, never `14,052.9665/s`.
    for rate in screen.split("records, ").skip(1) {
        let figure = rate.split("/s").next().unwrap();
        assert!(
            figure.chars().all(|c| c.is_ascii_digit() || c == ','),
            "rounded rate: {figure:?}"
        );
    }
    assert!(screen.contains("cim-user-provisioning run 1: applied"));
}

#[test]
fn nothing_is_drawn_on_a_pipe_or_with_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let output = rollcall()
        .args(["run", "pipelines/hr-appointments.kdl"])
        .args(["--input", "examples/hr/appointments-2025-03-01.csv"])
        .args(["--state", arg(&state)])
        .current_dir(repo())
        .output()
        .unwrap();
    let (code, _, err) = parts(&output);
    assert_eq!((code, err.as_str()), (0, ""));
    let screen = on_a_terminal(&[
        "run",
        "pipelines/hr-appointments.kdl",
        "--input",
        "examples/hr/appointments-2025-03-08.csv",
        "--state",
        arg(&state),
        "--quiet",
    ]);
    assert_eq!(screen.trim(), "", "--quiet on a terminal: {screen:?}");
}
