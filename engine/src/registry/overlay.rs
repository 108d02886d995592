//! What a `plan` would have written, kept in memory so that later records
//! and the end-of-run steps see it: `plan` holds a read snapshot and never
//! writes, yet must report what `run` would do with the same extract.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use super::Result;
use super::config::{Config, Given};
use super::writer::{IdentityKey, RoleKey, Writer};
use crate::store::{
    ChangeRow, Identity, NewRecord, PersonState, PipelineLifecycle, Relation, RoleRow,
    RoleStatusRow, RoleValues, Tx,
};

/// The role key of a stored role.
pub(super) fn role_key(role: &RoleRow) -> RoleKey {
    (
        role.pipeline.clone(),
        role.source_key.clone(),
        role.ordinal,
        role.member.clone(),
    )
}

/// Keeps a plan's writes in memory, over a read snapshot of the store.
pub(super) struct OverlayWriter<'a, 't> {
    tx: &'a Tx<'t>,
    /// Provisional ids handed out so far (they are -1, -2, ...).
    created: i64,
    /// Persons whose state the plan changed, and the persons it creates.
    persons: HashMap<i64, PersonState>,
    /// Roles the plan creates or changes: their person and status.
    roles: HashMap<RoleKey, (i64, String)>,
    /// The same roles, by person.
    roles_by_person: HashMap<i64, BTreeSet<RoleKey>>,
    /// Matchable identities the plan gives, and to whom.
    identities: HashMap<IdentityKey, BTreeSet<i64>>,
    /// Matchable identities the plan takes away from a person.
    removed: HashSet<(IdentityKey, i64)>,
    /// Persons the plan purges.
    purged: HashSet<i64>,
}

impl<'a, 't> OverlayWriter<'a, 't> {
    /// An empty overlay over `tx`'s snapshot.
    pub(super) fn new(tx: &'a Tx<'t>) -> Self {
        OverlayWriter {
            tx,
            created: 0,
            persons: HashMap::new(),
            roles: HashMap::new(),
            roles_by_person: HashMap::new(),
            identities: HashMap::new(),
            removed: HashSet::new(),
            purged: HashSet::new(),
        }
    }

    /// Records a role's person and status.
    fn set_role(&mut self, key: RoleKey, person: i64, status: &str) {
        if let Some((old, _)) = self.roles.get(&key)
            && *old != person
            && let Some(set) = self.roles_by_person.get_mut(old)
        {
            set.remove(&key);
        }
        self.roles_by_person
            .entry(person)
            .or_default()
            .insert(key.clone());
        self.roles.insert(key, (person, status.to_owned()));
    }

    /// Gives a person a matchable identity.
    fn add_identity(&mut self, key: IdentityKey, person: i64) {
        self.removed.remove(&(key.clone(), person));
        self.identities.entry(key).or_default().insert(person);
    }

    /// Takes a matchable identity from a person.
    fn remove_identity(&mut self, key: IdentityKey, person: i64) {
        if let Some(set) = self.identities.get_mut(&key) {
            set.remove(&person);
        }
        self.removed.insert((key, person));
    }
}

fn identity_key(identity: &Identity) -> IdentityKey {
    (
        identity.kind,
        identity.type_name.clone(),
        identity.match_value(),
    )
}

impl Writer for OverlayWriter<'_, '_> {
    fn insert_record(&mut self, _: &str, _: &str, _: i64, _: &NewRecord<'_>) -> Result<()> {
        Ok(())
    }

    fn update_record(&mut self, _: &str, _: i64, _: &NewRecord<'_>) -> Result<()> {
        Ok(())
    }

    fn remove_record(&mut self, pipeline: &str, key: &str) -> Result<Option<i64>> {
        Ok(self.tx.record_person(pipeline, key)?)
    }

    /// A provisional id (negative, so it can never be mistaken for a stored one).
    fn insert_person(&mut self, _attributes: &Map<String, Value>) -> Result<i64> {
        self.created += 1;
        let id = -self.created;
        let state = PersonState {
            status: "active".into(),
            limbo: None,
            inactive_since: None,
            purge_at: None,
        };
        self.persons.insert(id, state);
        Ok(id)
    }

    fn set_person_attributes(&mut self, _: i64, _: &Map<String, Value>) -> Result<()> {
        Ok(())
    }

    fn set_person_state(&mut self, person: i64, state: &PersonState) -> Result<()> {
        self.persons.insert(person, state.clone());
        Ok(())
    }

    fn delete_person(&mut self, person: i64) -> Result<()> {
        self.purged.insert(person);
        Ok(())
    }

    fn sync_identities(
        &mut self,
        person: i64,
        pipeline: &str,
        key: &str,
        given: &[Identity],
        fresh: bool,
    ) -> Result<()> {
        let old = if fresh {
            Vec::new()
        } else {
            self.tx.record_identities(pipeline, key)?
        };
        for old in old {
            if old.usable && !given.contains(&old) {
                self.remove_identity(identity_key(&old), person);
            }
        }
        for new in given.iter().filter(|i| i.usable) {
            self.add_identity(identity_key(new), person);
        }
        Ok(())
    }

    fn insert_role(
        &mut self,
        person: i64,
        key: &str,
        role: &Given,
        config: &Config,
        (status, _since): (&str, &str),
    ) -> Result<Option<i64>> {
        self.set_role(
            (
                config.pipeline.clone(),
                key.to_owned(),
                role.ordinal,
                role.member.clone(),
            ),
            person,
            status,
        );
        Ok(None)
    }

    fn set_role_values(&mut self, _: &RoleRow, _: i64, _: &RoleValues) -> Result<()> {
        Ok(())
    }

    fn keep_role_status(&mut self, role: &RoleRow, person: i64) {
        self.set_role(role_key(role), person, &role.status);
    }

    fn set_role_status(
        &mut self,
        role: &RoleRow,
        person: i64,
        status: &RoleStatusRow,
    ) -> Result<()> {
        self.set_role(role_key(role), person, &status.status);
        Ok(())
    }

    fn set_role_link(&mut self, _: i64, _: Relation, _: Option<i64>) -> Result<()> {
        Ok(())
    }

    fn record_pipeline(&mut self, _: &str, _: &str, _: &PipelineLifecycle) -> Result<()> {
        Ok(())
    }

    fn log(&mut self, _change: ChangeRow) -> Result<()> {
        Ok(())
    }

    fn pending_person(&self, person: i64) -> Option<&PersonState> {
        self.persons.get(&person)
    }

    fn pending_persons(&self) -> Vec<(i64, PersonState)> {
        self.persons
            .iter()
            .map(|(person, state)| (*person, state.clone()))
            .collect()
    }

    fn pending_role(&self, role: &RoleKey) -> Option<&(i64, String)> {
        self.roles.get(role)
    }

    fn pending_role_statuses(&self, person: i64) -> Vec<String> {
        let Some(keys) = self.roles_by_person.get(&person) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| self.roles.get(k).map(|r| r.1.clone()))
            .collect()
    }

    fn amend_candidates(&self, identity: IdentityKey, mut found: Vec<i64>) -> Vec<i64> {
        found.retain(|p| !self.removed.contains(&(identity.clone(), *p)));
        if let Some(added) = self.identities.get(&identity) {
            found.extend(added.iter().copied());
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    fn purged(&self, person: i64) -> bool {
        self.purged.contains(&person)
    }
}
