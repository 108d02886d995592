//! What each target was sent from the outbox (or, for `plan`, would be
//! sent): the operations by kind, every refused one with its request and
//! the server's answer, removals held back, foreign objects left alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rollcall_engine::target::TargetReport;

use super::{Screen, terminal_safe};

/// The targets' part of a run's (or plan's) text.
pub fn targets_text(targets: &[TargetReport]) -> Screen {
    let mut screen = Screen::default();
    for target in targets {
        screen.append(one(target));
    }
    screen
}

/// One target: a summary line, then details (planned operations on
/// stdout; failures, held removals and errors on stderr).
fn one(target: &TargetReport) -> Screen {
    let mut screen = Screen::default();
    let name = terminal_safe(&target.target);
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for op in &target.operations {
        *by_kind.entry(op.operation.as_str()).or_default() += 1;
    }
    let counts = if by_kind.is_empty() {
        "nothing to send".to_owned()
    } else {
        by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let verb = match (by_kind.is_empty(), target.sent) {
        (true, _) => "",
        (false, true) => "sent ",
        (false, false) => "would send ",
    };
    let mut line = format!("  target {name} ({}): {verb}{counts}", target.kind);
    if !target.failed.is_empty() {
        let _ = write!(line, "; {} refused", target.failed.len());
    }
    if !target.foreign.is_empty() {
        let _ = write!(
            line,
            "; {} foreign object(s) left alone",
            target.foreign.len()
        );
    }
    if target.sent {
        line.push_str(if target.accepted {
            "; delivered"
        } else {
            "; not delivered in full, the outbox keeps it"
        });
    }
    screen.out(&format!("{line}\n"));
    if !target.sent {
        for op in &target.operations {
            screen.out(&format!(
                "    {} {} {}\n",
                op.operation.as_str(),
                op.kind,
                terminal_safe(&op.name)
            ));
        }
        for object in &target.foreign {
            screen.out(&format!(
                "    foreign {} {} (id {}): not rollcall's, left alone\n",
                object.kind,
                terminal_safe(&object.name),
                terminal_safe(&object.id)
            ));
        }
    }
    for failed in &target.failed {
        screen.err(&format!(
            "refused: target {name}: {} {} {}: {} -> {}\n",
            failed.operation.as_str(),
            failed.kind,
            terminal_safe(&failed.name),
            terminal_safe(&failed.request),
            terminal_safe(&failed.answer)
        ));
    }
    for unnamed in &target.unnamed {
        screen.err(&format!(
            "skipped: target {name}: {}\n",
            terminal_safe(unnamed)
        ));
    }
    if let Some(held) = &target.held {
        screen.err(&format!("held: target {name}: {}\n", terminal_safe(held)));
    }
    if let Some(note) = &target.note {
        screen.err(&format!("note: target {name}: {}\n", terminal_safe(note)));
    }
    if let Some(error) = &target.error {
        screen.err(&format!(
            "failed: target {name}: {}\n",
            terminal_safe(error)
        ));
    }
    screen
}

#[cfg(test)]
mod tests {
    use rollcall_engine::target::TargetReport;
    use rollcall_engine::target::deliver::{FailedStep, ForeignObject, StepReport};
    use rollcall_engine::target::reconcile::Label;

    use super::targets_text;
    use crate::render::screen::Stream;

    fn shown(targets: &[TargetReport]) -> String {
        targets_text(targets)
            .parts()
            .map(|(stream, text)| {
                let tag = if stream == Stream::Out { "out" } else { "err" };
                text.lines()
                    .map(|l| format!("{tag}| {l}\n"))
                    .collect::<String>()
            })
            .collect()
    }

    fn step(operation: Label, name: &str) -> StepReport {
        StepReport {
            operation,
            kind: "person",
            name: name.into(),
            attributes: Vec::new(),
        }
    }

    #[test]
    fn a_delivery_with_a_refused_object_and_a_plan_with_a_foreign_one() {
        let sent = TargetReport {
            target: "saas".into(),
            kind: "scim",
            pending_runs: vec![4],
            operations: vec![step(Label::Create, "ada"), step(Label::Rename, "alan.t")],
            failed: vec![FailedStep {
                operation: Label::Create,
                kind: "person",
                name: "grace".into(),
                request: "POST /Users {\"userName\":\"grace\"}".into(),
                answer: "409 {\"scimType\":\"uniqueness\"}".into(),
            }],
            sent: true,
            ..TargetReport::default()
        };
        let planned = TargetReport {
            target: "saas".into(),
            kind: "scim",
            operations: vec![step(Label::Deactivate, "alan.t")],
            foreign: vec![ForeignObject {
                kind: "person",
                name: "mallory".into(),
                id: "u-9".into(),
            }],
            ..TargetReport::default()
        };
        insta::assert_snapshot!(shown(&[sent, planned]));
    }
}
