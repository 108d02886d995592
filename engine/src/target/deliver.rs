//! Working through the outbox: for each target with queued deliveries, the
//! target is listed in full, compared with what it should hold, and only
//! the differing operations are sent, one at a time. Ownership is written
//! around each write (a creation's intent before it is sent), so a crash,
//! a network error or a throttled service resumes where it stopped and a
//! replay sends nothing twice. The queue is marked delivered only when
//! every operation was accepted.

use rollcall_model::{Limit, Target};
use serde::Serialize;

use super::desired::{self, Desired, Shaped};
use super::reconcile::{self, Label, Reconciled, Rules, Step, kind_word};
use super::{Directory, Object, ObjectFailure, ObjectKind, Operation, open};
use crate::plan::Plan;
use crate::store::{Claim, OutboxRow, OwnedObject, Store, StoreError, now_text};

/// How a delivery goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliverOptions {
    /// Send the operations (off for `plan` and `--skip-upload`: they are
    /// computed and shown, nothing is sent or marked delivered).
    pub send: bool,
    /// Reconcile every target, queued or not (`rollcall deliver`, `plan`).
    pub always: bool,
}

/// One operation, planned or sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// create, modify, rename, deactivate or delete.
    pub operation: Label,
    /// `person` or `group`.
    pub kind: &'static str,
    /// The object's name after it.
    pub name: String,
    /// The attributes it writes (create, modify), by name.
    pub attributes: Vec<String>,
}

/// One operation the target refused: the request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedStep {
    /// What it was.
    pub operation: Label,
    /// `person` or `group`.
    pub kind: &'static str,
    /// The object's name.
    pub name: String,
    /// The request sent.
    pub request: String,
    /// The server's answer.
    pub answer: String,
}

/// A listed object rollcall does not own: never touched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForeignObject {
    /// `person` or `group`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its handle.
    pub id: String,
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TargetReport {
    /// The target's name.
    pub target: String,
    /// `scim` or `ldap`.
    pub kind: &'static str,
    /// Runs queued for it before this delivery.
    pub pending_runs: Vec<i64>,
    /// Operations sent and accepted (or, without sending, planned).
    pub operations: Vec<StepReport>,
    /// Operations refused, each with its request and the answer.
    pub failed: Vec<FailedStep>,
    /// Objects the target holds that are not rollcall's.
    pub foreign: Vec<ForeignObject>,
    /// Persons left out (their name is empty), with why.
    pub unnamed: Vec<String>,
    /// Why removals (or the whole delivery) were held back, if they were.
    pub held: Option<String>,
    /// Why the target could not be delivered at all, if so.
    pub error: Option<String>,
    /// Whether operations were sent (not `plan` or `--skip-upload`).
    pub sent: bool,
    /// Whether the queue was marked delivered.
    pub accepted: bool,
    /// How `plan` computed it, when not from this extract's outcome.
    pub note: Option<String>,
}

impl TargetReport {
    /// Whether something went wrong: a refused operation, removals held,
    /// or no delivery at all.
    pub fn has_problems(&self) -> bool {
        !self.failed.is_empty() || self.held.is_some() || self.error.is_some()
    }
}

/// Delivers (or, without sending, plans) every target of the pipeline
/// with queued deliveries (every target with `always`).
pub fn deliver(
    plan: &Plan,
    store: &mut Store,
    options: DeliverOptions,
) -> Result<Vec<TargetReport>, StoreError> {
    let mut reports = Vec::new();
    for target in &plan.targets {
        if let Some(report) = deliver_target(plan, target, store, options, None)? {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// [`deliver`] with each target's desired state given (one per target, in
/// order): `plan`'s view of the registry after a run it did not commit.
pub fn deliver_given(
    plan: &Plan,
    store: &mut Store,
    options: DeliverOptions,
    desired: Vec<Desired>,
) -> Result<Vec<TargetReport>, StoreError> {
    let mut reports = Vec::new();
    for (target, desired) in plan.targets.iter().zip(desired) {
        if let Some(report) = deliver_target(plan, target, store, options, Some(desired))? {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// What a target's delivery starts from, read in one snapshot.
struct Start {
    pending: Vec<OutboxRow>,
    owned: Vec<OwnedObject>,
    desired: Desired,
}

/// Reads the queue, the ownership and the desired state of one target.
fn start(
    plan: &Plan,
    target: &Target,
    store: &mut Store,
    given: Option<Desired>,
) -> Result<Start, StoreError> {
    let tx = store.read()?;
    let name = &target.name.value;
    let pending = tx
        .pending_deliveries(&plan.system)?
        .into_iter()
        .filter(|row| &row.target == name)
        .collect();
    let owned = tx.owned_objects(name, &plan.system)?;
    let desired = match given {
        Some(desired) => desired,
        None => desired::desired(&tx, &plan.system, target)?,
    };
    tx.rollback()?;
    Ok(Start {
        pending,
        owned,
        desired,
    })
}

/// One target: `None` when nothing is queued for it (and not `always`).
fn deliver_target(
    plan: &Plan,
    target: &Target,
    store: &mut Store,
    options: DeliverOptions,
    given: Option<Desired>,
) -> Result<Option<TargetReport>, StoreError> {
    let start = start(plan, target, store, given)?;
    if start.pending.is_empty() && !options.always {
        return Ok(None);
    }
    let mut report = TargetReport {
        target: target.name.value.clone(),
        kind: kind_name(target),
        pending_runs: start.pending.iter().map(|r| r.run).collect(),
        unnamed: start
            .desired
            .unnamed
            .iter()
            .map(|(id, why)| format!("person {id}: {why}"))
            .collect(),
        sent: options.send,
        ..TargetReport::default()
    };
    let mut session = match open(target, plan) {
        Ok(directory) => Session {
            plan,
            target,
            store,
            directory,
            send: options.send,
            moved: Default::default(),
        },
        Err(err) => {
            report.error = Some(err);
            note_failure(plan, target, store, &report, options)?;
            return Ok(Some(report));
        }
    };
    let listing = match session.directory.list() {
        Ok(listing) => listing,
        Err(err) => {
            report.error = Some(format!(
                "{err}; nothing was sent (no removal is made from an incomplete listing), \
                 and the queue stays for the next run"
            ));
            note_failure(plan, target, session.store, &report, options)?;
            return Ok(Some(report));
        }
    };
    session.persons(&start, &listing, &mut report)?;
    if target.groups.is_some() && !stopped(&report) {
        session.groups(&start, &listing, &mut report)?;
    }
    if options.send && !report.has_problems() {
        let last = start.pending.iter().map(|r| r.id).max().unwrap_or(0);
        let tx = session.store.write(&Claim::run(&plan.name, &plan.system))?;
        tx.deliveries_accepted(&target.name.value, &plan.system, last, &now_text())?;
        tx.commit()?;
        report.accepted = true;
    } else {
        note_failure(plan, target, session.store, &report, options)?;
    }
    Ok(Some(report))
}

/// Whether a transient failure stopped the delivery (the rest waits).
fn stopped(report: &TargetReport) -> bool {
    report.error.is_some()
}

/// Counts a delivery that did not finish on the target's queue, with why.
fn note_failure(
    plan: &Plan,
    target: &Target,
    store: &mut Store,
    report: &TargetReport,
    options: DeliverOptions,
) -> Result<(), StoreError> {
    if !options.send {
        return Ok(());
    }
    let why = report
        .error
        .clone()
        .or_else(|| report.held.clone())
        .unwrap_or_else(|| format!("{} operation(s) refused", report.failed.len()));
    let tx = store.write(&Claim::run(&plan.name, &plan.system))?;
    tx.delivery_failed(&target.name.value, &plan.system, &why)?;
    tx.commit()
}

/// `scim` or `ldap`.
fn kind_name(target: &Target) -> &'static str {
    match target.kind {
        rollcall_model::TargetKind::Scim(_) => "scim",
        rollcall_model::TargetKind::Ldap(_) => "ldap",
    }
}

/// One target's delivery under way.
struct Session<'a> {
    plan: &'a Plan,
    target: &'a Target,
    store: &'a mut Store,
    directory: Box<dyn Directory>,
    send: bool,
    /// Handles that a rename changed (LDAP: the DN), old to new, so a
    /// step after it reaches the object where it now is.
    moved: std::collections::HashMap<String, String>,
}

impl Session<'_> {
    /// How this target matches and removes.
    fn rules(&self) -> Rules {
        let mut deactivation = super::Attributes::new();
        match &self.target.kind {
            rollcall_model::TargetKind::Scim(_) => {
                deactivation.insert("active".into(), vec!["false".into()]);
            }
            rollcall_model::TargetKind::Ldap(ldap) => {
                for (name, value) in &ldap.deactivate {
                    deactivation.insert(name.clone(), vec![value.clone()]);
                }
            }
        }
        Rules {
            adopt_by: self.target.adopt_by.as_ref().map(|a| a.value.clone()),
            delete_after_purge: self.target.delete_after_purge,
            deactivation,
        }
    }

    /// The persons' objects: reconciled, gated, sent.
    fn persons(
        &mut self,
        start: &Start,
        listing: &[Object],
        report: &mut TargetReport,
    ) -> Result<(), StoreError> {
        let wanted: Vec<Shaped> = start
            .desired
            .persons
            .iter()
            .map(|p| p.object.clone())
            .collect();
        let mut reconciled = reconcile::reconcile(
            ObjectKind::Person,
            &wanted,
            listing,
            &start.owned,
            &self.rules(),
        );
        self.gate(&start.owned, &mut reconciled, report);
        self.carry_out(reconciled, report)
    }

    /// The groups from roles, their members the persons' objects as owned now.
    fn groups(
        &mut self,
        start: &Start,
        listing: &[Object],
        report: &mut TargetReport,
    ) -> Result<(), StoreError> {
        let owned = if self.send {
            let tx = self.store.read()?;
            let owned = tx.owned_objects(&self.target.name.value, &self.plan.system)?;
            tx.rollback()?;
            owned
        } else {
            start.owned.clone()
        };
        let handle = |key: &str| {
            owned
                .iter()
                .find(|o| o.kind == "person" && o.key == key)
                .and_then(|o| o.object_id.clone())
                .or_else(|| (!self.send).then(|| format!("(new person {key})")))
        };
        let wanted: Vec<Shaped> = start
            .desired
            .groups()
            .into_iter()
            .map(|(name, members)| {
                let members = members.iter().filter_map(|k| handle(k)).collect();
                desired::shape_group(self.target, &name, members)
            })
            .collect();
        let reconciled =
            reconcile::reconcile(ObjectKind::Group, &wanted, listing, &owned, &self.rules());
        self.carry_out(reconciled, report)
    }

    /// The integrity gate on the target: removals beyond `max-removed` (a
    /// count, or a share of the persons rollcall owns there) are held.
    fn gate(&self, owned: &[OwnedObject], reconciled: &mut Reconciled, report: &mut TargetReport) {
        let Some(limit) = self.plan.integrity.max_removed.as_ref().map(|l| l.value) else {
            return;
        };
        let removals = reconciled
            .steps
            .iter()
            .filter(|s| s.label.is_removal())
            .count() as u64;
        let base = owned.iter().filter(|o| o.kind == "person").count() as u64;
        let (allowed, said) = match limit {
            Limit::Count(n) => (n, format!("{n}")),
            Limit::Percent(p) => (
                ((base as f64) * p / 100.0).floor() as u64,
                format!("{p}% of {base}"),
            ),
        };
        if removals > allowed {
            reconciled.steps.retain(|s| !s.label.is_removal());
            report.held = Some(format!(
                "integrity: {removals} deactivations/deletions exceed max-removed ({said}); \
                 they were held back, the rest was delivered"
            ));
        }
    }

    /// Owns the adopted objects, then sends each step (or only lists it).
    fn carry_out(
        &mut self,
        reconciled: Reconciled,
        report: &mut TargetReport,
    ) -> Result<(), StoreError> {
        report
            .foreign
            .extend(reconciled.foreign.iter().map(|o| ForeignObject {
                kind: kind_word(o.kind),
                name: o.name.clone(),
                id: o.id.clone(),
            }));
        if self.send {
            for (key, object) in &reconciled.adopted {
                self.own(object.kind, key, Some(&object.id), &object.name)?;
            }
        }
        for step in reconciled.steps {
            let planned = StepReport {
                operation: step.label,
                kind: kind_word(step.kind),
                name: step.name.clone(),
                attributes: written(&step.operation),
            };
            if !self.send {
                report.operations.push(planned);
                continue;
            }
            if let Some(stop) = crate::interrupt::requested() {
                // The change is committed; what is left waits in the outbox.
                report.error = Some(format!(
                    "delivery stopped by {}; the queue stays for the next run",
                    stop.name()
                ));
                break;
            }
            match self.send_step(&step)? {
                Ok(()) => report.operations.push(planned),
                Err(failure) => {
                    let transient = failure.transient;
                    report.failed.push(FailedStep {
                        operation: step.label,
                        kind: planned.kind,
                        name: step.name.clone(),
                        request: failure.request,
                        answer: failure.answer,
                    });
                    if transient {
                        // The service is unwell: the rest waits in the queue.
                        report.error = Some(format!(
                            "{} stopped after a failure that may pass; the queue stays for the next run",
                            self.target.name.value
                        ));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends one step, writing ownership around it.
    fn send_step(&mut self, step: &Step) -> Result<Result<(), ObjectFailure>, StoreError> {
        if let Operation::Create { .. } = step.operation {
            // The intent first: a creation that reaches the server before a
            // crash is then recognised as ours on the next delivery.
            self.own(step.kind, &step.key, None, &step.name)?;
        }
        let mut operation = step.operation.clone();
        if let Operation::Modify { id, .. } | Operation::Delete { id, .. } = &mut operation
            && let Some(now) = self.moved.get(id.as_str())
        {
            *id = now.clone();
        }
        let answer = self.directory.apply(&operation);
        if let (Operation::Rename { id, .. }, Ok(handle)) = (&operation, &answer)
            && id != handle
        {
            self.moved.insert(id.clone(), handle.clone());
        }
        match (&operation, answer) {
            (Operation::Create { .. }, Err(failure)) if !failure.transient => {
                self.disown(step.kind, &step.key)?;
                Ok(Err(failure))
            }
            (_, Err(failure)) => Ok(Err(failure)),
            (Operation::Delete { .. }, Ok(_)) => {
                self.disown(step.kind, &step.key)?;
                Ok(Ok(()))
            }
            (Operation::Modify { .. }, Ok(_)) => Ok(Ok(())),
            (_, Ok(handle)) => {
                self.own(step.kind, &step.key, Some(&handle), &step.name)?;
                Ok(Ok(()))
            }
        }
    }

    /// Records an owned object, durably at once.
    fn own(
        &mut self,
        kind: ObjectKind,
        key: &str,
        id: Option<&str>,
        name: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .store
            .write(&Claim::run(&self.plan.name, &self.plan.system))?;
        tx.own_object(&OwnedObject {
            target: self.target.name.value.clone(),
            system: self.plan.system.clone(),
            kind: kind_word(kind).into(),
            key: key.to_owned(),
            object_id: id.map(str::to_owned),
            name: name.to_owned(),
        })?;
        tx.commit()
    }

    /// Forgets an owned object, durably at once.
    fn disown(&mut self, kind: ObjectKind, key: &str) -> Result<(), StoreError> {
        let tx = self
            .store
            .write(&Claim::run(&self.plan.name, &self.plan.system))?;
        tx.disown_object(
            &self.target.name.value,
            &self.plan.system,
            kind_word(kind),
            key,
        )?;
        tx.commit()
    }
}

/// The attributes an operation writes, by name.
fn written(operation: &Operation) -> Vec<String> {
    match operation {
        Operation::Create { attributes, .. } => attributes.keys().cloned().collect(),
        Operation::Modify { replace, .. } => replace.keys().cloned().collect(),
        Operation::Rename { .. } | Operation::Delete { .. } => Vec::new(),
    }
}
