//! A run: stream the source through the mapping, diff each record against
//! the state store, gate the complete change set on the integrity
//! thresholds, then commit it in one transaction or roll it all back.
//!
//! `plan` and `apply` share one streaming pass ([`stream`]); they differ in
//! the transaction they hold (a read snapshot or the write lock) and in
//! whether each change is written as it is found. Writing as we go inside
//! the still-uncommitted transaction keeps memory flat on million-record
//! extracts: nothing is visible to anyone, or durable, until the gate has
//! passed and the transaction commits.

use std::path::PathBuf;
use std::sync::Arc;

use rollcall_model::Absent;
use serde::Serialize;
use serde_json::Value;

use std::collections::BTreeSet;

mod extract;

use crate::clock::Instant;
use crate::decode::Records;
use crate::diff::{self, Action, Change, PriorState, Seen};
use crate::integrity::{Baseline, Gate};
use crate::lookup::{LookupError, LookupReport};
use crate::mapping::{self, Mapped};
use crate::plan::Plan;
use crate::registry::{Linked, RegistryError, RegistryReport, Session};
use crate::sink::{self, Delivered, SinkError};
use crate::source::{self, Limits, Located, SourceError, SourceIdentity};
use crate::store::{NewRecord, RunRow, Store, StoreError, Tx, now_text};
use crate::unique::{Claims, Conflict};
use crate::vocabulary::{GateVerdict, Outcome, Summary};
use extract::Next;

/// How a run is carried out.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read this local file instead of the pipeline's declared source.
    pub input: Option<PathBuf>,
    /// Apply even when the integrity gate fails (recorded as overridden).
    pub accept_breach: bool,
    /// Accept an extract with no records at all (the gate still judges it).
    pub allow_empty: bool,
    /// Keep every change in the report (for `plan` output and sinks).
    pub collect_changes: bool,
    /// Decoder limits.
    pub limits: Limits,
    /// `--resync`: re-apply unchanged records too; every record when the list
    /// is empty, else the records with these keys.
    pub resync: Option<Vec<String>>,
    /// The time lifecycle decisions are made at (`ROLLCALL_NOW`); the wall
    /// clock when `None`.
    pub now: Option<Instant>,
    /// Write sink files into this folder instead of each sink's own.
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them (replays, backfills).
    pub skip_uploads: bool,
    /// Read the declared source's newest delivery even when it is the one
    /// last applied (recorded as forced).
    pub force: bool,
    /// The delivery to read, already located (set by `apply` so the
    /// delivery it checked is the one it reads); `None` locates it.
    pub delivery: Option<Located>,
}

impl Options {
    /// Where this run's outputs go.
    pub fn outputs(&self) -> sink::OutputOptions {
        sink::OutputOptions {
            out_dir: self.out_dir.clone(),
            skip_uploads: self.skip_uploads,
        }
    }
}

/// Receives progress while records stream; the CLI draws a bar with it.
pub trait Progress {
    /// `read` records have been read so far.
    fn records(&self, _read: u64) {}
}

/// Progress that shows nothing.
pub struct Silent;

impl Progress for Silent {}

/// A record that failed mapping or validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidRecord {
    /// Line (or row) in the source.
    pub line: u64,
    /// Its key, when it could be computed.
    pub key: Option<String>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

/// Invalid records kept in a report; the count is always exact.
const MAX_INVALID_REPORTED: usize = 1000;

/// What a run found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Pipeline name.
    pub pipeline: String,
    /// Run id in the store (`None` for `plan`).
    pub run_id: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Applied although the gate failed.
    pub overridden: bool,
    /// The delivery read.
    pub source: SourceIdentity,
    /// Counts.
    pub summary: Summary,
    /// The integrity gate's verdict.
    pub integrity: GateVerdict,
    /// Per-record changes (when collected).
    pub changes: Vec<Change>,
    /// Invalid records (at most the first thousand).
    pub invalid: Vec<InvalidRecord>,
    /// Matches, ambiguities, frozen values held, lifecycle transitions,
    /// unresolved links and purges.
    pub registry: RegistryReport,
    /// What each lookup matched and missed.
    pub lookups: Vec<LookupReport>,
    /// Records refused because a unique value was taken (all of them).
    pub conflicts: Vec<Conflict>,
    /// Files written and delivered after the commit.
    pub deliveries: Vec<Delivered>,
}

/// An error that stops a run; nothing of the run is applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// The state store failed or is locked.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// The source could not be found or decoded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Source(#[from] SourceError),
    /// Matching, linking or the lifecycle failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Registry(#[from] RegistryError),
    /// `--resync` named keys the extract does not have.
    #[error("--resync names {} not in {file}: {}", if keys.len() == 1 { "a key" } else { "keys" }, keys.join(", "))]
    #[diagnostic(
        code("rollcall::run::resync-key"),
        help(
            "resync re-applies records of this extract; check the keys with `rollcall show PIPELINE KEY`"
        )
    )]
    ResyncKeys {
        /// The source.
        file: String,
        /// The keys not found.
        keys: Vec<String>,
    },
    /// A lookup could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lookup(#[from] LookupError),
    /// The change set would produce an output that breaks its target's rules.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sink(#[from] SinkError),
    /// The change set was committed, but writing or delivering an output failed.
    #[error("run {run_id} was applied, but its outputs were not all delivered: {source}")]
    #[diagnostic(
        code("rollcall::run::delivery"),
        help(
            "the state store holds the change. Fix the cause, then `rollcall deliver PIPELINE --run {run_id}` writes and uploads this run's outputs again"
        )
    )]
    Delivery {
        /// The applied run.
        run_id: i64,
        /// What failed.
        #[source]
        source: SinkError,
    },
    /// A key appeared twice in one extract.
    #[error("{file}:{line}: duplicate key {key:?}, first seen on line {first_line}")]
    #[diagnostic(
        code("rollcall::run::duplicate-key"),
        help(
            "each record's key must be unique within one extract; fix the extract, or choose a different `key` field"
        )
    )]
    DuplicateKey {
        /// The source.
        file: String,
        /// The key.
        key: String,
        /// Where it first appeared.
        first_line: u64,
        /// Where it appeared again.
        line: u64,
    },
    /// The delivery holds no records at all.
    #[error("{file}: the extract is empty (no records)")]
    #[diagnostic(
        code("rollcall::run::empty-extract"),
        help(
            "an empty extract would remove every record; check the export that produced it. \
             If the source is really empty, run again with `--allow-empty`"
        )
    )]
    EmptyExtract {
        /// The source.
        file: String,
    },
}

/// Works out what a run would change, writing nothing. Without a store
/// (no state file yet) the prior state is empty.
pub fn plan(
    plan: &Plan,
    store: Option<&mut Store>,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let mut empty;
    let store = match store {
        Some(store) => store,
        None => {
            empty = Store::in_memory()?;
            &mut empty
        }
    };
    let tx = store.read()?;
    let mut report = stream(plan, &tx, None, options, progress)?;
    tx.rollback()?;
    report.outcome = Outcome::Planned;
    Ok(report)
}

/// Runs the pipeline and applies its change set in one transaction, unless
/// the integrity gate refuses it (and `accept_breach` is off).
pub fn apply(
    plan: &Plan,
    store: &mut Store,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let options = &Options {
        collect_changes: options.collect_changes || sink::needs_changes(plan),
        ..options.clone()
    };
    warn_undelivered(plan, store);
    let started_at = now_text();
    let options = &match extract::before_run(plan, store, options, &started_at)? {
        Next::Read(options) => options,
        Next::AlreadyApplied(report) => return Ok(report),
    };
    let tx = store.write()?;
    let mut row = RunRow {
        id: 0,
        pipeline: plan.name.clone(),
        started_at: started_at.clone(),
        finished_at: started_at.clone(),
        outcome: "failed".into(),
        overridden: false,
        forced: options.resync.is_some() || options.force,
        source: SourceIdentity::default(),
        summary: Summary::default(),
        error: None,
        checks: Vec::new(),
        delivered_at: None,
    };
    // The run's own row is written inside the transaction so its changes can
    // reference it; a rollback takes it away with them.
    let run_id = tx.insert_run(&row)?;
    let result = stream(plan, &tx, Some(run_id), options, progress)
        .and_then(|report| Ok(sink::preflight(plan, &tx, &report.changes).map(|()| report)?));
    let mut report = match result {
        Ok(report) => report,
        Err(err) => {
            tx.rollback()?;
            row.finished_at = now_text();
            row.error = Some(err.to_string());
            record_alone(store, &row);
            return Err(err);
        }
    };
    row.finished_at = now_text();
    row.source = report.source.clone();
    row.summary = report.summary;
    row.checks = report.integrity.checks.clone();
    if report.integrity.passed || options.accept_breach {
        report.overridden = !report.integrity.passed;
        report.outcome = if report.summary.is_no_change() {
            Outcome::NoChange
        } else {
            Outcome::Applied
        };
        row.overridden = report.overridden;
        row.outcome = report.outcome.recorded_as().into();
        tx.update_run(run_id, &row)?;
        let phase = std::time::Instant::now();
        tx.commit()?;
        phase_done(phase, "committed");
        report.run_id = Some(run_id);
        extract::after_success(plan, options);
        report.deliveries =
            sink::deliver_run(plan, store, run_id, &report.changes, &options.outputs())
                .map_err(|source| RunError::Delivery { run_id, source })?;
    } else {
        tx.rollback()?;
        report.outcome = Outcome::Rejected;
        row.outcome = Outcome::Rejected.recorded_as().into();
        let tx = store.write()?;
        report.run_id = Some(tx.insert_run(&row)?);
        tx.commit()?;
    }
    Ok(report)
}

/// Says so when the pipeline's last applied run never delivered its
/// outputs (stopped between its commit and its sinks, or delivery failed):
/// this run's change sinks will not contain that run's changes.
fn warn_undelivered(plan: &Plan, store: &mut Store) {
    if plan.sinks.is_empty() {
        return;
    }
    let Ok(Some(run)) = store.read().and_then(|tx| tx.undelivered_run(&plan.name)) else {
        return;
    };
    tracing::warn!(
        pipeline = %plan.name,
        run = run.id,
        "run {} of {} was applied but its outputs were never delivered; \
         `rollcall deliver PIPELINE --run {}` writes and uploads them",
        run.id,
        plan.name,
        run.id
    );
}

/// Records a failed run after its transaction was rolled back. Best effort:
/// the failure itself is what the caller reports.
fn record_alone(store: &mut Store, row: &RunRow) {
    let recorded = store.write().and_then(|tx| {
        tx.insert_run(row)?;
        tx.commit()
    });
    if let Err(err) = recorded {
        tracing::warn!("could not record the failed run: {err}");
    }
}

/// The streaming pass shared by `plan` and `apply`. With a `run_id`, every
/// change is written to `tx` as it is found; without, the registry keeps
/// what it would write in memory so the report is the same.
fn stream(
    plan: &Plan,
    tx: &Tx<'_>,
    run_id: Option<i64>,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let source::Opened {
        mut identity,
        records: reader,
    } = extract::open(plan, options)?;
    // Decoding starts now, on its own thread, while the prior state loads.
    let mut records = Records::spawn(
        reader,
        Arc::clone(&plan.mapper),
        plan.keep_raw,
        plan.joiner.adds_nothing(),
    );
    let baseline_valid = tx.last_applied(&plan.name)?.map(|run| run.summary.valid);
    let mut prior = PriorState::default();
    let phase = std::time::Instant::now();
    tx.for_each_prior(&plan.name, |record| prior.insert(record))?;
    phase_done(phase, "prior state loaded");
    // A first load builds the indexes it never reads once, at the end.
    let deferred = match run_id {
        Some(_) if prior.is_empty() => tx.defer_indexes(&plan.system, &plan.name)?,
        _ => None,
    };

    let names = plan.field_names();
    let mut joins = plan.joiner.load(&plan.base_dir, &options.limits)?;
    let mut claims = Claims::load(tx, &plan.name, &plan.unique)?;
    let mut conflicts = Vec::new();
    let key_index = plan.mapper.key_index();
    let mut session = Session::for_pipeline(
        tx,
        plan,
        run_id,
        options.now.unwrap_or_else(Instant::wall),
        options.collect_changes,
    )?;
    let mut resync = Resync::new(options.resync.as_deref());
    let mut summary = Summary::default();
    let mut changes = Vec::new();
    let mut invalid = Vec::new();
    let mut encoded = Vec::with_capacity(1024);
    let mut fields_json = Vec::with_capacity(1024);

    while let Some(item) = records.next() {
        let decoded = match item {
            Ok(decoded) => decoded,
            Err(err) if err.is_record_level() => {
                summary.read += 1;
                summary.invalid += 1;
                note_invalid(
                    &mut invalid,
                    err.line().unwrap_or(0),
                    None,
                    vec![err.to_string()],
                );
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        summary.read += 1;
        if summary.read % 4096 == 0 {
            progress.records(summary.read);
        }
        let line = decoded.line;
        let record = match joins.join(decoded.mapped, line) {
            Mapped::Filtered => {
                summary.filtered += 1;
                continue;
            }
            Mapped::Invalid(bad) => {
                summary.invalid += 1;
                if let Some(key) = &bad.key {
                    let held = prior
                        .hold(key, line)
                        .map_err(|dup| duplicate(&identity, key, dup.first_line, line))?;
                    summary.held += u64::from(held);
                }
                note_invalid(&mut invalid, line, bad.key, bad.problems);
                continue;
            }
            Mapped::Record(record) => record,
        };
        summary.valid += 1;
        let key = mapping::value_text(&record.values[key_index]);
        if plan
            .removal
            .as_ref()
            .is_some_and(|test| test.keeps(&record.values))
        {
            let held = prior.hold(&key, line);
            if held.map_err(|d| duplicate(&identity, &key, d.first_line, line))? {
                remove(&key, &mut session, &mut summary, &mut changes, options)?;
            }
            continue;
        }
        if let Some(conflict) = claims.claim(&key, &record.values, line) {
            let held = prior.hold(&key, line);
            summary.held +=
                u64::from(held.map_err(|d| duplicate(&identity, &key, d.first_line, line))?);
            conflicts.push(conflict);
            continue;
        }
        // Taken on the decoding thread when joining adds nothing.
        let fingerprint = decoded.fingerprint.unwrap_or_else(|| {
            encoded.clear();
            mapping::encode_fields(&record.values, &mut encoded);
            diff::fingerprint(&encoded)
        });
        let seen = prior
            .see(&key, fingerprint, line)
            .map_err(|dup| duplicate(&identity, &key, dup.first_line, line))?;
        let action = match seen {
            Seen::Same if resync.wants(&key) => {
                // Forced: the source did not change, but the person may have
                // (an unfrozen value, a lapsed freeze); write it again.
                let fields = session.resync(&key, &record.values)?;
                if fields.is_empty() {
                    summary.unchanged += 1;
                } else {
                    summary.updated += 1;
                    if options.collect_changes {
                        changes.push(Change {
                            action: Action::Update,
                            key: key.into_owned(),
                            line: Some(line),
                            fields,
                        });
                    }
                }
                continue;
            }
            Seen::Same => {
                summary.unchanged += 1;
                // Freed by the thread that allocated it, where that is cheap.
                records.dispose(record);
                continue;
            }
            Seen::New => Action::Create,
            Seen::Changed => Action::Update,
            Seen::Returning => Action::Reinstate,
        };
        resync.wants(&key);
        let fields = match action {
            Action::Create => diff::created_fields(names, &record.values),
            _ => {
                let before = tx.record_fields(&plan.name, &key)?.unwrap_or_default();
                diff::changed_fields(names, &before, &record.values)
            }
        };
        encode_object(names, &record.values, &mut fields_json);
        let raw_text = decoded.raw.as_ref().map(Value::to_string);
        let new = NewRecord {
            key: &key,
            fingerprint,
            fields: std::str::from_utf8(&fields_json).expect("serde_json writes UTF-8"),
            raw: raw_text.as_deref(),
        };
        match action {
            Action::Create => match session.create(&key, line, &record.values, &new, &fields)? {
                Linked::Held => {
                    summary.ambiguous += 1;
                    continue;
                }
                Linked::Person(_) => summary.created += 1,
            },
            _ => {
                session.update(
                    &key,
                    &record.values,
                    &new,
                    &fields,
                    action == Action::Reinstate,
                )?;
                match action {
                    Action::Reinstate => summary.reinstated += 1,
                    // A new fingerprint with no differing field (e.g. a field
                    // added to the mapping that is null everywhere) only
                    // refreshes the hash.
                    _ if fields.is_empty() => summary.unchanged += 1,
                    _ => summary.updated += 1,
                }
            }
        }
        if options.collect_changes && !(action == Action::Update && fields.is_empty()) {
            changes.push(Change {
                action,
                key: key.into_owned(),
                line: Some(line),
                fields,
            });
        }
    }
    progress.records(summary.read);
    phase_done(phase, "extract streamed");
    if let Some(deferred) = deferred {
        tx.rebuild_indexes(deferred)?;
        phase_done(phase, "indexes rebuilt");
    }
    // An empty delivery is almost always a failed export, and applying it
    // would read as "everyone left": refuse it before any threshold is asked.
    if summary.read == 0 && !options.allow_empty {
        return Err(RunError::EmptyExtract {
            file: identity.uri.clone(),
        });
    }
    let stats = records.finish();
    identity.size = identity.size.or(Some(stats.bytes));
    identity.sha256 = Some(stats.sha256);
    let missing = resync.missing();
    if !missing.is_empty() {
        return Err(RunError::ResyncKeys {
            file: identity.uri.clone(),
            keys: missing,
        });
    }

    // A delivery of changes only says nothing about the keys it lacks.
    let absent_removes = plan.lifecycle.absent == Absent::Remove;
    for key in prior
        .unseen_present()
        .into_iter()
        .filter(|_| absent_removes)
    {
        remove(key, &mut session, &mut summary, &mut changes, options)?;
    }
    phase_done(phase, "removals applied");
    let (registry, counts) = session.finish()?;
    phase_done(phase, "registry finished");
    summary.transitions = counts.transitions;
    summary.purged = counts.purged;

    let baseline = Baseline {
        previous_valid: baseline_valid,
        present_before: prior.present_before(),
    };
    let integrity = Gate::new(&plan.integrity).evaluate(&summary, baseline);
    Ok(Report {
        pipeline: plan.name.clone(),
        run_id,
        outcome: Outcome::Planned,
        overridden: false,
        source: identity,
        summary,
        integrity,
        changes,
        invalid,
        registry,
        lookups: joins.report(),
        conflicts,
        deliveries: Vec::new(),
    })
}

/// Logs (at debug level) how long a run has taken up to the end of a phase,
/// so an operator can see where a slow run's time goes.
fn phase_done(since: std::time::Instant, phase: &'static str) {
    tracing::debug!(elapsed_ms = since.elapsed().as_millis() as u64, "{phase}");
}

/// Removes a key: counted, handed to the registry and collected.
fn remove(
    key: &str,
    session: &mut Session<'_, '_>,
    summary: &mut Summary,
    changes: &mut Vec<Change>,
    options: &Options,
) -> Result<(), RunError> {
    summary.removed += 1;
    session.remove(key)?;
    if options.collect_changes {
        changes.push(Change {
            action: Action::Remove,
            key: key.to_owned(),
            line: None,
            fields: Vec::new(),
        });
    }
    Ok(())
}

/// Which unchanged records `--resync` re-applies, and which named keys the
/// extract turned out not to have.
struct Resync {
    all: bool,
    wanted: BTreeSet<String>,
}

impl Resync {
    fn new(keys: Option<&[String]>) -> Resync {
        Resync {
            all: keys.is_some_and(<[String]>::is_empty),
            wanted: keys.unwrap_or_default().iter().cloned().collect(),
        }
    }

    /// Whether the record with this key is to be re-applied; marks it found.
    fn wants(&mut self, key: &str) -> bool {
        self.all || self.wanted.remove(key)
    }

    fn missing(self) -> Vec<String> {
        self.wanted.into_iter().collect()
    }
}

/// Writes `{"name": value, ...}` into `out`, reusing its allocation.
fn encode_object(names: &[String], values: &[Value], out: &mut Vec<u8>) {
    out.clear();
    out.push(b'{');
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, name).expect("writing to a Vec cannot fail");
        out.push(b':');
        serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
    }
    out.push(b'}');
}

fn note_invalid(
    list: &mut Vec<InvalidRecord>,
    line: u64,
    key: Option<String>,
    problems: Vec<String>,
) {
    if list.len() < MAX_INVALID_REPORTED {
        list.push(InvalidRecord {
            line,
            key,
            problems,
        });
    }
}

fn duplicate(identity: &SourceIdentity, key: &str, first_line: u64, line: u64) -> RunError {
    RunError::DuplicateKey {
        file: identity.uri.clone(),
        key: key.to_owned(),
        first_line,
        line,
    }
}
