//! Persons: the registry's people, their attributes, status and limbo.

use serde_json::{Map, Value};

use super::Result;

/// A person as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PersonRow {
    /// Person id.
    pub id: i64,
    /// Status, recalculated from the person's roles.
    pub status: String,
    /// Person attributes (mapped fields of the linked records, frozen values kept).
    pub attributes: Map<String, Value>,
    /// The limbo scope the person was moved to when deactivated.
    pub limbo: Option<String>,
    /// Run that created the person.
    pub created_run: i64,
    /// Run that last changed the person.
    pub updated_run: i64,
    /// When the person last became inactive.
    pub inactive_since: Option<String>,
    /// When the person is due to be purged.
    pub purge_at: Option<String>,
}

/// The lifecycle part of a person, rewritten together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonState {
    /// Status.
    pub status: String,
    /// Limbo scope, if in limbo.
    pub limbo: Option<String>,
    /// When the person became inactive.
    pub inactive_since: Option<String>,
    /// When the person is due to be purged.
    pub purge_at: Option<String>,
}

impl PersonRow {
    /// The lifecycle part of this person.
    pub fn state(&self) -> PersonState {
        PersonState {
            status: self.status.clone(),
            limbo: self.limbo.clone(),
            inactive_since: self.inactive_since.clone(),
            purge_at: self.purge_at.clone(),
        }
    }
}

/// Persons: created, rewritten, found due for purge and purged.
pub trait Persons {
    /// Creates an active person; returns its id.
    fn insert_person(&self, attributes: &Map<String, Value>, run: i64) -> Result<i64>;

    /// One person.
    fn person(&self, id: i64) -> Result<Option<PersonRow>>;

    /// Rewrites a person's attributes.
    fn set_person_attributes(
        &self,
        id: i64,
        attributes: &Map<String, Value>,
        run: i64,
    ) -> Result<()>;

    /// Rewrites a person's status, limbo and lifecycle times.
    fn set_person_state(&self, id: i64, state: &PersonState, run: i64) -> Result<()>;

    /// Inactive persons whose purge time has come, oldest first; with a
    /// system, only those linked to a record of it.
    fn persons_due(&self, now: &str, system: Option<&str>) -> Result<Vec<PersonRow>>;

    /// Deletes a person: records, roles, identities and freezes go with them,
    /// and links to them from others' roles are emptied.
    fn delete_person(&self, id: i64) -> Result<()>;
}
