//! Targets: directories that hold accounts (LDAP, SCIM 2.0) and receive
//! the registry's decisions. A target is reached through a [`Directory`]:
//! a complete listing of the objects under its scope, and one operation at a
//! time. What to send is decided above this trait (desired state against
//! the listing, ownership, the outbox); a directory only speaks its protocol.

pub mod deliver;
pub mod desired;
pub mod reconcile;
pub mod scim;

use std::collections::BTreeMap;

use rollcall_model::{Target, TargetKind};

use crate::env;
use crate::plan::Plan;

pub use deliver::{DeliverOptions, TargetReport, deliver};

/// An object's attributes: name to values (an empty list removes it).
pub type Attributes = BTreeMap<String, Vec<String>>;

/// What kind of object a target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// An account: one per person.
    Person,
    /// A group: one per role value, its members persons.
    Group,
}

/// One object as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Person or group.
    pub kind: ObjectKind,
    /// The directory's stable handle: the DN (LDAP) or the `id` (SCIM).
    pub id: String,
    /// The name a rename changes: the DN (LDAP) or `userName`/`displayName` (SCIM).
    pub name: String,
    /// Its attributes, as the directory returned them.
    pub attributes: Attributes,
    /// A version for conditional writes (a SCIM ETag), when the directory has one.
    pub version: Option<String>,
}

/// One write to a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Creates an object with these attributes.
    Create {
        /// Person or group.
        kind: ObjectKind,
        /// The new object's name (DN or userName).
        name: String,
        /// Its attributes.
        attributes: Attributes,
    },
    /// Replaces the listed attributes' values (an empty list removes one);
    /// attributes not listed are left alone.
    Modify {
        /// Person or group.
        kind: ObjectKind,
        /// The object's handle.
        id: String,
        /// The version read with it, sent as a precondition when known.
        version: Option<String>,
        /// Attribute to its new values.
        replace: Attributes,
    },
    /// Gives the object a new name (LDAP: modrdn with a new superior), keeping it.
    Rename {
        /// Person or group.
        kind: ObjectKind,
        /// The object's handle.
        id: String,
        /// Its new name.
        name: String,
    },
    /// Deletes the object.
    Delete {
        /// Person or group.
        kind: ObjectKind,
        /// The object's handle.
        id: String,
        /// The version read with it, sent as a precondition when known.
        version: Option<String>,
    },
}

/// One refused operation: the request sent and the server's answer, so an
/// operator can see which object failed and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{request}: {answer}")]
pub struct ObjectFailure {
    /// The request, as text (method and path, or LDAP operation and DN); never a secret.
    pub request: String,
    /// What the server said (status and body, or result code and message).
    pub answer: String,
    /// Whether trying again later may succeed (connection lost, 429, 503, busy).
    pub transient: bool,
}

/// Why a listing could not be read in full; removals are refused then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("listing of {target} is incomplete: {reason}")]
pub struct ListingError {
    /// The target's name.
    pub target: String,
    /// What went wrong (an error, or a page limit that cut it short).
    pub reason: String,
}

/// A directory: the protocol side of a target.
pub trait Directory {
    /// Every object under the target's scope, every page read; an error
    /// (never a shorter list) when the listing ends early or fails.
    fn list(&mut self) -> Result<Vec<Object>, ListingError>;

    /// Sends one operation; the object's handle afterwards (new for a
    /// create or an LDAP rename).
    fn apply(&mut self, operation: &Operation) -> Result<String, ObjectFailure>;
}

/// The directory of a declared target, its `(env)` settings resolved.
/// Nothing is sent until it is used.
pub fn open(target: &Target, _plan: &Plan) -> Result<Box<dyn Directory>, String> {
    let what = |s: &str| format!("target {}'s {s}", target.name.value);
    match &target.kind {
        TargetKind::Scim(scim) => {
            let url = env::resolve(&scim.url, &what("url")).map_err(|e| e.to_string())?;
            let token =
                env::resolve_opt(scim.token.as_ref(), &what("token")).map_err(|e| e.to_string())?;
            Ok(Box::new(scim::ScimDirectory::new(scim::ScimSettings {
                name: target.name.value.clone(),
                url,
                token,
                page_size: scim.page_size,
                rate: target.rate.as_ref().map(|r| r.value),
                attributes: target
                    .attributes
                    .iter()
                    .map(|(name, _)| name.clone())
                    .filter(|name| name != "externalId" && name != "active")
                    .collect(),
                groups: target.groups.is_some(),
            })))
        }
        // LDAP WIRING: the one place an `ldap` target becomes a directory.
        // Build the LDAP helper's settings struct from `ldap` (url, starttls,
        // bind-dn, password via env::resolve, base, rate) and return
        // `Box::new(ldap::LdapDirectory::new(settings)?)`.
        TargetKind::Ldap(_ldap) => Err(format!(
            "target {}: ldap target not yet available in this build",
            target.name.value
        )),
    }
}
