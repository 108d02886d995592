//! The compiled plan: a checked [`Pipeline`] turned into what the runtime
//! executes. It is the one contract between the language and the engine;
//! nothing past this point knows the pipeline came from KDL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollcall_model::{Integrity, Lifecycle, Location, Notify, Pipeline, Sink, Source};

use crate::lookup::Joiner;
use crate::mapping::{CompileError, Filters, Mapper};
use crate::registry;

/// A pipeline compiled for running.
pub struct Plan {
    /// Pipeline name.
    pub name: String,
    /// System of record (pipelines sharing it share external identities).
    pub system: String,
    /// The pipeline file, for messages.
    pub file: PathBuf,
    /// Folder that relative paths in the pipeline are resolved against.
    pub base_dir: PathBuf,
    /// Where records come from.
    pub source: Source,
    /// Record mapping, validation and filters, compiled; shared with the
    /// thread that decodes records.
    pub mapper: Arc<Mapper>,
    /// Lookups, derived fields and the filters on them, compiled.
    pub joiner: Joiner,
    /// `lifecycle { remove-when ... }`: records that are removals of their key.
    pub removal: Option<Filters>,
    /// `(index, name)` of the `unique=#true` fields in the joined layout.
    pub unique: Vec<(usize, String)>,
    /// Outputs written after the change set is committed.
    pub sinks: Vec<Sink>,
    /// Messages sent about the run's outcome.
    pub notifications: Vec<Notify>,
    /// Thresholds for the integrity gate.
    pub integrity: Integrity,
    /// What happens to records that disappear or come back.
    pub lifecycle: Lifecycle,
    /// Keep raw records in the store.
    pub keep_raw: bool,
    /// Identity bindings, match strategy, roles and scope, compiled.
    pub registry: registry::Config,
}

impl Plan {
    /// Compiles a checked pipeline: regexes, schemas and field tables are
    /// built once here, not per record.
    pub fn compile(pipeline: &Pipeline) -> Result<Plan, CompileError> {
        let base_dir = pipeline
            .file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mapper = Arc::new(Mapper::compile(pipeline)?);
        let joiner = Joiner::compile(pipeline, &mapper)?;
        let unique = pipeline
            .fields
            .iter()
            .chain(&pipeline.derived)
            .filter(|field| field.unique)
            .filter_map(|field| {
                let index = joiner
                    .field_names()
                    .iter()
                    .position(|n| *n == field.name.value)?;
                Some((index, field.name.value.clone()))
            })
            .collect();
        let removal = match &pipeline.lifecycle.remove_when {
            Some(test) => Some(Filters::compile([test], joiner.field_names())?),
            None => None,
        };
        let registry = registry::Config::compile(pipeline, joiner.field_names())?;
        Ok(Plan {
            name: pipeline.name.value.clone(),
            system: pipeline.system.clone(),
            file: pipeline.file.clone(),
            base_dir,
            source: pipeline.source.clone(),
            mapper,
            joiner,
            removal,
            unique,
            sinks: pipeline.sinks.clone(),
            notifications: pipeline.notifications.clone(),
            integrity: pipeline.integrity.clone(),
            lifecycle: pipeline.lifecycle.clone(),
            keep_raw: pipeline.keep_raw,
            registry,
        })
    }

    /// Every field of a joined record, as stored: the pipeline's, each
    /// lookup's, then the derived ones.
    pub fn field_names(&self) -> &[String] {
        self.joiner.field_names()
    }

    /// A short description of the declared source, for messages.
    pub fn source_description(&self) -> String {
        match &self.source.location {
            Location::File { path } => path.value.clone(),
            Location::S3(s3) => format!("s3 prefix {}", s3.prefix),
        }
    }
}
