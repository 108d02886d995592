//! Stage 2, read: the extract is opened, its bytes hashed and inflated on a
//! thread of their own, and its records decoded and mapped on another
//! (`decode::Records`), so the run's thread only takes mapped batches.

use std::sync::Arc;

use super::{Options, RunError};
use crate::decode::Records;
use crate::plan::Plan;
use crate::source::{self, Located, RunningHash, SourceIdentity};
use crate::vocabulary::Summary;

/// The extract being read.
pub(super) struct Reading {
    /// Which extract it is (its size and hash are known once it is read).
    pub identity: SourceIdentity,
    /// Its records, mapped, in source order.
    pub records: Records,
    /// The raw bytes read so far, for progress.
    pub bytes: RunningHash,
}

/// Opens the extract `locate` pinned, else the declared source (or
/// `--input`) located now, and starts decoding it.
pub(super) fn start(
    plan: &Plan,
    options: &Options,
    pinned: Option<&Located>,
) -> Result<Reading, RunError> {
    let opened = match pinned {
        Some(located) => located.clone().open(&plan.source, options.limits.clone()),
        None => source::open(
            &plan.source,
            &plan.base_dir,
            options.input.as_deref(),
            options.limits.clone(),
        ),
    }?;
    let bytes = opened.records.running_hash();
    // Decoding starts now, on its own thread, while the prior state loads.
    let records = Records::spawn(
        opened.records,
        Arc::clone(&plan.mapper),
        plan.keep_raw,
        plan.joiner.adds_nothing(),
    );
    Ok(Reading {
        identity: opened.identity,
        records,
        bytes,
    })
}

/// Once every record is through: refuses an empty extract, and completes
/// the extract's identity with the size and hash of the bytes read.
pub(super) fn finish(
    reading: Reading,
    summary: &Summary,
    allow_empty: bool,
) -> Result<SourceIdentity, RunError> {
    let Reading {
        mut identity,
        records,
        ..
    } = reading;
    // An empty extract is almost always a failed export, and applying it
    // would read as "everyone left": refuse it before any threshold is asked.
    if summary.read == 0 && !allow_empty {
        return Err(RunError::EmptyExtract {
            file: identity.uri.clone(),
        });
    }
    let stats = records.finish();
    identity.size = identity.size.or(Some(stats.bytes));
    identity.sha256 = Some(stats.sha256);
    Ok(identity)
}
