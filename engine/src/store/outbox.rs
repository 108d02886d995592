//! The outbox of targets: what each target still has to be told, and which
//! of a target's objects rollcall owns (created, or adopted by a declared
//! match). Queued in a run's transaction, marked as a target accepts it, so
//! a delivery that stops anywhere resumes on the next `run` or `deliver`.

use super::Result;

/// One queued delivery: a committed run whose state a target has not yet
/// accepted in full.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxRow {
    /// Row id (queue order).
    pub id: i64,
    /// The target's name.
    pub target: String,
    /// The system whose persons the target holds.
    pub system: String,
    /// The pipeline whose run queued it.
    pub pipeline: String,
    /// That run.
    pub run: i64,
    /// When it was queued.
    pub queued_at: String,
    /// Deliveries tried and not finished.
    pub attempts: i64,
    /// Why the last attempt did not finish, if it did not.
    pub error: Option<String>,
}

/// An object of a target that rollcall owns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OwnedObject {
    /// The target's name.
    pub target: String,
    /// The system whose persons the target holds.
    pub system: String,
    /// `person` or `group`.
    pub kind: String,
    /// What it stands for: a person id, or a group's name.
    pub key: String,
    /// The directory's handle (SCIM id, LDAP DN); `None` while its creation
    /// is in flight (written before the create is sent, so an object the
    /// server made before a crash is recognised as ours, not foreign).
    pub object_id: Option<String>,
    /// Its name as last written (userName, displayName or DN).
    pub name: String,
}

/// The outbox and the ownership of target objects.
pub trait Outbox {
    /// Queues a delivery of `run` to `target` (in the run's transaction).
    fn queue_delivery(
        &self,
        target: &str,
        system: &str,
        pipeline: &str,
        run: i64,
        at: &str,
    ) -> Result<()>;

    /// Queued deliveries not yet accepted, for the targets of `system`, oldest first.
    fn pending_deliveries(&self, system: &str) -> Result<Vec<OutboxRow>>;

    /// Queued deliveries not yet accepted that `pipeline`'s runs queued, oldest first.
    fn pending_of_pipeline(&self, pipeline: &str) -> Result<Vec<OutboxRow>>;

    /// Marks a target's queued deliveries up to row `last` as accepted.
    fn deliveries_accepted(&self, target: &str, system: &str, last: i64, at: &str) -> Result<()>;

    /// Counts an attempt that did not finish on a target's queued deliveries, with why.
    fn delivery_failed(&self, target: &str, system: &str, error: &str) -> Result<()>;

    /// The objects of a target that rollcall owns.
    fn owned_objects(&self, target: &str, system: &str) -> Result<Vec<OwnedObject>>;

    /// Records (or rewrites) one owned object.
    fn own_object(&self, object: &OwnedObject) -> Result<()>;

    /// Forgets an owned object (it was deleted).
    fn disown_object(&self, target: &str, system: &str, kind: &str, key: &str) -> Result<()>;

    /// The persons linked to any record of `system` (present or removed), by id.
    fn system_persons(&self, system: &str) -> Result<Vec<i64>>;
}
