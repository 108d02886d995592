//! The identity registry: what a run does to persons beyond storing source
//! records. A new key is matched to a person (or held when that is
//! ambiguous); each record gives its person attributes, emails, identifiers
//! and roles; removals and returns move roles and persons through their
//! lifecycle; frozen values are kept; managers and sponsors are linked.
//!
//! [`Session`] carries this through one pipeline's run, [`PurgeSession`]
//! through `rollcall purge`. Both share a [`ledger`] whose [`writer`]
//! either writes into the run's open transaction as it goes (`run`) or
//! keeps what it would write in an [`overlay`], so `plan` reports the same
//! decisions from a read snapshot.

pub mod config;
mod external;
mod frozen;
mod ledger;
mod lifecycle;
mod matching;
mod operator;
mod overlay;
mod relations;
pub mod report;
mod roles;
mod session;
mod writer;

use serde_json::Value;

use crate::diff::FieldChange;
use crate::env::EnvError;
use crate::store::StoreError;

pub use config::Config;
pub use external::External;
pub use frozen::{Attribute, FreezeError, FreezeRequest, freeze, unfreeze};
pub use operator::{PurgeReport, PurgeSession, operator_pipeline, operator_run, purge};
pub use report::RegistryReport;
pub use session::Session;

/// An error that stops the registry part of a run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RegistryError {
    /// The state store failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// The external matcher's setting could not be resolved.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Env(#[from] EnvError),
    /// The external matcher failed or answered nonsense for a record.
    #[error("external matcher {matcher} on record {key:?}: {problem}")]
    #[diagnostic(
        code("rollcall::registry::matcher"),
        help(
            "the run stopped and applied nothing, so no record was linked on a guess; fix the matcher (or its timeout) and run again"
        )
    )]
    Matcher {
        /// The command or URL.
        matcher: String,
        /// The record's key.
        key: String,
        /// What went wrong.
        problem: String,
    },
    /// A record's value that its role cannot take.
    #[error("record {key:?} of pipeline {pipeline}: field `{field}` {problem}")]
    #[diagnostic(
        code("rollcall::registry::role-value"),
        help(
            "the run stopped and applied nothing, so no role took a guessed value; fix the record, or the pipeline's `role` (`each FIELD` gives one role per value; `status` lists every status the source gives)"
        )
    )]
    RoleValue {
        /// The pipeline.
        pipeline: String,
        /// The record's key.
        key: String,
        /// The mapped field.
        field: String,
        /// What is wrong with its value.
        problem: String,
    },
    /// The external matcher named a person the store does not have.
    #[error(
        "external matcher {matcher} answered person {person} for record {key:?}, but there is no such person"
    )]
    #[diagnostic(
        code("rollcall::registry::unknown-person"),
        help("the matcher must answer ids of persons in this state store, or `none`")
    )]
    UnknownPerson {
        /// The command or URL.
        matcher: String,
        /// The record's key.
        key: String,
        /// The id it answered.
        person: i64,
    },
}

/// Result of a registry step.
pub type Result<T> = std::result::Result<T, RegistryError>;

/// What linking a new key came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The key's record now belongs to this person (negative: created by a plan).
    Person(i64),
    /// Several persons matched and the pipeline holds such records.
    Held,
}

/// Figures of the registry part of a run, added to the run's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Role and person status or limbo changes.
    pub transitions: u64,
    /// Persons purged.
    pub purged: u64,
}

/// A person id as reports show it: `None` for a person a plan would create.
pub(crate) fn public(person: i64) -> Option<i64> {
    (person > 0).then_some(person)
}

fn fields_object(fields: &[FieldChange], side: impl Fn(&FieldChange) -> &Value) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|f| (f.field.clone(), side(f).clone()))
            .collect(),
    )
}

/// Whether a role status keeps its person active: active, or waiting out a
/// grace period. Here, above the modules that ask it (roles, relations,
/// lifecycle), so none of them imports another for it.
pub(crate) fn is_live(status: &str) -> bool {
    status == rollcall_model::RoleStatus::Active.as_str()
        || status == rollcall_model::RoleStatus::GracePeriod.as_str()
}
