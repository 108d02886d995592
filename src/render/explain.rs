//! `rollcall explain`'s text: the subject as it is now, then each run that
//! changed it (time, id, outcome, pipeline, extract and its sha256), each
//! change with the rule behind it on a `why:` line.

use std::fmt::Write as _;

use rollcall_engine::explain::{Step, Subject, Timeline};
use rollcall_engine::store::{ChangeRow, RecordState, Why};
use serde_json::{Map, Value};

use super::{suffix, terminal_safe};

/// The whole timeline, oldest run first.
pub fn explain_text(timeline: &Timeline) -> String {
    let mut out = subject_line(&timeline.subject);
    for step in &timeline.steps {
        step_text(&mut out, step);
    }
    out
}

fn subject_line(subject: &Subject) -> String {
    match subject {
        Subject::Person { id, current: None } => format!("person {id}: purged\n"),
        Subject::Person {
            id,
            current: Some(p),
        } => format!(
            "person {id}: {}{}{}\n",
            p.status,
            p.limbo
                .as_deref()
                .map(|l| format!(", in limbo {l:?}"))
                .unwrap_or_default(),
            suffix(", purge at ", p.purge_at.as_deref())
        ),
        Subject::Record {
            pipeline,
            key,
            current,
        } => {
            let now = match current {
                None => "no longer stored".to_owned(),
                Some(record) => format!(
                    "{}{}",
                    match record.state {
                        RecordState::Present => "present",
                        RecordState::Removed => "removed",
                    },
                    record
                        .person_id
                        .map(|id| format!(
                            ", person {id} ({})",
                            record.person_status.as_deref().unwrap_or("?")
                        ))
                        .unwrap_or_default()
                ),
            };
            format!("{pipeline} / {}: {now}\n", terminal_safe(key))
        }
    }
}

fn step_text(out: &mut String, step: &Step) {
    match &step.run {
        Some(run) => {
            let _ = writeln!(
                out,
                "{}  run {}  {}  {}",
                run.started_at, run.id, run.outcome, run.pipeline
            );
            if !step.operator {
                let _ = writeln!(
                    out,
                    "    extract {}  sha256 {}",
                    terminal_safe(&run.source.uri),
                    run.source.sha256.as_deref().unwrap_or("unknown")
                );
            }
        }
        None => {
            let _ = writeln!(out, "run {} (its record is gone)", step.run_id);
        }
    }
    for change in &step.changes {
        let _ = writeln!(out, "    {}", change_text(change));
        if let Some(why) = &change.why {
            let _ = writeln!(out, "        why: {}", why_text(why));
        }
    }
}

/// One change: a sign, the action, the record (or the person) and what moved.
fn change_text(change: &ChangeRow) -> String {
    let record = change
        .source_key
        .as_deref()
        .map(|k| format!("{}/{}", change.pipeline, terminal_safe(k)))
        .unwrap_or_default();
    let after = change.after.as_ref().and_then(Value::as_object);
    let before = change.before.as_ref().and_then(Value::as_object);
    let detail = match change.action.as_str() {
        "create" => after.map(fields).unwrap_or_default(),
        "update" | "reinstate" | "resync" => moved(before, after),
        "person-status" => person_status(before, after),
        "role-status" => format!(
            "role {}: {} -> {}",
            field(after, "role"),
            text_of(before, "status"),
            text_of(after, "status")
        ),
        "purge" => format!(
            "was {}, inactive since {}",
            text_of(before, "status"),
            text_of(before, "inactive_since")
        ),
        "freeze" | "unfreeze" => after.map(fields).unwrap_or_default(),
        _ => String::new(),
    };
    let sign = match change.action.as_str() {
        "create" | "reinstate" => '+',
        "update" | "resync" => '~',
        "remove" | "purge" => '-',
        "freeze" | "unfreeze" => '*',
        _ => '>',
    };
    let subject = if record.is_empty() {
        change
            .person_id
            .map(|id| format!("person {id}"))
            .unwrap_or_default()
    } else {
        record
    };
    let line = format!("{sign} {:<13} {subject}  {detail}", change.action);
    line.trim_end().to_owned()
}

/// `status: before -> after` of a person's status change, with limbo and purge time.
fn person_status(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> String {
    let limbo = |side: Option<&Map<String, Value>>| {
        side.and_then(|s| s.get("limbo"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let limbo_move = match (limbo(before), limbo(after)) {
        (None, Some(to)) => format!(", into limbo {to:?}"),
        (Some(from), None) => format!(", out of limbo {from:?}"),
        (Some(from), Some(to)) if from != to => format!(", limbo {from:?} -> {to:?}"),
        _ => String::new(),
    };
    let purge = after
        .and_then(|a| a.get("purge_at"))
        .and_then(Value::as_str)
        .map(|at| format!(", purge at {at}"))
        .unwrap_or_default();
    format!(
        "{} -> {}{limbo_move}{purge}",
        text_of(before, "status"),
        text_of(after, "status")
    )
}

/// Why, in words: the rule and its settings as the run applied them.
pub fn why_text(why: &Why) -> String {
    match why {
        Why::OnRemoval {
            status,
            grace_period,
            grace_until,
        } => match grace_period {
            Some(seconds) => format!(
                "the record left the source: grace-period {} (until {}), then on-removal {status}",
                duration(*seconds),
                grace_until.as_deref().unwrap_or("?")
            ),
            None => format!("the record left the source: on-removal {status}, no grace period"),
        },
        Why::Linked { by } => format!(
            "a new key matched a person who already existed (by {})",
            match by.as_str() {
                "system" => "the same key in another pipeline of the system",
                "email" => "email",
                "identifier" => "identifier",
                _ => "the external matcher",
            }
        ),
        Why::GracePeriodEnded {
            grace_until,
            status,
        } => format!(
            "grace-period ended at {}: the role took {status}",
            grace_until.as_deref().unwrap_or("?")
        ),
        Why::Limbo {
            limbo,
            purge_after,
            purge_at,
            inactive_since,
        } => format!(
            "no live role left since {}: {}, {}",
            inactive_since.as_deref().unwrap_or("?"),
            limbo
                .as_deref()
                .map(|l| format!("limbo {l:?}"))
                .unwrap_or_else(|| "no limbo".to_owned()),
            match (purge_after, purge_at) {
                (Some(seconds), Some(at)) => format!("purge-after {} (purge at {at})", duration(*seconds)),
                _ => "never purged (no purge-after)".to_owned(),
            }
        ),
        Why::Reinstated => {
            "a live role again (a record came back or a new key linked): out of limbo, purge time cleared"
                .to_owned()
        }
        Why::RecordStatus => {
            "status from the record: its own status ended the roles (no limbo, no purge time)".to_owned()
        }
        Why::Validity => "the roles' validity dates, at the run's time".to_owned(),
        Why::Roles => "the person's roles changed".to_owned(),
        Why::PurgeAfter {
            inactive_since,
            purge_at,
            by,
        } => format!(
            "purge-after passed: inactive since {}, due at {}{}",
            inactive_since.as_deref().unwrap_or("?"),
            purge_at.as_deref().unwrap_or("?"),
            by.as_deref()
                .map(|by| format!("; `rollcall purge` by {}", terminal_safe(by)))
                .unwrap_or_default()
        ),
        Why::FrozenHeld { held } => held
            .iter()
            .map(|h| {
                format!(
                    "frozen value held: {} kept {} (the source says {}), frozen by {}{}",
                    h.attribute,
                    terminal_safe(&h.frozen.to_string()),
                    terminal_safe(&h.incoming.to_string()),
                    terminal_safe(&h.frozen_by),
                    h.reason
                        .as_deref()
                        .map(|r| format!(": {:?}", terminal_safe(r)))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Why::Operator { by, reason } => format!(
            "operator command by {}{}",
            terminal_safe(by),
            reason
                .as_deref()
                .map(|r| format!(": {:?}", terminal_safe(r)))
                .unwrap_or_default()
        ),
    }
}

/// Seconds as the language writes a duration: `30d`, `12h`, `90s`.
fn duration(seconds: u64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// `name value, ...` of an object's members.
fn fields(object: &Map<String, Value>) -> String {
    object
        .iter()
        .map(|(name, value)| format!("{name} {}", terminal_safe(&value.to_string())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `name: before -> after, ...` of the members that moved.
fn moved(before: Option<&Map<String, Value>>, after: Option<&Map<String, Value>>) -> String {
    let Some(after) = after else {
        return String::new();
    };
    after
        .iter()
        .map(|(name, value)| {
            let was = before
                .and_then(|b| b.get(name))
                .map(|v| v.to_string())
                .unwrap_or_else(|| "null".to_owned());
            format!(
                "{name}: {} -> {}",
                terminal_safe(&was),
                terminal_safe(&value.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn field(side: Option<&Map<String, Value>>, name: &str) -> String {
    side.and_then(|s| s.get(name))
        .map(|v| v.to_string())
        .unwrap_or_else(|| "?".to_owned())
}

fn text_of(side: Option<&Map<String, Value>>, name: &str) -> String {
    side.and_then(|s| s.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_the_language_writes_them() {
        assert_eq!(duration(30 * 86_400), "30d");
        assert_eq!(duration(36 * 3_600), "36h");
        assert_eq!(duration(90), "90s");
    }
}
