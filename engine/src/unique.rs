//! `unique=#true` fields: no two present records of a pipeline may hold the
//! same value (compared ignoring case). A record that would is refused on its
//! own and reported; the rest of the run goes on (as Cora does when a user
//! name or email address is already taken).
//!
//! A value is taken when another key of this extract already claimed it, or
//! when another key holds it in the store and has not shown up in this
//! extract yet. A value freed in this run (its holder changed it later in the
//! file, or was removed) is therefore only free from the next run on: the
//! conservative side, since refusing a record now is undone by the next run
//! while applying a clash is not.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::mapping::value_text;
use crate::store::{StoreError, Tx};

/// A record refused because a unique value is already taken.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Conflict {
    /// Line of the refused record.
    pub line: u64,
    /// Its key.
    pub key: String,
    /// The unique field.
    pub field: String,
    /// The value it asked for.
    pub value: String,
    /// The key that holds the value.
    pub held_by: String,
    /// Line of the holder in this extract, when it is in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_at: Option<u64>,
}

/// One unique field's claims.
struct Field {
    index: usize,
    name: String,
    /// Folded value → key, from the store.
    stored: HashMap<String, String>,
    /// Folded value → (key, line), from this extract.
    claimed: HashMap<String, (String, u64)>,
}

/// The claims of every unique field during one run.
#[derive(Default)]
pub struct Claims {
    fields: Vec<Field>,
    seen: HashSet<String>,
}

impl Claims {
    /// Loads the stored values of the unique fields (`(index, name)` in the
    /// joined record's layout) for the pipeline.
    pub fn load(
        tx: &Tx<'_>,
        pipeline: &str,
        unique: &[(usize, String)],
    ) -> Result<Self, StoreError> {
        let mut fields = Vec::with_capacity(unique.len());
        for (index, name) in unique {
            let mut stored = HashMap::new();
            for (key, value) in tx.present_values(pipeline, name)? {
                if let Some(folded) = fold(&value) {
                    stored.insert(folded, key);
                }
            }
            fields.push(Field {
                index: *index,
                name: name.clone(),
                stored,
                claimed: HashMap::new(),
            });
        }
        Ok(Claims {
            fields,
            seen: HashSet::new(),
        })
    }

    /// Claims the record's unique values for `key`, or returns the first
    /// conflict (and claims nothing).
    pub fn claim(&mut self, key: &str, values: &[Value], line: u64) -> Option<Conflict> {
        if self.fields.is_empty() {
            return None;
        }
        for field in &self.fields {
            let Some(folded) = fold(&values[field.index]) else {
                continue;
            };
            let taken = match field.claimed.get(&folded) {
                Some((other, at)) if other != key => Some((other.clone(), Some(*at))),
                Some(_) => None,
                None => field
                    .stored
                    .get(&folded)
                    .filter(|other| *other != key && !self.seen.contains(*other))
                    .map(|other| (other.clone(), None)),
            };
            if let Some((held_by, held_at)) = taken {
                return Some(Conflict {
                    line,
                    key: key.to_owned(),
                    field: field.name.clone(),
                    value: value_text(&values[field.index]).into_owned(),
                    held_by,
                    held_at,
                });
            }
        }
        for field in &mut self.fields {
            if let Some(folded) = fold(&values[field.index]) {
                field.claimed.insert(folded, (key.to_owned(), line));
            }
        }
        self.seen.insert(key.to_owned());
        None
    }
}

/// The value compared: its text in lower case; nothing for null or "".
fn fold(value: &Value) -> Option<String> {
    let text = value_text(value);
    (!text.is_empty()).then(|| text.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(stored: &[(&str, &str)]) -> Claims {
        Claims {
            fields: vec![Field {
                index: 0,
                name: "user_name".into(),
                stored: stored
                    .iter()
                    .map(|(v, k)| (v.to_lowercase(), k.to_string()))
                    .collect(),
                claimed: HashMap::new(),
            }],
            seen: HashSet::new(),
        }
    }

    #[test]
    fn a_second_claim_in_one_extract_is_refused_ignoring_case() {
        let mut c = claims(&[]);
        assert_eq!(c.claim("a", &[json!("Test.User")], 1), None);
        let conflict = c.claim("b", &[json!("test.user")], 2).unwrap();
        assert_eq!(
            (conflict.held_by.as_str(), conflict.held_at),
            ("a", Some(1))
        );
        assert_eq!(c.claim("c", &[json!(null)], 3), None, "null claims nothing");
    }

    #[test]
    fn a_stored_value_is_taken_until_its_holder_shows_up_with_another() {
        let mut c = claims(&[("jdoe", "k1")]);
        assert!(c.claim("k2", &[json!("JDoe")], 1).is_some());
        assert_eq!(c.claim("k1", &[json!("jdoe2")], 2), None);
        assert_eq!(c.claim("k2", &[json!("jdoe")], 3), None, "freed by k1");
        assert_eq!(c.claim("k1", &[json!("jdoe2")], 4).map(|_| ()), None);
    }
}
