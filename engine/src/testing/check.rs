//! One step's report compared with what the step expects. Lists (changes,
//! transitions, rejections) are compared as sets: each expectation met by
//! one item is written the same on both sides, so a diff of the two sides
//! shows only what differs.

use rollcall_model::pipeline_test::{
    Expect, ExpectedChange, ExpectedTransition, TestStep, TransitionSubject,
};
use serde_json::Value;

use super::{Failure, TestError};
use crate::plan::Plan;
use crate::registry::report::Transition;
use crate::run::{Report, RunError};
use crate::store::Store;

/// Every expectation of `step` the run did not meet.
pub(super) fn step(
    number: usize,
    step: &TestStep,
    outcome: &Result<Report, RunError>,
    plan: &Plan,
    pipelines: &[&str],
    store: &mut Store,
) -> Result<Vec<Failure>, TestError> {
    let mut failures = Vec::new();
    let mut fail = |span, what: &str, (expected, found): (Vec<String>, Vec<String>)| {
        failures.push(Failure {
            step: number,
            span,
            what: what.to_owned(),
            expected,
            found,
        });
    };
    let wanted: Vec<String> = step
        .expect
        .iter()
        .find_map(|e| match &e.expect {
            Expect::Outcome(o) => Some(vec![o.clone()]),
            _ => None,
        })
        .unwrap_or_else(|| vec!["applied".into(), "no-change".into()]);
    let found = match outcome {
        Ok(report) => report.outcome.recorded_as().to_owned(),
        Err(_) => "failed".to_owned(),
    };
    if !wanted.contains(&found) {
        let detail = match outcome {
            Ok(report) => failed_checks(report),
            Err(err) => format!(": {err}"),
        };
        fail(
            step.span,
            "outcome",
            (vec![wanted.join(" or ")], vec![format!("{found}{detail}")]),
        );
    }
    let Ok(report) = outcome else {
        return Ok(failures);
    };
    for expectation in &step.expect {
        let span = expectation.span;
        match &expectation.expect {
            Expect::Outcome(_) => {}
            Expect::Counts(counts) => {
                if let Some(diff) = compare_counts(counts, report) {
                    fail(span, "counts", diff);
                }
            }
            Expect::Mapped { key, fields } => {
                if let Some(diff) = compare_mapped(store, &plan.name, key, fields)? {
                    fail(span, &format!("mapped fields of {key}"), diff);
                }
            }
            Expect::Rejected { .. } => {}
            Expect::Changes(changes) => {
                if let Some(diff) = compare_changes(changes, report) {
                    fail(span, "changes", diff);
                }
            }
            Expect::Transitions(transitions) => {
                let diff = compare_transitions(transitions, report, pipelines, store)?;
                if let Some(diff) = diff {
                    fail(span, "transitions", diff);
                }
            }
        }
    }
    let rejected: Vec<_> = step
        .expect
        .iter()
        .filter(|e| matches!(e.expect, Expect::Rejected { .. }))
        .collect();
    if let Some(first) = rejected.first() {
        let expected: Vec<&Expect> = rejected.iter().map(|e| &e.expect).collect();
        if let Some(diff) = compare_rejections(&expected, report) {
            fail(first.span, "rejected records", diff);
        }
    }
    Ok(failures)
}

/// `: max-removed 30% (found 50%)` of a refused run's failed checks.
fn failed_checks(report: &Report) -> String {
    let failed: Vec<String> = report
        .integrity
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    if failed.is_empty() {
        String::new()
    } else {
        format!(": {}", failed.join(", "))
    }
}

/// Expected and found lines when they differ.
type Diff = (Vec<String>, Vec<String>);

fn compare_counts(counts: &[(String, u64)], report: &Report) -> Option<Diff> {
    let summary = serde_json::to_value(report.summary).ok()?;
    let found = |name: &str| summary.get(name).and_then(Value::as_u64).unwrap_or(0);
    let differ = counts.iter().any(|(name, n)| found(name) != *n);
    differ.then(|| {
        (
            counts
                .iter()
                .map(|(name, n)| format!("{name}={n}"))
                .collect(),
            counts
                .iter()
                .map(|(name, _)| format!("{name}={}", found(name)))
                .collect(),
        )
    })
}

fn compare_mapped(
    store: &mut Store,
    pipeline: &str,
    key: &str,
    fields: &[(String, Value)],
) -> Result<Option<Diff>, TestError> {
    let tx = store.read()?;
    let record = tx.record(pipeline, key)?;
    drop(tx);
    let expected: Vec<String> = fields.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let Some(record) = record else {
        return Ok(Some((
            expected,
            vec![format!(
                "no record {key} stored (filtered, rejected or not in the extract)"
            )],
        )));
    };
    let found: Vec<String> = fields
        .iter()
        .map(|(name, _)| {
            let value = record.fields.get(name).cloned().unwrap_or(Value::Null);
            format!("{name} {value}")
        })
        .collect();
    Ok((expected != found).then_some((expected, found)))
}

/// Pairs expected with found items: a met expectation is written the same
/// on both sides; the rest as they are.
fn pair<E, F>(
    expected: &[E],
    found: &[F],
    meets: impl Fn(&E, &F) -> bool,
    expected_line: impl Fn(&E) -> String,
    found_line: impl Fn(&F) -> String,
) -> Option<Diff> {
    let mut used = vec![false; found.len()];
    let mut met = vec![false; expected.len()];
    for (i, e) in expected.iter().enumerate() {
        if let Some(j) = (0..found.len()).find(|&j| !used[j] && meets(e, &found[j])) {
            used[j] = true;
            met[i] = true;
        }
    }
    if met.iter().all(|m| *m) && used.iter().all(|u| *u) {
        return None;
    }
    let expected_lines: Vec<String> = expected.iter().map(&expected_line).collect();
    // A found item meeting an expectation is written as that expectation.
    let mut found_lines = Vec::new();
    let mut taken = vec![false; expected.len()];
    for item in found {
        let partner =
            (0..expected.len()).find(|&i| met[i] && !taken[i] && meets(&expected[i], item));
        match partner {
            Some(i) => {
                taken[i] = true;
                found_lines.push(expected_lines[i].clone());
            }
            None => found_lines.push(found_line(item)),
        }
    }
    Some((expected_lines, found_lines))
}

fn compare_changes(expected: &[ExpectedChange], report: &Report) -> Option<Diff> {
    pair(
        expected,
        &report.changes,
        |e, c| {
            e.action == c.action.as_str()
                && e.key == c.key
                && e.fields.iter().all(|(name, value)| {
                    c.fields
                        .iter()
                        .any(|f| &f.field == name && &f.after == value)
                })
        },
        |e| change_line(&e.action, &e.key, &e.fields),
        |c| {
            // Shown with the fields an expectation of that key names.
            let names: Vec<&String> = expected
                .iter()
                .filter(|e| e.key == c.key)
                .flat_map(|e| e.fields.iter().map(|(n, _)| n))
                .collect();
            let fields: Vec<(String, Value)> = c
                .fields
                .iter()
                .filter(|f| names.contains(&&f.field))
                .map(|f| (f.field.clone(), f.after.clone()))
                .collect();
            change_line(c.action.as_str(), &c.key, &fields)
        },
    )
}

fn change_line(action: &str, key: &str, fields: &[(String, Value)]) -> String {
    if fields.is_empty() {
        return format!("{action} {key}");
    }
    let fields: Vec<String> = fields.iter().map(|(n, v)| format!("{n} {v}")).collect();
    format!("{action} {key} {{ {} }}", fields.join("; "))
}

fn compare_transitions(
    expected: &[ExpectedTransition],
    report: &Report,
    pipelines: &[&str],
    store: &mut Store,
) -> Result<Option<Diff>, TestError> {
    // Persons are named by a record's key: find each one's id.
    let tx = store.read()?;
    let mut persons = Vec::new();
    for e in expected {
        if let TransitionSubject::Person(key) = &e.subject {
            persons.push((key.clone(), person_of(&tx, pipelines, key)?));
        }
    }
    drop(tx);
    let person_key = |id: Option<i64>| {
        persons
            .iter()
            .find(|(_, p)| p.is_some() && *p == id)
            .map(|(k, _)| k.clone())
    };
    Ok(pair(
        expected,
        &report.registry.transitions,
        |e, t| meets_transition(e, t, &person_key),
        transition_line,
        |t| found_transition_line(t, &person_key),
    ))
}

/// The person a key's record belongs to, in the first of `pipelines` that
/// has it (or had it: a purged record's change log keeps its person).
fn person_of(
    tx: &crate::store::Tx<'_>,
    pipelines: &[&str],
    key: &str,
) -> Result<Option<i64>, TestError> {
    for pipeline in pipelines {
        if let Some(person) = tx.record(pipeline, key)?.and_then(|r| r.person_id) {
            return Ok(Some(person));
        }
        let logged = tx.changes_of(pipeline, key)?;
        if let Some(person) = logged.iter().rev().find_map(|c| c.person_id) {
            return Ok(Some(person));
        }
    }
    Ok(None)
}

fn meets_transition(
    e: &ExpectedTransition,
    t: &Transition,
    person_key: &dyn Fn(Option<i64>) -> Option<String>,
) -> bool {
    let subject = match (&e.subject, &t.role) {
        (TransitionSubject::Person(key), None) => {
            person_key(t.person).as_deref() == Some(key.as_str())
        }
        (TransitionSubject::Role { key, scope }, Some(role)) => {
            &role.key == key && (scope.is_none() || scope == &role.scope)
        }
        _ => false,
    };
    let limbo_after = t.limbo.as_ref().map(|l| l.to.clone());
    subject
        && e.from == t.from
        && e.to == t.to
        && e.limbo
            .as_ref()
            .is_none_or(|l| limbo_after.as_ref() == Some(l))
        && e.purge_at
            .as_ref()
            .is_none_or(|p| t.purge_at.as_ref() == Some(p))
}

fn transition_line(e: &ExpectedTransition) -> String {
    let subject = match &e.subject {
        TransitionSubject::Person(key) => format!("person {key}"),
        TransitionSubject::Role { key, scope } => format!(
            "role {key}{}",
            scope
                .as_ref()
                .map(|s| format!(" scope={s}"))
                .unwrap_or_default()
        ),
    };
    let limbo = match &e.limbo {
        Some(Some(l)) => format!(" limbo={l}"),
        Some(None) => " limbo=#null".to_owned(),
        None => String::new(),
    };
    let purge = e
        .purge_at
        .as_ref()
        .map(|p| format!(" purge-at={p}"))
        .unwrap_or_default();
    format!("{subject} from={} to={}{limbo}{purge}", e.from, e.to)
}

fn found_transition_line(
    t: &Transition,
    person_key: &dyn Fn(Option<i64>) -> Option<String>,
) -> String {
    let subject = match &t.role {
        Some(role) => format!(
            "role {}{}",
            role.key,
            role.scope
                .as_ref()
                .map(|s| format!(" scope={s}"))
                .unwrap_or_default()
        ),
        None => match person_key(t.person) {
            Some(key) => format!("person {key}"),
            None => format!(
                "person #{}",
                t.person
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "new".into())
            ),
        },
    };
    let limbo = match &t.limbo {
        Some(change) => match &change.to {
            Some(l) => format!(" limbo={l}"),
            None => " limbo=#null".to_owned(),
        },
        None => String::new(),
    };
    let purge = t
        .purge_at
        .as_ref()
        .map(|p| format!(" purge-at={p}"))
        .unwrap_or_default();
    format!("{subject} from={} to={}{limbo}{purge}", t.from, t.to)
}

/// A record the run refused, as `rejected` describes it.
struct Rejection {
    key: Option<String>,
    line: u64,
    code: &'static str,
    reason: String,
}

fn rejections(report: &Report) -> Vec<Rejection> {
    let mut all: Vec<Rejection> = report
        .invalid
        .iter()
        .map(|r| Rejection {
            key: r.key.clone(),
            line: r.line,
            code: "rollcall::record::invalid",
            reason: r.problems.join("; "),
        })
        .collect();
    all.extend(report.conflicts.iter().map(|c| Rejection {
        key: Some(c.key.clone()),
        line: c.line,
        code: "rollcall::record::unique",
        reason: format!("{} {:?} is held by {}", c.field, c.value, c.held_by),
    }));
    all.extend(report.refused.iter().map(|r| Rejection {
        key: Some(r.key.clone()),
        line: r.line,
        code: "rollcall::record::unknown-key",
        reason: r.reason.clone(),
    }));
    all.extend(report.registry.ambiguous.iter().map(|a| Rejection {
        key: Some(a.key.clone()),
        line: a.line,
        code: "rollcall::record::ambiguous",
        reason: format!("{} candidates by {}", a.candidates.len(), a.by),
    }));
    all.sort_by_key(|r| r.line);
    all
}

fn compare_rejections(expected: &[&Expect], report: &Report) -> Option<Diff> {
    let found = rejections(report);
    pair(
        expected,
        &found,
        |e, r| match e {
            Expect::Rejected {
                key,
                line,
                code,
                contains,
            } => {
                (key.is_none() || key == &r.key)
                    && line.is_none_or(|l| l == r.line)
                    && code == r.code
                    && contains
                        .as_ref()
                        .is_none_or(|c| r.reason.contains(c.as_str()))
            }
            _ => false,
        },
        |e| match e {
            Expect::Rejected {
                key,
                line,
                code,
                contains,
            } => format!(
                "rejected {}{} code={code}{}",
                key.as_deref().unwrap_or("(no key)"),
                line.map(|l| format!(" line={l}")).unwrap_or_default(),
                contains
                    .as_ref()
                    .map(|c| format!(" contains={c:?}"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        },
        |r| {
            format!(
                "rejected {} line={} code={}: {}",
                r.key.as_deref().unwrap_or("(no key)"),
                r.line,
                r.code,
                r.reason
            )
        },
    )
}
