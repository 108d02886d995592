//! Stage 6, registry: what a changed record does to its person
//! (`registry::Session`), written into the run's still-open transaction as
//! it is found (or, for `plan`, into the session's in-memory overlay).

use serde_json::Value;

use super::{RunError, Tally};
use crate::diff::{Action, Change, FieldChange};
use crate::registry::{Linked, RegistryReport, Session};
use crate::store::NewRecord;
use crate::vocabulary::{Fingerprint, Summary};

/// One record's change, as the diff found it.
pub(super) struct Write<'r> {
    /// Create, update or reinstate.
    pub action: Action,
    /// The record's key.
    pub key: &'r str,
    /// Where it is in the extract.
    pub line: u64,
    /// Its mapped (and joined) values.
    pub values: &'r [Value],
    /// The record as read, when the pipeline keeps it.
    pub raw: Option<&'r Value>,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
    /// The fields that change.
    pub fields: Vec<FieldChange>,
}

/// Writes a created, updated or reinstated record and counts it.
/// `scratch` holds the fields' JSON between records.
pub(super) fn write(
    session: &mut Session<'_, '_>,
    names: &[String],
    write: Write<'_>,
    scratch: &mut Vec<u8>,
    tally: &mut Tally,
) -> Result<(), RunError> {
    let Write {
        action,
        key,
        line,
        values,
        raw,
        fingerprint,
        fields,
    } = write;
    encode_object(names, values, scratch);
    let raw_text = raw.map(Value::to_string);
    let new = NewRecord {
        key,
        fingerprint,
        fields: std::str::from_utf8(scratch).expect("serde_json writes UTF-8"),
        raw: raw_text.as_deref(),
    };
    let summary = &mut tally.summary;
    match action {
        Action::Create => match session.create(key, line, values, &new, &fields)? {
            Linked::Held => {
                summary.ambiguous += 1;
                return Ok(());
            }
            Linked::Person(_) => summary.created += 1,
        },
        _ => {
            session.update(key, values, &new, &fields, action == Action::Reinstate)?;
            match action {
                Action::Reinstate => summary.reinstated += 1,
                // A new fingerprint with no differing field (e.g. a field
                // added to the mapping that is null everywhere) only
                // refreshes the hash.
                _ if fields.is_empty() => summary.unchanged += 1,
                _ => summary.updated += 1,
            }
        }
    }
    if tally.keeps_change() && !(action == Action::Update && fields.is_empty()) {
        tally.changes.push(Change {
            action,
            key: key.to_owned(),
            line: Some(line),
            fields,
        });
    }
    Ok(())
}

/// Applies an unchanged record again (`--resync`): the person's side may
/// differ from what the record says.
pub(super) fn resync(
    session: &mut Session<'_, '_>,
    key: &str,
    values: &[Value],
    line: u64,
    tally: &mut Tally,
) -> Result<(), RunError> {
    let fields = session.resync(key, values)?;
    if fields.is_empty() {
        tally.summary.unchanged += 1;
        return Ok(());
    }
    tally.summary.updated += 1;
    if tally.keeps_change() {
        tally.changes.push(Change {
            action: Action::Update,
            key: key.to_owned(),
            line: Some(line),
            fields,
        });
    }
    Ok(())
}

/// Removes a key: counted, handed to the registry and collected (with the
/// line of the row that removed it, when a row did).
pub(super) fn remove(
    session: &mut Session<'_, '_>,
    key: &str,
    line: Option<u64>,
    tally: &mut Tally,
) -> Result<(), RunError> {
    tally.summary.removed += 1;
    session.remove(key)?;
    if tally.keeps_change() {
        tally.changes.push(Change {
            action: Action::Remove,
            key: key.to_owned(),
            line,
            fields: Vec::new(),
        });
    }
    Ok(())
}

/// Ends the registry's part of the run (grace periods, status, purges,
/// links) and counts its transitions and purges.
pub(super) fn finish(
    session: Session<'_, '_>,
    summary: &mut Summary,
) -> Result<RegistryReport, RunError> {
    let (report, counts) = session.finish()?;
    summary.transitions = counts.transitions;
    summary.purged = counts.purged;
    Ok(report)
}

/// Writes `{"name": value, ...}` into `out`, reusing its allocation.
fn encode_object(names: &[String], values: &[Value], out: &mut Vec<u8>) {
    out.clear();
    out.push(b'{');
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, name).expect("writing to a Vec cannot fail");
        out.push(b':');
        serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
    }
    out.push(b'}');
}
