//! Shared helpers for the command-line tests: run the real binary against
//! a real SQLite file in a temporary folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where the reference pipelines live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `rollcall` command.
pub fn rollcall() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    cmd.env_remove("ROLLCALL_STATE").env("NO_COLOR", "1");
    cmd
}

/// Runs `rollcall ARGS` and returns its output.
pub fn run(args: &[&str]) -> Output {
    rollcall().args(args).output().expect("rollcall runs")
}

/// Runs `command` to the end, or kills it after `limit` (a hang is then
/// a failure of the test, not a test that never ends): the output, and
/// whether it finished in time.
pub fn output_within(command: &mut Command, limit: std::time::Duration) -> (Output, bool) {
    use std::process::Stdio;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rollcall starts");
    let pid = child.id();
    let (done, waited) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if waited.recv_timeout(limit).is_err() {
            // Still running: a hang. SIGKILL by the child's own id.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return false;
        }
        true
    });
    let output = child.wait_with_output().expect("rollcall runs");
    let _ = done.send(());
    let in_time = watchdog.join().unwrap();
    (output, in_time)
}

/// The exit code, stdout and stderr of a finished command.
pub fn parts(output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Parses stdout as JSON, with the whole output in the panic message.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        let (code, out, errs) = parts(output);
        panic!("stdout is not JSON ({err}); exit {code}\nstdout:\n{out}\nstderr:\n{errs}")
    })
}

/// A path (or a [`State`]'s location) as a `&str` argument.
pub fn arg<P: AsRef<Path> + ?Sized>(path: &P) -> &str {
    path.as_ref().to_str().expect("test paths are UTF-8")
}

/// Every stored source record of a pipeline, and every person, as text:
/// a store's observable state, to compare before and after a run. `db` is
/// a SQLite file or a PostgreSQL URL (a [`State`]).
pub fn state_dump(db: &Path) -> String {
    let state = State::at(db);
    let mut out = String::new();
    for sql in [
        "SELECT pipeline, key, state, fingerprint, fields, person_id, changed_run, removed_run
           FROM source_records ORDER BY pipeline, key",
        "SELECT id, status, attributes, updated_run FROM persons ORDER BY id",
        "SELECT run_id, source_key, action, before, after FROM changes ORDER BY id",
    ] {
        for row in state.rows(sql) {
            for value in row {
                out.push_str(&value);
                out.push('|');
            }
            out.push('\n');
        }
    }
    out
}

/// A store's own integrity check: `PRAGMA integrity_check` of a SQLite
/// file ("ok" when sound); on PostgreSQL, "ok" when the database answers
/// and no transaction of a run is left open on it.
pub fn integrity_check(db: &Path) -> String {
    let state = State::at(db);
    match state.backend() {
        Backend::Sqlite => state.scalar("PRAGMA integrity_check"),
        Backend::Postgres => {
            // The server notices a killed client's closed socket a moment
            // later; until then its transaction still shows as open.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let open = state.count(
                    "SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND pid <> pg_backend_pid()
                        AND state LIKE 'idle in transaction%'",
                );
                if open == 0 {
                    return "ok".to_owned();
                }
                if std::time::Instant::now() > deadline {
                    return format!("{open} transactions left open");
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// Writes a staff-SSO activity-stream extract of `n` users (user ids
/// `u-000000`...), the same shape as seed 000's sample line.
pub fn write_staff_sso_extract(path: &Path, n: usize, accessed: &str) {
    use std::io::Write;
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::new(file);
    for i in 0..n {
        writeln!(
            out,
            r#"{{"published": "{accessed}", "object": {{"id": "dit:StaffSSO:User:u-{i:06}", "type": "dit:StaffSSO:User", "name": "User {i}", "dit:StaffSSO:User:userId": "u-{i:06}", "dit:StaffSSO:User:emailUserId": "user{i}@example.net", "dit:StaffSSO:User:contactEmailAddress": "contact{i}@example.com", "dit:StaffSSO:User:joined": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:lastAccessed": "{accessed}", "dit:StaffSSO:User:permittedApplications": [], "dit:StaffSSO:User:status": "active", "dit:StaffSSO:User:becameInactiveOn": null, "dit:firstName": "First{i}", "dit:lastName": "Last{i}", "dit:emailAddress": ["user{i}@example.net"]}}}}"#
        )
        .unwrap();
    }
    out.flush().unwrap();
}
pub mod servers;
mod state;

pub use state::{Backend, State};

/// The read offset of `input` in process `pid` (from `/proc/PID/fdinfo`), or
/// `None` when the process does not have it open (yet, or any more): how far
/// a running `rollcall` has streamed its extract.
pub fn input_offset(pid: u32, input: &Path) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for fd in fds.flatten() {
        if std::fs::read_link(fd.path()).ok().as_deref() == Some(input) {
            let fd = fd.file_name();
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.to_str()?)).ok()?;
            return info
                .lines()
                .find_map(|l| l.strip_prefix("pos:"))
                .and_then(|pos| pos.trim().parse().ok());
        }
    }
    None
}

/// A finished command as text (exit code, stdout, stderr), for assertion messages.
pub fn show(output: &Output) -> String {
    let (code, out, err) = parts(output);
    format!("exit {code}\nstdout:\n{out}\nstderr:\n{err}")
}

/// Text without white space or miette's frame, so a check does not depend
/// on where the terminal width wrapped a message.
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '│' | '×' | '╰' | '├' | '─' | '▶'))
        .collect()
}

/// Whether `text` says `needle`, however it was wrapped.
pub fn says(text: &str, needle: &str) -> bool {
    squash(text).contains(&squash(needle))
}

/// Panics, listing every error, unless `doc` is valid against `schemas/SCHEMA`.
pub fn assert_matches_schema(doc: &serde_json::Value, schema: &str) {
    let text = std::fs::read_to_string(repo().join("schemas").join(schema)).unwrap();
    let schema_value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema_value).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema}: {errors:#?}\n{}",
        serde_json::to_string_pretty(doc).unwrap()
    );
}
