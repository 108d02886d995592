//! `rollcall explain`: a person's or a record's history told as a timeline
//! of runs, each with its time, outcome and extract (uri, sha256), the
//! changes it made and the rule behind each ([`crate::store::Why`]), from
//! the change log alone: no pipeline file is needed.

use serde::Serialize;

use crate::store::{ChangeRow, PersonRow, Result, RunRow, StoredRecord, Tx};

/// What a timeline is about.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Subject {
    /// A person, by id.
    Person {
        /// The person's id.
        id: i64,
        /// The person as stored now (`None`: purged).
        current: Option<PersonRow>,
    },
    /// A pipeline's record, by key.
    Record {
        /// The pipeline.
        pipeline: String,
        /// The source key.
        key: String,
        /// The record as stored now (`None`: purged).
        current: Option<StoredRecord>,
    },
}

/// One run of a timeline and what it did to the subject.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The run (its checks included); `None` when its row is missing.
    pub run: Option<RunRow>,
    /// The run's id.
    pub run_id: i64,
    /// Whether it is an operator's command (`@freeze`, `@unfreeze`, `@purge`).
    pub operator: bool,
    /// Its change log entries about the subject, in the order written.
    pub changes: Vec<ChangeRow>,
}

/// A subject's history, oldest run first.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// What it is about.
    pub subject: Subject,
    /// The runs that changed it.
    pub steps: Vec<Step>,
}

/// The timeline of a person; `None` when the store has never held them.
pub fn person(tx: &Tx<'_>, id: i64) -> Result<Option<Timeline>> {
    let current = tx.person(id)?;
    let changes = tx.changes_of_person(id)?;
    if current.is_none() && changes.is_empty() {
        return Ok(None);
    }
    Ok(Some(Timeline {
        subject: Subject::Person { id, current },
        steps: steps(tx, changes)?,
    }))
}

/// The timeline of a pipeline's record, with what the runs did to its
/// person as a whole (status, limbo, freezes); `None` when the store has
/// never held the key.
pub fn record(tx: &Tx<'_>, pipeline: &str, key: &str) -> Result<Option<Timeline>> {
    let current = tx.record(pipeline, key)?;
    let mut changes = tx.changes_of(pipeline, key)?;
    if current.is_none() && changes.is_empty() {
        return Ok(None);
    }
    // The person's story starts for this record with its first entry.
    let first_run = changes.iter().map(|c| c.run_id).min().unwrap_or(i64::MAX);
    let mut persons: Vec<i64> = changes.iter().filter_map(|c| c.person_id).collect();
    persons.extend(current.as_ref().and_then(|r| r.person_id));
    persons.sort_unstable();
    persons.dedup();
    for person in persons {
        // The person's own entries; those of their other records are not
        // this record's story.
        changes.extend(
            tx.changes_of_person(person)?
                .into_iter()
                .filter(|c| c.source_key.is_none() && c.run_id >= first_run),
        );
    }
    Ok(Some(Timeline {
        subject: Subject::Record {
            pipeline: pipeline.to_owned(),
            key: key.to_owned(),
            current,
        },
        steps: steps(tx, changes)?,
    }))
}

/// Changes grouped by run, oldest run first; within a run the order they
/// were given in (a run logs its records before its persons' statuses).
fn steps(tx: &Tx<'_>, mut changes: Vec<ChangeRow>) -> Result<Vec<Step>> {
    changes.sort_by_key(|c| c.run_id);
    let mut steps: Vec<Step> = Vec::new();
    for change in changes {
        match steps.last_mut() {
            Some(step) if step.run_id == change.run_id => step.changes.push(change),
            _ => {
                let run = tx.run(change.run_id)?;
                steps.push(Step {
                    operator: run.as_ref().is_some_and(|r| r.pipeline.starts_with('@')),
                    run,
                    run_id: change.run_id,
                    changes: vec![change],
                });
            }
        }
    }
    Ok(steps)
}
