//! The roles a record gives its person: created, updated (frozen attributes
//! kept), ended when the record or the role's fields disappear, and
//! re-activated when they come back. A pipeline only ever touches the roles
//! its own records give, which is what keeps a scoped import to its scope.

use serde_json::Value;

use super::config::Given;
use super::ledger::Ledger;
use super::overlay::role_key;
use super::relations::Pending;
use super::report::{Cause, Held, MAX_REPORTED, RoleRef, Transition};
use super::{RegistryError, Result, Session, is_live, public};
use crate::clock::Instant;
use crate::diff::FieldChange;
use crate::store::{
    ChangeRow, PipelineLifecycle, ROLE_ATTRIBUTES, Relation, RoleRow, RoleStatusRow, RoleValues,
    Why,
};
use rollcall_model::{Duration, RoleStatus};

/// A role a record gives again, and the status it should take.
#[derive(Clone, Copy)]
struct Update<'r> {
    person: i64,
    key: &'r str,
    row: &'r RoleRow,
    target: (RoleStatus, Cause),
}

/// Whether a status the record itself gives (or a start still to come)
/// keeps its person out of limbo and purges.
fn kept((status, cause): (RoleStatus, Cause)) -> bool {
    status != RoleStatus::Active && (cause == Cause::Status || status == RoleStatus::Pending)
}

/// What a role's validity dates say at `now`: pending before `valid-from`,
/// `on_expiry` once `valid-until` has passed (a plain date lasts the whole
/// day), else active. A date that is not a time is the error `(field, problem)`.
pub(super) fn validity_status(
    values: &RoleValues,
    now: Instant,
    on_expiry: RoleStatus,
) -> std::result::Result<RoleStatus, (&'static str, String)> {
    let parse = |text: &str, field: &'static str| {
        Instant::parse(text, field).map_err(|_| {
            (
                field,
                format!("{text:?} is not a date (`2025-03-01`) or an RFC 3339 time"),
            )
        })
    };
    if let Some(until) = &values.valid_until {
        let mut end = parse(until, "valid-until")?;
        if !until.contains('T') {
            end = end.plus(Duration { seconds: 86_400 });
        }
        if now >= end {
            return Ok(on_expiry);
        }
    }
    if let Some(from) = &values.valid_from
        && now < parse(from, "valid-from")?
    {
        return Ok(RoleStatus::Pending);
    }
    Ok(RoleStatus::Active)
}

impl Session<'_, '_> {
    /// Makes the record's roles what `values` give. `existing` are the roles
    /// the record gave before: each given role is matched to the one of the
    /// same declaration and member, and those no longer given end. Returns
    /// the role attributes that change, as `role.ID.NAME`.
    pub(super) fn apply_roles(
        &mut self,
        person: i64,
        key: &str,
        values: &[Value],
        existing: &[RoleRow],
    ) -> Result<Vec<FieldChange>> {
        let given = self
            .config
            .roles(values)
            .map_err(|e| RegistryError::RoleValue {
                pipeline: self.config.pipeline.clone(),
                key: key.to_owned(),
                field: e.field,
                problem: e.problem,
            })?;
        let freezes = if existing.is_empty() {
            Vec::new()
        } else {
            self.ledger.freezes_of(person)?
        };
        let mut changed = Vec::new();
        let mut kept = vec![false; existing.len()];
        for role in &given {
            let target = self.target_status(key, role)?;
            let found = existing
                .iter()
                .position(|r| r.ordinal == role.ordinal && r.member == role.member);
            match found {
                None => self.add_role(person, key, role, target)?,
                Some(i) => {
                    kept[i] = true;
                    let update = Update {
                        person,
                        key,
                        row: &existing[i],
                        target,
                    };
                    changed.extend(self.update_role(&update, &role.values, &freezes)?);
                }
            }
        }
        for (row, kept) in existing.iter().zip(kept) {
            if !kept {
                self.end_role(row, Cause::Removed)?;
            }
        }
        Ok(changed)
    }

    /// A role the record gives again: its attributes (frozen ones kept)
    /// and its status as the record and the time say.
    fn update_role(
        &mut self,
        update: &Update<'_>,
        values: &RoleValues,
        freezes: &[crate::store::FrozenRow],
    ) -> Result<Vec<FieldChange>> {
        let Update {
            person,
            key,
            row,
            target,
        } = *update;
        let whole = format!("role.{}", row.id);
        let whole_frozen = freezes.iter().find(|f| f.attribute == whole);
        let mut next = values.clone();
        for name in ROLE_ATTRIBUTES {
            let address = format!("role.{}.{name}", row.id);
            let freeze = whole_frozen.or_else(|| freezes.iter().find(|f| f.attribute == address));
            let Some(freeze) = freeze else { continue };
            let frozen = if whole_frozen.is_some() || *name == "manager" || *name == "sponsor" {
                next.take(name, &row.values);
                row.values.get(name)
            } else {
                next.set_text(name, freeze.value.as_str().map(str::to_owned));
                freeze.value.clone()
            };
            let incoming = values.get(name);
            if incoming != frozen {
                self.ledger.held(Held {
                    key: key.to_owned(),
                    person,
                    // A whole-role freeze holds each attribute: name the one held.
                    attribute: address.clone(),
                    frozen,
                    incoming,
                    frozen_by: freeze.frozen_by.clone(),
                    reason: freeze.reason.clone(),
                    until: freeze.until.clone(),
                });
            }
        }
        let mut changed = Vec::new();
        for name in ROLE_ATTRIBUTES {
            let (before, after) = (row.values.get(name), next.get(name));
            if before != after {
                changed.push(FieldChange {
                    field: format!("role.{}.{name}", row.id),
                    before,
                    after,
                });
            }
        }
        if next != row.values || row.person_id != person {
            self.ledger.writer.set_role_values(row, person, &next)?;
        }
        if row.status != target.0.as_str() && whole_frozen.is_none() {
            if kept(target) {
                self.keep_person(person);
            }
            self.ledger
                .set_role_status(row, person, target.0, None, target.1)?;
        } else {
            self.ledger.writer.keep_role_status(row, person);
        }
        self.queue_links(Some(row.id), key, row.ordinal, person, &next);
        Ok(changed)
    }

    fn add_role(
        &mut self,
        person: i64,
        key: &str,
        role: &Given,
        target: (RoleStatus, Cause),
    ) -> Result<()> {
        if kept(target) {
            self.keep_person(person);
        } else if target.0 != RoleStatus::Active {
            // A new role that has already expired still decides its
            // person's status.
            let lifecycle = self.ledger.lifecycle_of(&self.config.pipeline)?;
            self.ledger.touched.entry(person).or_insert(lifecycle);
        }
        let ledger = &mut self.ledger;
        let id = ledger.writer.insert_role(
            person,
            key,
            role,
            self.config,
            (target.0.as_str(), &ledger.now_text),
        )?;
        self.queue_links(id, key, role.ordinal, person, &role.values);
        Ok(())
    }

    /// A person whose role the record itself (or its dates) ends or holds
    /// back is deactivated like any other, but kept: the source still
    /// lists them, so they are neither moved to limbo nor given a purge time.
    fn keep_person(&mut self, person: i64) {
        self.ledger
            .touched
            .insert(person, PipelineLifecycle::default());
        self.ledger.kept.insert(person);
    }

    /// The status a given role should have now: the record's own status
    /// when it is not active, else what its validity dates say at `now`.
    fn target_status(&self, key: &str, role: &Given) -> Result<(RoleStatus, Cause)> {
        if let Some(status) = role.status
            && status != RoleStatus::Active
        {
            return Ok((status, Cause::Status));
        }
        let timed = validity_status(
            &role.values,
            self.ledger.now,
            self.config.lifecycle.on_expiry,
        )
        .map_err(|(field, problem)| RegistryError::RoleValue {
            pipeline: self.config.pipeline.clone(),
            key: key.to_owned(),
            field: field.to_owned(),
            problem,
        })?;
        Ok(match timed {
            RoleStatus::Active if role.status.is_some() => (RoleStatus::Active, Cause::Status),
            RoleStatus::Active => (RoleStatus::Active, Cause::Reappeared),
            other => (other, Cause::Validity),
        })
    }

    /// The end of a run: the pipeline's active and pending roles whose
    /// validity dates the time has passed since they were written take the
    /// status those dates now give, though their records did not change.
    pub(super) fn apply_validity(&mut self) -> Result<()> {
        let on_expiry = self.config.lifecycle.on_expiry;
        for row in self.tx.timed_roles(&self.config.pipeline)? {
            if self.ledger.writer.pending_role(&role_key(&row)).is_some() {
                continue; // this run gave it already
            }
            let Ok(status) = validity_status(&row.values, self.ledger.now, on_expiry) else {
                continue; // refused when its record was applied
            };
            if status.as_str() == row.status {
                continue;
            }
            let frozen = self
                .ledger
                .freezes_of(row.person_id)?
                .iter()
                .any(|f| f.attribute == format!("role.{}", row.id));
            if !frozen {
                self.ledger
                    .set_role_status(&row, row.person_id, status, None, Cause::Validity)?;
            }
        }
        Ok(())
    }

    fn queue_links(
        &mut self,
        role: Option<i64>,
        key: &str,
        ordinal: i64,
        holder: i64,
        values: &RoleValues,
    ) {
        for (relation, link) in [
            (Relation::Manager, &values.manager),
            (Relation::Sponsor, &values.sponsor),
        ] {
            if let Some(link) = link {
                self.pending.push(Pending {
                    role,
                    key: key.to_owned(),
                    ordinal,
                    holder,
                    relation,
                    reference: link.clone(),
                });
            }
        }
    }

    /// A role whose record (or whose fields) left the source: it takes the
    /// grace period, or straight away the removal status. A frozen role
    /// keeps its status.
    pub(super) fn end_role(&mut self, row: &RoleRow, cause: Cause) -> Result<()> {
        let lifecycle = &self.config.lifecycle;
        let status = self.ledger.current_status(row);
        if !is_live(&status) || status == RoleStatus::GracePeriod.as_str() {
            return Ok(());
        }
        if self
            .ledger
            .freezes_of(row.person_id)?
            .iter()
            .any(|f| f.attribute == format!("role.{}", row.id))
        {
            return Ok(());
        }
        // `on-removal grace-period` names the waiting status itself; the
        // role is suspended when the wait ends.
        let after = match lifecycle.on_removal {
            RoleStatus::GracePeriod | RoleStatus::Active => RoleStatus::Suspended,
            other => other,
        };
        let grace = lifecycle.grace_period;
        if grace.seconds > 0 {
            let until = self.ledger.now.plus(grace).text();
            self.ledger.set_role_status(
                row,
                row.person_id,
                RoleStatus::GracePeriod,
                Some((until, after)),
                cause,
            )
        } else {
            self.ledger
                .set_role_status(row, row.person_id, after, None, cause)
        }
    }
}

impl Ledger<'_, '_> {
    /// Writes (or, planning, notes) a role's new status, reports the
    /// transition and marks its person for recalculation.
    pub(super) fn set_role_status(
        &mut self,
        row: &RoleRow,
        person: i64,
        status: RoleStatus,
        grace: Option<(String, RoleStatus)>,
        cause: Cause,
    ) -> Result<()> {
        let from = self.current_status(row);
        let to = status.as_str();
        if from == to {
            return Ok(());
        }
        let status_row = RoleStatusRow {
            status: to.to_owned(),
            since: self.now_text.clone(),
            grace_until: grace.as_ref().map(|g| g.0.clone()),
            status_after: grace.as_ref().map(|g| g.1.as_str().to_owned()),
        };
        self.writer.set_role_status(row, person, &status_row)?;
        // A removal or return is logged with its record; only a grace
        // period ending is an event of its own.
        if cause == Cause::GraceEnded {
            self.log(ChangeRow {
                run_id: 0,
                pipeline: row.pipeline.clone(),
                source_key: Some(row.source_key.clone()),
                person_id: Some(person),
                action: "role-status".into(),
                before: Some(serde_json::json!({ "role": row.id, "status": from })),
                after: Some(serde_json::json!({
                    "role": row.id,
                    "status": to,
                    "grace_until": grace.as_ref().map(|g| g.0.clone()),
                })),
                why: Some(Why::GracePeriodEnded {
                    grace_until: row.grace_until.clone(),
                    status: to.to_owned(),
                }),
            })?;
        }
        self.counts.transitions += 1;
        if self.collect && self.report.transitions.len() < MAX_REPORTED {
            self.report.transitions.push(Transition {
                person: public(person),
                role: Some(RoleRef {
                    id: Some(row.id),
                    pipeline: row.pipeline.clone(),
                    key: row.source_key.clone(),
                    ordinal: row.ordinal,
                    scope: row.scope.clone(),
                }),
                from,
                to: to.to_owned(),
                limbo: None,
                purge_at: None,
                cause,
            });
        }
        let lifecycle = self.lifecycle_of(&row.pipeline)?;
        self.touched.entry(person).or_insert(lifecycle);
        Ok(())
    }

    /// A role's status as the store plus this session's pending writes have it.
    pub(super) fn current_status(&self, row: &RoleRow) -> String {
        self.writer
            .pending_role(&role_key(row))
            .map(|(_, status)| status.clone())
            .unwrap_or_else(|| row.status.clone())
    }
}
