//! `sink json` (every present record as one JSON array) and `sink jsonl`
//! (one change event per line for this run).

use std::io::Write;

use rollcall_model::Spanned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::SinkError;
use crate::diff::{Action, Change, FieldChange};
use crate::plan::Plan;
use crate::store::Tx;

/// Writes `[{...}, ...]` of the present records, with `fields` (all when empty).
pub(super) fn write_array(
    plan: &Plan,
    fields: &[Spanned<String>],
    tx: &Tx<'_>,
    out: &mut dyn Write,
) -> Result<u64, SinkError> {
    let mut count = 0;
    let mut failed = None;
    tx.for_each_present(&plan.name, |_, mut record| {
        let object: Map<String, Value> = if fields.is_empty() {
            record
        } else {
            fields
                .iter()
                .map(|f| {
                    (
                        f.value.clone(),
                        record.remove(&f.value).unwrap_or(Value::Null),
                    )
                })
                .collect()
        };
        let separator: &[u8] = if count == 0 { b"[\n  " } else { b",\n  " };
        let written = out
            .write_all(separator)
            .and_then(|()| serde_json::to_writer(&mut *out, &object).map_err(Into::into));
        if let Err(err) = written {
            failed.get_or_insert(err);
        }
        count += 1;
        Ok(())
    })?;
    if let Some(err) = failed {
        return Err(err.into());
    }
    out.write_all(if count == 0 { b"[]\n" } else { b"\n]\n" })?;
    Ok(count)
}

/// One line of `sink jsonl`.
#[derive(Serialize)]
struct Event<'a> {
    pipeline: &'a str,
    run: i64,
    action: Action,
    key: &'a str,
    /// The record's fields after the change (before it, for a removal).
    fields: Map<String, Value>,
    /// The fields that changed, with their values before and after.
    changes: &'a [FieldChange],
}

/// Writes one event per change of this run.
pub(super) fn write_events(
    plan: &Plan,
    run: i64,
    changes: &[Change],
    tx: &Tx<'_>,
    out: &mut dyn Write,
) -> Result<u64, SinkError> {
    let mut count = 0;
    for change in changes {
        if change.action == Action::Update && change.fields.is_empty() {
            continue;
        }
        let event = Event {
            pipeline: &plan.name,
            run,
            action: change.action,
            key: &change.key,
            fields: tx
                .record_fields(&plan.name, &change.key)?
                .unwrap_or_default(),
            changes: &change.fields,
        };
        serde_json::to_writer(&mut *out, &event).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    Ok(count)
}
