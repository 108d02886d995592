//! Frozen attributes: values an operator corrected and a sync must keep.

use serde_json::Value;

use super::Result;

/// One frozen attribute of a person.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FrozenRow {
    /// The person.
    pub person_id: i64,
    /// A person attribute, `role.ID.NAME`, or `role.ID` (the whole role).
    pub attribute: String,
    /// The value kept (for a whole role, its attributes as an object).
    pub value: Value,
    /// Who froze it.
    pub frozen_by: String,
    /// Why.
    pub reason: Option<String>,
    /// Until when (RFC 3339); `None` for good.
    pub until: Option<String>,
    /// When it was frozen.
    pub frozen_at: String,
}

impl FrozenRow {
    /// Whether the freeze still holds at `now` (RFC 3339 text).
    pub fn holds_at(&self, now: &str) -> bool {
        self.until.as_deref().is_none_or(|until| until > now)
    }
}

/// Frozen attributes: set, lifted and listed.
pub trait Frozen {
    /// Freezes (or re-freezes) one attribute.
    fn freeze(&self, row: &FrozenRow) -> Result<()>;

    /// Unfreezes one attribute; the freeze it removed, if there was one.
    fn unfreeze(&self, person: i64, attribute: &str) -> Result<Option<FrozenRow>>;

    /// A person's frozen attributes, lapsed or not.
    fn frozen_of(&self, person: i64) -> Result<Vec<FrozenRow>>;

    /// Every frozen attribute, by person.
    fn all_frozen(&self) -> Result<Vec<FrozenRow>>;
}
