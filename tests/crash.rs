//! Crash safety: a large `rollcall run` is killed with SIGKILL at more than
//! fifty points spread over its whole life (start-up, streaming the extract
//! while diffing and writing into the open transaction, the removals, the
//! gate and the commit, and just after), each on a fresh copy of the same
//! store. After every kill: `PRAGMA integrity_check` is ok, the store is
//! exactly the state before the run or exactly the state after a clean run
//! (never a mix), and the next run succeeds and leaves the same state as an
//! uninterrupted one.
//!
//! Kill points are chosen three ways, so they land in every phase however
//! fast the machine is: by elapsed time (fractions of a measured clean run),
//! by progress through the input (the run's read offset in its open file,
//! from `/proc/PID/fdinfo`), and by growth of the write-ahead log (how much
//! of the uncommitted transaction has spilled to disk). The figures are
//! printed at the end (`cargo test --test crash -- --nocapture`).
//!
//! The pipeline has a CSV sink, written after the commit through a temporary
//! file renamed into place: kills while it is written (the temporary file
//! exists) must leave the output as the previous run wrote it or as the
//! clean run writes it, never a partial file.

#[macro_use]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{
    Backend, State, arg, input_offset, integrity_check, parts, repo, rollcall, state_dump,
};

/// Users in the first extract; the killed run reads about 1.15 times this.
const USERS: usize = 10_000;

/// When to send SIGKILL.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// This long after the process started.
    Elapsed(Duration),
    /// Once the run has read this fraction of its input file.
    InputRead(f64),
    /// This long after the run closed its input (removals, gate, commit).
    AfterInput(Duration),
    /// Once the write-ahead log holds this many bytes.
    WalBytes(u64),
    /// This long after the sink's temporary file appeared.
    WritingSink(Duration),
}

/// Where the run was when it was killed, and what the store held after.
#[derive(Debug)]
struct Observation {
    trigger: Trigger,
    phase: Phase,
    elapsed: Duration,
    wal_bytes: u64,
    state: Seen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// The input file was not open yet: loading, compiling, locking.
    Starting,
    /// Streaming the input (reading, mapping, diffing, writing).
    Streaming,
    /// The input was read: removals, the gate, the commit, the report.
    AfterInput,
    /// Writing the sink's file (its temporary file exists).
    WritingSink,
    /// The process had already exited when the signal was due.
    Exited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Before,
    After,
}

/// One line per user, the staff-SSO activity-stream shape.
fn write_users(path: &Path, ids: impl Iterator<Item = usize>, renamed: impl Fn(usize) -> bool) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in ids {
        let last = if renamed(i) { "Renamed" } else { "Last" };
        writeln!(
            out,
            r#"{{"published": "2024-09-05T00:00:00Z", "object": {{"id": "dit:StaffSSO:User:u-{i:06}", "type": "dit:StaffSSO:User", "name": "User {i}", "dit:StaffSSO:User:userId": "u-{i:06}", "dit:StaffSSO:User:emailUserId": "user{i}@example.net", "dit:StaffSSO:User:contactEmailAddress": "contact{i}@example.com", "dit:StaffSSO:User:joined": "2024-09-04T14:58:05.867Z", "dit:StaffSSO:User:lastAccessed": "2024-09-05T00:00:00Z", "dit:StaffSSO:User:permittedApplications": [{{"key": "app-{}"}}], "dit:StaffSSO:User:status": "active", "dit:StaffSSO:User:becameInactiveOn": null, "dit:firstName": "First{i}", "dit:lastName": "{last}{i}", "dit:emailAddress": ["user{i}@example.net"]}}}}"#,
            i % 7
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// The reference staff-SSO pipeline with a CSV sink of every present user,
/// written into `dir` (its output goes to `dir/out/users.csv`).
fn write_pipeline(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("pipelines/staff-sso.kdl")).unwrap();
    let schemas = repo().join("schemas");
    let text = text.replace("\"../schemas/", &format!("\"{}/", schemas.display()));
    let end = text.rfind('}').unwrap();
    let sink = "    sink csv \"out/users.csv\" {\n        column USER_ID user_id\n        column EMAIL email_user_id\n        column LAST_NAME last_name\n    }\n";
    let path = dir.join("staff-sso.kdl");
    std::fs::write(&path, format!("{}{sink}}}\n", &text[..end])).unwrap();
    path
}

fn run_command(pipeline: &Path, db: &Path, input: &Path) -> std::process::Command {
    let mut command = rollcall();
    command.args([
        "run",
        arg(pipeline),
        "--state",
        arg(db),
        "--input",
        arg(input),
    ]);
    command
}

fn run_to_end(pipeline: &Path, db: &Path, input: &Path) -> (i32, String, String) {
    parts(&run_command(pipeline, db, input).output().unwrap())
}

/// Whether the sink's temporary file exists in `out`.
fn sink_writing(out: &Path) -> bool {
    std::fs::read_dir(out).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(".rollcall-") && name.ends_with(".tmp")
        })
    })
}

/// Leaves `out` holding only `users.csv` with `content`.
fn reset_output(out: &Path, content: &[u8]) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("users.csv"), content).unwrap();
}

/// Everything a run may change: records, persons and the change log
/// (`state_dump`), plus the runs and their checks without their times.
fn full_dump(db: &Path) -> String {
    let mut out = state_dump(db);
    let state = State::at(db);
    for sql in [
        "SELECT id, pipeline, outcome, overridden, source_uri, source_size, source_sha256,
                records_read, records_valid, records_invalid, created, updated, removed,
                reinstated, unchanged, held, error FROM runs ORDER BY id",
        "SELECT run_id, name, limit_value, actual, passed FROM run_checks ORDER BY run_id, name",
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

/// What a run leaves, without the ids a backend numbers: records, persons
/// (their whole attributes, from the `registry_persons` view), the change
/// log's actions and the runs' outcomes and counts.
fn content_dump(db: &Path) -> String {
    let state = State::at(db);
    let mut out = String::new();
    for sql in [
        "SELECT pipeline, key, state, fingerprint, fields FROM source_records ORDER BY pipeline, key",
        "SELECT status, attributes, limbo FROM registry_persons ORDER BY attributes, status",
        "SELECT source_key, action, before, after FROM changes ORDER BY source_key, action, id",
        "SELECT pipeline, outcome, records_read, created, updated, removed, reinstated, unchanged
           FROM runs ORDER BY id",
    ] {
        for row in state.rows(sql) {
            out.push_str(&row.join("|"));
            out.push('\n');
        }
    }
    out
}

fn wal(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", db.display()))
}

fn wal_bytes(db: &Path) -> u64 {
    std::fs::metadata(wal(db)).map(|m| m.len()).unwrap_or(0)
}

/// Waits for `trigger`, then SIGKILLs the run and reports where it was.
fn kill_at(
    mut child: Child,
    trigger: Trigger,
    db: &Path,
    input: &Path,
    size: u64,
    out: &Path,
) -> (Phase, Duration, u64) {
    let started = Instant::now();
    let pid = child.id();
    let mut input_seen = false;
    let mut closed_at: Option<Instant> = None;
    let mut sink_at: Option<Instant> = None;
    let deadline = started + Duration::from_secs(300);
    loop {
        assert!(Instant::now() < deadline, "trigger {trigger:?} never came");
        if child.try_wait().unwrap().is_some() {
            return (Phase::Exited, started.elapsed(), wal_bytes(db));
        }
        let offset = input_offset(pid, input);
        input_seen |= offset.is_some();
        if input_seen && offset.is_none() && closed_at.is_none() {
            closed_at = Some(Instant::now());
        }
        if sink_at.is_none() && sink_writing(out) {
            sink_at = Some(Instant::now());
        }
        let due = match trigger {
            Trigger::Elapsed(after) => started.elapsed() >= after,
            Trigger::InputRead(fraction) => {
                offset.is_some_and(|o| o as f64 >= fraction * size as f64) || closed_at.is_some()
            }
            Trigger::AfterInput(after) => closed_at.is_some_and(|at| at.elapsed() >= after),
            Trigger::WalBytes(bytes) => wal_bytes(db) >= bytes,
            Trigger::WritingSink(after) => sink_at.is_some_and(|at| at.elapsed() >= after),
        };
        if due {
            // Where it is now, just before the signal.
            let phase = match input_offset(pid, input) {
                Some(_) => Phase::Streaming,
                None if sink_writing(out) => Phase::WritingSink,
                None if input_seen => Phase::AfterInput,
                None => Phase::Starting,
            };
            let wal = wal_bytes(db);
            let elapsed = started.elapsed();
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            // It may have finished in the instant between the check and the signal.
            let phase = if status.success() {
                Phase::Exited
            } else {
                phase
            };
            return (phase, elapsed, wal);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn a_run_killed_at_any_point_leaves_the_state_before_or_after_and_recovers(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.jsonl");
    let second = dir.path().join("second.jsonl");
    let target = dir.path().join("target.jsonl");
    // Run 1 creates USERS; run 2 removes 400 of them (to be reinstated).
    write_users(&first, 0..USERS, |_| false);
    write_users(&second, 400..USERS, |_| false);
    // The killed run: 400 reinstated, 1500 created, 3000 renamed (updates),
    // the last 450 removed (4.7% of 9600, within the pipeline's 5%), the rest unchanged.
    write_users(&target, (0..USERS - 450).chain(USERS..USERS + 1500), |i| {
        (1000..4000).contains(&i)
    });
    let size = std::fs::metadata(&target).unwrap().len();

    let pipeline = write_pipeline(dir.path());
    let out = dir.path().join("out");
    let base = State::named(backend, dir.path(), "base.db");
    for input in [&first, &second] {
        let (code, stdout, stderr) = run_to_end(&pipeline, &base, input);
        assert_eq!(code, 0, "setting up the base state\n{stdout}\n{stderr}");
    }
    assert_eq!(
        wal_bytes(&base),
        0,
        "a cleanly closed store has no WAL left"
    );
    let before = full_dump(&base);
    let output_before = std::fs::read(out.join("users.csv")).unwrap();

    // The uninterrupted run: the state after, its duration and WAL growth.
    let reference = State::named(backend, dir.path(), "reference.db");
    reference.copy_from(&base);
    let started = Instant::now();
    let mut child = run_command(&pipeline, &reference, &target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak_wal = 0;
    while child.try_wait().unwrap().is_none() {
        peak_wal = peak_wal.max(wal_bytes(&reference));
        std::thread::sleep(Duration::from_millis(1));
    }
    let output = child.wait_with_output().unwrap();
    let clean = started.elapsed();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "the uninterrupted run\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1500 created, 3000 updated, 450 removed, 400 reinstated"),
        "{stdout}"
    );
    let after = full_dump(&reference);
    let after_content = content_dump(&reference);
    let after_records = state_dump(&reference);
    let output_after = std::fs::read(out.join("users.csv")).unwrap();
    assert_ne!(output_before, output_after);
    assert_ne!(before, after);
    // PostgreSQL has no WAL file of the store's own to watch.
    assert!(
        backend == Backend::Postgres || peak_wal > 0,
        "the run wrote a WAL"
    );

    let mut triggers = Vec::new();
    // Start-up (loading, compiling, locking, reading the prior state), then
    // 10% to 150% of a clean run: a trial runs beside other work and may be
    // slower than the reference.
    for ms in [0, 2, 5, 10, 20, 40] {
        triggers.push(Trigger::Elapsed(Duration::from_millis(ms)));
    }
    for i in 1..=8 {
        triggers.push(Trigger::Elapsed(clean.mul_f64(i as f64 * 0.1875)));
    }
    // Fewer on PostgreSQL, where each trial also copies a database: the
    // suite stays bounded and every phase is still hit.
    let points = if backend == Backend::Sqlite { 30 } else { 15 };
    for i in 0..points {
        triggers.push(Trigger::InputRead((i as f64 + 0.5) / points as f64));
    }
    // Removals, the gate, the commit and the report.
    for ms in [0, 1, 2, 4, 8, 15, 30, 60, 100, 150] {
        triggers.push(Trigger::AfterInput(Duration::from_millis(ms)));
    }
    for i in 1..=9 {
        if backend == Backend::Sqlite {
            triggers.push(Trigger::WalBytes(peak_wal * i / 9));
        }
    }
    // Writing the sink's file, after the commit.
    for ms in [0, 1, 3, 6, 10, 20, 40] {
        triggers.push(Trigger::WritingSink(Duration::from_millis(ms)));
    }

    let db = State::named(backend, dir.path(), "trial.db");
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for trigger in triggers {
        db.copy_from(&base);
        reset_output(&out, &output_before);
        let child = run_command(&pipeline, &db, &target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (phase, elapsed, wal_at_kill) = kill_at(child, trigger, &db, &target, size, &out);

        let check = integrity_check(&db);
        let dump = full_dump(&db);
        let state = if dump == before {
            Seen::Before
        } else if dump == after {
            Seen::After
        } else {
            failures.push(format!(
                "{trigger:?} ({phase:?}, {elapsed:?}): the state is neither before nor after"
            ));
            continue;
        };
        if check != "ok" {
            failures.push(format!("{trigger:?}: integrity_check: {check}"));
        }
        // The output is the previous run's or the clean run's, whole.
        let output = std::fs::read(out.join("users.csv")).unwrap_or_default();
        if output != output_before && output != output_after {
            failures.push(format!(
                "{trigger:?} ({phase:?}): users.csv is neither the old nor the new file ({} bytes)",
                output.len()
            ));
        }
        if output == output_after && state == Seen::Before {
            failures.push(format!(
                "{trigger:?}: the new output was written, the state was not"
            ));
        }
        // The next run succeeds and ends where an uninterrupted one does.
        let (code, stdout, stderr) = run_to_end(&pipeline, &db, &target);
        let recovered = match state {
            // PostgreSQL's sequences are not transactional: the killed run
            // spent ids, so the next run's rows carry other numbers than the
            // clean run's; what they hold must be the same.
            Seen::Before if backend == Backend::Postgres => content_dump(&db) == after_content,
            Seen::Before => full_dump(&db) == after,
            // The killed run had committed: the next one finds nothing to do
            // and writes the current-state output again.
            Seen::After => state_dump(&db) == after_records && stdout.contains("no change"),
        } && std::fs::read(out.join("users.csv")).unwrap_or_default()
            == output_after;
        if code != 0 || !recovered {
            failures.push(format!(
                "{trigger:?} ({state:?}): the next run exited {code} and recovered={recovered}\n{stdout}\n{stderr}"
            ));
        }
        seen.push(Observation {
            trigger,
            phase,
            elapsed,
            wal_bytes: wal_at_kill,
            state,
        });
    }

    report(&seen, clean, size, peak_wal);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let killed: Vec<&Observation> = seen.iter().filter(|o| o.phase != Phase::Exited).collect();
    let least = if backend == Backend::Sqlite { 50 } else { 35 };
    assert!(
        killed.len() >= least,
        "only {} runs were killed before exiting",
        killed.len()
    );
    for phase in [
        Phase::Starting,
        Phase::Streaming,
        Phase::AfterInput,
        Phase::WritingSink,
    ] {
        assert!(
            killed.iter().any(|o| o.phase == phase),
            "no kill landed in {phase:?}"
        );
    }
    assert!(
        backend == Backend::Postgres
            || killed
                .iter()
                .any(|o| o.phase == Phase::Streaming && o.wal_bytes > 0),
        "no kill landed while the open transaction had spilled to the WAL"
    );
}

/// Prints the kill points and what each left, for the record.
fn report(seen: &[Observation], clean: Duration, size: u64, peak_wal: u64) {
    println!(
        "clean run: {clean:?}, input {size} bytes, WAL peak {peak_wal} bytes; {} kill points",
        seen.len()
    );
    for o in seen {
        println!(
            "  {:<40} {:>10?}  {:<10?} WAL {:>9}  state {:?}",
            format!("{:?}", o.trigger),
            o.elapsed,
            o.phase,
            o.wal_bytes,
            o.state
        );
    }
    let count = |phase: Phase, state: Seen| {
        seen.iter()
            .filter(|o| o.phase == phase && o.state == state)
            .count()
    };
    for phase in [
        Phase::Starting,
        Phase::Streaming,
        Phase::AfterInput,
        Phase::WritingSink,
        Phase::Exited,
    ] {
        println!(
            "  {phase:?}: {} left the state before, {} after",
            count(phase, Seen::Before),
            count(phase, Seen::After)
        );
    }
}

/// SIGTERM (a scheduler's stop, `systemctl stop`, a container's shutdown)
/// and SIGINT (Ctrl-C) while a run streams its extract: the run rolls back,
/// records a `failed` run saying which signal stopped it, checkpoints the
/// store (no large `-wal` left) and exits 143 or 130. The state is exactly
/// as before, `PRAGMA integrity_check` is ok, and the next run applies.
fn a_run_stopped_by_sigterm_or_sigint_rolls_back_records_a_failed_run_and_exits_128_plus_the_signal(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.jsonl");
    let target = dir.path().join("target.jsonl");
    write_users(&first, 0..USERS, |_| false);
    write_users(&target, 0..USERS + 1500, |i| i % 3 == 0);
    let size = std::fs::metadata(&target).unwrap().len();
    let pipeline = write_pipeline(dir.path());
    let base = State::named(backend, dir.path(), "base.db");
    let (code, stdout, stderr) = run_to_end(&pipeline, &base, &first);
    assert_eq!(code, 0, "setting up the base state\n{stdout}\n{stderr}");
    let before = state_dump(&base);

    let db = State::named(backend, dir.path(), "trial.db");
    for (signal, name, exit) in [("TERM", "SIGTERM", 143), ("INT", "SIGINT", 130)] {
        db.copy_from(&base);
        let child = run_command(&pipeline, &db, &target)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Wait until it streams (a fifth of the input read), then signal.
        let deadline = Instant::now() + Duration::from_secs(120);
        while input_offset(pid, &target).is_none_or(|o| o * 5 < size) {
            assert!(Instant::now() < deadline, "the run never streamed");
            std::thread::sleep(Duration::from_micros(500));
        }
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let output = child.wait_with_output().unwrap();
        let (code, stdout, stderr) = parts(&output);
        assert_eq!(code, exit, "{name}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!("interrupted by {name}"))
                && stderr.contains("rollcall::run::interrupted"),
            "{stderr}"
        );
        assert_eq!(integrity_check(&db), "ok", "{name}");
        assert_eq!(state_dump(&db), before, "{name}: the state changed");
        assert_eq!(wal_bytes(&db), 0, "{name}: the WAL was not checkpointed");
        let last = db.rows("SELECT outcome, error FROM runs ORDER BY id DESC LIMIT 1");
        let (outcome, error) = (last[0][0].clone(), last[0][1].clone());
        assert_eq!(
            (outcome.as_str(), error.as_str()),
            ("failed", format!("interrupted by {name}").as_str())
        );
        let (code, stdout, stderr) = run_to_end(&pipeline, &db, &target);
        assert_eq!(code, 0, "the next run after {name}\n{stdout}\n{stderr}");
        assert_ne!(state_dump(&db), before, "the next run applied");
    }
}

backends!(
    a_run_killed_at_any_point_leaves_the_state_before_or_after_and_recovers,
    a_run_stopped_by_sigterm_or_sigint_rolls_back_records_a_failed_run_and_exits_128_plus_the_signal,
);
