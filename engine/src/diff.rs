//! The diff between an extract and what the state store knows: which keys
//! are created, updated (with the changed fields), removed, reinstated or
//! unchanged.
//!
//! The prior state is held as one fingerprint per key, loaded once per run,
//! so a steady-state run compares hashes and reads stored fields only for
//! the records that actually changed.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::store::{PriorRecord, RecordState};
use crate::vocabulary::Fingerprint;

mod index;

use index::Index;

/// What a run does to one source record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// Field name.
    pub field: String,
    /// Stored value (null for a new record).
    pub before: Value,
    /// New value (null for a removed record).
    pub after: Value,
}

/// One record's change.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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

/// How a key was seen in this extract, compared with the prior state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
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

/// One key: of the prior state, or first seen in this extract.
///
/// 48 bytes, with the key's text (prior keys only, for removals) in one
/// shared buffer: a million prior records take about 90 MB less than a map
/// of owned strings would.
struct Entry {
    /// xxh3-128 of the key's text. Keys are told apart by it alone: two of
    /// a pipeline's keys colliding in 128 bits is as unlikely as two
    /// records colliding in their fingerprints, which the diff already
    /// relies on.
    key: [u64; 2],
    fingerprint: [u64; 2],
    /// Where the key's text starts in [`PriorState::keys`].
    key_start: u64,
    /// The text's length in the low 30 bits; the state in the top two.
    key_len_state: u32,
    /// Line where this extract had the key (at most `u32::MAX`); 0 when not
    /// (yet) seen.
    seen_line: u32,
}

/// [`Entry::key_len_state`]'s top bits.
const FIRST_SEEN: u32 = 0;
const PRESENT: u32 = 1 << 30;
const REMOVED: u32 = 2 << 30;
const STATE: u32 = 3 << 30;

impl Entry {
    fn key(&self) -> u128 {
        join(self.key)
    }

    fn state(&self) -> u32 {
        self.key_len_state & STATE
    }

    fn key_range(&self) -> std::ops::Range<usize> {
        let start = self.key_start as usize;
        start..start + (self.key_len_state & !STATE) as usize
    }
}

fn split(value: u128) -> [u64; 2] {
    [value as u64, (value >> 64) as u64]
}

fn join(parts: [u64; 2]) -> u128 {
    u128::from(parts[0]) | (u128::from(parts[1]) << 64)
}

fn key_hash(key: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key.as_bytes())
}

/// A line as stored in an entry: at least 1 (0 means unseen), at most `u32::MAX`.
fn stored_line(line: u64) -> u32 {
    line.clamp(1, u64::from(u32::MAX)) as u32
}

/// The prior state of a pipeline's records, and which keys this extract has
/// seen so far.
#[derive(Default)]
pub struct PriorState {
    entries: Vec<Entry>,
    /// The text of every prior key, one after another.
    keys: String,
    index: Index,
    /// `entries[..indexed]` are in `index`; the prior state is indexed in
    /// one go once loaded, so the index is sized once.
    indexed: usize,
    present_before: u64,
}

impl PriorState {
    /// Adds one stored record (from [`crate::store::Tx::for_each_prior`]).
    pub fn insert(&mut self, record: PriorRecord<'_>) {
        let state = match record.state {
            RecordState::Present => {
                self.present_before += 1;
                PRESENT
            }
            RecordState::Removed => REMOVED,
        };
        assert!(
            record.key.len() < 1 << 30,
            "keys are bounded by the line limit"
        );
        self.entries.push(Entry {
            key: split(key_hash(record.key)),
            fingerprint: split(record.fingerprint),
            key_start: self.keys.len() as u64,
            key_len_state: record.key.len() as u32 | state,
            seen_line: 0,
        });
        self.keys.push_str(record.key);
    }

    /// Records present before this run.
    pub fn present_before(&self) -> u64 {
        self.present_before
    }

    /// Whether the store knew no record of the pipeline (its first load).
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|entry| entry.state() == FIRST_SEEN)
    }

    /// Marks a key as seen at `line` and classifies its new fingerprint.
    /// A key already seen in this extract is a [`Duplicate`].
    pub fn see(
        &mut self,
        key: &str,
        fingerprint: Fingerprint,
        line: u64,
    ) -> Result<Seen, Duplicate> {
        let hash = key_hash(key);
        let Some(position) = self.find(hash) else {
            self.entries.push(Entry {
                key: split(hash),
                fingerprint: split(fingerprint),
                key_start: 0,
                key_len_state: FIRST_SEEN,
                seen_line: stored_line(line),
            });
            let entries = &self.entries;
            self.index.insert(hash, (entries.len() - 1) as u32, |p| {
                entries[p as usize].key()
            });
            self.indexed = self.entries.len();
            return Ok(Seen::New);
        };
        let entry = &mut self.entries[position];
        if entry.seen_line != 0 {
            return Err(Duplicate {
                first_line: entry.seen_line.into(),
            });
        }
        entry.seen_line = stored_line(line);
        Ok(match entry.state() {
            REMOVED => Seen::Returning,
            PRESENT if join(entry.fingerprint) == fingerprint => Seen::Same,
            PRESENT => Seen::Changed,
            _ => Seen::New,
        })
    }

    /// Marks the key of an invalid record as seen, so it is held rather than
    /// removed. Returns true when the key was present before (a held record).
    pub fn hold(&mut self, key: &str, line: u64) -> Result<bool, Duplicate> {
        let Some(position) = self.find(key_hash(key)) else {
            return Ok(false);
        };
        let entry = &mut self.entries[position];
        if entry.seen_line != 0 {
            return Err(Duplicate {
                first_line: entry.seen_line.into(),
            });
        }
        entry.seen_line = stored_line(line);
        Ok(entry.state() == PRESENT)
    }

    /// Whether a key is known: present before this run, or new in this
    /// extract and passed on to the diff.
    pub fn knows(&mut self, key: &str) -> bool {
        self.find(key_hash(key))
            .is_some_and(|p| matches!(self.entries[p].state(), PRESENT | FIRST_SEEN))
    }

    /// Keys present before and not seen in this extract, sorted so reports
    /// and change logs are deterministic.
    pub fn unseen_present(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| e.seen_line == 0 && e.state() == PRESENT)
            .map(|e| &self.keys[e.key_range()])
            .collect();
        keys.sort_unstable();
        keys
    }

    /// The entry of a key hash, indexing any entries loaded since the last look.
    fn find(&mut self, hash: u128) -> Option<usize> {
        if self.indexed < self.entries.len() {
            if self.indexed == 0 {
                // The whole prior state: size the index once, with room
                // for the joiners of a typical extract.
                let n = self.entries.len();
                self.index = Index::with_capacity(n + n / 16);
            }
            let entries = &self.entries;
            for position in self.indexed..entries.len() {
                self.index
                    .insert(entries[position].key(), position as u32, |p| {
                        entries[p as usize].key()
                    });
            }
            self.indexed = entries.len();
        }
        let entries = &self.entries;
        self.index
            .find(hash, |p| entries[p as usize].key() == hash)
            .map(|p| p as usize)
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

    fn prior(key: &str, fingerprint: u128, state: RecordState) -> PriorRecord<'_> {
        PriorRecord {
            key,
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
        assert_eq!(state.see("a", 1, 1), Ok(Seen::Same));
        assert_eq!(state.see("b", 9, 2), Ok(Seen::Changed));
        assert_eq!(state.see("c", 3, 3), Ok(Seen::Returning));
        assert_eq!(state.see("e", 5, 4), Ok(Seen::New));
        assert_eq!(state.unseen_present(), vec!["d"]);
    }

    #[test]
    fn a_key_seen_twice_names_the_first_line() {
        let mut state = PriorState::default();
        assert_eq!(state.see("x", 1, 7), Ok(Seen::New));
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
    fn many_keys_through_load_lookup_and_new_keys() {
        let mut state = PriorState::default();
        let keys: Vec<String> = (0..5000).map(|i| format!("key-{i}")).collect();
        for (i, key) in keys.iter().enumerate() {
            let record_state = if i % 10 == 9 {
                RecordState::Removed
            } else {
                RecordState::Present
            };
            state.insert(prior(key, i as u128, record_state));
        }
        assert_eq!(state.present_before(), 4500);
        // Every other key is seen: same, changed or returning.
        for (i, key) in keys.iter().enumerate().step_by(2) {
            let fingerprint = if i % 4 == 0 { i as u128 } else { 0 };
            let expected = match (i % 10 == 9, i % 4 == 0) {
                (true, _) => Seen::Returning,
                (false, true) => Seen::Same,
                (false, false) => Seen::Changed,
            };
            assert_eq!(
                state.see(key, fingerprint, i as u64 + 1),
                Ok(expected),
                "{key}"
            );
        }
        for i in 0..3000 {
            let key = format!("new-{i}");
            assert_eq!(state.see(&key, 1, 10_000 + i), Ok(Seen::New));
            assert_eq!(
                state.see(&key, 1, 20_000 + i),
                Err(Duplicate {
                    first_line: 10_000 + i
                })
            );
        }
        assert_eq!(state.hold("key-1", 7), Ok(true));
        assert_eq!(state.hold("key-9", 7), Ok(false), "removed before");
        assert_eq!(state.hold("key-0", 7), Err(Duplicate { first_line: 1 }));
        let unseen = state.unseen_present();
        let mut expected: Vec<&str> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1 && i % 10 != 9 && *i != 1)
            .map(|(_, k)| k.as_str())
            .collect();
        expected.sort_unstable();
        assert_eq!(unseen, expected);
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
