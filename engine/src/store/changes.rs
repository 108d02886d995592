//! The change log: one row per record a run created, updated, removed or
//! reinstated, with the changed fields before and after, and the rule that
//! decided it ([`Why`]) where a rule did.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
