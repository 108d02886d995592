//! A pipeline's registry session: what each record of a run does to its
//! person, and the end of the run. Whether it writes (`run`) or only
//! reports (`plan`) is its [`Ledger`]'s writer's business, not its own.

use std::collections::BTreeMap;

use rollcall_model::RoleStatus;
use serde_json::{Map, Value};

use super::config::{self, Config};
use super::external::External;
use super::ledger::Ledger;
use super::report::{Cause, Held, RegistryReport};
use super::{Counts, Linked, Result, fields_object, matching, relations};
use crate::clock::Instant;
use crate::diff::FieldChange;
use crate::store::{ChangeRow, Identity, NewRecord, PipelineLifecycle, Tx, Why};

/// The registry's part of one pipeline's run.
pub struct Session<'a, 't> {
    /// What it shares with a purge session: writer, clock, report.
    pub(super) ledger: Ledger<'a, 't>,
    /// The run's transaction (the ledger's), for reads.
    pub(super) tx: &'a Tx<'t>,
    /// The pipeline's registry declarations, compiled.
    pub(super) config: &'a Config,
    /// Another pipeline shares the system: a new key may already be linked.
    pub(super) shared_system: bool,
    /// The external matcher, when the strategy is one.
    pub(super) external: Option<External>,
    /// Manager and sponsor links to resolve at the end of the run.
    pub(super) pending: Vec<relations::Pending>,
}

impl<'a, 't> Session<'a, 't> {
    /// A session for a pipeline's run. With `run`, changes are written into
    /// `tx`; without, they are only reported.
    pub fn for_pipeline(
        tx: &'a Tx<'t>,
        config: &'a Config,
        run: Option<i64>,
        now: Instant,
        collect: bool,
    ) -> Result<Self> {
        let external = match &config.strategy {
            config::Strategy::External {
                target,
                timeout,
                dir,
            } => Some(External::resolve(target, *timeout, dir)?),
            _ => None,
        };
        let shared_system = tx.system_shared(&config.system, &config.pipeline)?;
        let mut ledger = Ledger::new(tx, config.pipeline.clone(), run, now);
        ledger.collect = collect;
        ledger.lifecycles = BTreeMap::from([(config.pipeline.clone(), own_lifecycle(config))]);
        Ok(Session {
            ledger,
            tx,
            config,
            shared_system,
            external,
            pending: Vec::new(),
        })
    }

    fn touch(&mut self, person: i64) {
        let lifecycle = own_lifecycle(self.config);
        self.ledger.touched.entry(person).or_insert(lifecycle);
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
        let identities = self.config.identities(values);
        self.ledger.linked_by = None;
        let person = match self.find_person(key, line, values, &identities)? {
            matching::Found::Held => return Ok(Linked::Held),
            matching::Found::Person(person) => {
                // Matching ignores status: a suspended person found here is
                // re-evaluated once their new role is in.
                self.touch(person);
                self.ledger.records_moved.entry(person).or_default().back = true;
                self.merge_attributes(person, key, values)?;
                person
            }
            matching::Found::New => self.new_person(values)?,
        };
        let config = self.config;
        self.ledger
            .writer
            .insert_record(&config.pipeline, &config.system, person, record)?;
        self.sync_identities(person, key, &identities, true)?;
        self.apply_roles(person, key, values, &[])?;
        let linked = self.ledger.linked_by.take();
        self.log(
            key,
            Some(person),
            "create",
            None,
            Some(fields_object(fields, |f| &f.after)),
            linked.map(|by| Why::Linked { by: by.to_owned() }),
        )?;
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
        let linked = self.tx.record_person(&self.config.pipeline, key)?;
        let person = match linked {
            Some(person) if !returning || self.config.lifecycle.reinstate => {
                self.merge_attributes(person, key, values)?;
                person
            }
            // `reinstate #false`: a returning key starts over as someone new.
            _ => self.new_person(values)?,
        };
        if returning {
            self.touch(person);
            self.ledger.records_moved.entry(person).or_default().back = true;
        }
        self.ledger
            .writer
            .update_record(&self.config.pipeline, person, record)?;
        let identities = self.config.identities(values);
        self.sync_identities(person, key, &identities, false)?;
        let existing = self.tx.roles_of_record(&self.config.pipeline, key)?;
        self.apply_roles(person, key, values, &existing)?;
        if !fields.is_empty() || returning {
            self.log(
                key,
                Some(person),
                if returning { "reinstate" } else { "update" },
                Some(fields_object(fields, |f| &f.before)),
                Some(fields_object(fields, |f| &f.after)),
                None,
            )?;
        }
        self.ledger.held_now.clear();
        Ok(person)
    }

    /// Re-applies an unchanged record (`run --resync`): its person's
    /// attributes, identities and roles are written again from it, frozen
    /// values kept. Returns what changed on the person, by attribute
    /// (`title`, `role.7.title`).
    pub fn resync(&mut self, key: &str, values: &[Value]) -> Result<Vec<FieldChange>> {
        let Some(person) = self.tx.record_person(&self.config.pipeline, key)? else {
            return Ok(Vec::new());
        };
        let mut changed = self.merge_attributes(person, key, values)?;
        let identities = self.config.identities(values);
        self.sync_identities(person, key, &identities, false)?;
        let existing = self.tx.roles_of_record(&self.config.pipeline, key)?;
        changed.extend(self.apply_roles(person, key, values, &existing)?);
        if !changed.is_empty() {
            self.log(
                key,
                Some(person),
                "resync",
                Some(fields_object(&changed, |f| &f.before)),
                Some(fields_object(&changed, |f| &f.after)),
                None,
            )?;
        }
        self.ledger.held_now.clear();
        Ok(changed)
    }

    /// A key gone from the source: its roles take the lifecycle's removal
    /// status. Returns the person.
    pub fn remove(&mut self, key: &str) -> Result<Option<i64>> {
        let person = self
            .ledger
            .writer
            .remove_record(&self.config.pipeline, key)?;
        for role in self.tx.roles_of_record(&self.config.pipeline, key)? {
            self.end_role(&role, Cause::Removed)?;
        }
        if let Some(person) = person {
            self.touch(person);
            let removal = self.config.lifecycle.on_removal;
            let moves = self.ledger.records_moved.entry(person).or_default();
            moves
                .gone
                .push((self.config.pipeline.clone(), key.to_owned()));
            moves.removal = Some(removal);
        }
        let why = self.removal_rule();
        self.log(key, person, "remove", None, None, Some(why))?;
        Ok(person)
    }

    /// The start of a run: the system's persons whose purge time has passed
    /// by `now` are purged before any record is read, as `rollcall purge`
    /// at that time would have, so a key of theirs that returns in this
    /// extract is someone new. Returns this pipeline's keys that went.
    pub fn purge_overdue(&mut self) -> Result<std::collections::HashSet<String>> {
        let system = Some(self.config.system.as_str());
        self.ledger.purge_due(system)?;
        Ok(self
            .ledger
            .purged_records
            .iter()
            .filter(|(pipeline, _)| *pipeline == self.config.pipeline)
            .map(|(_, key)| key.clone())
            .collect())
    }

    /// The end of a run: grace periods of the system's roles that ended,
    /// person statuses recalculated from their roles, the system's purges
    /// due, and manager and sponsor links resolved.
    pub fn finish(mut self) -> Result<(RegistryReport, Counts)> {
        let system = Some(self.config.system.as_str());
        self.ledger.end_grace_periods(system)?;
        self.apply_validity()?;
        self.ledger.recalculate_touched()?;
        self.ledger.purge_due(system)?;
        self.resolve_links()?;
        let config = self.config;
        self.ledger.writer.record_pipeline(
            &config.pipeline,
            &config.system,
            &own_lifecycle(config),
        )?;
        Ok((self.ledger.report, self.ledger.counts))
    }

    /// The rule a removal follows: the lifecycle's `on-removal` status,
    /// after its grace period when there is one.
    fn removal_rule(&self) -> Why {
        let lifecycle = &self.config.lifecycle;
        let status = match lifecycle.on_removal {
            RoleStatus::GracePeriod | RoleStatus::Active => RoleStatus::Suspended,
            other => other,
        };
        let grace = lifecycle.grace_period;
        Why::OnRemoval {
            status: status.as_str().to_owned(),
            grace_period: (grace.seconds > 0).then_some(grace.seconds),
            grace_until: (grace.seconds > 0).then(|| self.ledger.now.plus(grace).text()),
        }
    }

    /// A new person with the record's attributes.
    fn new_person(&mut self, values: &[Value]) -> Result<i64> {
        let attributes = self.attributes_of(values);
        self.ledger.writer.insert_person(&attributes)
    }

    /// The record's values by person attribute name.
    pub(super) fn attributes_of(&self, values: &[Value]) -> Map<String, Value> {
        self.config
            .attributes
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
        let freezes = self.ledger.freezes_of(person)?;
        let names = &self.config.attributes;
        let mut next = stored.attributes.clone();
        for (name, value) in names.iter().zip(values) {
            match freezes.iter().find(|f| &f.attribute == name) {
                Some(freeze) => {
                    if &freeze.value != value {
                        self.ledger.held(Held {
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
        let changed: Vec<FieldChange> = names
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
        if !changed.is_empty() {
            self.ledger.writer.set_person_attributes(person, &next)?;
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
        self.ledger
            .writer
            .sync_identities(person, &self.config.pipeline, key, given, fresh)
    }

    /// Appends a record's entry to the change log.
    fn log(
        &mut self,
        key: &str,
        person: Option<i64>,
        action: &str,
        before: Option<Value>,
        after: Option<Value>,
        why: Option<Why>,
    ) -> Result<()> {
        // Values a freeze held while this record was applied explain it
        // when nothing else does.
        let held = std::mem::take(&mut self.ledger.held_now);
        let why = why.or((!held.is_empty()).then_some(Why::FrozenHeld { held }));
        self.ledger.log(ChangeRow {
            run_id: 0,
            pipeline: self.config.pipeline.clone(),
            source_key: Some(key.to_owned()),
            person_id: person,
            action: action.into(),
            before,
            after,
            why,
        })
    }
}

/// A pipeline's lifecycle, as deactivations caused by its run use it.
fn own_lifecycle(config: &Config) -> PipelineLifecycle {
    let lifecycle = &config.lifecycle;
    PipelineLifecycle {
        limbo: lifecycle.limbo.clone(),
        purge_after: lifecycle.purge_after.as_ref().map(|d| d.value.seconds),
    }
}
