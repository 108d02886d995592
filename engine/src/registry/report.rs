//! What the registry part of a run found and did, for `plan`, `run` and
//! their JSON (`schemas/plan-output.schema.json`). Person ids are `null`
//! for persons a plan would create.

use serde::Serialize;
use serde_json::Value;

use crate::store::{Identity, LinkRef, Relation};

/// Entries of one kind kept in a report; counts in the summary stay exact.
pub const MAX_REPORTED: usize = 1000;

/// The registry's findings of one run.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct RegistryReport {
    /// New keys linked to a person that already existed.
    pub links: Vec<Link>,
    /// New keys held because several persons matched.
    pub ambiguous: Vec<Ambiguous>,
    /// Frozen values a sync kept although the source says otherwise.
    pub frozen: Vec<Held>,
    /// Role and person status and limbo changes.
    pub transitions: Vec<Transition>,
    /// Manager and sponsor identifiers that no single person holds.
    pub unresolved: Vec<Unresolved>,
    /// Persons purged.
    pub purged: Vec<Purged>,
}

/// How a new key found an existing person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkedBy {
    /// The same key in another pipeline of the same system.
    System,
    /// A verified email of the match type.
    Email,
    /// An active identifier of the match type.
    Identifier,
    /// The external matcher's answer.
    External,
}

impl LinkedBy {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkedBy::System => "system",
            LinkedBy::Email => "email",
            LinkedBy::Identifier => "identifier",
            LinkedBy::External => "external",
        }
    }
}

/// A new key linked to an existing person.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Link {
    /// The record's key.
    pub key: String,
    /// Its line in the source.
    pub line: u64,
    /// The person it joins (`null`: one created earlier in this plan).
    pub person: Option<i64>,
    /// How the person was found.
    pub by: LinkedBy,
    /// When several persons matched and `on-ambiguous` chose: every candidate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    /// `oldest` or `newest`, when `on-ambiguous` chose among candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
}

/// One person a match found.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Candidate {
    /// Person id (`null`: created earlier in this plan).
    pub person: Option<i64>,
    /// Their status (matching ignores it).
    pub status: String,
    /// The run that created them.
    pub created_run: Option<i64>,
}

/// A new key held because its match was ambiguous.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Ambiguous {
    /// The record's key.
    pub key: String,
    /// Its line in the source.
    pub line: u64,
    /// The strategy (`email`, `identifier`, `external`, or `system` when
    /// other pipelines of the system link the key to several persons).
    pub by: String,
    /// The record's values that matched.
    pub values: Vec<Identity>,
    /// Every person found.
    pub candidates: Vec<Candidate>,
}

/// A frozen value that a sync kept.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Held {
    /// The record whose sync was held back.
    pub key: String,
    /// The person.
    pub person: i64,
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
    /// Until when.
    pub until: Option<String>,
}

/// The role a transition concerns.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RoleRef {
    /// Role id (`null`: a role this plan creates).
    pub id: Option<i64>,
    /// The pipeline whose record gives it.
    pub pipeline: String,
    /// That record's key.
    pub key: String,
    /// Which `role` declaration (0-based).
    pub ordinal: i64,
    /// Its scope, when the pipeline is scoped.
    pub scope: Option<String>,
}

/// Why a status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The record (or this role of it) left the source.
    Removed,
    /// The record came back, or a new key linked to the person.
    Reappeared,
    /// A grace period ended.
    GraceEnded,
    /// The person's roles changed.
    Roles,
    /// The record's own status (the role's `status` map).
    Status,
    /// The role's validity dates, at the run's time.
    Validity,
}

impl Cause {
    /// The word reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Removed => "removed",
            Cause::Reappeared => "reappeared",
            Cause::GraceEnded => "grace ended",
            Cause::Roles => "roles changed",
            Cause::Status => "record status",
            Cause::Validity => "validity dates",
        }
    }
}

/// A role's or person's status (or limbo) change.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Transition {
    /// The person.
    pub person: Option<i64>,
    /// The role, for a role transition; absent for the person's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleRef>,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
    /// Person transitions: the limbo scope before and after, when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limbo: Option<LimboChange>,
    /// Person transitions: when they would be purged, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_at: Option<String>,
    /// Why.
    pub cause: Cause,
}

/// A move into or out of limbo.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LimboChange {
    /// Limbo scope before (`null`: not in limbo).
    pub from: Option<String>,
    /// Limbo scope after.
    pub to: Option<String>,
}

/// A manager or sponsor that is not linked.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Unresolved {
    /// The record giving the role.
    pub key: String,
    /// The role's person (`null`: created by this plan).
    pub person: Option<i64>,
    /// The role (`null`: created by this plan).
    pub role: Option<i64>,
    /// Which `role` declaration.
    pub ordinal: i64,
    /// Manager or sponsor.
    pub relation: Relation,
    /// The identifier looked up.
    #[serde(flatten)]
    pub reference: LinkRef,
    /// Persons holding it (several: ambiguous, left empty; none: unknown).
    pub candidates: Vec<Option<i64>>,
}

/// A person purged.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Purged {
    /// The person.
    pub person: i64,
    /// Since when they were inactive.
    pub inactive_since: Option<String>,
    /// When they were due.
    pub purge_at: Option<String>,
    /// Their records, deleted with them, as `pipeline/key`.
    pub records: Vec<String>,
}
