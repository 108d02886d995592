//! Person lifecycle: status recalculated from roles, deactivation into
//! limbo, reinstatement out of it, grace periods that end, and purges.
//!
//! A person's status is the best of their roles' (active > grace-period >
//! pending > suspended > expired > deleted). A person with no live role
//! (active or in grace) is deactivated: `inactive_since` is set and, per the
//! lifecycle of the pipeline whose removal caused it, they move to limbo and
//! get a purge time. A person whose best role is pending (not started) is
//! not deactivated, and one whose roles their records' own status ended is
//! kept (no limbo, no purge time): the source still lists them. A live role again (the key reappears in any pipeline of the system)
//! reinstates them: out of limbo, purge time cleared, same person id.

use rollcall_model::{Duration, RoleStatus};

use super::ledger::Ledger;
use super::overlay::role_key;
use super::report::{Cause, LimboChange, MAX_REPORTED, Purged, Transition};
use super::{Result, is_live, public};
use crate::store::{ChangeRow, PersonState, PipelineLifecycle, Why};

/// Rank of a status: the best role decides the person's status.
fn rank(status: &str) -> u8 {
    match status {
        "active" => 5,
        "grace-period" => 4,
        "pending" => 3,
        "suspended" => 2,
        "expired" => 1,
        _ => 0,
    }
}

impl Ledger<'_, '_> {
    /// A person's lifecycle state, as the store plus this plan's writes have it.
    pub(super) fn person_state(&self, person: i64) -> Result<Option<PersonState>> {
        if let Some(state) = self.writer.pending_person(person) {
            return Ok(Some(state.clone()));
        }
        if person < 0 {
            return Ok(None);
        }
        Ok(self.tx.person(person)?.map(|p| p.state()))
    }

    /// The lifecycle settings of the pipeline owning a role: this run's own,
    /// or as the other pipeline last recorded them.
    pub(super) fn lifecycle_of(&self, pipeline: &str) -> Result<PipelineLifecycle> {
        if let Some(lifecycle) = self.lifecycles.get(pipeline) {
            return Ok(lifecycle.clone());
        }
        Ok(self.tx.pipeline_lifecycle(pipeline)?.unwrap_or_default())
    }

    /// The statuses of a person's roles, with this plan's writes.
    fn role_statuses(&self, person: i64) -> Result<Vec<String>> {
        let stored = if person > 0 {
            self.tx.roles_of_person(person)?
        } else {
            Vec::new()
        };
        // Roles this session wrote and the store does not show yet count as written.
        let mut statuses: Vec<String> = stored
            .into_iter()
            .filter(|r| self.writer.pending_role(&role_key(r)).is_none())
            .map(|r| r.status)
            .collect();
        statuses.extend(self.writer.pending_role_statuses(person));
        Ok(statuses)
    }

    /// Recalculates every person whose roles this run changed.
    pub(super) fn recalculate_touched(&mut self) -> Result<()> {
        let touched = std::mem::take(&mut self.touched);
        for (person, lifecycle) in touched {
            self.recalculate(person, &lifecycle)?;
        }
        Ok(())
    }

    fn recalculate(&mut self, person: i64, lifecycle: &PipelineLifecycle) -> Result<()> {
        let Some(before) = self.person_state(person)? else {
            return Ok(());
        };
        let statuses = self.role_statuses(person)?;
        let best = match statuses.iter().max_by_key(|s| rank(s)) {
            Some(best) => best.clone(),
            None => match self.roleless_status(person)? {
                Some(status) => status,
                None => return Ok(()),
            },
        };
        let mut after = before.clone();
        after.status = best;
        // A person whose best role is still to start is not deactivated:
        // nothing of theirs ended, so no limbo and no purge time.
        let pending = after.status == RoleStatus::Pending.as_str();
        let cause = if is_live(&after.status) || pending {
            after.limbo = None;
            after.inactive_since = None;
            after.purge_at = None;
            if pending {
                Cause::Validity
            } else {
                Cause::Reappeared
            }
        } else {
            if is_live(&before.status) || before.inactive_since.is_none() {
                after.inactive_since = Some(self.now_text.clone());
                after.limbo = lifecycle.limbo.clone();
                after.purge_at = lifecycle
                    .purge_after
                    .map(|seconds| self.now.plus(Duration { seconds }).text());
            }
            Cause::Removed
        };
        if after == before {
            return Ok(());
        }
        let cause = if is_live(&before.status) == is_live(&after.status) && !pending {
            Cause::Roles
        } else if cause == Cause::Removed && self.kept.contains(&person) {
            Cause::Status
        } else {
            cause
        };
        self.writer.set_person_state(person, &after)?;
        let why = match cause {
            Cause::Removed => Why::Limbo {
                limbo: after.limbo.clone(),
                purge_after: lifecycle.purge_after,
                purge_at: after.purge_at.clone(),
                inactive_since: after.inactive_since.clone(),
            },
            Cause::Reappeared => Why::Reinstated,
            Cause::Status => Why::RecordStatus,
            Cause::Validity => Why::Validity,
            Cause::Roles | Cause::GraceEnded => Why::Roles,
        };
        self.log(ChangeRow {
            run_id: 0,
            pipeline: self.pipeline.clone(),
            source_key: None,
            person_id: Some(person),
            action: "person-status".into(),
            before: Some(serde_json::json!({ "status": before.status, "limbo": before.limbo })),
            after: Some(serde_json::json!({
                "status": after.status,
                "limbo": after.limbo,
                "purge_at": after.purge_at,
            })),
            why: Some(why),
        })?;
        self.counts.transitions += 1;
        if self.collect && self.report.transitions.len() < MAX_REPORTED {
            self.report.transitions.push(Transition {
                person: public(person),
                role: None,
                from: before.status,
                to: after.status,
                limbo: (before.limbo != after.limbo).then_some(LimboChange {
                    from: before.limbo,
                    to: after.limbo,
                }),
                purge_at: after.purge_at,
                cause,
            });
        }
        Ok(())
    }

    /// The status of a person without any role, from their records: active
    /// while one is present (or came back in this run), else the removal
    /// status of the pipeline that removed the last one (a grace period
    /// counts as suspended: grace periods are kept on roles). `None` when
    /// this run moved none of their records.
    fn roleless_status(&self, person: i64) -> Result<Option<String>> {
        let Some(moves) = self.records_moved.get(&person) else {
            return Ok(None);
        };
        let present = person > 0
            && self
                .tx
                .present_records_of_person(person)?
                .iter()
                .any(|record| !moves.gone.contains(record));
        if moves.back || present {
            return Ok(Some(RoleStatus::Active.as_str().to_owned()));
        }
        let status = match moves.removal {
            Some(RoleStatus::GracePeriod | RoleStatus::Active) | None => RoleStatus::Suspended,
            Some(other) => other,
        };
        Ok(Some(status.as_str().to_owned()))
    }

    /// Roles whose grace period ended take the status that follows it.
    pub(super) fn end_grace_periods(&mut self, system: Option<&str>) -> Result<()> {
        for row in self.tx.roles_due(&self.now_text, system)? {
            if self.writer.pending_role(&role_key(&row)).is_some() {
                continue; // this plan already moved it (e.g. the key came back)
            }
            let frozen = self
                .freezes_of(row.person_id)?
                .iter()
                .any(|f| f.attribute == format!("role.{}", row.id));
            if frozen {
                continue;
            }
            let after = match row.status_after.as_deref() {
                Some("expired") => RoleStatus::Expired,
                Some("deleted") => RoleStatus::Deleted,
                _ => RoleStatus::Suspended,
            };
            self.set_role_status(&row, row.person_id, after, None, Cause::GraceEnded)?;
        }
        Ok(())
    }

    /// Purges inactive persons whose `purge-after` has passed: their records,
    /// roles, identities and freezes go with them, and the change log keeps a
    /// `purge` entry per record.
    pub(super) fn purge_due(&mut self, system: Option<&str>) -> Result<()> {
        let mut due: Vec<(i64, PersonState)> = Vec::new();
        for person in self.tx.persons_due(&self.now_text, system)? {
            let state = self
                .person_state(person.id)?
                .unwrap_or_else(|| person.state());
            due.push((person.id, state));
        }
        for (person, state) in self.writer.pending_persons() {
            if person > 0 && !due.iter().any(|(p, _)| *p == person) {
                due.push((person, state));
            }
        }
        due.sort_by_key(|(p, _)| *p);
        let now = self.now_text.clone();
        for (person, state) in due {
            // A plan's store still shows the persons it purged at the start.
            let is_due = !self.writer.purged(person)
                && !is_live(&state.status)
                && state
                    .purge_at
                    .as_deref()
                    .is_some_and(|at| at <= now.as_str());
            if !is_due {
                continue;
            }
            let records = self.tx.records_of_person(person)?;
            for (pipeline, key) in &records {
                self.log(ChangeRow {
                    run_id: 0,
                    pipeline: pipeline.clone(),
                    source_key: Some(key.clone()),
                    person_id: Some(person),
                    action: "purge".into(),
                    before: Some(serde_json::json!({
                        "status": state.status,
                        "inactive_since": state.inactive_since,
                    })),
                    after: None,
                    why: Some(Why::PurgeAfter {
                        inactive_since: state.inactive_since.clone(),
                        purge_at: state.purge_at.clone(),
                        by: self.operator.clone(),
                    }),
                })?;
            }
            self.writer.delete_person(person)?;
            self.purged_records.extend(records.iter().cloned());
            self.counts.purged += 1;
            if self.report.purged.len() < MAX_REPORTED {
                self.report.purged.push(Purged {
                    person,
                    inactive_since: state.inactive_since,
                    purge_at: state.purge_at,
                    records: records
                        .into_iter()
                        .map(|(pipeline, key)| format!("{pipeline}/{key}"))
                        .collect(),
                });
            }
        }
        Ok(())
    }
}
