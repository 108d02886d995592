//! The diff between an extract and what the state store knows: which keys
//! are created, updated (with the changed fields), removed, reinstated or
//! unchanged.
//!
//! The prior state is held as one fingerprint per key, loaded once per run,
//! so a steady-state run compares hashes and reads stored fields only for
//! the records that actually changed.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::store::{Fingerprint, PriorRecord, RecordState};

/// Record counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Records decoded from the source.
    pub read: u64,
    /// Records that mapped and validated and passed the filters.
    pub valid: u64,
    /// Records that failed mapping or validation.
    pub invalid: u64,
    /// Records dropped by filters.
    pub filtered: u64,
    /// Keys seen for the first time.
    pub created: u64,
    /// Keys whose mapped fields changed.
    pub updated: u64,
    /// Keys present before and gone now.
    pub removed: u64,
    /// Removed keys that came back.
    pub reinstated: u64,
    /// Keys with no change.
    pub unchanged: u64,
    /// Present keys whose record was invalid this time: kept as they were.
    pub held: u64,
    /// New keys held because their match found several persons.
    pub ambiguous: u64,
    /// Lifecycle transitions: role and person status or limbo changes.
    pub transitions: u64,
    /// Persons purged after their `purge-after` period.
    pub purged: u64,
}

impl Summary {
    /// True when the run changes nothing in the store.
    pub fn is_no_change(&self) -> bool {
        self.created
            + self.updated
            + self.removed
            + self.reinstated
            + self.transitions
            + self.purged
            == 0
    }
}

/// What a run does to one source record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new key.
    Create,
    /// Changed mapped fields.
    Update,
    /// The key is gone from the source.
    Remove,
    /// A removed key is back.
    Reinstate,
}

impl Action {
    /// The spelling used in the change log and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Remove => "remove",
            Action::Reinstate => "reinstate",
        }
    }
}

/// One field's value before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Field name.
    pub field: String,
    /// Stored value (null for a new record).
    pub before: Value,
    /// New value (null for a removed record).
    pub after: Value,
}

/// One record's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What happens.
    pub action: Action,
    /// Source key.
    pub key: String,
    /// Line (or row) in the source, when the record was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The changed fields (all fields for a create).
    pub fields: Vec<FieldChange>,
}

/// What a record is, compared with the prior state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not known before.
    New,
    /// Known and present, same fingerprint.
    Same,
    /// Known and present, different fingerprint.
    Changed,
    /// Known but removed before.
    Returning,
}

/// A key seen twice in one extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Line of the first occurrence.
    pub first_line: u64,
}

struct Entry {
    fingerprint: Fingerprint,
    /// `None` for keys first seen in this extract.
    state: Option<RecordState>,
    /// Line where this extract had the key; 0 when not (yet) seen.
    seen_line: u64,
}

/// The prior state of a pipeline's records, and which keys this extract has
/// seen so far.
#[derive(Default)]
pub struct PriorState {
    entries: HashMap<Box<str>, Entry>,
    present_before: u64,
}

impl PriorState {
    /// Adds one stored record (from [`crate::store::Tx::for_each_prior`]).
    pub fn insert(&mut self, record: PriorRecord) {
        if record.state == RecordState::Present {
            self.present_before += 1;
        }
        self.entries.insert(
            record.key.into_boxed_str(),
            Entry {
                fingerprint: record.fingerprint,
                state: Some(record.state),
                seen_line: 0,
            },
        );
    }

    /// Records present before this run.
    pub fn present_before(&self) -> u64 {
        self.present_before
    }

    /// Marks a key as seen at `line` and classifies its new fingerprint.
    /// A key already seen in this extract is a [`Duplicate`].
    pub fn see(
        &mut self,
        key: &str,
        fingerprint: Fingerprint,
        line: u64,
    ) -> Result<Verdict, Duplicate> {
        let line = line.max(1);
        match self.entries.get_mut(key) {
            Some(entry) if entry.seen_line != 0 => Err(Duplicate {
                first_line: entry.seen_line,
            }),
            Some(entry) => {
                entry.seen_line = line;
                Ok(match entry.state {
                    None => Verdict::New,
                    Some(RecordState::Removed) => Verdict::Returning,
                    Some(RecordState::Present) if entry.fingerprint == fingerprint => Verdict::Same,
                    Some(RecordState::Present) => Verdict::Changed,
                })
            }
            None => {
                self.entries.insert(
                    key.into(),
                    Entry {
                        fingerprint,
                        state: None,
                        seen_line: line,
                    },
                );
                Ok(Verdict::New)
            }
        }
    }

    /// Marks the key of an invalid record as seen, so it is held rather than
    /// removed. Returns true when the key was present before (a held record).
    pub fn hold(&mut self, key: &str, line: u64) -> Result<bool, Duplicate> {
        match self.entries.get_mut(key) {
            Some(entry) if entry.seen_line != 0 => Err(Duplicate {
                first_line: entry.seen_line,
            }),
            Some(entry) => {
                entry.seen_line = line.max(1);
                Ok(entry.state == Some(RecordState::Present))
            }
            None => Ok(false),
        }
    }

    /// Keys present before and not seen in this extract, sorted so reports
    /// and change logs are deterministic.
    pub fn unseen_present(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .entries
            .iter()
            .filter(|(_, e)| e.seen_line == 0 && e.state == Some(RecordState::Present))
            .map(|(k, _)| &**k)
            .collect();
        keys.sort_unstable();
        keys
    }
}

/// The fingerprint of a record's encoded mapped fields.
pub fn fingerprint(encoded: &[u8]) -> Fingerprint {
    xxhash_rust::xxh3::xxh3_128(encoded)
}

/// The fields that differ between the stored and the new values, in the
/// mapping's order. A field the store lacks counts as null.
pub fn changed_fields(
    names: &[String],
    before: &Map<String, Value>,
    after: &[Value],
) -> Vec<FieldChange> {
    names
        .iter()
        .zip(after)
        .filter_map(|(name, new)| {
            let old = before.get(name).unwrap_or(&Value::Null);
            (old != new).then(|| FieldChange {
                field: name.clone(),
                before: old.clone(),
                after: new.clone(),
            })
        })
        .collect()
}

/// Every field of a new record as a change from null.
pub fn created_fields(names: &[String], after: &[Value]) -> Vec<FieldChange> {
    names
        .iter()
        .zip(after)
        .map(|(name, new)| FieldChange {
            field: name.clone(),
            before: Value::Null,
            after: new.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(key: &str, fingerprint: u128, state: RecordState) -> PriorRecord {
        PriorRecord {
            key: key.into(),
            fingerprint,
            state,
        }
    }

    #[test]
    fn classifies_new_same_changed_returning_and_unseen() {
        let mut state = PriorState::default();
        state.insert(prior("a", 1, RecordState::Present));
        state.insert(prior("b", 2, RecordState::Present));
        state.insert(prior("c", 3, RecordState::Removed));
        state.insert(prior("d", 4, RecordState::Present));
        assert_eq!(state.present_before(), 3);
        assert_eq!(state.see("a", 1, 1), Ok(Verdict::Same));
        assert_eq!(state.see("b", 9, 2), Ok(Verdict::Changed));
        assert_eq!(state.see("c", 3, 3), Ok(Verdict::Returning));
        assert_eq!(state.see("e", 5, 4), Ok(Verdict::New));
        assert_eq!(state.unseen_present(), vec!["d"]);
    }

    #[test]
    fn a_key_seen_twice_names_the_first_line() {
        let mut state = PriorState::default();
        assert_eq!(state.see("x", 1, 7), Ok(Verdict::New));
        assert_eq!(state.see("x", 1, 9), Err(Duplicate { first_line: 7 }));
    }

    #[test]
    fn held_keys_are_not_removed() {
        let mut state = PriorState::default();
        state.insert(prior("a", 1, RecordState::Present));
        assert_eq!(state.hold("a", 3), Ok(true));
        assert!(state.unseen_present().is_empty());
        assert_eq!(state.hold("new", 4), Ok(false));
    }

    #[test]
    fn only_differing_fields_are_reported() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let before: Map<String, Value> = serde_json::from_str(r#"{"a": 1, "b": "x"}"#).unwrap();
        let after = vec![Value::from(1), Value::from("y"), Value::Null];
        let changes = changed_fields(&names, &before, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "b");
        assert_eq!(changes[0].before, Value::from("x"));
    }
}
