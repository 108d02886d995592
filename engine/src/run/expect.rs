//! A run that must reach a change set planned before (`rollcall apply
//! PLAN`): inside its transaction it checks that the store has not moved
//! since the plan, and after the pass that it read the same extract and
//! reached the same change set, by [`digest`]. Anything else rolls the run
//! back, unrecorded, and names what moved ([`Moved`]).

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Report;
use crate::diff::Change;
use crate::run::{InvalidRecord, Refusal};
use crate::store::{StoreLineage, Tx};
use crate::unique::Conflict;
use crate::vocabulary::Summary;

/// What a run applying a saved plan must find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The store's lineage and serial when the plan was made; `None` when
    /// there was no store yet (then nothing may have been applied since).
    pub store: Option<StoreLineage>,
    /// The store's path, for messages.
    pub store_path: String,
    /// The sha256 of the extract the plan read.
    pub extract_sha256: Option<String>,
    /// The extract's URI, for messages.
    pub extract_uri: String,
    /// The change set's [`digest`].
    pub digest: String,
}

/// What changed between a plan and its apply; the plan is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[diagnostic(
    code("rollcall::apply::stale-plan"),
    help(
        "the plan no longer describes what applying it would do; make a new plan \
         (`rollcall plan PIPELINE --out PLAN`), review it and apply that one"
    )
)]
pub enum Moved {
    /// The plan was made by another rollcall version.
    #[error("the plan was made by rollcall {planned}; this is rollcall {now}")]
    Version {
        /// The version that made the plan.
        planned: String,
        /// This version.
        now: String,
    },
    /// The pipeline file changed.
    #[error("the pipeline file {file} changed since the plan (sha256 {planned} then, {now} now)")]
    Pipeline {
        /// The pipeline file.
        file: String,
        /// Its sha256 when planned.
        planned: String,
        /// Its sha256 now.
        now: String,
    },
    /// The extract is not the one planned.
    #[error(
        "the extract changed since the plan: {planned_uri} (sha256 {planned}) then, {now_uri} (sha256 {now}) now"
    )]
    Extract {
        /// The extract planned.
        planned_uri: String,
        /// Its sha256.
        planned: String,
        /// The extract found now.
        now_uri: String,
        /// Its sha256.
        now: String,
    },
    /// The state store is another one, or a run changed it since the plan.
    #[error("the state store {path} moved since the plan: {what}")]
    Store {
        /// The store.
        path: String,
        /// Lineage and serial then and now.
        what: String,
    },
    /// The same inputs gave another change set (a schema or lookup file the
    /// pipeline reads changed, or the clock-dependent rules).
    #[error("the change set differs from the plan's (digest {planned} planned, {now} now)")]
    ChangeSet {
        /// The plan's digest.
        planned: String,
        /// This run's.
        now: String,
    },
}

/// The part of a report a digest covers: what the run writes. Person and
/// role ids are left out: a plan cannot know the ids new rows will get.
#[derive(Serialize)]
struct ChangeSet<'a> {
    summary: Summary,
    passed: bool,
    changes: &'a [Change],
    invalid: &'a [InvalidRecord],
    conflicts: &'a [Conflict],
    refused: &'a [Refusal],
    transitions: Vec<serde_json::Value>,
    purged: Vec<i64>,
}

/// The sha256 (hex) of a report's change set: its counts, the gate's
/// verdict, every record change, refusal and registry transition.
pub fn digest(report: &Report) -> String {
    let mut transitions: Vec<serde_json::Value> = report
        .registry
        .transitions
        .iter()
        .map(|t| {
            serde_json::json!([
                t.role
                    .as_ref()
                    .map(|r| (&r.pipeline, &r.key, r.ordinal, &r.scope)),
                t.from,
                t.to,
                t.cause,
                t.purge_at,
                t.limbo.as_ref().map(|l| (&l.from, &l.to)),
            ])
        })
        .collect();
    // A run lists the persons' transitions in the order of their ids, which
    // a plan does not know for the persons it would create: compared as a set.
    transitions.sort_by_cached_key(|t| t.to_string());
    let set = ChangeSet {
        summary: report.summary,
        passed: report.integrity.passed,
        changes: &report.changes,
        invalid: &report.invalid,
        conflicts: &report.conflicts,
        refused: &report.refused,
        transitions,
        purged: {
            let mut purged: Vec<i64> = report.registry.purged.iter().map(|p| p.person).collect();
            purged.sort_unstable();
            purged
        },
    };
    let bytes = serde_json::to_vec(&set).expect("a change set is JSON");
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Expected {
    /// Before the pass, in the run's transaction: the store is the one
    /// planned against, at the same serial.
    pub(super) fn check_store(&self, tx: &Tx<'_>) -> Result<(), super::RunError> {
        let now = tx.lineage()?;
        match store_moved(self.store.as_ref(), &now, &self.store_path) {
            Some(moved) => Err(moved.into()),
            None => Ok(()),
        }
    }

    /// After the pass: the same extract, the same change set.
    pub(super) fn check_report(&self, report: &Report) -> Result<(), Moved> {
        if report.source.sha256 != self.extract_sha256 {
            let text = |sha: &Option<String>| sha.clone().unwrap_or_else(|| "unknown".into());
            return Err(Moved::Extract {
                planned_uri: self.extract_uri.clone(),
                planned: text(&self.extract_sha256),
                now_uri: report.source.uri.clone(),
                now: text(&report.source.sha256),
            });
        }
        let now = digest(report);
        if now != self.digest {
            return Err(Moved::ChangeSet {
                planned: self.digest.clone(),
                now,
            });
        }
        Ok(())
    }
}

/// How the store moved from `planned` to `now`, if it did. A plan made
/// without a store holds while nothing has been applied to the new one.
pub fn store_moved(
    planned: Option<&StoreLineage>,
    now: &StoreLineage,
    path: &str,
) -> Option<Moved> {
    let what = match planned {
        None if now.serial == 0 => return None,
        None => format!(
            "the plan was made before it existed, and {}",
            runs_applied(now.serial)
        ),
        Some(planned) if planned.lineage != now.lineage => format!(
            "it is another store (lineage {} planned, {} now)",
            planned.lineage, now.lineage
        ),
        Some(planned) if planned.serial != now.serial => format!(
            "{} (serial {} planned, {} now)",
            runs_applied(now.serial - planned.serial),
            planned.serial,
            now.serial
        ),
        Some(_) => return None,
    };
    Some(Moved::Store {
        path: path.to_owned(),
        what,
    })
}

/// "1 run was applied to it", "2 runs were applied to it".
fn runs_applied(count: i64) -> String {
    if count == 1 {
        "1 run was applied to it".to_owned()
    } else {
        format!("{count} runs were applied to it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::report::{Cause, Transition};

    fn report(transitions: Vec<Transition>) -> Report {
        Report {
            pipeline: "p".into(),
            run_id: None,
            outcome: crate::vocabulary::Outcome::Planned,
            overridden: false,
            source: Default::default(),
            summary: Default::default(),
            integrity: Default::default(),
            changes: Vec::new(),
            invalid: Vec::new(),
            registry: crate::registry::RegistryReport {
                transitions,
                ..Default::default()
            },
            lookups: Vec::new(),
            conflicts: Vec::new(),
            refused: Vec::new(),
            actions: Vec::new(),
            deliveries: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn transition(person: Option<i64>, cause: Cause) -> Transition {
        Transition {
            person,
            role: None,
            from: "active".into(),
            to: "suspended".into(),
            limbo: None,
            purge_at: None,
            cause,
        }
    }

    /// A plan names the persons it would create `null` and lists them
    /// first; the run that applies it has their ids and orders by them.
    #[test]
    fn the_digest_ignores_new_persons_ids_and_the_order_of_transitions() {
        let planned = report(vec![
            transition(None, Cause::Status),
            transition(Some(13), Cause::Removed),
        ]);
        let applied = report(vec![
            transition(Some(13), Cause::Removed),
            transition(Some(85), Cause::Status),
        ]);
        assert_eq!(digest(&planned), digest(&applied));
        let other = report(vec![
            transition(Some(13), Cause::Removed),
            transition(Some(85), Cause::Removed),
        ]);
        assert_ne!(digest(&planned), digest(&other));
    }
}
