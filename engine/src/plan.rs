//! The compiled plan: a checked [`Pipeline`] turned into what the runtime
//! executes. It is the one contract between the language and the engine;
//! nothing past this point knows the pipeline came from KDL.

use std::path::{Path, PathBuf};

use rollcall_dsl::model::{Integrity, Lifecycle, Location, Pipeline, Source};

use crate::mapping::{CompileError, Mapper};
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
    /// Record mapping, validation and filters, compiled.
    pub mapper: Mapper,
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
        let mapper = Mapper::compile(pipeline, &base_dir)?;
        let registry = registry::Config::compile(pipeline, mapper.field_names())?;
        Ok(Plan {
            name: pipeline.name.value.clone(),
            system: pipeline.system.clone(),
            file: pipeline.file.clone(),
            base_dir,
            source: pipeline.source.clone(),
            mapper,
            integrity: pipeline.integrity.clone(),
            lifecycle: pipeline.lifecycle.clone(),
            keep_raw: pipeline.keep_raw,
            registry,
        })
    }

    /// A short description of the declared source, for messages.
    pub fn source_description(&self) -> String {
        match &self.source.location {
            Location::File { path } => path.value.clone(),
            Location::S3(s3) => format!("s3 prefix {}", s3.prefix),
        }
    }
}
