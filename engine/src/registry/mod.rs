//! The identity registry: what a run does to persons beyond storing source
//! records. A new key is matched to a person (or held when that is
//! ambiguous); each record gives its person attributes, emails, identifiers
//! and roles; removals and returns move roles and persons through their
//! lifecycle; frozen values are kept; managers and sponsors are linked.
//!
//! [`Session`] carries this through one run. With a run id it writes into
//! the run's open transaction as it goes (`run`); without, it keeps what it
//! would write in an [`overlay`] so `plan` reports the same decisions from a
//! read snapshot.

pub mod config;
mod external;
mod frozen;
mod lifecycle;
mod matching;
mod operator;
mod overlay;
mod relations;
pub mod report;
mod roles;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::clock::Instant;
use crate::diff::FieldChange;
use crate::env::EnvError;
use crate::plan::Plan;
use crate::store::{
    ChangeRow, Identity, NewRecord, PersonState, PipelineLifecycle, StoreError, Tx,
};

pub use config::Config;
pub use external::External;
pub use frozen::{Attribute, FreezeError, FreezeRequest, freeze, unfreeze};
pub use operator::{PurgeReport, operator_pipeline, operator_run, purge};
pub use report::RegistryReport;

use overlay::Overlay;
use report::{Cause, Held, MAX_REPORTED};

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

enum Mode {
    Apply { run: i64 },
    Plan(Box<Overlay>),
}

/// The registry's part of one run (or of `rollcall purge`).
pub struct Session<'a, 't> {
    tx: &'a Tx<'t>,
    /// `None` for `rollcall purge`, which works on every system.
    config: Option<&'a Config>,
    pipeline: String,
    names: &'a [String],
    mode: Mode,
    now: Instant,
    now_text: String,
    collect: bool,
    shared_system: bool,
    external: Option<External>,
    /// Persons to recalculate at the end, with the lifecycle that decides
    /// their limbo and purge time should they be deactivated.
    touched: BTreeMap<i64, PipelineLifecycle>,
    pending: Vec<relations::Pending>,
    report: RegistryReport,
    counts: Counts,
}

impl<'a, 't> Session<'a, 't> {
    /// A session for a pipeline's run. With `run`, changes are written into
    /// `tx`; without, they are only reported.
    pub fn for_pipeline(
        tx: &'a Tx<'t>,
        plan: &'a Plan,
        run: Option<i64>,
        now: Instant,
        collect: bool,
    ) -> Result<Self> {
        let config = &plan.registry;
        let external = match &config.strategy {
            config::Strategy::External { target, timeout } => {
                Some(External::resolve(target, *timeout, &plan.base_dir)?)
            }
            _ => None,
        };
        let shared_system = tx.system_shared(&config.system, &plan.name)?;
        let mut session = Session::new(tx, plan.name.clone(), run, now, collect);
        session.config = Some(config);
        session.names = plan.mapper.field_names();
        session.external = external;
        session.shared_system = shared_system;
        Ok(session)
    }

    /// A session for `rollcall purge`: grace periods and purges of every system.
    pub fn for_maintenance(tx: &'a Tx<'t>, run: Option<i64>, now: Instant) -> Self {
        Session::new(tx, operator_pipeline("purge"), run, now, true)
    }

    fn new(
        tx: &'a Tx<'t>,
        pipeline: String,
        run: Option<i64>,
        now: Instant,
        collect: bool,
    ) -> Self {
        Session {
            tx,
            config: None,
            pipeline,
            names: &[],
            mode: match run {
                Some(run) => Mode::Apply { run },
                None => Mode::Plan(Box::default()),
            },
            now,
            now_text: now.text(),
            collect,
            shared_system: false,
            external: None,
            touched: BTreeMap::new(),
            pending: Vec::new(),
            report: RegistryReport::default(),
            counts: Counts::default(),
        }
    }

    fn config(&self) -> &'a Config {
        self.config
            .expect("record steps are only taken by a pipeline's session")
    }

    fn run(&self) -> Option<i64> {
        match self.mode {
            Mode::Apply { run } => Some(run),
            Mode::Plan(_) => None,
        }
    }

    fn overlay(&mut self) -> Option<&mut Overlay> {
        match &mut self.mode {
            Mode::Plan(overlay) => Some(overlay),
            Mode::Apply { .. } => None,
        }
    }

    fn overlay_ref(&self) -> Option<&Overlay> {
        match &self.mode {
            Mode::Plan(overlay) => Some(overlay),
            Mode::Apply { .. } => None,
        }
    }

    /// This pipeline's lifecycle, as deactivations caused by its run use it.
    fn own_lifecycle(&self) -> PipelineLifecycle {
        let lifecycle = &self.config().lifecycle;
        PipelineLifecycle {
            limbo: lifecycle.limbo.clone(),
            purge_after: lifecycle.purge_after.as_ref().map(|d| d.value.seconds),
        }
    }

    fn touch(&mut self, person: i64) {
        let lifecycle = self.own_lifecycle();
        self.touched.entry(person).or_insert(lifecycle);
    }

    /// A new key: finds or creates its person, then gives them the record's
    /// attributes, identities and roles. `fields` is the record's change, for
    /// the change log.
    pub fn create(
        &mut self,
        key: &str,
        line: u64,
        values: &[Value],
        record: &NewRecord<'_>,
        fields: &[FieldChange],
    ) -> Result<Linked> {
        let identities = self.config().identities(values);
        let person = match self.find_person(key, line, values, &identities)? {
            matching::Found::Held => return Ok(Linked::Held),
            matching::Found::Person(person) => {
                // Matching ignores status: a suspended person found here is
                // re-evaluated once their new role is in.
                self.touch(person);
                self.merge_attributes(person, key, values)?;
                person
            }
            matching::Found::New => self.new_person(values)?,
        };
        if let Some(run) = self.run() {
            let config = self.config();
            self.tx
                .insert_record(&self.pipeline, &config.system, person, run, record)?;
        }
        self.sync_identities(person, key, &identities, true)?;
        self.apply_roles(person, key, values, &[])?;
        self.log(ChangeRow {
            run_id: 0,
            pipeline: self.pipeline.clone(),
            source_key: Some(key.to_owned()),
            person_id: Some(person),
            action: "create".into(),
            before: None,
            after: Some(fields_object(fields, |f| &f.after)),
        })?;
        Ok(Linked::Person(person))
    }

    /// A known key whose fields changed, or (`returning`) one that was removed
    /// and is back. Returns the person.
    pub fn update(
        &mut self,
        key: &str,
        values: &[Value],
        record: &NewRecord<'_>,
        fields: &[FieldChange],
        returning: bool,
    ) -> Result<i64> {
        let linked = self.tx.record_person(&self.pipeline, key)?;
        let person = match linked {
            Some(person) if !returning || self.config().lifecycle.reinstate => {
                self.merge_attributes(person, key, values)?;
                person
            }
            // `reinstate #false`: a returning key starts over as someone new.
            _ => self.new_person(values)?,
        };
        if returning {
            self.touch(person);
        }
        if let Some(run) = self.run() {
            self.tx.update_record(&self.pipeline, person, run, record)?;
        }
        let identities = self.config().identities(values);
        self.sync_identities(person, key, &identities, false)?;
        let existing = self.tx.roles_of_record(&self.pipeline, key)?;
        self.apply_roles(person, key, values, &existing)?;
        if !fields.is_empty() || returning {
            self.log(ChangeRow {
                run_id: 0,
                pipeline: self.pipeline.clone(),
                source_key: Some(key.to_owned()),
                person_id: Some(person),
                action: if returning { "reinstate" } else { "update" }.into(),
                before: Some(fields_object(fields, |f| &f.before)),
                after: Some(fields_object(fields, |f| &f.after)),
            })?;
        }
        Ok(person)
    }

    /// Re-applies an unchanged record (`run --resync`): its person's
    /// attributes, identities and roles are written again from it, frozen
    /// values kept. Returns what changed on the person, by attribute
    /// (`title`, `role.7.title`).
    pub fn resync(&mut self, key: &str, values: &[Value]) -> Result<Vec<FieldChange>> {
        let Some(person) = self.tx.record_person(&self.pipeline, key)? else {
            return Ok(Vec::new());
        };
        let mut changed = self.merge_attributes(person, key, values)?;
        let identities = self.config().identities(values);
        self.sync_identities(person, key, &identities, false)?;
        let existing = self.tx.roles_of_record(&self.pipeline, key)?;
        changed.extend(self.apply_roles(person, key, values, &existing)?);
        if !changed.is_empty() {
            self.log(ChangeRow {
                run_id: 0,
                pipeline: self.pipeline.clone(),
                source_key: Some(key.to_owned()),
                person_id: Some(person),
                action: "resync".into(),
                before: Some(fields_object(&changed, |f| &f.before)),
                after: Some(fields_object(&changed, |f| &f.after)),
            })?;
        }
        Ok(changed)
    }

    /// A key gone from the source: its roles take the lifecycle's removal
    /// status. Returns the person.
    pub fn remove(&mut self, key: &str) -> Result<Option<i64>> {
        let person = match self.run() {
            Some(run) => self.tx.remove_record(&self.pipeline, key, run)?,
            None => self.tx.record_person(&self.pipeline, key)?,
        };
        for role in self.tx.roles_of_record(&self.pipeline, key)? {
            self.end_role(&role, Cause::Removed)?;
        }
        self.log(ChangeRow {
            run_id: 0,
            pipeline: self.pipeline.clone(),
            source_key: Some(key.to_owned()),
            person_id: person,
            action: "remove".into(),
            before: None,
            after: None,
        })?;
        Ok(person)
    }

    /// The end of a run: grace periods that ended, person statuses
    /// recalculated from their roles, purges due, and manager and sponsor
    /// links resolved. With `system`, only that system's roles and persons
    /// (a pipeline's run); without, all (`rollcall purge`).
    pub fn finish(mut self) -> Result<(RegistryReport, Counts)> {
        let system = self.config.map(|c| c.system.clone());
        self.end_grace_periods(system.as_deref())?;
        self.recalculate_touched()?;
        self.purge_due(system.as_deref())?;
        if self.config.is_some() {
            self.resolve_links()?;
            if let Some(run) = self.run() {
                let lifecycle = self.own_lifecycle();
                let config = self.config();
                self.tx
                    .record_pipeline(&self.pipeline, &config.system, &lifecycle, run)?;
            }
        }
        Ok((self.report, self.counts))
    }

    /// A new person with the record's attributes.
    fn new_person(&mut self, values: &[Value]) -> Result<i64> {
        let attributes = self.attributes_of(values);
        match &mut self.mode {
            Mode::Apply { run } => Ok(self.tx.insert_person(&attributes, *run)?),
            Mode::Plan(overlay) => Ok(overlay.new_person(PersonState {
                status: "active".into(),
                limbo: None,
                inactive_since: None,
                purge_at: None,
            })),
        }
    }

    fn attributes_of(&self, values: &[Value]) -> Map<String, Value> {
        self.names
            .iter()
            .cloned()
            .zip(values.iter().cloned())
            .collect()
    }

    /// Writes the record's values into an existing person's attributes,
    /// keeping frozen ones; returns the attributes that change.
    fn merge_attributes(
        &mut self,
        person: i64,
        key: &str,
        values: &[Value],
    ) -> Result<Vec<FieldChange>> {
        if person < 0 {
            return Ok(Vec::new()); // created by this plan from its own record
        }
        let Some(stored) = self.tx.person(person)? else {
            return Ok(Vec::new());
        };
        let freezes = self.freezes_of(person)?;
        let mut next = stored.attributes.clone();
        for (name, value) in self.names.iter().zip(values) {
            match freezes.iter().find(|f| &f.attribute == name) {
                Some(freeze) => {
                    if &freeze.value != value {
                        self.held(Held {
                            key: key.to_owned(),
                            person,
                            attribute: name.clone(),
                            frozen: freeze.value.clone(),
                            incoming: value.clone(),
                            frozen_by: freeze.frozen_by.clone(),
                            reason: freeze.reason.clone(),
                            until: freeze.until.clone(),
                        });
                    }
                    next.insert(name.clone(), freeze.value.clone());
                }
                None => {
                    next.insert(name.clone(), value.clone());
                }
            }
        }
        let changed: Vec<FieldChange> = self
            .names
            .iter()
            .filter_map(|name| {
                let before = stored.attributes.get(name).unwrap_or(&Value::Null);
                let after = next.get(name).unwrap_or(&Value::Null);
                (before != after).then(|| FieldChange {
                    field: name.clone(),
                    before: before.clone(),
                    after: after.clone(),
                })
            })
            .collect();
        if let Some(run) = self.run()
            && !changed.is_empty()
        {
            self.tx.set_person_attributes(person, &next, run)?;
        }
        Ok(changed)
    }

    /// Makes the record's identities exactly `given`.
    /// `fresh`: the record is new to the pipeline (it has no identities yet).
    fn sync_identities(
        &mut self,
        person: i64,
        key: &str,
        given: &[Identity],
        fresh: bool,
    ) -> Result<()> {
        match &mut self.mode {
            Mode::Apply { .. } => {
                self.tx
                    .sync_identities(person, &self.pipeline, key, given, fresh)?;
            }
            Mode::Plan(overlay) => {
                let old = if fresh {
                    Vec::new()
                } else {
                    self.tx.record_identities(&self.pipeline, key)?
                };
                for old in old {
                    if old.usable && !given.contains(&old) {
                        overlay.remove_identity(
                            (old.kind, old.type_name.clone(), old.match_value()),
                            person,
                        );
                    }
                }
                for new in given.iter().filter(|i| i.usable) {
                    overlay
                        .add_identity((new.kind, new.type_name.clone(), new.match_value()), person);
                }
            }
        }
        Ok(())
    }

    fn held(&mut self, held: Held) {
        if self.collect && self.report.frozen.len() < MAX_REPORTED {
            self.report.frozen.push(held);
        }
    }

    /// Appends to the change log when applying.
    fn log(&self, mut change: ChangeRow) -> Result<()> {
        if let Some(run) = self.run() {
            change.run_id = run;
            self.tx.log_change(&change)?;
        }
        Ok(())
    }
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
