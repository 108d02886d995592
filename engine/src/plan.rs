//! The compiled plan: a checked [`Pipeline`] (the `rollcall_model` value the
//! dsl hands over, the contract between language and runtime) turned into
//! what the runtime executes. Compiling never fails on a pipeline the checker
//! accepted; if it does, that is an [`InvariantError`], not a validation
//! error, so users see one validator.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::Diagnostic;
use rollcall_model::{
    ActionPolicy, Integrity, Lifecycle, Location, Notify, Pipeline, Sink, Source,
};
use serde::Serialize;
use thiserror::Error;

use crate::lookup::Joiner;
use crate::mapping::{CompileError, Filters, Mapper};
use crate::registry;

/// A checked pipeline that does not compile: the checker accepted what the
/// runtime cannot run. There is one validator, the dsl checker; reaching
/// this is a bug in it (or a schema file changed between check and compile).
#[derive(Debug, Error, Diagnostic)]
#[error("pipeline {pipeline:?} passed the checker but does not compile; this is a bug in rollcall")]
#[diagnostic(
    code(rollcall::invariant::compile),
    help(
        "please report it with the pipeline file; unless a schema file changed since the check, \
         `rollcall validate` should have refused this pipeline"
    )
)]
pub struct InvariantError {
    /// The pipeline's name.
    pub pipeline: String,
    /// What the compiler found that the checker did not.
    #[source]
    pub cause: CompileError,
}

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
    /// `lifecycle { remove-when ... }`: a record passing any one of these
    /// tests is the removal of its key.
    pub removal: Vec<Filters>,
    /// `(index, name)` of the `unique=#true` fields in the joined layout.
    pub unique: Vec<(usize, String)>,
    /// `lifecycle { known-when ... }`: a record passing any one of these
    /// tests needs its key to be present already.
    pub known: Vec<Filters>,
    /// `(index, name)` of the `refers-to-key=#true` fields.
    pub references: Vec<(usize, String)>,
    /// Indexes of the `keep-missing=#true` fields.
    pub keep_missing: Vec<usize>,
    /// `lifecycle { actions ... }`: the extract is a change file whose rows
    /// say what they do to their key.
    pub actions: Option<ActionColumn>,
    /// Outputs written after the change set is committed.
    pub sinks: Vec<Sink>,
    /// Messages sent about the run's outcome.
    pub notifications: Vec<Notify>,
    /// Directories the system's persons are provisioned into, through the outbox.
    pub targets: Vec<rollcall_model::Target>,
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
    /// built once here, not per record. The pipeline must be one the dsl
    /// checker accepted; a failure is an [`InvariantError`].
    pub fn compile(pipeline: &Pipeline) -> Result<Plan, InvariantError> {
        Plan::compile_checked(pipeline).map_err(|cause| InvariantError {
            pipeline: pipeline.name.value.clone(),
            cause,
        })
    }

    fn compile_checked(pipeline: &Pipeline) -> Result<Plan, CompileError> {
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
        let removal = pipeline
            .lifecycle
            .remove_when
            .iter()
            .map(|test| Filters::compile([test], joiner.field_names()))
            .collect::<Result<Vec<_>, _>>()?;
        let known = pipeline
            .lifecycle
            .known_when
            .iter()
            .map(|test| Filters::compile([test], joiner.field_names()))
            .collect::<Result<Vec<_>, _>>()?;
        let flagged = |flag: fn(&rollcall_model::Field) -> bool| -> Vec<(usize, String)> {
            pipeline
                .fields
                .iter()
                .chain(&pipeline.derived)
                .filter(|field| flag(field))
                .filter_map(|field| {
                    let name = &field.name.value;
                    let index = joiner.field_names().iter().position(|n| n == name)?;
                    Some((index, name.clone()))
                })
                .collect()
        };
        let references = flagged(|field| field.refers_to_key);
        let keep_missing = flagged(|field| field.keep_missing)
            .into_iter()
            .map(|(index, _)| index)
            .collect();
        let registry = registry::Config::compile(pipeline, joiner.field_names())?;
        let actions = pipeline
            .lifecycle
            .actions
            .as_ref()
            .map(|declared| ActionColumn::compile(declared, joiner.field_names()))
            .transpose()?;
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
            known,
            references,
            keep_missing,
            actions,
            sinks: pipeline.sinks.clone(),
            notifications: pipeline.notifications.clone(),
            targets: pipeline.targets.clone(),
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

/// What one row of a change file does to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Act {
    /// A new key (or a removed one back).
    Add,
    /// New values for a present key.
    Modify,
    /// The key is gone.
    Delete,
}

impl Act {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Act::Add => "add",
            Act::Modify => "modify",
            Act::Delete => "delete",
        }
    }
}

/// `lifecycle { actions FIELD { ... } }` compiled against the joined layout.
#[derive(Debug, Clone)]
pub struct ActionColumn {
    /// Index of the action field.
    pub index: usize,
    /// The action field's name, for messages.
    pub field: String,
    /// Each declared value (as text) and what it means.
    pub values: Vec<(String, Act)>,
    /// An add of a key already present.
    pub add_existing: ActionPolicy,
    /// A modify or delete of a key not present.
    pub unknown_key: ActionPolicy,
}

impl ActionColumn {
    fn compile(
        declared: &rollcall_model::Actions,
        names: &[String],
    ) -> Result<ActionColumn, CompileError> {
        let field = &declared.field.value;
        let index = names.iter().position(|name| name == field).ok_or_else(|| {
            CompileError::RegistryField {
                place: "lifecycle actions".into(),
                field: field.clone(),
            }
        })?;
        let values = [
            (&declared.add, Act::Add),
            (&declared.modify, Act::Modify),
            (&declared.delete, Act::Delete),
        ]
        .into_iter()
        .flat_map(|(values, act)| values.iter().map(move |v| (v.value.clone(), act)))
        .collect();
        Ok(ActionColumn {
            index,
            field: field.clone(),
            values,
            add_existing: declared.add_existing,
            unknown_key: declared.unknown_key,
        })
    }

    /// What a row with these values does; `None` when its action value is
    /// none of the declared ones.
    pub fn act(&self, values: &[serde_json::Value]) -> Option<Act> {
        let text = crate::mapping::value_text(&values[self.index]);
        self.values
            .iter()
            .find(|(value, _)| *value == text)
            .map(|(_, act)| *act)
    }
}

#[cfg(test)]
mod tests {
    use rollcall_model::{Spanned, Transform};

    use super::*;

    fn checked() -> Pipeline {
        let text = "pipeline staff {\n    source file \"x.jsonl\" { format jsonl; }\n    key id\n    map {\n        id \"id\" required=#true\n        born \"born\" { date from=\"%d/%m/%Y\" to=\"%Y-%m-%d\"; }\n    }\n}\n";
        let mut loaded = rollcall_dsl::load_str("staff.kdl", text, Path::new("."));
        assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
        loaded.pipelines.remove(0)
    }

    #[test]
    fn a_checked_pipeline_compiles() {
        let plan = Plan::compile(&checked()).expect("the checker accepted it");
        assert_eq!(plan.field_names(), ["id", "born"]);
    }

    #[test]
    fn a_pipeline_the_checker_would_refuse_is_an_invariant_error() {
        // The checker refuses `%Q` (rollcall::invalid-date-pattern); built by
        // hand, the pipeline reaches the compiler, which must not pass it.
        let mut pipeline = checked();
        pipeline.fields[1].transforms = vec![Spanned::new(
            Transform::Date {
                from: "%Q".to_owned(),
                to: "%Y".to_owned(),
            },
            pipeline.fields[1].span,
        )];
        let error = Plan::compile(&pipeline).err().expect("an invariant error");
        assert_eq!(error.pipeline, "staff");
        assert!(
            matches!(error.cause, CompileError::DatePattern { ref pattern, .. } if pattern == "%Q"),
            "{error:?}"
        );
        let code = miette::Diagnostic::code(&error).map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("rollcall::invariant::compile"));
    }
}
