//! Pipeline test files (`NAME.test.kdl` beside `NAME.kdl`): KDL v2 text to
//! a [`TestFile`], with the same diagnostics as pipeline files. The format
//! is in `LANGUAGE.md` ("Pipeline tests").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use serde_json::{Map, Value};

use crate::diagnostic::{Code, Diagnostic};
use crate::lower::cx::{Cx, name_span, node_name};
use crate::model::pipeline_test::{
    Expect, Expectation, ExpectedChange, ExpectedTransition, InlineRecord, TestCase, TestFile,
    TestInput, TestStep, TransitionSubject,
};
use crate::parse::parse_file;
use crate::source_file::SourceFile;

/// The suffix of test files; folders are searched for it.
pub const SUFFIX: &str = ".test.kdl";

/// Whether `path` names a test file.
pub fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(SUFFIX))
}

/// The pipeline file a test file tests unless it says otherwise:
/// `NAME.kdl` beside `NAME.test.kdl`.
pub fn default_pipeline(test_file: &Path) -> PathBuf {
    let name = test_file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name.strip_suffix(SUFFIX).unwrap_or(name);
    test_file.with_file_name(format!("{stem}.kdl"))
}

/// A test file read: what it declares (when it has no errors) and every
/// diagnostic, with the source the diagnostics point into.
pub struct LoadedTests {
    /// The file's text, for placing failures.
    pub file: Arc<SourceFile>,
    /// The tests (`None` when there are errors).
    pub tests: Option<TestFile>,
    /// Every problem found.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and checks one test file.
pub fn load_test_file(path: &Path) -> Result<LoadedTests, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        Diagnostic::error(Code::Io, format!("cannot read `{}`: {err}", path.display())).with_help(
            "check the path; `rollcall test` takes test files, pipeline files and folders",
        )
    })?;
    Ok(load_test_str(path, &text))
}

/// Checks a test file given as text; paths in it are resolved against its folder.
pub fn load_test_str(path: &Path, text: &str) -> LoadedTests {
    let file = SourceFile::new(path, text);
    let document = match parse_file(&file) {
        Ok(document) => document,
        Err(diagnostics) => {
            return LoadedTests {
                file,
                tests: None,
                diagnostics,
            };
        }
    };
    let base = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut cx = Cx::new(Arc::clone(&file), base);
    let tests = lower_file(&mut cx, path, &document);
    check_files(&mut cx, &tests);
    let diagnostics: Vec<Diagnostic> = cx
        .diagnostics
        .into_iter()
        .map(|d| d.in_file(&file))
        .collect();
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    LoadedTests {
        file,
        tests: valid.then_some(tests),
        diagnostics,
    }
}

const TOP: &[&str] = &["pipeline", "test"];

fn lower_file(cx: &mut Cx, path: &Path, document: &KdlDocument) -> TestFile {
    let mut pipeline = default_pipeline(path);
    let mut cases = Vec::new();
    for node in document.nodes() {
        match node_name(node) {
            "pipeline" => {
                cx.no_children(node);
                if let Some(p) = path_arg(cx, node, "`pipeline \"FILE.kdl\"`") {
                    pipeline = p;
                }
            }
            "test" => cases.push(lower_case(cx, node, &pipeline)),
            _ => cx.unknown_node(node, "a test file", TOP),
        }
    }
    if cases.is_empty() {
        cx.report(
            Diagnostic::error(Code::MissingNode, "the test file declares no `test`")
                .with_help("add `test \"what it shows\" { extract { ... } }`"),
        );
    }
    TestFile {
        file: path.to_path_buf(),
        pipeline,
        cases,
    }
}

/// The one string argument of `node`, as a path resolved against the file's folder.
fn path_arg(cx: &mut Cx, node: &KdlNode, usage: &str) -> Option<PathBuf> {
    let arg = cx.args(node, 1, Some(1), usage).first().copied()?;
    let text = cx.string(arg, &format!("`{}`'s file", node_name(node)))?;
    Some(cx.base_dir.join(text.value))
}

fn lower_case(cx: &mut Cx, node: &KdlNode, pipeline: &Path) -> TestCase {
    let name = cx
        .args(node, 1, Some(1), "`test \"what it shows\" { ... }`")
        .first()
        .and_then(|arg| cx.string(arg, "a test's name"))
        .map(|s| s.value)
        .unwrap_or_default();
    let steps: Vec<TestStep> = cx
        .children(node, &["extract"])
        .into_iter()
        .map(|step| lower_step(cx, step, pipeline))
        .collect();
    if steps.is_empty() {
        cx.missing_node(node, "extract", "`extract { record ...; expect { ... } }`");
    }
    TestCase {
        name,
        span: name_span(node),
        steps,
    }
}

const STEP: &[&str] = &["record", "json", "line", "expect"];

fn lower_step(cx: &mut Cx, node: &KdlNode, pipeline: &Path) -> TestStep {
    cx.args(
        node,
        0,
        Some(0),
        "`extract file=\"FILE\" now=\"DATE\" { ... }`",
    );
    let props = cx.props(node, &["file", "now", "pipeline"], "`extract`");
    let mut path_prop = |name: &str| {
        props
            .get(name)
            .and_then(|e| cx.string(e, &format!("`{name}=`")))
            .map(|s| cx.base_dir.join(s.value))
    };
    let file = path_prop("file");
    let step_pipeline = path_prop("pipeline").unwrap_or_else(|| pipeline.to_path_buf());
    let now = props
        .get("now")
        .and_then(|e| cx.string(e, "`now=`"))
        .filter(|now| is_time(cx, now))
        .map(|s| s.value);
    let children = cx.children(node, STEP);
    let mut records = Vec::new();
    let mut expect = Vec::new();
    for child in &children {
        match node_name(child) {
            "record" => records.extend(record_fields(cx, child)),
            "json" => records.extend(json_record(cx, child)),
            "line" => {
                cx.no_children(child);
                let arg = cx
                    .args(child, 1, Some(1), "`line \"TEXT\"`")
                    .first()
                    .copied();
                records.extend(
                    arg.and_then(|a| cx.string(a, "a line"))
                        .map(|s| InlineRecord::Line(s.value)),
                );
            }
            _ => expect.extend(lower_expect(cx, child)),
        }
    }
    let input = match (file, records.is_empty()) {
        (Some(file), true) => TestInput::File(file),
        (None, _) => TestInput::Records(records),
        (Some(_), false) => {
            cx.report(
                Diagnostic::error(Code::Conflict, "`extract` has both `file=` and records")
                    .with_label(name_span(node), "one or the other")
                    .with_help(
                        "read the records from `file=`, or write them as `record` nodes, not both",
                    ),
            );
            TestInput::Records(records)
        }
    };
    TestStep {
        span: name_span(node),
        pipeline: step_pipeline,
        now,
        input,
        expect,
    }
}

/// Whether `now=` is a time `--now` takes (RFC 3339 or a date); reported if not.
fn is_time(cx: &mut Cx, now: &crate::model::Spanned<String>) -> bool {
    let text = now.value.trim();
    if chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
    {
        return true;
    }
    cx.report(
        Diagnostic::error(Code::InvalidValue, format!("`{text}` is not a time"))
            .with_label(now.span, "not RFC 3339 or a date")
            .with_help("write `now=\"2025-03-01\"` or `now=\"2025-03-01T08:00:00Z\"`"),
    );
    false
}

/// `record name=value ...`: a flat record.
fn record_fields(cx: &mut Cx, node: &KdlNode) -> Option<InlineRecord> {
    cx.no_children(node);
    cx.args(node, 0, Some(0), "`record name=value ...`");
    let mut fields = Map::new();
    for entry in node.entries() {
        if let Some(name) = entry.name() {
            let value = cx.json(entry, &format!("`{}=`", name.value()))?;
            fields.insert(name.value().to_owned(), value);
        }
    }
    Some(InlineRecord::Fields(fields))
}

/// `json "TEXT"`: one JSON value.
fn json_record(cx: &mut Cx, node: &KdlNode) -> Option<InlineRecord> {
    cx.no_children(node);
    let arg = cx
        .args(node, 1, Some(1), "`json #\"{...}\"#`")
        .first()
        .copied()?;
    json_text(cx, arg).map(InlineRecord::Json)
}

/// A string holding JSON text, parsed; its errors point into the string.
fn json_text(cx: &mut Cx, entry: &KdlEntry) -> Option<Value> {
    let text = cx.string(entry, "JSON text")?;
    match serde_json::from_str(&text.value) {
        Ok(value) => Some(value),
        Err(err) => {
            cx.report(
                Diagnostic::error(Code::InvalidValue, format!("not JSON: {err}"))
                    .with_label(text.span, "this string")
                    .with_help("write one JSON value; a raw string (`#\"...\"#`) needs no escapes"),
            );
            None
        }
    }
}

const EXPECT: &[&str] = &[
    "outcome",
    "counts",
    "mapped",
    "rejected",
    "changes",
    "transitions",
];

fn lower_expect(cx: &mut Cx, node: &KdlNode) -> Vec<Expectation> {
    cx.args(node, 0, Some(0), "`expect { ... }`");
    cx.children(node, EXPECT)
        .into_iter()
        .filter_map(|child| {
            let expect = match node_name(child) {
                "outcome" => outcome(cx, child),
                "counts" => counts(cx, child),
                "mapped" => mapped(cx, child),
                "rejected" => rejected(cx, child),
                "changes" => Some(Expect::Changes(changes(cx, child))),
                _ => Some(Expect::Transitions(transitions(cx, child))),
            }?;
            Some(Expectation {
                span: name_span(child),
                expect,
            })
        })
        .collect()
}

fn outcome(cx: &mut Cx, node: &KdlNode) -> Option<Expect> {
    cx.no_children(node);
    let arg = cx
        .args(node, 1, Some(1), "`outcome applied`")
        .first()
        .copied()?;
    let options = [
        ("applied", "applied"),
        ("no-change", "no-change"),
        ("rejected", "rejected"),
        ("failed", "failed"),
    ];
    cx.choice(arg, "outcome", &options)
        .map(|o| Expect::Outcome(o.to_owned()))
}

/// The summary figures `counts` may name.
pub const COUNTS: &[&str] = &[
    "read",
    "valid",
    "invalid",
    "filtered",
    "created",
    "updated",
    "removed",
    "reinstated",
    "unchanged",
    "held",
    "ambiguous",
    "transitions",
    "purged",
];

fn counts(cx: &mut Cx, node: &KdlNode) -> Option<Expect> {
    cx.no_children(node);
    cx.args(node, 0, Some(0), "`counts created=4 removed=0`");
    cx.props(node, COUNTS, "`counts`");
    // In the order written, so a failure lists them as the file does.
    let figures = node
        .entries()
        .iter()
        .filter_map(|entry| {
            let name = entry.name()?.value();
            if !COUNTS.contains(&name) {
                return None;
            }
            cx.count(entry, &format!("`{name}=`"))
                .map(|n| (name.to_owned(), n.value))
        })
        .collect();
    Some(Expect::Counts(figures))
}

fn key_arg(cx: &mut Cx, node: &KdlNode, usage: &str) -> Option<String> {
    let arg = cx.args(node, 1, Some(1), usage).first().copied()?;
    cx.text(arg, "a key")
}

fn mapped(cx: &mut Cx, node: &KdlNode) -> Option<Expect> {
    cx.props(node, &[], "`mapped`");
    let key = key_arg(cx, node, "`mapped KEY { field value; ... }`")?;
    let fields = field_values(cx, node);
    Some(Expect::Mapped { key, fields })
}

/// `{ name value; name value value; name json="[...]" }`: expected field values.
fn field_values(cx: &mut Cx, node: &KdlNode) -> Vec<(String, Value)> {
    let mut fields = Vec::new();
    for child in node.iter_children() {
        cx.no_children(child);
        let name = node_name(child).to_owned();
        let props = cx.props(child, &["json"], &format!("field `{name}`"));
        let value = match props.get("json") {
            Some(json) => json_text(cx, json),
            None => {
                let args = cx.args(
                    child,
                    1,
                    None,
                    &format!("`{name} VALUE` or `{name} json=\"...\"`"),
                );
                let values: Option<Vec<Value>> =
                    args.iter().map(|a| cx.json(a, "a value")).collect();
                values.map(|mut values| {
                    if values.len() == 1 {
                        values.remove(0)
                    } else {
                        Value::Array(values)
                    }
                })
            }
        };
        if let Some(value) = value {
            fields.push((name, value));
        }
    }
    fields
}

/// Codes a rejected record may carry.
pub const REJECTION_CODES: &[&str] = &[
    "rollcall::record::invalid",
    "rollcall::record::unique",
    "rollcall::record::unknown-key",
    "rollcall::record::ambiguous",
];

fn rejected(cx: &mut Cx, node: &KdlNode) -> Option<Expect> {
    cx.no_children(node);
    let args = cx.args(
        node,
        0,
        Some(1),
        "`rejected KEY code=\"rollcall::record::invalid\"`",
    );
    let key = match args.first() {
        Some(arg) => Some(cx.text(arg, "a key")?),
        None => None,
    };
    let props = cx.props(node, &["code", "line", "contains"], "`rejected`");
    let Some(code) = props.get("code") else {
        cx.missing_property(
            node,
            "code",
            "`rejected KEY code=\"rollcall::record::invalid\"`",
        );
        return None;
    };
    let options: Vec<(&str, &str)> = REJECTION_CODES.iter().map(|c| (*c, *c)).collect();
    let code = cx.choice(code, "rejection code", &options)?.to_owned();
    let line = match props.get("line") {
        Some(line) => Some(cx.count(line, "`line=`")?.value),
        None => None,
    };
    let contains = match props.get("contains") {
        Some(text) => Some(cx.string(text, "`contains=`")?.value),
        None => None,
    };
    if key.is_none() && line.is_none() {
        cx.report(
            Diagnostic::error(Code::MissingArgument, "`rejected` needs a key or `line=`")
                .with_label(name_span(node), "which record?")
                .with_help("write `rejected KEY code=...`, or `rejected line=N code=...` for a record whose key cannot be read"),
        );
        return None;
    }
    Some(Expect::Rejected {
        key,
        line,
        code,
        contains,
    })
}

fn changes(cx: &mut Cx, node: &KdlNode) -> Vec<ExpectedChange> {
    cx.args(node, 0, Some(0), "`changes { create KEY; ... }`");
    let actions = ["create", "update", "remove", "reinstate"];
    cx.children(node, &actions)
        .into_iter()
        .filter_map(|child| {
            cx.props(child, &[], "a change");
            let key = key_arg(cx, child, &format!("`{} KEY`", node_name(child)))?;
            Some(ExpectedChange {
                action: node_name(child).to_owned(),
                key,
                fields: field_values(cx, child),
            })
        })
        .collect()
}

fn transitions(cx: &mut Cx, node: &KdlNode) -> Vec<ExpectedTransition> {
    cx.args(
        node,
        0,
        Some(0),
        "`transitions { person KEY from=... to=...; ... }`",
    );
    cx.children(node, &["person", "role"])
        .into_iter()
        .filter_map(|child| transition(cx, child))
        .collect()
}

fn transition(cx: &mut Cx, node: &KdlNode) -> Option<ExpectedTransition> {
    cx.no_children(node);
    let is_role = node_name(node) == "role";
    let usage = "`person KEY from=active to=suspended limbo=NAME purge-at=TIME`";
    let key = key_arg(cx, node, usage)?;
    let allowed: &[&str] = if is_role {
        &["from", "to", "scope"]
    } else {
        &["from", "to", "limbo", "purge-at"]
    };
    let props = cx.props(node, allowed, &format!("`{}`", node_name(node)));
    let mut text = |name: &str| {
        props
            .get(name)
            .and_then(|e| cx.text(e, &format!("`{name}=`")))
    };
    let (from, to) = (text("from"), text("to"));
    let scope = text("scope");
    let purge_at = text("purge-at");
    let limbo = props.get("limbo").map(|e| match e.value() {
        KdlValue::Null => None,
        _ => cx.text(e, "`limbo=`"),
    });
    let (Some(from), Some(to)) = (from, to) else {
        cx.missing_property(node, "from= and to", usage);
        return None;
    };
    let subject = if is_role {
        TransitionSubject::Role { key, scope }
    } else {
        TransitionSubject::Person(key)
    };
    Some(ExpectedTransition {
        subject,
        from,
        to,
        limbo,
        purge_at,
    })
}

/// Files the tests name must exist: a missing one is the test file's
/// error, not a failed test.
fn check_files(cx: &mut Cx, tests: &TestFile) {
    let mut named: Vec<&Path> = vec![&tests.pipeline];
    for step in tests.cases.iter().flat_map(|c| &c.steps) {
        named.push(&step.pipeline);
        if let TestInput::File(file) = &step.input {
            named.push(file);
        }
    }
    named.sort();
    named.dedup();
    for path in named {
        if !path.is_file() {
            cx.report(
                Diagnostic::error(Code::Io, format!("`{}` does not exist", path.display()))
                    .with_help("paths in a test file are relative to its folder"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder holding `hr.kdl` (empty: only its presence is checked
    /// here) and the test file `text` as `hr.test.kdl`.
    fn load(text: &str) -> (tempfile::TempDir, LoadedTests) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hr.kdl"), "").unwrap();
        std::fs::write(dir.path().join("day-1.csv"), "").unwrap();
        let loaded = load_test_str(&dir.path().join("hr.test.kdl"), text);
        (dir, loaded)
    }

    fn codes(loaded: &LoadedTests) -> Vec<&'static str> {
        loaded.diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn a_test_file_becomes_its_cases_steps_and_expectations() {
        let (dir, loaded) = load(
            r##"
test "moves" {
    extract now="2025-03-01" {
        record id=A-1 name=" Ada " age=36
        json #"{"id": "A-2"}"#
        expect {
            mapped A-1 { name Ada; tags a b; empty json="[]" }
            rejected A-2 code="rollcall::record::invalid" contains="name"
            counts created=1 invalid=1
        }
    }
    extract file="day-1.csv" {
        expect {
            outcome rejected
            changes { update A-1 { name Ada }; remove A-2 }
            transitions {
                person A-1 from=active to=suspended limbo=limbo
                role A-1 scope=x from=active to=grace-period
                person A-2 from=suspended to=active limbo=#null
            }
        }
    }
}
"##,
        );
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let tests = loaded.tests.unwrap();
        assert_eq!(tests.pipeline, dir.path().join("hr.kdl"));
        let case = &tests.cases[0];
        assert_eq!(case.name, "moves");
        let [first, second] = &case.steps[..] else {
            panic!("two steps")
        };
        assert_eq!(first.now.as_deref(), Some("2025-03-01"));
        let TestInput::Records(records) = &first.input else {
            panic!("inline records")
        };
        assert_eq!(
            records[0],
            InlineRecord::Fields(
                serde_json::json!({"id": "A-1", "name": " Ada ", "age": 36})
                    .as_object()
                    .unwrap()
                    .clone()
            )
        );
        assert_eq!(
            records[1],
            InlineRecord::Json(serde_json::json!({"id": "A-2"}))
        );
        assert_eq!(
            first.expect[0].expect,
            Expect::Mapped {
                key: "A-1".into(),
                fields: vec![
                    ("name".into(), "Ada".into()),
                    ("tags".into(), serde_json::json!(["a", "b"])),
                    ("empty".into(), serde_json::json!([])),
                ],
            }
        );
        assert_eq!(
            first.expect[2].expect,
            Expect::Counts(vec![("created".into(), 1), ("invalid".into(), 1)])
        );
        assert_eq!(second.input, TestInput::File(dir.path().join("day-1.csv")));
        let Expect::Transitions(moves) = &second.expect[2].expect else {
            panic!("transitions")
        };
        assert_eq!(moves[0].limbo, Some(Some("limbo".into())));
        assert_eq!(moves[2].limbo, Some(None));
        assert_eq!(
            moves[1].subject,
            TransitionSubject::Role {
                key: "A-1".into(),
                scope: Some("x".into())
            }
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_place_and_a_suggestion() {
        let (_dir, loaded) = load(
            r#"
test "t" {
    extract fiel="x.csv" {
        expect { mappd A-1 }
        rejected A-1 code="rollcall::record::invalid"
    }
}
"#,
        );
        assert!(loaded.tests.is_none());
        assert_eq!(
            codes(&loaded),
            [
                "rollcall::unknown-property",
                "rollcall::unknown-node",
                "rollcall::unknown-node"
            ]
        );
        let property = &loaded.diagnostics[0];
        assert_eq!(property.position().unwrap().line, 3);
        assert!(
            property
                .help
                .as_ref()
                .unwrap()
                .contains("did you mean `file`?")
        );
    }

    #[test]
    fn missing_files_codes_and_conflicting_inputs_are_errors() {
        let (_dir, loaded) = load(
            r#"
pipeline "other.kdl"
test "t" {
    extract file="day-1.csv" now="1 March" {
        record id=1
        expect { rejected 1 code="rollcall::record::invalidd" }
    }
}
"#,
        );
        assert_eq!(
            codes(&loaded),
            [
                "rollcall::invalid-value",
                "rollcall::invalid-value",
                "rollcall::conflict",
                "rollcall::io"
            ]
        );
        let (_dir, empty) = load("// nothing yet\n");
        assert_eq!(codes(&empty), ["rollcall::missing-node"]);
    }

    #[test]
    fn the_default_pipeline_is_the_file_beside() {
        assert_eq!(
            default_pipeline(Path::new("pipelines/hr.test.kdl")),
            Path::new("pipelines/hr.kdl")
        );
        assert!(is_test_file(Path::new("a/hr.test.kdl")));
        assert!(!is_test_file(Path::new("a/hr.kdl")));
    }
}
