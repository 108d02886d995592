//! Saved plans: `rollcall plan --out PLAN` binds a change set to what it
//! was computed from (the pipeline file's sha256, the extract's sha256, the
//! store's lineage and serial, the rollcall version), and `rollcall apply
//! PLAN` applies exactly that change set or refuses, naming what moved.
//!
//! Apply checks the bindings it can before it starts, then runs the
//! pipeline again with the plan's own inputs and time inside the run's
//! transaction; the run checks the store's serial, the extract and the
//! change set's digest before it commits ([`run::Expected`]). A plan made
//! with `--digest-only` holds no record values, only counts and the
//! digest: apply reaches the same change set or refuses just the same.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Instant;
use crate::plan::Plan;
use crate::run::{self, Expected, Moved, Options, Progress, Report, RunError};
use crate::source::SourceIdentity;
use crate::store::{Store, StoreLineage};

/// What the `format` member of a plan file says.
pub const FORMAT: &str = "rollcall-plan/1";

/// This rollcall's version, which a plan is bound to.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`FORMAT`].
    pub format: String,
    /// The rollcall version that made it.
    pub version: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// The pipeline file it was computed from.
    pub pipeline: PipelineBinding,
    /// The extract it read.
    pub extract: SourceIdentity,
    /// The store it was computed against.
    pub store: StoreBinding,
    /// What apply runs again.
    pub request: Request,
    /// The change set's digest ([`run::digest`]).
    pub digest: String,
    /// Written with `--digest-only`: the report holds counts, no record values.
    pub digest_only: bool,
    /// What `plan` reported.
    pub report: Report,
}

/// The pipeline file a plan was computed from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineBinding {
    /// The pipeline's name.
    pub name: String,
    /// The file, as given to `plan`.
    pub file: PathBuf,
    /// The sha256 of its bytes.
    pub sha256: String,
}

/// The store a plan was computed against.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreBinding {
    /// The store file, as given to `plan`.
    pub path: PathBuf,
    /// Its lineage and serial; `None` when there was no store yet.
    pub lineage: Option<StoreLineage>,
}

/// The inputs `plan` was given, which `apply` uses again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// `--input`.
    pub input: Option<PathBuf>,
    /// `--allow-empty`.
    pub allow_empty: bool,
    /// `--resync`.
    pub resync: Option<Vec<String>>,
    /// The time lifecycle decisions were made at; apply decides at it too.
    pub now: String,
}

/// A plan file that cannot be read, or written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanFileError {
    /// Reading or writing the file failed.
    #[error("plan file {path}: {source}")]
    #[diagnostic(
        code("rollcall::plan-file::io"),
        help("check the path; `rollcall plan PIPELINE --out PLAN` writes one")
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a plan file this rollcall reads.
    #[error("{path} is not a rollcall plan file: {why}")]
    #[diagnostic(
        code("rollcall::plan-file::invalid"),
        help("`rollcall plan PIPELINE --out PLAN` writes a plan file; make a new one")
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The pipeline file cannot be read to hash it.
    #[error("cannot read the pipeline file {path}: {source}")]
    #[diagnostic(code("rollcall::plan-file::pipeline"), help("check the path"))]
    Pipeline {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Why a plan could not be made, read or applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReviewError {
    /// The plan file (or the pipeline file it names).
    #[error(transparent)]
    #[diagnostic(transparent)]
    File(#[from] PlanFileError),
    /// The run; [`RunError::Moved`] when the plan is refused.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Run(#[from] RunError),
}

impl From<Moved> for ReviewError {
    fn from(moved: Moved) -> Self {
        ReviewError::Run(RunError::Moved(moved))
    }
}

impl From<crate::store::StoreError> for ReviewError {
    fn from(err: crate::store::StoreError) -> Self {
        ReviewError::Run(RunError::Store(err))
    }
}

/// The sha256 (hex) of a file's bytes.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(run::hex(&hasher.finalize()))
}

/// The store's lineage, when there is a store.
fn lineage_of(store: Option<&mut Store>) -> Result<Option<StoreLineage>, crate::store::StoreError> {
    let Some(store) = store else { return Ok(None) };
    let tx = store.read()?;
    let lineage = tx.lineage()?;
    tx.rollback()?;
    Ok(Some(lineage))
}

/// Plans a run (as [`run::plan`], every change collected) and binds the
/// result into a [`SavedPlan`]. A run that commits while this plans makes
/// the binding unsure, so it is an error ([`Moved::Store`]).
pub fn make(
    plan: &Plan,
    file: &Path,
    mut store: Option<&mut Store>,
    store_path: &Path,
    options: &Options,
    now: Instant,
    progress: &dyn Progress,
) -> Result<SavedPlan, ReviewError> {
    let options = Options {
        collect_changes: true,
        now: Some(now),
        expected: None,
        ..options.clone()
    };
    let pipeline_sha256 = file_sha256(file).map_err(|source| PlanFileError::Pipeline {
        path: file.to_owned(),
        source,
    })?;
    let before = lineage_of(store.as_deref_mut())?;
    let report = run::plan(plan, store.as_deref_mut(), &options, progress)?;
    let after = lineage_of(store)?;
    if let (Some(before), Some(after)) = (&before, &after)
        && let Some(moved) =
            run::store_moved(Some(before), after, &store_path.display().to_string())
    {
        return Err(moved.into());
    }
    Ok(SavedPlan {
        format: FORMAT.to_owned(),
        version: VERSION.to_owned(),
        created_at: crate::store::now_text(),
        pipeline: PipelineBinding {
            name: plan.name.clone(),
            file: file.to_owned(),
            sha256: pipeline_sha256,
        },
        extract: report.source.clone(),
        store: StoreBinding {
            path: store_path.to_owned(),
            lineage: before,
        },
        request: Request {
            input: options.input.clone(),
            allow_empty: options.allow_empty,
            resync: options.resync.clone(),
            now: now.text(),
        },
        digest: run::digest(&report),
        digest_only: false,
        report,
    })
}

impl SavedPlan {
    /// The plan without record values (`--digest-only`): counts, the gate's
    /// checks, the extract's identity and the digest stay.
    pub fn digest_only(mut self) -> SavedPlan {
        let report = &mut self.report;
        report.changes.clear();
        report.invalid.clear();
        report.registry = Default::default();
        report.lookups.clear();
        report.conflicts.clear();
        report.refused.clear();
        self.digest_only = true;
        self
    }

    /// Writes the plan file: readable by its owner only (it holds personal
    /// data), in place of any file there, atomically.
    pub fn write(&self, path: &Path) -> Result<(), PlanFileError> {
        let io = |source| PlanFileError::Io {
            path: path.to_owned(),
            source,
        };
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // A temporary file is made 0600, so the plan is never readable by others.
        let mut temp = tempfile::NamedTempFile::new_in(folder).map_err(io)?;
        serde_json::to_writer_pretty(&mut temp, self).map_err(|e| io(e.into()))?;
        temp.write_all(b"\n").map_err(io)?;
        temp.as_file().sync_all().map_err(io)?;
        temp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<SavedPlan, PlanFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |why: String| PlanFileError::Invalid {
            path: path.to_owned(),
            why,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(FORMAT) {
            return Err(invalid(format!(
                "its format is {}, not {FORMAT}",
                format.map_or("missing".to_owned(), |f| format!("{f:?}"))
            )));
        }
        let plan: SavedPlan = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        plan.time()
            .map_err(|e| invalid(format!("its `request.now`: {e}")))?;
        Ok(plan)
    }

    /// The time the plan decided at.
    fn time(&self) -> Result<Instant, crate::clock::TimeError> {
        Instant::parse(&self.request.now, "the plan's time")
    }

    /// What can be checked before anything is opened: the version and the
    /// pipeline file.
    pub fn check_inputs(&self) -> Result<(), ReviewError> {
        if self.version != VERSION {
            return Err(Moved::Version {
                planned: self.version.clone(),
                now: VERSION.to_owned(),
            }
            .into());
        }
        let file = &self.pipeline.file;
        let now = file_sha256(file).map_err(|source| PlanFileError::Pipeline {
            path: file.to_owned(),
            source,
        })?;
        if now != self.pipeline.sha256 {
            return Err(Moved::Pipeline {
                file: file.display().to_string(),
                planned: self.pipeline.sha256.clone(),
                now,
            }
            .into());
        }
        if let Some(input) = &self.request.input
            && let Ok(now) = file_sha256(input)
            && Some(&now) != self.extract.sha256.as_ref()
        {
            return Err(Moved::Extract {
                planned_uri: self.extract.uri.clone(),
                planned: self.extract.sha256.clone().unwrap_or_default(),
                now_uri: input.display().to_string(),
                now,
            }
            .into());
        }
        Ok(())
    }

    /// Applies the plan: the run again, with the plan's inputs and time,
    /// committed only when the store, the extract and the change set are
    /// the ones planned. `outputs` carries `--out-dir` and `--skip-upload`.
    pub fn apply(
        &self,
        plan: &Plan,
        store: &mut Store,
        outputs: &Options,
        progress: &dyn Progress,
    ) -> Result<Report, ReviewError> {
        self.check_inputs()?;
        let now = self.time().map_err(|e| PlanFileError::Invalid {
            path: self.pipeline.file.clone(),
            why: e.to_string(),
        })?;
        let store_path = store.path().display().to_string();
        // Checked before the write lock too, so a stale plan is refused
        // without reading the extract; the run checks again under the lock.
        let current = lineage_of(Some(store))?.expect("an open store has a lineage");
        if let Some(moved) = run::store_moved(self.store.lineage.as_ref(), &current, &store_path) {
            return Err(moved.into());
        }
        let options = Options {
            input: self.request.input.clone(),
            allow_empty: self.request.allow_empty,
            resync: self.request.resync.clone(),
            now: Some(now),
            collect_changes: true,
            // The plan read the newest extract whether or not it was applied.
            force: true,
            expected: Some(Expected {
                store: self.store.lineage.clone(),
                store_path,
                extract_sha256: self.extract.sha256.clone(),
                extract_uri: self.extract.uri.clone(),
                digest: self.digest.clone(),
            }),
            ..outputs.clone()
        };
        Ok(run::apply(plan, store, &options, progress)?)
    }
}
