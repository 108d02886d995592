//! Stage 5, diff: each record's fingerprint is compared with the prior
//! state's (`diff::PriorState`). Same hash: unchanged. New key: create.
//! Different hash: the stored fields are read for that one record and
//! compared field by field. A key seen twice is an error naming both lines.

use std::collections::BTreeSet;

use serde_json::Value;

use super::RunError;
use crate::diff::{self, Action, FieldChange, PriorState, Seen};
use crate::mapping;
use crate::plan::Plan;
use crate::store::Tx;
use crate::vocabulary::Fingerprint;

/// The prior state, and the extract's name for duplicate-key errors.
pub(super) struct Prior {
    /// What the store knew before the run, and the keys seen since.
    pub state: PriorState,
    file: String,
}

impl Prior {
    /// Wraps the prior state loaded for the extract `file`.
    pub fn new(state: PriorState, file: &str) -> Prior {
        Prior {
            state,
            file: file.to_owned(),
        }
    }

    /// Marks a key seen without comparing it (see [`PriorState::hold`]):
    /// true when it was present before.
    pub fn hold(&mut self, key: &str, line: u64) -> Result<bool, RunError> {
        self.state
            .hold(key, line)
            .map_err(|dup| duplicate(&self.file, key, dup.first_line, line))
    }

    /// Compares a record's fingerprint with the prior state's.
    fn see(&mut self, key: &str, fingerprint: Fingerprint, line: u64) -> Result<Seen, RunError> {
        self.state
            .see(key, fingerprint, line)
            .map_err(|dup| duplicate(&self.file, key, dup.first_line, line))
    }
}

/// What the diff makes of a record.
pub(super) enum Compared {
    /// Same fingerprint: nothing to do.
    Unchanged,
    /// Same fingerprint, but `--resync` asks for it to be applied again.
    Resync,
    /// A change to write.
    Write(Action),
}

/// A record's fingerprint: taken on the decoding thread when joining adds
/// nothing to its values, else here (`scratch` is reused between records).
pub(super) fn fingerprint(
    decoded: Option<Fingerprint>,
    values: &[Value],
    scratch: &mut Vec<u8>,
) -> Fingerprint {
    decoded.unwrap_or_else(|| {
        scratch.clear();
        mapping::encode_fields(values, scratch);
        diff::fingerprint(scratch)
    })
}

/// Compares a record with the prior state.
pub(super) fn compare(
    prior: &mut Prior,
    key: &str,
    fingerprint: Fingerprint,
    line: u64,
    resync: &mut Resync,
) -> Result<Compared, RunError> {
    let action = match prior.see(key, fingerprint, line)? {
        // Forced: the source did not change, but the person may have (an
        // unfrozen value, a lapsed freeze); write it again.
        Seen::Same if resync.wants(key) => return Ok(Compared::Resync),
        Seen::Same => return Ok(Compared::Unchanged),
        Seen::New => Action::Create,
        Seen::Changed => Action::Update,
        Seen::Returning => Action::Reinstate,
    };
    resync.wants(key);
    Ok(Compared::Write(action))
}

/// The fields a change touches: all of them for a create, else those that
/// differ from the stored record's.
pub(super) fn fields(
    action: Action,
    tx: &Tx<'_>,
    plan: &Plan,
    key: &str,
    values: &[Value],
) -> Result<Vec<FieldChange>, RunError> {
    let names = plan.field_names();
    Ok(match action {
        Action::Create => diff::created_fields(names, values),
        _ => {
            let before = tx.record_fields(&plan.name, key)?.unwrap_or_default();
            diff::changed_fields(names, &before, values)
        }
    })
}

/// Gives each missing (null) `keep-missing` field the value stored for the
/// key, so a change file that omits a field leaves it as it is. True when
/// a value was filled.
pub(super) fn keep_missing(
    tx: &Tx<'_>,
    plan: &Plan,
    key_index: usize,
    values: &mut [Value],
) -> Result<bool, RunError> {
    if !plan
        .keep_missing
        .iter()
        .any(|&index| values[index].is_null())
    {
        return Ok(false);
    }
    let key = mapping::value_text(&values[key_index]).into_owned();
    let Some(before) = tx.record_fields(&plan.name, &key)? else {
        return Ok(false);
    };
    let names = plan.field_names();
    let mut filled = false;
    for &index in &plan.keep_missing {
        if values[index].is_null()
            && let Some(stored) = before.get(&names[index]).filter(|v| !v.is_null())
        {
            values[index] = stored.clone();
            filled = true;
        }
    }
    Ok(filled)
}

/// The keys present before and not in this extract, which it removes;
/// none when the pipeline says `absent keep` (an extract of changes only
/// says nothing about the keys it lacks).
pub(super) fn unseen<'p>(prior: &'p Prior, plan: &Plan) -> Vec<&'p str> {
    if plan.lifecycle.absent == rollcall_model::Absent::Remove {
        prior.state.unseen_present()
    } else {
        Vec::new()
    }
}

/// Which unchanged records `--resync` re-applies, and which named keys the
/// extract turned out not to have.
pub(super) struct Resync {
    all: bool,
    wanted: BTreeSet<String>,
}

impl Resync {
    /// Every record when `keys` is empty, these keys else, none without.
    pub fn new(keys: Option<&[String]>) -> Resync {
        Resync {
            all: keys.is_some_and(<[String]>::is_empty),
            wanted: keys.unwrap_or_default().iter().cloned().collect(),
        }
    }

    /// Whether the record with this key is to be re-applied; marks it found.
    fn wants(&mut self, key: &str) -> bool {
        self.all || self.wanted.remove(key)
    }

    /// Refuses the run when `--resync` named keys the extract lacks.
    pub fn check_found(self, file: &str) -> Result<(), RunError> {
        if self.wanted.is_empty() {
            return Ok(());
        }
        Err(RunError::ResyncKeys {
            file: file.to_owned(),
            keys: self.wanted.into_iter().collect(),
        })
    }
}

fn duplicate(file: &str, key: &str, first_line: u64, line: u64) -> RunError {
    RunError::DuplicateKey {
        file: file.to_owned(),
        key: key.to_owned(),
        first_line,
        line,
    }
}
