//! The roles a record gives its person: created, updated (frozen attributes
//! kept), ended when the record or the role's fields disappear, and
//! re-activated when they come back. A pipeline only ever touches the roles
//! its own records give, which is what keeps a scoped import to its scope.

use serde_json::Value;

use super::ledger::Ledger;
use super::overlay::role_key;
use super::relations::Pending;
use super::report::{Cause, Held, MAX_REPORTED, RoleRef, Transition};
use super::{Result, Session, public};
use crate::diff::FieldChange;
use crate::store::{ChangeRow, ROLE_ATTRIBUTES, Relation, RoleRow, RoleStatusRow, RoleValues};
use rollcall_model::RoleStatus;

impl Session<'_, '_> {
    /// Makes the record's roles what `values` give. `existing` are the roles
    /// the record gave before. Returns the role attributes that change, as
    /// `role.ID.NAME`.
    pub(super) fn apply_roles(
        &mut self,
        person: i64,
        key: &str,
        values: &[Value],
        existing: &[RoleRow],
    ) -> Result<Vec<FieldChange>> {
        let given = self.config.roles(values);
        let freezes = if existing.is_empty() {
            Vec::new()
        } else {
            self.ledger.freezes_of(person)?
        };
        let mut changed = Vec::new();
        for (ordinal, given) in given.iter().enumerate() {
            let ordinal = ordinal as i64;
            let row = existing.iter().find(|r| r.ordinal == ordinal);
            match (given, row) {
                (Some(values), None) => self.add_role(person, key, ordinal, values)?,
                (Some(values), Some(row)) => {
                    let whole = format!("role.{}", row.id);
                    let whole_frozen = freezes.iter().find(|f| f.attribute == whole);
                    let mut next = values.clone();
                    for name in ROLE_ATTRIBUTES {
                        let address = format!("role.{}.{name}", row.id);
                        let freeze = whole_frozen
                            .or_else(|| freezes.iter().find(|f| f.attribute == address));
                        let Some(freeze) = freeze else { continue };
                        let frozen =
                            if whole_frozen.is_some() || *name == "manager" || *name == "sponsor" {
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
                    if row.status != RoleStatus::Active.as_str() && whole_frozen.is_none() {
                        self.ledger.set_role_status(
                            row,
                            person,
                            RoleStatus::Active,
                            None,
                            Cause::Reappeared,
                        )?;
                    } else {
                        self.ledger.writer.keep_role_status(row, person);
                    }
                    self.queue_links(Some(row.id), key, ordinal, person, &next);
                }
                (None, Some(row)) => self.end_role(row, Cause::Removed)?,
                (None, None) => {}
            }
        }
        for row in existing.iter().filter(|r| r.ordinal >= given.len() as i64) {
            self.end_role(row, Cause::Removed)?;
        }
        Ok(changed)
    }

    fn add_role(
        &mut self,
        person: i64,
        key: &str,
        ordinal: i64,
        values: &RoleValues,
    ) -> Result<()> {
        let ledger = &mut self.ledger;
        let id = ledger.writer.insert_role(
            person,
            key,
            ordinal,
            self.config,
            values,
            &ledger.now_text,
        )?;
        self.queue_links(id, key, ordinal, person, values);
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

/// Whether a status keeps its person active: active, or waiting out a grace period.
pub(super) fn is_live(status: &str) -> bool {
    status == RoleStatus::Active.as_str() || status == RoleStatus::GracePeriod.as_str()
}
