//! Output safety for what exists today: values from records are data, never
//! file paths, shell words or terminal control; and the language's sink
//! settings that guard outputs default to safe.
//!
//! Sinks: CSV formula injection is neutralised by default, and record values
//! never choose where an output is written. S3 uploads (being built) take
//! their key from the pipeline file only; if keys are ever built from record
//! values, add their validation cases here (see ARCHITECTURE.md,
//! "Reliability and security").

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rollcall_dsl::model::SinkKind;
use support::{arg, parts, rollcall, stdout_json};

const PIPELINE: &str = r#"
pipeline people {
    source file "people.jsonl" {
        format jsonl
    }
    key id
    map {
        id id required=#true
        name name
    }
}
"#;

/// Keys an attacker who controls the source system might choose.
const HOSTILE_KEYS: &[&str] = &[
    "../../../../tmp/rollcall-escaped",
    "/etc/passwd",
    "..\\..\\windows\\system32",
    "a/b/c",
    "~root",
    "$(touch pwned)",
    "`touch pwned`",
    "; rm -rf / #",
    "CON",
    "=HYPERLINK(\"http://example.invalid\")",
    "+1+1",
    "@SUM(A1)",
    "nul\u{0}byte",
    "\u{202e}gpj.exe",
];

fn every_path(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(every_path(&path));
        }
        out.insert(path);
    }
    out
}

fn json_line(id: &str, name: &str) -> String {
    format!("{}\n", serde_json::json!({ "id": id, "name": name }))
}

#[test]
fn hostile_keys_are_stored_as_data_and_never_touch_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("people.kdl"), PIPELINE).unwrap();
    let extract: String = HOSTILE_KEYS.iter().map(|k| json_line(k, k)).collect();
    std::fs::write(root.join("people.jsonl"), extract).unwrap();
    let before = every_path(root);

    let output = rollcall()
        .current_dir(root)
        .args(["run", "people.kdl", "--state", "state.db"])
        .output()
        .unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{} created", HOSTILE_KEYS.len())),
        "{stdout}"
    );

    // Only the store appeared (and SQLite's shared-memory and WAL files).
    let created: Vec<PathBuf> = every_path(root).difference(&before).cloned().collect();
    for path in &created {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("state.db"),
            "a run created {} (from a record?)",
            path.display()
        );
    }
    assert!(!Path::new("/tmp/rollcall-escaped").exists());
    assert!(!root.join("pwned").exists());

    // Each key is retrievable exactly as sent (a NUL cannot be an argument).
    for key in HOSTILE_KEYS.iter().filter(|k| !k.contains('\0')) {
        let output = rollcall()
            .current_dir(root)
            .args([
                "show", "people", key, "--state", "state.db", "--format", "json",
            ])
            .output()
            .unwrap();
        let shown = stdout_json(&output);
        assert_eq!(shown["record"]["key"], *key);
    }
}

#[test]
fn record_text_cannot_forge_output_lines_or_send_terminal_control() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("people.kdl"), PIPELINE).unwrap();
    let forged =
        "evil\u{1b}[2J\u{1b}]0;pwned\u{7}\n+ create    forged-key  (line 1)\r\u{9b}31m\u{7f}";
    let first = json_line("p1", "Plain") + &json_line(forged, "x");
    std::fs::write(root.join("people.jsonl"), &first).unwrap();
    let db = root.join("state.db");
    let run = |args: &[&str]| {
        let output = rollcall().current_dir(root).args(args).output().unwrap();
        let (code, stdout, stderr) = parts(&output);
        (code, stdout + &stderr)
    };

    let mut outputs = Vec::new();
    outputs.push(run(&["plan", "people.kdl", "--state", arg(&db)]));
    outputs.push(run(&["run", "people.kdl", "--state", arg(&db)]));
    // The forged key changes its name: an update shows before and after.
    let second = json_line("p1", "Plain") + &json_line(forged, forged);
    std::fs::write(root.join("people.jsonl"), &second).unwrap();
    outputs.push(run(&["plan", "people.kdl", "--state", arg(&db)]));
    outputs.push(run(&["run", "people.kdl", "--state", arg(&db)]));
    outputs.push(run(&["show", "people", forged, "--state", arg(&db)]));
    outputs.push(run(&["history", "people", "--state", arg(&db)]));
    // Twice in one extract: the duplicate-key error names it.
    let twice = json_line(forged, "a") + &json_line(forged, "b");
    std::fs::write(root.join("people.jsonl"), &twice).unwrap();
    outputs.push(run(&["plan", "people.kdl", "--state", arg(&db)]));

    for (code, text) in &outputs {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
            "control characters reached the terminal (exit {code}):\n{text:?}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("+ create    forged-key")),
            "a record forged a plan line (exit {code}):\n{text}"
        );
    }
    assert!(
        outputs[0].1.contains("evil\\u{1b}[2J"),
        "the key is shown, escaped: {}",
        outputs[0].1
    );
}

#[test]
fn sink_settings_default_to_safe_and_paths_are_never_templates() {
    let text = r#"
pipeline people {
    source file "people.jsonl" { format jsonl; }
    key id
    map { id id required=#true; }
    sink csv "../out/{id}.csv" {
        column ID id
        upload s3 bucket=(env)"OUT_BUCKET" key="exports/{id}.csv"
    }
}
"#;
    let loaded = rollcall_dsl::load_str("people.kdl", text, Path::new("."));
    assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
    let sink = &loaded.pipelines[0].sinks[0];
    let SinkKind::Csv(csv) = &sink.kind else {
        panic!("a csv sink")
    };
    assert!(csv.formula_guard, "formula-guard is on unless switched off");
    // `{id}` is literal text in a path, not a field reference: no record
    // value can choose where a file is written.
    assert_eq!(sink.path.value, "../out/{id}.csv");
    let rollcall_dsl::model::Upload::S3 { key, .. } = &sink.uploads[0] else {
        panic!("an s3 upload")
    };
    assert_eq!(key, "exports/{id}.csv");
}

#[test]
fn csv_sinks_neutralise_formulas_and_write_only_where_the_pipeline_says() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pipeline = r#"
pipeline people {
    source file "people.jsonl" {
        format jsonl
    }
    key id
    map {
        id id required=#true
        name name
    }
    sink csv "out/{id}.csv" {
        column ID id
        column NAME name
    }
}
"#;
    std::fs::write(root.join("people.kdl"), pipeline).unwrap();
    let names = [
        "=HYPERLINK(\"http://example.invalid\",\"click\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1",
        "\r=1",
        "plain name",
    ];
    let extract: String = names
        .iter()
        .enumerate()
        .map(|(i, name)| json_line(&format!("../../escape-{i}"), name))
        .collect();
    std::fs::write(root.join("people.jsonl"), extract).unwrap();
    let output = rollcall()
        .current_dir(root)
        .args(["run", "people.kdl", "--state", "state.db"])
        .output()
        .unwrap();
    let (code, stdout, stderr) = parts(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // `{id}` in the path is text, not a template: one file, named literally.
    let written = root.join("out/{id}.csv");
    let csv = std::fs::read_to_string(&written).unwrap();
    let created: Vec<PathBuf> = every_path(root)
        .into_iter()
        .filter(|p| {
            !p.starts_with(root.join("out"))
                && p.extension().is_none_or(|e| e != "kdl" && e != "jsonl")
        })
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("state.db")
        })
        .filter(|p| p != &root.join("out"))
        .collect();
    assert!(created.is_empty(), "unexpected files: {created:?}");
    assert!(!root.parent().unwrap().join("escape-0").exists());

    for name in &names[..6] {
        let guarded = format!("'{name}");
        assert!(
            csv.contains(&guarded) || csv.contains(&guarded.replace('"', "\"\"")),
            "{name:?} is not neutralised in:\n{csv}"
        );
    }
    assert!(csv.contains("plain name") && !csv.contains("'plain name"));
}

/// Issue 13: a sink's file keeps the mode of the file it replaces (a
/// consumer's group may need to read it), and a new one is created 0644
/// less the umask, as any new file, not the temporary file's private 0600.
#[test]
fn output_files_keep_the_mode_they_replace_and_new_ones_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pipeline = r#"
pipeline people {
    source file "people.jsonl" { format jsonl; }
    key id
    map {
        id id required=#true
        name name
    }
    sink csv "out/new.csv" { column ID id; }
    sink csv "out/kept.csv" { column ID id; }
}
"#;
    std::fs::write(root.join("people.kdl"), pipeline).unwrap();
    std::fs::write(root.join("people.jsonl"), json_line("p1", "One")).unwrap();
    std::fs::create_dir(root.join("out")).unwrap();
    std::fs::write(root.join("out/kept.csv"), "old\n").unwrap();
    std::fs::set_permissions(
        root.join("out/kept.csv"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let mode = |name: &str| {
        std::fs::metadata(root.join("out").join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    // `sh -c 'umask N; exec rollcall ...'`: the umask is the process's own.
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let _ = std::fs::remove_file(root.join("out/new.csv"));
        let output = std::process::Command::new("sh")
            .current_dir(root)
            .env("NO_COLOR", "1")
            .args([
                "-c",
                &format!("umask {umask}; exec \"$0\" run people.kdl --state state.db --resync",),
                env!("CARGO_BIN_EXE_rollcall"),
            ])
            .output()
            .unwrap();
        let (code, stdout, stderr) = parts(&output);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert_eq!(mode("new.csv"), expected, "a new file under umask {umask}");
        assert_eq!(mode("kept.csv"), 0o640, "a replaced file keeps its mode");
    }
    assert_eq!(
        std::fs::read_to_string(root.join("out/kept.csv")).unwrap(),
        "ID\r\np1\r\n"
    );
}
