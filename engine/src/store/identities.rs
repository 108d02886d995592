//! Email addresses and identifiers: what a person is matched and linked by.

use super::Result;

/// Whether an identity is an email address or an identifier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    /// An email address: matched case-insensitively, verified only.
    Email,
    /// An identifier: matched case-sensitively, active only.
    Identifier,
}

/// One email address or identifier a record gives its person.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Identity {
    /// Email or identifier.
    pub kind: IdentityKind,
    /// Its type, e.g. `official` or `employee-id`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The value as given.
    pub value: String,
    /// Emails: the source vouches for it. Identifiers: it is active.
    pub usable: bool,
}

impl Identity {
    /// The form matching compares: emails folded to lower case, identifiers
    /// as they are.
    pub fn match_value(&self) -> String {
        match self.kind {
            IdentityKind::Email => fold(&self.value),
            IdentityKind::Identifier => self.value.clone(),
        }
    }
}

/// An email address as matching compares it.
pub fn fold(address: &str) -> String {
    address.trim().to_lowercase()
}

/// Emails and identifiers: synced from records and asked by matching.
pub trait Identities {
    /// Persons holding an identity that matching may use: a verified email
    /// of the type equal ignoring case, or an active identifier of the type
    /// equal exactly. `value` is in [`Identity::match_value`] form.
    fn identity_candidates(
        &self,
        kind: IdentityKind,
        type_name: &str,
        value: &str,
    ) -> Result<Vec<i64>>;

    /// The identities one record gives, with the matching ones marked.
    fn record_identities(&self, pipeline: &str, key: &str) -> Result<Vec<Identity>>;

    /// Every identity of a person, from any record.
    fn person_identities(&self, person: i64) -> Result<Vec<Identity>>;

    /// Makes a record's identities exactly `given`, on `person`: emails it
    /// no longer gives are deleted; identifiers it no longer gives are kept
    /// inactive (they may be referenced elsewhere, but must not match).
    /// `fresh`: the record is new, so it has none yet to compare with.
    fn sync_identities(
        &self,
        person: i64,
        pipeline: &str,
        key: &str,
        given: &[Identity],
        fresh: bool,
    ) -> Result<()>;
}
