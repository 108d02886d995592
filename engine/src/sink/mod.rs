//! Sinks: the files a run writes after its change set is committed, and
//! their delivery.
//!
//! Two kinds of output: *current-state* sinks (`csv`, `json`) hold every
//! present record and are written after every applied or no-change run, so
//! a nightly feed is delivered every night; *change* sinks (`jsonl`,
//! `actions`) hold this run's changes and are written only when there are
//! some. Every file is written atomically in its own folder (temporary file,
//! then rename), then uploaded.

mod actions;
mod csv;
mod error;
mod json;
mod path;

use std::collections::HashSet;
use std::path::PathBuf;

use rollcall_model::{Sink, SinkKind};
use serde::Serialize;

use serde_json::{Map, Value};

use crate::diff::{Action, Change, FieldChange};
use crate::plan::Plan;
use crate::store::{ChangeRow, Claim, Store, Tx, now_text};
use crate::upload;

pub use error::SinkError;

/// One sink's file, written and delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivered {
    /// The sink's kind (`csv`, `json`, `jsonl`, `actions`).
    pub kind: &'static str,
    /// The local file written.
    pub path: String,
    /// Records, events or actions in it.
    pub records: u64,
    /// Where it was uploaded (empty when it has no upload or uploads were skipped).
    pub uploads: Vec<String>,
    /// Uploads the sink declares that `--skip-upload` left undone; while
    /// any is, the run is not recorded as delivered.
    pub uploads_skipped: u64,
}

/// The file each sink would write (with `--out-dir`), touching nothing; a
/// sink whose path has no file name is left to the write to refuse.
pub fn planned_targets<'p>(
    plan: &'p Plan,
    out_dir: Option<&std::path::Path>,
) -> Vec<(&'p Sink, std::path::PathBuf)> {
    plan.sinks
        .iter()
        .filter_map(|sink| Some((sink, path::planned(plan, sink, out_dir).ok()?)))
        .collect()
}

/// Where outputs go, as the command line chose.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// Write sink files into this folder instead of each sink's own.
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them (replays, backfills).
    pub skip_uploads: bool,
}

/// Whether a sink of the pipeline writes the run's changes, so the run has
/// to collect them.
pub fn needs_changes(plan: &Plan) -> bool {
    plan.sinks.iter().any(is_change_sink)
}

/// Whether the sink writes this run's changes (rather than every record).
fn is_change_sink(sink: &Sink) -> bool {
    matches!(sink.kind, SinkKind::Jsonl | SinkKind::Actions(_))
}

/// The sink's kind as written in the pipeline.
fn kind_name(sink: &Sink) -> &'static str {
    match sink.kind {
        SinkKind::Csv(_) => "csv",
        SinkKind::Json { .. } => "json",
        SinkKind::Jsonl => "jsonl",
        SinkKind::Actions(_) => "actions",
    }
}

/// Checks, inside the run's still-open transaction, that the change set
/// makes outputs their targets accept (an action file's reassignment target
/// exists or is created). A failure refuses the run before anything commits.
pub fn preflight(plan: &Plan, tx: &Tx<'_>, changes: &[Change]) -> Result<(), SinkError> {
    for sink in &plan.sinks {
        if let SinkKind::Actions(actions) = &sink.kind {
            actions::preflight(plan, actions, tx, changes)?;
        }
    }
    Ok(())
}

/// Writes and uploads every sink of a run that was just committed. A
/// failure is also noted on the run's row (best effort), so `rollcall
/// history` shows that the applied change was not delivered.
pub fn deliver_run(
    plan: &Plan,
    store: &mut Store,
    run: i64,
    changes: &[Change],
    options: &OutputOptions,
    uploading: &dyn Fn(),
) -> Result<Vec<Delivered>, SinkError> {
    let delivered = deliver(plan, store, run, changes, options, uploading);
    if let Err(err) = &delivered {
        let noted = store
            .write(&Claim::run(&plan.name, &plan.system))
            .and_then(|tx| {
                tx.note_run_error(run, &format!("applied, but not delivered: {err}"))?;
                tx.commit()
            });
        if let Err(note) = noted {
            tracing::warn!("could not note the delivery failure on run {run}: {note}");
        }
    }
    delivered
}

/// Writes and uploads the sinks of an applied run again (`rollcall
/// deliver`): current-state sinks from the present records, change sinks
/// from that run's change log. `run` defaults to the pipeline's last
/// applied run. Returns the run delivered and what was written.
pub fn redeliver(
    plan: &Plan,
    store: &mut Store,
    run: Option<i64>,
    options: &OutputOptions,
) -> Result<(i64, Vec<Delivered>), SinkError> {
    let tx = store.read()?;
    let found = match run {
        Some(id) => tx
            .history(&plan.name, usize::MAX >> 1)?
            .into_iter()
            .find(|row| row.id == id && matches!(row.outcome.as_str(), "applied" | "no-change")),
        None => tx.last_applied(&plan.name)?,
    };
    let Some(found) = found else {
        return Err(SinkError::NoRun {
            pipeline: plan.name.clone(),
            run,
        });
    };
    let changes: Vec<Change> = tx
        .run_changes(&plan.name, found.id)?
        .iter()
        .filter_map(change_of)
        .collect();
    tx.rollback()?;
    Ok((
        found.id,
        deliver(plan, store, found.id, &changes, options, &|| {})?,
    ))
}

/// A change log entry as the diff reported it.
fn change_of(row: &ChangeRow) -> Option<Change> {
    let action = match row.action.as_str() {
        "create" => Action::Create,
        "update" => Action::Update,
        "remove" => Action::Remove,
        "reinstate" => Action::Reinstate,
        _ => return None,
    };
    let empty = Map::new();
    let side = |value: &Option<Value>| match value {
        Some(Value::Object(fields)) => fields.clone(),
        _ => empty.clone(),
    };
    let (before, after) = (side(&row.before), side(&row.after));
    let mut names: Vec<&String> = after.keys().collect();
    names.extend(before.keys().filter(|name| !after.contains_key(*name)));
    let fields = names
        .into_iter()
        .map(|name| FieldChange {
            field: name.clone(),
            before: before.get(name).cloned().unwrap_or(Value::Null),
            after: after.get(name).cloned().unwrap_or(Value::Null),
        })
        .collect();
    Some(Change {
        action,
        key: row.source_key.clone()?,
        line: None,
        fields,
    })
}

/// Writes every sink for `run`, uploads each file, and records on the run
/// that its outputs were delivered; with uploads skipped, records that
/// instead, so `history` keeps showing the run's outputs as pending.
fn deliver(
    plan: &Plan,
    store: &mut Store,
    run: i64,
    changes: &[Change],
    options: &OutputOptions,
    uploading: &dyn Fn(),
) -> Result<Vec<Delivered>, SinkError> {
    let delivered = write_and_upload(plan, store, run, changes, options, uploading)?;
    let skipped: u64 = delivered.iter().map(|d| d.uploads_skipped).sum();
    let marked = store
        .write(&Claim::run(&plan.name, &plan.system))
        .and_then(|tx| {
            if skipped == 0 {
                tx.mark_delivered(run, &now_text())?;
            } else {
                tx.note_run_error(
                    run,
                    &format!(
                        "outputs written, {skipped} upload{} skipped (--skip-upload)",
                        if skipped == 1 { "" } else { "s" }
                    ),
                )?;
            }
            tx.commit()
        });
    // The files are out; failing now would only hide that. `history` will
    // show the run as undelivered, which `rollcall deliver` settles.
    if let Err(err) = marked {
        tracing::warn!("run {run} was delivered, but recording that failed: {err}");
    }
    Ok(delivered)
}

fn write_and_upload(
    plan: &Plan,
    store: &mut Store,
    run: i64,
    changes: &[Change],
    options: &OutputOptions,
    uploading: &dyn Fn(),
) -> Result<Vec<Delivered>, SinkError> {
    if plan.sinks.is_empty() {
        return Ok(Vec::new());
    }
    let changed = changes
        .iter()
        .any(|c| c.action != Action::Update || !c.fields.is_empty());
    let mut written = HashSet::new();
    let mut delivered = Vec::new();
    for sink in &plan.sinks {
        if is_change_sink(sink) && !changed {
            continue;
        }
        let target = path::target(plan, sink, options.out_dir.as_deref())?;
        if !written.insert(target.clone()) {
            return Err(SinkError::SameFile {
                path: target.display().to_string(),
            });
        }
        let tx = store.read()?;
        let records = path::write_atomically(&target, |out| match &sink.kind {
            SinkKind::Csv(csv) => csv::write(plan, csv, &tx, out),
            SinkKind::Json { fields } => json::write_array(plan, fields, &tx, out),
            SinkKind::Jsonl => json::write_events(plan, run, changes, &tx, out),
            SinkKind::Actions(actions) => actions::write(plan, actions, changes, &tx, out),
        })?;
        tx.rollback()?;
        let mut uploads = Vec::new();
        let uploads_skipped = if options.skip_uploads {
            sink.uploads.len() as u64
        } else {
            0
        };
        if !options.skip_uploads {
            for upload in &sink.uploads {
                uploading();
                let to = upload::upload(upload, &target).map_err(|source| SinkError::Upload {
                    path: target.display().to_string(),
                    source,
                })?;
                tracing::info!(file = %target.display(), to = %to, "uploaded");
                uploads.push(to);
            }
        }
        delivered.push(Delivered {
            kind: kind_name(sink),
            path: target.display().to_string(),
            records,
            uploads,
            uploads_skipped,
        });
    }
    Ok(delivered)
}
