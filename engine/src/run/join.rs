//! Stage 4, join: each lookup's fields are appended and the `derive`
//! fields computed (`lookup::Joins`); then a record that is a removal
//! (`lifecycle { remove-when ... }`) and one whose `unique` value is taken
//! are told apart from the records that go on to the diff.

use serde_json::Value;

use super::Refusal;
use super::actions::Fold;
use super::diff::Prior;
use super::map::note_invalid;
use super::{RunError, Tally};
use crate::lookup::Joins;
use crate::mapping::{Mapped, MappedRecord};
use crate::plan::Plan;
use crate::unique::Claims;

/// Joins a mapped record. Filtered and invalid records are counted (an
/// invalid record's key is held: neither updated nor removed) and give
/// `None`.
pub(super) fn join(
    joins: &mut Joins<'_>,
    mapped: Mapped,
    line: u64,
    prior: &mut Prior,
    fold: Option<&mut Fold<'_>>,
    tally: &mut Tally,
) -> Result<Option<MappedRecord>, RunError> {
    let record = match joins.join(mapped, line) {
        Mapped::Filtered => {
            tally.summary.filtered += 1;
            return Ok(None);
        }
        Mapped::Invalid(bad) => {
            tally.summary.invalid += 1;
            match (&bad.key, fold) {
                // A change file's key is held once its rows are folded.
                (Some(key), Some(fold)) => fold.hold(key, line, prior),
                (Some(key), None) => tally.summary.held += u64::from(prior.hold(key, line)?),
                (None, _) => tally.unkeyed += 1,
            }
            note_invalid(&mut tally.invalid, line, bad.key, bad.problems);
            return Ok(None);
        }
        Mapped::Record(record) => record,
    };
    if let Some(fold) = fold
        && !fold.check(&record.values, line, prior, tally)
    {
        return Ok(None);
    }
    tally.summary.valid += 1;
    Ok(Some(record))
}

/// Where a joined record goes next.
pub(super) enum Screened {
    /// On to the diff.
    Diff,
    /// It says its key is gone: the key is removed.
    Remove,
    /// Nothing more to do (a removal of a key not present, or a record
    /// refused for a unique value already taken).
    Skip,
}

/// Tells a removal record and a unique conflict from an ordinary record.
pub(super) fn screen(
    plan: &Plan,
    key: &str,
    values: &[Value],
    line: u64,
    prior: &mut Prior,
    claims: &mut Claims,
    tally: &mut Tally,
) -> Result<Screened, RunError> {
    if let Some(reason) = unknown(plan, key, values, prior) {
        tally.summary.held += u64::from(prior.hold(key, line)?);
        let key = key.to_owned();
        tally.refused.push(Refusal { line, key, reason });
        return Ok(Screened::Skip);
    }
    if plan.removal.iter().any(|test| test.keeps(values)) {
        return Ok(if prior.hold(key, line)? {
            Screened::Remove
        } else {
            Screened::Skip
        });
    }
    if let Some(conflict) = claims.claim(key, values, line) {
        tally.summary.held += u64::from(prior.hold(key, line)?);
        tally.conflicts.push(conflict);
        return Ok(Screened::Skip);
    }
    Ok(Screened::Diff)
}

/// Why a record needs a key that is not known: its own (`known-when`), or
/// one a `refers-to-key` field names; `None` when all are known.
fn unknown(plan: &Plan, key: &str, values: &[Value], prior: &mut Prior) -> Option<String> {
    if plan.known.iter().any(|test| test.keeps(values)) && !prior.state.knows(key) {
        return Some("the key is not known: there is nothing to change or remove".into());
    }
    for (index, name) in &plan.references {
        let target = crate::mapping::value_text(&values[*index]);
        if !target.is_empty() && !prior.state.knows(&target) {
            return Some(format!("{name} {target:?} is not a known key"));
        }
    }
    None
}
