//! What a `plan` would have written, kept in memory so that later records
//! and the end-of-run steps see it: `plan` holds a read snapshot and never
//! writes, yet must report what `run` would do with the same extract.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::store::{IdentityKind, PersonState};

/// A role as a plan left it: `(pipeline, key, ordinal)`.
pub(super) type RoleKey = (String, String, i64);

/// One identity as matching compares it: kind, type, match value.
pub(super) type IdentityKey = (IdentityKind, String, String);

/// The plan's pending writes.
#[derive(Debug, Default)]
pub(super) struct Overlay {
    /// Provisional ids handed out so far (they are -1, -2, ...).
    created: i64,
    /// Persons whose state the plan changed, and the persons it creates.
    pub persons: HashMap<i64, PersonState>,
    /// Roles the plan creates or changes: their person and status.
    pub roles: HashMap<RoleKey, (i64, String)>,
    /// The same roles, by person.
    pub roles_by_person: HashMap<i64, BTreeSet<RoleKey>>,
    /// Matchable identities the plan gives, and to whom.
    pub identities: HashMap<IdentityKey, BTreeSet<i64>>,
    /// Matchable identities the plan takes away from a person.
    pub removed: HashSet<(IdentityKey, i64)>,
    /// Persons the plan purges.
    pub purged: HashSet<i64>,
}

impl Overlay {
    /// A provisional id for a person the plan creates (negative, so it can
    /// never be mistaken for a stored one).
    pub fn new_person(&mut self, state: PersonState) -> i64 {
        self.created += 1;
        let id = -self.created;
        self.persons.insert(id, state);
        id
    }

    /// Records a role's person and status.
    pub fn set_role(&mut self, key: RoleKey, person: i64, status: &str) {
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
    pub fn add_identity(&mut self, key: IdentityKey, person: i64) {
        self.removed.remove(&(key.clone(), person));
        self.identities.entry(key).or_default().insert(person);
    }

    /// Takes a matchable identity from a person.
    pub fn remove_identity(&mut self, key: IdentityKey, person: i64) {
        if let Some(set) = self.identities.get_mut(&key) {
            set.remove(&person);
        }
        self.removed.insert((key, person));
    }
}
