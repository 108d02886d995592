//! The streaming pass shared by `plan` and `apply`: it reads the extract
//! and takes each record through the stages map → join → diff → registry,
//! then removes the keys the extract lacks, ends the registry's part and
//! asks the gate. With a `run_id`, every change is written to the
//! transaction as it is found; without, the registry keeps what it would
//! write in memory so the report is the same.

use std::time::Instant;

use super::actions::{self, Fold};
use super::diff::{Compared, Prior, Resync};
use super::join::Screened;
use super::read::Reading;
use super::registry::Write;
use super::{
    Options, Progress, Report, RunError, Tally, diff, gate, join, map, phase_done, read, registry,
};
use crate::clock;
use crate::decode::{Decoded, Records};
use crate::diff::PriorState;
use crate::lookup::Joins;
use crate::mapping::{self, MappedRecord};
use crate::plan::Plan;
use crate::registry::Session;
use crate::source::{Located, SourceError};
use crate::store::{DeferredIndexes, Tx};
use crate::unique::Claims;
use crate::vocabulary::{Outcome, Phase};

/// Reads the extract (`pinned` when `locate` found it) and works out, and
/// with a `run_id` writes, what it changes.
pub(super) fn stream(
    plan: &Plan,
    tx: &Tx<'_>,
    run_id: Option<i64>,
    options: &Options,
    pinned: Option<&Located>,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    progress.phase(Phase::Reading);
    let mut reading = read::start(plan, options, pinned)?;
    let previous_valid = tx.last_applied(&plan.name)?.map(|run| run.summary.valid);
    let phase = Instant::now();
    let mut pass = Pass::prepare(plan, tx, run_id, options, &reading.identity.uri, phase)?;
    let total = reading.identity.size;
    while let Some(item) = reading.records.next() {
        crate::interrupt::check()?;
        pass.record(item, &mut reading.records, progress)?;
        if pass.tally.summary.read.is_multiple_of(1024) {
            progress.bytes(reading.bytes.bytes(), total);
        }
    }
    progress.records(pass.tally.summary.read);
    progress.bytes(reading.bytes.bytes(), total);
    phase_done(phase, "extract streamed");
    pass.end(reading, run_id, previous_valid, phase, progress)
}

/// Where a record to apply came from.
struct Applied<'r> {
    /// Its line (a change file's key: the line of the row that decided it).
    line: u64,
    /// The record as read, when the pipeline keeps it.
    raw: Option<&'r serde_json::Value>,
    /// Its fingerprint from the decoding thread, when taken there.
    fingerprint: Option<crate::vocabulary::Fingerprint>,
    /// `keep-missing` fields left null take the stored value.
    from_store: bool,
}

/// What the pass holds while records stream.
struct Pass<'a, 't> {
    plan: &'a Plan,
    tx: &'a Tx<'t>,
    prior: Prior,
    /// A first load's indexes, dropped until the end of the stream.
    deferred: Option<DeferredIndexes>,
    joins: Joins<'a>,
    claims: Claims,
    /// A change file's rows, folded per key (`lifecycle { actions ... }`).
    fold: Option<Fold<'a>>,
    session: Session<'a, 't>,
    resync: Resync,
    /// `--allow-empty`: an extract without records is not an error.
    allow_empty: bool,
    key_index: usize,
    tally: Tally,
    /// Scratch buffers reused from record to record.
    encoded: Vec<u8>,
    fields_json: Vec<u8>,
}

impl<'a, 't> Pass<'a, 't> {
    /// Loads the prior state, the lookups and the unique claims, and opens
    /// the registry's session.
    fn prepare(
        plan: &'a Plan,
        tx: &'a Tx<'t>,
        run_id: Option<i64>,
        options: &Options,
        file: &str,
        phase: Instant,
    ) -> Result<Self, RunError> {
        let mut session = Session::for_pipeline(
            tx,
            &plan.registry,
            run_id,
            options.now.unwrap_or_else(clock::Instant::wall),
            // The registry's findings are capped (`MAX_REPORTED`), so every
            // run reports them: `run` shows what `plan` shows.
            true,
        )?;
        // Overdue purges come first: `plan`, `run` and `purge` agree on them.
        let purged = session.purge_overdue()?;
        let mut prior = PriorState::default();
        tx.for_each_prior(&plan.name, |record| {
            if !purged.contains(record.key) {
                prior.insert(record);
            }
        })?;
        phase_done(phase, "prior state loaded");
        // A first load builds the indexes it never reads once, at the end.
        let deferred = match run_id {
            Some(_) if prior.is_empty() => tx.defer_indexes(&plan.system, &plan.name)?,
            _ => None,
        };
        let joins = plan.joiner.load(&plan.base_dir, &options.limits)?;
        let claims = Claims::load(tx, &plan.name, &plan.unique)?;
        Ok(Pass {
            plan,
            tx,
            prior: Prior::new(prior, file),
            deferred,
            joins,
            claims,
            fold: plan
                .actions
                .as_ref()
                .map(|column| Fold::new(column, &plan.keep_missing, plan.mapper.key_index())),
            session,
            resync: Resync::new(options.resync.as_deref()),
            allow_empty: options.allow_empty,
            key_index: plan.mapper.key_index(),
            tally: Tally::new(options.collect_changes),
            encoded: Vec::with_capacity(1024),
            fields_json: Vec::with_capacity(1024),
        })
    }

    /// Takes one decoded record through map, join, diff and registry.
    fn record(
        &mut self,
        item: Result<Decoded, SourceError>,
        records: &mut Records,
        progress: &dyn Progress,
    ) -> Result<(), RunError> {
        let tally = &mut self.tally;
        let Some(decoded) = map::accept(item, &mut tally.summary, &mut tally.invalid, progress)?
        else {
            tally.unkeyed += 1; // a row that could not be read has no key
            return Ok(());
        };
        let line = decoded.line;
        let joined = join::join(
            &mut self.joins,
            decoded.mapped,
            line,
            &mut self.prior,
            self.fold.as_mut(),
            tally,
        )?;
        let Some(record) = joined else {
            return Ok(());
        };
        if let Some(fold) = &mut self.fold {
            fold.row(record.values, decoded.raw, line, &mut self.prior, tally);
            return Ok(());
        }
        let applied = Applied {
            line,
            raw: decoded.raw.as_ref(),
            fingerprint: decoded.fingerprint,
            from_store: true,
        };
        if let Some(record) = self.apply(record, applied)? {
            // Freed by the thread that allocated it, where that is cheap.
            records.dispose(record);
        }
        Ok(())
    }

    /// Takes a joined record through the screen, the diff and the
    /// registry. Gives the record back when nothing was written, so its
    /// memory can go back to the thread that made it.
    fn apply(
        &mut self,
        mut record: MappedRecord,
        applied: Applied<'_>,
    ) -> Result<Option<MappedRecord>, RunError> {
        let Applied {
            line,
            raw,
            fingerprint: decoded_fingerprint,
            from_store,
        } = applied;
        let tally = &mut self.tally;
        let filled = from_store
            && diff::keep_missing(self.tx, self.plan, self.key_index, &mut record.values)?;
        let key = mapping::value_text(&record.values[self.key_index]);
        let (prior, claims) = (&mut self.prior, &mut self.claims);
        match join::screen(self.plan, &key, &record.values, line, prior, claims, tally)? {
            Screened::Diff => {}
            Screened::Remove => {
                registry::remove(&mut self.session, &key, None, tally)?;
                return Ok(None);
            }
            Screened::Skip => return Ok(None),
        }
        // A filled value was not in the decoding thread's fingerprint.
        let decoded_fingerprint = decoded_fingerprint.filter(|_| !filled);
        let fingerprint = diff::fingerprint(decoded_fingerprint, &record.values, &mut self.encoded);
        let action = match diff::compare(prior, &key, fingerprint, line, &mut self.resync)? {
            Compared::Write(action) => action,
            Compared::Resync => {
                registry::resync(&mut self.session, &key, &record.values, line, tally)?;
                return Ok(None);
            }
            Compared::Unchanged => {
                tally.summary.unchanged += 1;
                return Ok(Some(record));
            }
        };
        let write = Write {
            action,
            key: &key,
            line,
            values: &record.values,
            raw,
            fingerprint,
            fields: diff::fields(action, self.tx, self.plan, &key, &record.values)?,
        };
        let names = self.plan.field_names();
        registry::write(
            &mut self.session,
            names,
            write,
            &mut self.fields_json,
            tally,
        )?;
        Ok(None)
    }

    /// A change file's keys, once every row is read: each key's net
    /// change goes through the screen, diff and registry like a record of
    /// a full extract; a deleted key that was present is removed.
    fn apply_actions(&mut self) -> Result<(), RunError> {
        let Some(fold) = self.fold.take() else {
            return Ok(());
        };
        for (key, line, known_before, outcome) in fold.finish() {
            match outcome {
                actions::Outcome::Hold => {
                    self.tally.summary.held += u64::from(self.prior.hold(&key, line)?);
                }
                actions::Outcome::Deleted => {
                    if known_before && self.prior.hold(&key, line)? {
                        registry::remove(&mut self.session, &key, Some(line), &mut self.tally)?;
                    }
                }
                actions::Outcome::Present {
                    values,
                    raw,
                    from_store,
                } => {
                    let applied = Applied {
                        line,
                        raw: raw.as_ref(),
                        fingerprint: None,
                        from_store,
                    };
                    self.apply(MappedRecord { values }, applied)?;
                }
            }
        }
        Ok(())
    }

    /// After the last record: rebuilds deferred indexes, completes the
    /// extract's identity, removes the keys it lacks, ends the registry's
    /// part and asks the gate.
    fn end(
        mut self,
        reading: Reading,
        run_id: Option<i64>,
        previous_valid: Option<u64>,
        phase: Instant,
        progress: &dyn Progress,
    ) -> Result<Report, RunError> {
        progress.phase(Phase::Diffing);
        self.apply_actions()?;
        if let Some(deferred) = self.deferred.take() {
            self.tx.rebuild_indexes(deferred)?;
            phase_done(phase, "indexes rebuilt");
        }
        let identity = read::finish(reading, &self.tally.summary, self.allow_empty)?;
        self.resync.check_found(&identity.uri)?;
        let unseen = diff::unseen(&self.prior, self.plan);
        if self.tally.unkeyed > 0 {
            map::hold_removals(&mut self.tally, unseen.len() as u64);
        } else {
            for key in unseen {
                registry::remove(&mut self.session, key, None, &mut self.tally)?;
            }
        }
        phase_done(phase, "removals applied");
        let mut tally = self.tally;
        progress.phase(Phase::Registry);
        let registry = registry::finish(self.session, &mut tally.summary)?;
        phase_done(phase, "registry finished");
        let present_before = self.prior.state.present_before();
        let integrity = gate::judge(self.plan, &tally.summary, previous_valid, present_before);
        Ok(Report {
            pipeline: self.plan.name.clone(),
            run_id,
            outcome: Outcome::Planned,
            overridden: false,
            source: identity,
            summary: tally.summary,
            integrity,
            changes: tally.changes,
            invalid: tally.invalid,
            registry,
            lookups: self.joins.report(),
            conflicts: tally.conflicts,
            refused: tally.refused,
            actions: tally.actions,
            deliveries: Vec::new(),
            targets: Vec::new(),
        })
    }
}
