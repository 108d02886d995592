//! Why a pipeline's mapping could not be compiled.

use std::path::PathBuf;

use thiserror::Error;

/// A mapping that cannot run: a bad schema, pattern or field reference.
///
/// The dsl checker refuses every one of these with a diagnostic, so on a
/// checked pipeline none can occur (a schema file changed since it was
/// checked aside): the plan reports one as an invariant violation
/// ([`crate::plan::InvariantError`]), never as a validation error. The
/// mapper still returns them, rather than panicking, because it is also
/// built from hand-made pipelines and is what would otherwise fail per
/// record at run time.
#[derive(Debug, Error)]
pub enum CompileError {
    /// The `key` names no mapped field.
    #[error("key field {key:?} is not a mapped field")]
    UnknownKey {
        /// The key field as written.
        key: String,
    },

    /// A template refers to a field that is not declared before it.
    #[error("template of field {field:?} refers to {reference:?}, which is not an earlier field")]
    TemplateField {
        /// The field holding the template.
        field: String,
        /// The field the template names.
        reference: String,
    },

    /// `identity` or `role` names a field the mapping does not declare.
    #[error("{place} uses {field:?}, which is not a mapped field")]
    RegistryField {
        /// Where it was named, e.g. `identity` or `role 1`.
        place: String,
        /// The field as written.
        field: String,
    },

    /// A filter tests a field that neither `map` nor a lookup declares.
    #[error("filter tests {field:?}, which is not a mapped field")]
    FilterField {
        /// The field as written in the filter.
        field: String,
    },

    /// A lookup's `on` names no field of the pipeline's `map`.
    #[error("lookup {lookup:?} joins on {field:?}, which is not a mapped field")]
    LookupOn {
        /// The lookup.
        lookup: String,
        /// The field as written in `on`.
        field: String,
    },

    /// A `regex` transform or `matches` filter does not compile.
    #[error("invalid regular expression {pattern:?} in {place}")]
    Regex {
        /// Where it was written, e.g. `field "email"`.
        place: String,
        /// The pattern as written.
        pattern: String,
        /// What the regex crate found.
        #[source]
        source: regex::Error,
    },

    /// A `regex` transform asks for a capture group the pattern does not have.
    #[error("field {field:?}: regex {pattern:?} has no group {group} (it has {groups})")]
    RegexGroup {
        /// The field holding the transform.
        field: String,
        /// The pattern as written.
        pattern: String,
        /// The group asked for.
        group: usize,
        /// Groups the pattern has, besides group 0.
        groups: usize,
    },

    /// A `date` transform's pattern is not a valid strftime pattern.
    #[error("field {field:?}: invalid date pattern {pattern:?}")]
    DatePattern {
        /// The field holding the transform.
        field: String,
        /// The pattern as written.
        pattern: String,
    },

    /// A `split` or `join` separator is empty.
    #[error("field {field:?}: the {transform} separator is empty")]
    EmptySeparator {
        /// The field holding the transform.
        field: String,
        /// `split` or `join`.
        transform: &'static str,
    },

    /// The schema file could not be read.
    #[error("cannot read schema {}", path.display())]
    SchemaRead {
        /// The schema file, resolved against the pipeline's folder.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },

    /// The schema file is not JSON.
    #[error("schema {} is not valid JSON", path.display())]
    SchemaJson {
        /// The schema file.
        path: PathBuf,
        /// Where parsing failed.
        #[source]
        source: serde_json::Error,
    },

    /// The schema is JSON but not a schema that compiles.
    #[error("schema {} does not compile: {message}", path.display())]
    SchemaInvalid {
        /// The schema file.
        path: PathBuf,
        /// What the validator reported.
        message: String,
    },
}
