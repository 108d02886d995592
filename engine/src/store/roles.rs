//! Roles (memberships): what each record gives its person, in which scope,
//! with which status, manager and sponsor.

use super::Result;

/// A link to another person by identifier, as the source gave it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkRef {
    /// Identifier type looked up.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The identifier value.
    pub value: String,
}

/// A role's own attributes: what freezing the whole role keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RoleValues {
    /// Affiliation, e.g. `staff`.
    pub affiliation: Option<String>,
    /// Organisational unit.
    pub ou: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Start of validity.
    pub valid_from: Option<String>,
    /// End of validity.
    pub valid_until: Option<String>,
    /// Manager, by identifier.
    pub manager: Option<LinkRef>,
    /// Sponsor, by identifier.
    pub sponsor: Option<LinkRef>,
}

/// The role attributes that can be frozen one by one, in display order.
pub const ROLE_ATTRIBUTES: &[&str] = &[
    "affiliation",
    "ou",
    "title",
    "valid-from",
    "valid-until",
    "manager",
    "sponsor",
];

impl RoleValues {
    /// One attribute's value as JSON (`manager`/`sponsor`: the identifier).
    pub fn get(&self, name: &str) -> serde_json::Value {
        let text = |v: &Option<String>| {
            v.as_ref().map_or(serde_json::Value::Null, |s| {
                serde_json::Value::from(s.as_str())
            })
        };
        let link = |v: &Option<LinkRef>| {
            v.as_ref().map_or(serde_json::Value::Null, |l| {
                serde_json::Value::from(l.value.as_str())
            })
        };
        match name {
            "affiliation" => text(&self.affiliation),
            "ou" => text(&self.ou),
            "title" => text(&self.title),
            "valid-from" => text(&self.valid_from),
            "valid-until" => text(&self.valid_until),
            "manager" => link(&self.manager),
            "sponsor" => link(&self.sponsor),
            _ => serde_json::Value::Null,
        }
    }

    /// Sets one attribute from `other` (used to keep a frozen attribute).
    pub fn take(&mut self, name: &str, other: &RoleValues) {
        match name {
            "affiliation" => self.affiliation.clone_from(&other.affiliation),
            "ou" => self.ou.clone_from(&other.ou),
            "title" => self.title.clone_from(&other.title),
            "valid-from" => self.valid_from.clone_from(&other.valid_from),
            "valid-until" => self.valid_until.clone_from(&other.valid_until),
            "manager" => self.manager.clone_from(&other.manager),
            "sponsor" => self.sponsor.clone_from(&other.sponsor),
            _ => {}
        }
    }

    /// Sets one text attribute to a value an operator froze it at.
    pub fn set_text(&mut self, name: &str, value: Option<String>) {
        match name {
            "affiliation" => self.affiliation = value,
            "ou" => self.ou = value,
            "title" => self.title = value,
            "valid-from" => self.valid_from = value,
            "valid-until" => self.valid_until = value,
            _ => {}
        }
    }
}

/// A role as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleRow {
    /// Role id (what `rollcall freeze PERSON role.ID.title` names).
    pub id: i64,
    /// The person holding it.
    pub person_id: i64,
    /// The pipeline whose record gives it.
    pub pipeline: String,
    /// That record's key.
    pub source_key: String,
    /// Which of the pipeline's `role` declarations (0-based).
    pub ordinal: i64,
    /// The pipeline's system.
    pub system: String,
    /// Scope kind (e.g. `school`), when the pipeline is scoped.
    pub scope_kind: Option<String>,
    /// Scope (e.g. `gym-mitte`), when the pipeline is scoped.
    pub scope: Option<String>,
    /// The role's attributes.
    #[serde(flatten)]
    pub values: RoleValues,
    /// The manager's person id, when resolved.
    pub manager_person_id: Option<i64>,
    /// The sponsor's person id, when resolved.
    pub sponsor_person_id: Option<i64>,
    /// `active`, `grace-period`, `suspended`, `expired` or `deleted`.
    pub status: String,
    /// When the status last changed.
    pub status_since: Option<String>,
    /// In grace-period: when it ends.
    pub grace_until: Option<String>,
    /// In grace-period: the status it takes then.
    pub status_after: Option<String>,
    /// The value of an `each` role's list field this role is for; empty
    /// for a plain role.
    pub member: String,
}

/// A role's status and when it changed, rewritten together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatusRow {
    /// The status.
    pub status: String,
    /// When it took it.
    pub since: String,
    /// In grace-period: when it ends.
    pub grace_until: Option<String>,
    /// In grace-period: the status it takes then.
    pub status_after: Option<String>,
}

/// Which of a role's links to another person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// The role's manager.
    Manager,
    /// The role's sponsor.
    Sponsor,
}

impl Relation {
    /// The spelling in pipelines and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Manager => "manager",
            Relation::Sponsor => "sponsor",
        }
    }
}

/// Roles: read by record, person or due time, written by the registry.
pub trait Roles {
    /// The roles one record gives, by ordinal.
    fn roles_of_record(&self, pipeline: &str, key: &str) -> Result<Vec<RoleRow>>;

    /// Every role of a person.
    fn roles_of_person(&self, person: i64) -> Result<Vec<RoleRow>>;

    /// One role.
    fn role(&self, id: i64) -> Result<Option<RoleRow>>;

    /// Roles whose grace period has ended by `now`; with a system, only its.
    fn roles_due(&self, now: &str, system: Option<&str>) -> Result<Vec<RoleRow>>;

    /// A pipeline's roles that time alone may move: pending ones (waiting
    /// for `valid-from`) and active ones with a `valid-until`.
    fn timed_roles(&self, pipeline: &str) -> Result<Vec<RoleRow>>;

    /// A pipeline's roles with a manager or sponsor identifier that no
    /// person was found for.
    fn unresolved_roles(&self, pipeline: &str) -> Result<Vec<RoleRow>>;

    /// Creates a role for declaration `ordinal` and `member`, with
    /// `status` since `since`; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn insert_role(
        &self,
        person: i64,
        pipeline: &str,
        key: &str,
        slot: (i64, &str),
        system: &str,
        scope: Option<(&str, &str)>,
        values: &RoleValues,
        status: (&str, &str),
    ) -> Result<i64>;

    /// Rewrites a role's attributes (and its person, when a record is relinked).
    /// A changed manager or sponsor identifier empties the resolved link.
    fn set_role_values(&self, id: i64, person: i64, values: &RoleValues) -> Result<()>;

    /// Rewrites a role's status.
    fn set_role_status(&self, id: i64, status: &RoleStatusRow) -> Result<()>;

    /// Sets (or empties) a role's resolved manager or sponsor.
    fn set_role_link(&self, id: i64, relation: Relation, person: Option<i64>) -> Result<()>;

    /// The role with this id, if it belongs to this person.
    fn role_of_person(&self, person: i64, id: i64) -> Result<Option<RoleRow>>;

    /// Whether a role row exists.
    fn role_exists(&self, id: i64) -> Result<bool>;
}
