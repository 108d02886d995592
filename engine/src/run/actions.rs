//! Stage 4b, actions: the rows of a change file (`lifecycle { actions ...
//! }`) folded per key in file order. Each row adds, modifies or deletes its
//! key as the key stands after the rows before it, so several rows of one
//! key end in the state the last one leaves; a row that does not fit (an
//! add of a present key, a modify or delete of an unknown one) is refused
//! or accepted as the policy says, and reported either way.
//!
//! What is folded is applied once per key at the end of the stream, in the
//! order keys first appear, through the ordinary diff and registry steps:
//! `plan` and `run` see one net change per key, and neither reads back what
//! the same run wrote. The fold holds the last values of each key the file
//! mentions: a change file's size, not the store's.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::Tally;
use super::diff::Prior;
use super::map::note_invalid;
use crate::mapping;
use crate::plan::{Act, ActionColumn};
use rollcall_model::ActionPolicy;

/// A row whose action did not fit its key, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionNote {
    /// Line of the row.
    pub line: u64,
    /// Its key.
    pub key: String,
    /// What the row said to do.
    pub action: Act,
    /// What did not fit: `add-existing` or `unknown-key`.
    pub problem: &'static str,
    /// `refused` (the row did nothing) or `accepted` (applied as `applied_as`).
    pub outcome: &'static str,
    /// The action it was applied as, when accepted and not a no-op.
    pub applied_as: Option<Act>,
    /// One sentence for people.
    pub detail: String,
}

/// Where a key stands after the rows read so far.
enum State {
    /// No row has changed it (yet): as the store had it.
    Untouched,
    /// Present with these values (and raw record).
    Present(Vec<Value>, Option<Value>),
    /// Deleted by a row.
    Deleted,
}

/// One key of the change file.
struct Pending {
    key: String,
    /// Present in the store before the run.
    known_before: bool,
    state: State,
    /// The line of the last row that changed it.
    line: u64,
    /// Its values build on the stored record (only modifies so far), so
    /// `keep-missing` fields left null take the stored value.
    from_store: bool,
    /// An invalid row of this key: none of its rows apply.
    held: bool,
}

impl Pending {
    fn exists(&self) -> bool {
        match self.state {
            State::Untouched => self.known_before,
            State::Present(..) => true,
            State::Deleted => false,
        }
    }
}

/// What a key comes to once the whole file is read.
pub(super) enum Outcome {
    /// Held (an invalid row) or untouched (every row refused).
    Hold,
    /// Present with these values; `from_store`: fill `keep-missing` fields.
    Present {
        values: Vec<Value>,
        raw: Option<Value>,
        from_store: bool,
    },
    /// Gone: removed if the store had it.
    Deleted,
}

/// The change file's keys, folded row by row.
pub(super) struct Fold<'a> {
    column: &'a ActionColumn,
    keep_missing: &'a [usize],
    key_index: usize,
    keys: Vec<Pending>,
    positions: HashMap<String, usize>,
}

impl<'a> Fold<'a> {
    /// An empty fold for a pipeline's action column.
    pub fn new(column: &'a ActionColumn, keep_missing: &'a [usize], key_index: usize) -> Self {
        Fold {
            column,
            keep_missing,
            key_index,
            keys: Vec::new(),
            positions: HashMap::new(),
        }
    }

    fn pending(&mut self, key: &str, line: u64, prior: &mut Prior) -> &mut Pending {
        let position = match self.positions.get(key) {
            Some(&position) => position,
            None => {
                self.keys.push(Pending {
                    key: key.to_owned(),
                    known_before: prior.state.knows(key),
                    state: State::Untouched,
                    line,
                    from_store: true,
                    held: false,
                });
                self.positions.insert(key.to_owned(), self.keys.len() - 1);
                self.keys.len() - 1
            }
        };
        &mut self.keys[position]
    }

    /// An invalid row of `key`: the key is held, none of its rows apply.
    pub fn hold(&mut self, key: &str, line: u64, prior: &mut Prior) {
        self.pending(key, line, prior).held = true;
    }

    /// Checks a valid row's action value. One that is none of the declared
    /// values makes the row invalid (counted, noted, its key held): `false`.
    pub fn check(
        &mut self,
        values: &[Value],
        line: u64,
        prior: &mut Prior,
        tally: &mut Tally,
    ) -> bool {
        if self.column.act(values).is_some() {
            return true;
        }
        let key = mapping::value_text(&values[self.key_index]).into_owned();
        let declared: Vec<String> = self
            .column
            .values
            .iter()
            .map(|(v, _)| format!("{v:?}"))
            .collect();
        let problem = format!(
            "action field {} is {:?}, none of the declared actions ({})",
            self.column.field,
            mapping::value_text(&values[self.column.index]),
            declared.join(", ")
        );
        tally.summary.invalid += 1;
        self.hold(&key, line, prior);
        note_invalid(&mut tally.invalid, line, Some(key), vec![problem]);
        false
    }

    /// Folds one valid row (whose action [`Fold::check`] accepted) into its key.
    pub fn row(
        &mut self,
        mut values: Vec<Value>,
        raw: Option<Value>,
        line: u64,
        prior: &mut Prior,
        tally: &mut Tally,
    ) {
        let Some(act) = self.column.act(&values) else {
            return;
        };
        // The action says what to do with the record, not what it is.
        values[self.column.index] = Value::Null;
        let key = mapping::value_text(&values[self.key_index]).into_owned();
        let (add_existing, unknown_key) = (self.column.add_existing, self.column.unknown_key);
        let keep_missing = self.keep_missing;
        let pending = self.pending(&key, line, prior);
        if pending.held {
            return;
        }
        let exists = pending.exists();
        let fits = match act {
            Act::Add if exists => Err(("add-existing", add_existing, Some(Act::Modify))),
            Act::Modify if !exists => Err(("unknown-key", unknown_key, Some(Act::Add))),
            Act::Delete if !exists => Err(("unknown-key", unknown_key, None)),
            _ => Ok(act),
        };
        let act = match fits {
            Ok(act) => act,
            Err((problem, policy, instead)) => {
                let accepted = policy == ActionPolicy::Accept;
                tally
                    .actions
                    .push(note(line, &key, act, problem, accepted, instead));
                match (accepted, instead) {
                    (true, Some(instead)) => instead,
                    _ => return,
                }
            }
        };
        pending.line = line;
        match act {
            Act::Add => {
                pending.state = State::Present(values, raw);
                pending.from_store = false;
            }
            Act::Modify => {
                if let State::Present(before, _) = &pending.state {
                    for &index in keep_missing {
                        if values[index].is_null() {
                            values[index] = before[index].clone();
                        }
                    }
                }
                pending.state = State::Present(values, raw);
            }
            Act::Delete => pending.state = State::Deleted,
        }
    }

    /// Every key the file mentioned, in the order of its first row, with
    /// what it comes to and the line of the row that decided it.
    pub fn finish(self) -> impl Iterator<Item = (String, u64, bool, Outcome)> {
        self.keys.into_iter().map(|pending| {
            let outcome = match pending.state {
                _ if pending.held => Outcome::Hold,
                State::Untouched => Outcome::Hold,
                State::Present(values, raw) => Outcome::Present {
                    values,
                    raw,
                    from_store: pending.from_store,
                },
                State::Deleted => Outcome::Deleted,
            };
            (pending.key, pending.line, pending.known_before, outcome)
        })
    }
}

/// The report's entry for a row that did not fit its key.
fn note(
    line: u64,
    key: &str,
    action: Act,
    problem: &'static str,
    accepted: bool,
    instead: Option<Act>,
) -> ActionNote {
    let what = match problem {
        "add-existing" => "add of a key that is already present",
        _ => match action {
            Act::Delete => "delete of a key that is not present",
            _ => "modify of a key that is not present",
        },
    };
    let detail = match (accepted, instead) {
        (false, _) => what.to_owned(),
        (true, Some(instead)) => format!(
            "{what}: applied as {} {}",
            article(instead),
            instead.as_str()
        ),
        (true, None) => format!("{what}: nothing to delete"),
    };
    ActionNote {
        line,
        key: key.to_owned(),
        action,
        problem,
        outcome: if accepted { "accepted" } else { "refused" },
        applied_as: instead.filter(|_| accepted),
        detail,
    }
}

fn article(act: Act) -> &'static str {
    match act {
        Act::Add => "an",
        _ => "a",
    }
}
