//! What the registry writes, behind one interface with two implementations:
//! [`StoreWriter`] writes into the run's open transaction (`run`), and
//! [`super::overlay::OverlayWriter`] keeps the same writes in memory
//! (`plan`, `purge --dry-run`), so the steps that decide them never ask
//! which of the two they are in.
//!
//! Reads go to the store as usual; a writer only answers for what it holds
//! that the store does not show yet (its `pending_*` methods). The store
//! writer holds nothing: its writes are in the transaction, where the
//! store's own reads see them.

use serde_json::{Map, Value};

use super::Result;
use super::config::{Config, Given};
use crate::store::{
    ChangeRow, Identity, IdentityKind, NewRecord, PersonState, PipelineLifecycle, Relation,
    RoleRow, RoleStatusRow, RoleValues, Tx,
};

/// A role as a plan left it: `(pipeline, key, ordinal, member)`.
pub(super) type RoleKey = (String, String, i64, String);

/// One identity as matching compares it: kind, type, match value.
pub(super) type IdentityKey = (IdentityKind, String, String);

/// The registry's writes, and what of them the store does not show yet.
pub(super) trait Writer {
    /// Stores a new key's record, linked to `person`.
    fn insert_record(
        &mut self,
        pipeline: &str,
        system: &str,
        person: i64,
        record: &NewRecord<'_>,
    ) -> Result<()>;

    /// Rewrites a known key's record, linked to `person`.
    fn update_record(&mut self, pipeline: &str, person: i64, record: &NewRecord<'_>) -> Result<()>;

    /// Marks a key removed; returns its person.
    fn remove_record(&mut self, pipeline: &str, key: &str) -> Result<Option<i64>>;

    /// A new active person with these attributes; returns their id
    /// (negative for one that exists only in memory).
    fn insert_person(&mut self, attributes: &Map<String, Value>) -> Result<i64>;

    /// Rewrites a person's attributes.
    fn set_person_attributes(&mut self, person: i64, attributes: &Map<String, Value>)
    -> Result<()>;

    /// Rewrites a person's status, limbo and lifecycle times.
    fn set_person_state(&mut self, person: i64, state: &PersonState) -> Result<()>;

    /// Purges a person with everything that is theirs.
    fn delete_person(&mut self, person: i64) -> Result<()>;

    /// Makes a record's identities exactly `given`; `fresh`: the record is
    /// new to the pipeline.
    fn sync_identities(
        &mut self,
        person: i64,
        pipeline: &str,
        key: &str,
        given: &[Identity],
        fresh: bool,
    ) -> Result<()>;

    /// A new role a record of `config`'s pipeline gives, with `(status,
    /// since)`; its id (`None` when it exists only in memory).
    fn insert_role(
        &mut self,
        person: i64,
        key: &str,
        role: &Given,
        config: &Config,
        status: (&str, &str),
    ) -> Result<Option<i64>>;

    /// Rewrites a role's attributes and person.
    fn set_role_values(&mut self, role: &RoleRow, person: i64, values: &RoleValues) -> Result<()>;

    /// Notes that a role a record gives again keeps its status, now held by `person`.
    fn keep_role_status(&mut self, role: &RoleRow, person: i64);

    /// Rewrites a role's status, held by `person`.
    fn set_role_status(
        &mut self,
        role: &RoleRow,
        person: i64,
        status: &RoleStatusRow,
    ) -> Result<()>;

    /// Sets (or empties) a stored role's manager or sponsor.
    fn set_role_link(&mut self, role: i64, relation: Relation, person: Option<i64>) -> Result<()>;

    /// Records the lifecycle a pipeline ran with.
    fn record_pipeline(
        &mut self,
        pipeline: &str,
        system: &str,
        lifecycle: &PipelineLifecycle,
    ) -> Result<()>;

    /// Appends to the change log.
    fn log(&mut self, change: ChangeRow) -> Result<()>;

    /// A person's state as written here and not yet in the store.
    fn pending_person(&self, person: i64) -> Option<&PersonState>;

    /// Persons whose state was written here and not yet in the store.
    fn pending_persons(&self) -> Vec<(i64, PersonState)>;

    /// A role's person and status as written here and not yet in the store.
    fn pending_role(&self, role: &RoleKey) -> Option<&(i64, String)>;

    /// The statuses of the roles written here for a person.
    fn pending_role_statuses(&self, person: i64) -> Vec<String>;

    /// The store's holders of a matchable identity, amended by the
    /// identities given and taken here.
    fn amend_candidates(&self, identity: IdentityKey, found: Vec<i64>) -> Vec<i64>;

    /// Whether a person was purged here.
    fn purged(&self, person: i64) -> bool;
}

/// Writes straight into a run's transaction.
pub(super) struct StoreWriter<'a, 't> {
    tx: &'a Tx<'t>,
    run: i64,
}

impl<'a, 't> StoreWriter<'a, 't> {
    /// A writer for `run`'s transaction.
    pub(super) fn new(tx: &'a Tx<'t>, run: i64) -> Self {
        StoreWriter { tx, run }
    }
}

impl Writer for StoreWriter<'_, '_> {
    fn insert_record(
        &mut self,
        pipeline: &str,
        system: &str,
        person: i64,
        record: &NewRecord<'_>,
    ) -> Result<()> {
        Ok(self
            .tx
            .insert_record(pipeline, system, person, self.run, record)?)
    }

    fn update_record(&mut self, pipeline: &str, person: i64, record: &NewRecord<'_>) -> Result<()> {
        Ok(self.tx.update_record(pipeline, person, self.run, record)?)
    }

    fn remove_record(&mut self, pipeline: &str, key: &str) -> Result<Option<i64>> {
        Ok(self.tx.remove_record(pipeline, key, self.run)?)
    }

    fn insert_person(&mut self, attributes: &Map<String, Value>) -> Result<i64> {
        Ok(self.tx.insert_person(attributes, self.run)?)
    }

    fn set_person_attributes(
        &mut self,
        person: i64,
        attributes: &Map<String, Value>,
    ) -> Result<()> {
        Ok(self
            .tx
            .set_person_attributes(person, attributes, self.run)?)
    }

    fn set_person_state(&mut self, person: i64, state: &PersonState) -> Result<()> {
        Ok(self.tx.set_person_state(person, state, self.run)?)
    }

    fn delete_person(&mut self, person: i64) -> Result<()> {
        Ok(self.tx.delete_person(person)?)
    }

    fn sync_identities(
        &mut self,
        person: i64,
        pipeline: &str,
        key: &str,
        given: &[Identity],
        fresh: bool,
    ) -> Result<()> {
        Ok(self
            .tx
            .sync_identities(person, pipeline, key, given, fresh)?)
    }

    fn insert_role(
        &mut self,
        person: i64,
        key: &str,
        role: &Given,
        config: &Config,
        status: (&str, &str),
    ) -> Result<Option<i64>> {
        let id = self.tx.insert_role(
            person,
            &config.pipeline,
            key,
            (role.ordinal, &role.member),
            &config.system,
            role.scope.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            &role.values,
            status,
        )?;
        Ok(Some(id))
    }

    fn set_role_values(&mut self, role: &RoleRow, person: i64, values: &RoleValues) -> Result<()> {
        Ok(self.tx.set_role_values(role.id, person, values)?)
    }

    fn keep_role_status(&mut self, _role: &RoleRow, _person: i64) {
        // The role's row already says so.
    }

    fn set_role_status(
        &mut self,
        role: &RoleRow,
        _person: i64,
        status: &RoleStatusRow,
    ) -> Result<()> {
        Ok(self.tx.set_role_status(role.id, status)?)
    }

    fn set_role_link(&mut self, role: i64, relation: Relation, person: Option<i64>) -> Result<()> {
        Ok(self.tx.set_role_link(role, relation, person)?)
    }

    fn record_pipeline(
        &mut self,
        pipeline: &str,
        system: &str,
        lifecycle: &PipelineLifecycle,
    ) -> Result<()> {
        Ok(self
            .tx
            .record_pipeline(pipeline, system, lifecycle, self.run)?)
    }

    fn log(&mut self, mut change: ChangeRow) -> Result<()> {
        change.run_id = self.run;
        Ok(self.tx.log_change(&change)?)
    }

    fn pending_person(&self, _person: i64) -> Option<&PersonState> {
        None
    }

    fn pending_persons(&self) -> Vec<(i64, PersonState)> {
        Vec::new()
    }

    fn pending_role(&self, _role: &RoleKey) -> Option<&(i64, String)> {
        None
    }

    fn pending_role_statuses(&self, _person: i64) -> Vec<String> {
        Vec::new()
    }

    fn amend_candidates(&self, _identity: IdentityKey, found: Vec<i64>) -> Vec<i64> {
        found
    }

    fn purged(&self, _person: i64) -> bool {
        false
    }
}
