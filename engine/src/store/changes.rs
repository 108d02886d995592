//! The change log: one row per record a run created, updated, removed or
//! reinstated, with the changed fields before and after, and the rule that
//! decided it ([`Why`]) where a rule did.
//!
//! A creation is stored without its values (`after`): they are the
//! record's stored fields, or, once the record changed, those fields with
//! every later update's `before` put back ([`creation_values`]). A first
//! load thus writes each record's values once, not twice; backends fill
//! `after` in again on every read, so readers never see the difference.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Result;

/// One entry of the change log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeRow {
    /// The run that made the change.
    pub run_id: i64,
    /// The pipeline.
    pub pipeline: String,
    /// The source key, when the change concerns a record.
    pub source_key: Option<String>,
    /// The person concerned.
    pub person_id: Option<i64>,
    /// `create`, `update`, `remove`, `reinstate`, ...
    pub action: String,
    /// Changed fields before (JSON object), if any.
    pub before: Option<Value>,
    /// Changed fields after (JSON object), if any.
    pub after: Option<Value>,
    /// The rule that decided the change, as the run knew it (`None`: the
    /// record said so, or the entry predates the column).
    pub why: Option<Why>,
}

/// The rule behind a change, recorded with it so `rollcall explain` needs
/// neither the pipeline file nor the time it ran at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Why {
    /// The record left the source (absent, or `remove-when`): its roles took
    /// the lifecycle's `on-removal` status, after a `grace-period` when
    /// there is one.
    OnRemoval {
        /// The status `on-removal` gives.
        status: String,
        /// The grace period in seconds (`None`: none).
        grace_period: Option<u64>,
        /// When that grace period ends.
        grace_until: Option<String>,
    },
    /// A new key joined a person who already existed (the same key in
    /// another pipeline of the system, or the match strategy).
    Linked {
        /// `system`, `email`, `identifier` or `external`.
        by: String,
    },
    /// A role's grace period ended; it took the status that follows it.
    GracePeriodEnded {
        /// When it ended.
        grace_until: Option<String>,
        /// The status it took.
        status: String,
    },
    /// No live role left: deactivated, into limbo with a purge time, per
    /// the lifecycle of the pipeline whose role ended.
    Limbo {
        /// The limbo scope (`None`: the lifecycle names none).
        limbo: Option<String>,
        /// `purge-after` in seconds (`None`: never purged).
        purge_after: Option<u64>,
        /// When the person will be purged.
        purge_at: Option<String>,
        /// When they became inactive.
        inactive_since: Option<String>,
    },
    /// A live role again (the key came back, or a new key linked to the
    /// person): reinstated, out of limbo, purge time cleared.
    Reinstated,
    /// The record's own status (the role's `status` map) ended the roles:
    /// kept, no limbo, no purge time.
    RecordStatus,
    /// The roles' validity dates, at the run's time.
    Validity,
    /// The person's roles changed, without leaving or entering limbo.
    Roles,
    /// `purge-after` passed since the person became inactive.
    PurgeAfter {
        /// Since when they were inactive.
        inactive_since: Option<String>,
        /// When they were due.
        purge_at: Option<String>,
        /// Who ran `rollcall purge` (`None`: a pipeline's run purged them).
        by: Option<String>,
    },
    /// Frozen values a sync kept although the source says otherwise.
    FrozenHeld {
        /// Each value held.
        held: Vec<HeldValue>,
    },
    /// An operator's command (`freeze`, `unfreeze`, `purge`).
    Operator {
        /// Who ran it.
        by: String,
        /// Why, as they said.
        reason: Option<String>,
    },
}

/// One frozen value a sync kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldValue {
    /// The frozen attribute (`title`, `role.7.title`, `role.7`).
    pub attribute: String,
    /// The value kept.
    pub frozen: Value,
    /// What the source says.
    pub incoming: Value,
    /// Who froze it.
    pub frozen_by: String,
    /// Why.
    pub reason: Option<String>,
}

/// The change log: appended to by a run, read by `show`, `person`, `explain`
/// and `deliver`.
pub trait Changes {
    /// Appends one entry to the change log.
    fn log_change(&self, change: &ChangeRow) -> Result<()>;

    /// The change log of one record, oldest first.
    fn changes_of(&self, pipeline: &str, key: &str) -> Result<Vec<ChangeRow>>;

    /// The change log entries about one person, oldest first.
    fn changes_of_person(&self, person: i64) -> Result<Vec<ChangeRow>>;
}

/// The actions whose `before` and `after` are the record's own fields
/// (a `resync` row holds person attributes instead).
const FIELD_ACTIONS: [&str; 2] = ["update", "reinstate"];

/// Whether a backend stores `change` without its `after` values, because
/// [`creation_values`] gives them back from the record.
pub fn stored_without_values(change: &ChangeRow) -> bool {
    change.action == "create" && change.source_key.is_some()
}

/// The values a record was created with: `current` (its stored fields)
/// with the `before` of each field change in `later` (the record's log
/// after its creation, oldest first) put back, newest first. `None` when
/// the record is gone (purged), or was created again later, since then
/// its first values are no longer recorded anywhere.
pub fn creation_values(current: Option<Map<String, Value>>, later: &[ChangeRow]) -> Option<Value> {
    let mut fields = current?;
    if later.iter().any(|row| row.action == "create") {
        return None;
    }
    let undone = later
        .iter()
        .rev()
        .filter(|row| FIELD_ACTIONS.contains(&row.action.as_str()));
    for row in undone {
        if let Some(Value::Object(before)) = &row.before {
            for (name, value) in before {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
    Some(Value::Object(fields))
}

/// Fills in the `after` of every creation in `rows` (one record's whole log,
/// oldest first) from the record's stored fields.
pub fn restore_creations(rows: &mut [ChangeRow], current: Option<&Map<String, Value>>) {
    for at in 0..rows.len() {
        if rows[at].after.is_none() && stored_without_values(&rows[at]) {
            let values = creation_values(current.cloned(), &rows[at + 1..]);
            rows[at].after = values;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(action: &str, before: Option<Value>, after: Option<Value>) -> ChangeRow {
        ChangeRow {
            run_id: 1,
            pipeline: "p".into(),
            source_key: Some("k".into()),
            person_id: Some(1),
            action: action.into(),
            before,
            after,
            why: None,
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_creation_gets_the_stored_fields_with_later_updates_undone() {
        let mut rows = vec![
            row("create", None, None),
            row(
                "update",
                Some(json!({"last": "Lee"})),
                Some(json!({"last": "Ray"})),
            ),
            row(
                "resync",
                Some(json!({"role.7.title": "x"})),
                Some(json!({"role.7.title": "y"})),
            ),
            row("remove", None, None),
            row(
                "reinstate",
                Some(json!({"dept": "HR"})),
                Some(json!({"dept": "IT"})),
            ),
        ];
        let current = object(json!({"first": "Liam", "last": "Ray", "dept": "IT"}));
        restore_creations(&mut rows, Some(&current));
        assert_eq!(
            rows[0].after,
            Some(json!({"first": "Liam", "last": "Lee", "dept": "HR"}))
        );
        assert_eq!(
            rows[1].after,
            Some(json!({"last": "Ray"})),
            "others untouched"
        );
    }

    #[test]
    fn a_creation_of_a_purged_or_recreated_record_has_no_values() {
        let mut rows = vec![row("create", None, None)];
        restore_creations(&mut rows, None);
        assert_eq!(rows[0].after, None);

        let mut rows = vec![
            row("create", None, None),
            row("purge", None, None),
            row("create", None, None),
        ];
        let current = object(json!({"first": "Ana"}));
        restore_creations(&mut rows, Some(&current));
        assert_eq!(
            rows[0].after, None,
            "the first incarnation's values are gone"
        );
        assert_eq!(rows[2].after, Some(json!({"first": "Ana"})));
    }

    #[test]
    fn only_record_creations_are_stored_without_values() {
        assert!(stored_without_values(&row("create", None, Some(json!({})))));
        assert!(!stored_without_values(&row("update", None, None)));
        let mut person = row("create", None, None);
        person.source_key = None;
        assert!(!stored_without_values(&person));
    }
}
