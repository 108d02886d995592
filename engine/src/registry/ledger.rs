//! What every registry session shares, whether it runs for a pipeline or
//! for `rollcall purge`: the transaction it reads, the [`Writer`] it writes
//! through, the clock, and what it has reported, counted and left to
//! recalculate. The lifecycle steps (grace periods, person status, purges)
//! are its methods, since both kinds of session take them.

use std::collections::BTreeMap;

use super::overlay::OverlayWriter;
use super::report::{Held, MAX_REPORTED, RegistryReport};
use super::writer::{StoreWriter, Writer};
use super::{Counts, Result};
use rollcall_model::RoleStatus;

use crate::clock::Instant;
use crate::store::{ChangeRow, HeldValue, PipelineLifecycle, Tx};

/// The state of one registry session.
pub(super) struct Ledger<'a, 't> {
    /// The run's transaction (or `plan`'s read snapshot).
    pub tx: &'a Tx<'t>,
    /// Where writes go: the transaction, or a plan's overlay.
    pub writer: Box<dyn Writer + 'a>,
    /// The pipeline the session's change log entries belong to.
    pub pipeline: String,
    /// The time lifecycle decisions use.
    pub now: Instant,
    /// `now` as stored.
    pub now_text: String,
    /// Whether links, transitions and held values are reported one by one.
    pub collect: bool,
    /// Lifecycles known without asking the store: a pipeline's own, as
    /// compiled for this run (empty for `rollcall purge`).
    pub lifecycles: BTreeMap<String, PipelineLifecycle>,
    /// Persons to recalculate at the end, with the lifecycle that decides
    /// their limbo and purge time should they be deactivated.
    pub touched: BTreeMap<i64, PipelineLifecycle>,
    /// Persons whose roles their records' own status ended: their
    /// deactivation is told as such (cause `status`).
    pub kept: std::collections::BTreeSet<i64>,
    /// Records of persons this run removed or brought back: a person with
    /// no role at all follows their records instead (see `lifecycle`).
    pub records_moved: BTreeMap<i64, RecordMoves>,
    /// Records this session purged, as (pipeline, key).
    pub purged_records: Vec<(String, String)>,
    /// What the session reports.
    pub report: RegistryReport,
    /// Its figures.
    pub counts: Counts,
    /// Values freezes held for the record in hand, for its change log entry.
    pub held_now: Vec<HeldValue>,
    /// How the new key in hand found its existing person, for its entry.
    pub linked_by: Option<&'static str>,
    /// Who runs this session, when an operator does (`rollcall purge`).
    pub operator: Option<String>,
}

/// A person's records that this run removed or brought back.
#[derive(Debug, Default)]
pub(super) struct RecordMoves {
    /// Removed records, as (pipeline, key): a plan's store still lists them present.
    pub gone: Vec<(String, String)>,
    /// Whether a record of theirs was created or came back.
    pub back: bool,
    /// The status the removing pipeline gives what its records lose.
    pub removal: Option<RoleStatus>,
}

impl<'a, 't> Ledger<'a, 't> {
    /// A session's state. With `run`, writes go into `tx`; without, into
    /// an overlay, so the session only reports.
    pub fn new(tx: &'a Tx<'t>, pipeline: String, run: Option<i64>, now: Instant) -> Self {
        let writer: Box<dyn Writer + 'a> = match run {
            Some(run) => Box::new(StoreWriter::new(tx, run)),
            None => Box::new(OverlayWriter::new(tx)),
        };
        Ledger {
            tx,
            writer,
            pipeline,
            now,
            now_text: now.text(),
            collect: true,
            lifecycles: BTreeMap::new(),
            touched: BTreeMap::new(),
            kept: std::collections::BTreeSet::new(),
            records_moved: BTreeMap::new(),
            purged_records: Vec::new(),
            report: RegistryReport::default(),
            counts: Counts::default(),
            held_now: Vec::new(),
            linked_by: None,
            operator: None,
        }
    }

    /// Reports a value a freeze held.
    pub fn held(&mut self, held: Held) {
        self.held_now.push(HeldValue {
            attribute: held.attribute.clone(),
            frozen: held.frozen.clone(),
            incoming: held.incoming.clone(),
            frozen_by: held.frozen_by.clone(),
            reason: held.reason.clone(),
        });
        if self.collect && self.report.frozen.len() < MAX_REPORTED {
            self.report.frozen.push(held);
        }
    }

    /// Appends to the change log (the writer sets the run).
    pub fn log(&mut self, change: ChangeRow) -> Result<()> {
        self.writer.log(change)
    }

    /// Persons not purged by this session.
    pub fn without_purged(&self, mut persons: Vec<i64>) -> Vec<i64> {
        persons.retain(|p| !self.writer.purged(*p));
        persons
    }
}
