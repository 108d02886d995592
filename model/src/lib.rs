//! The typed pipeline: what a checked pipeline file means, free of KDL.
//!
//! This crate is the contract between the language and the runtime: the
//! `rollcall-dsl` crate produces these values (its lowering builds them from
//! a KDL document and its checker proves the cross-references hold), and the
//! `rollcall-engine` crate consumes them without linking the parser. The
//! engine compiles a [`Pipeline`] into its own plan; nothing here knows how
//! records are read or stored. Every value that came from the file keeps its [`Span`] so later
//! stages (and the engine's run-time errors) can point back at the file.

#![deny(missing_docs)]

pub mod json_schema;
pub mod pipeline_test;

use std::path::PathBuf;

use serde::Serialize;

/// A byte range in one pipeline file, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    /// Byte offset of the first character.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// A span from a byte offset and a length.
    pub fn new(offset: usize, len: usize) -> Self {
        Span { offset, len }
    }
}

impl From<miette::SourceSpan> for Span {
    fn from(span: miette::SourceSpan) -> Self {
        Span::new(span.offset(), span.len())
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.offset, span.len).into()
    }
}

/// A value with the place in the file it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned<T> {
    /// The value itself.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A string setting that is either written in the file or read from the
/// environment when the pipeline runs (`(env)"NAME"`).
///
/// Secrets may only ever be [`Setting::Env`]; validation never resolves them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Setting {
    /// A literal value written in the pipeline file.
    Literal(String),
    /// The name of an environment variable read at run time.
    Env(String),
}

/// One checked pipeline file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    /// The pipeline's unique name (`pipeline NAME { ... }`).
    pub name: Spanned<String>,
    /// Free text for operators.
    pub description: Option<String>,
    /// The file this pipeline was read from.
    pub file: PathBuf,
    /// The system of record this pipeline reads; pipelines sharing a system
    /// share external identities (a key seen by one is the same person in
    /// another). Defaults to the pipeline name.
    pub system: String,
    /// Where records come from.
    pub source: Source,
    /// JSON Schema that every raw record must satisfy, resolved against the
    /// pipeline file's folder.
    pub schema: Option<Spanned<PathBuf>>,
    /// The mapped field whose value uniquely identifies a source record.
    pub key: Spanned<String>,
    /// Source fields to person attributes, in declaration order.
    pub fields: Vec<Field>,
    /// Second sources joined to each record.
    pub lookups: Vec<Lookup>,
    /// Fields computed after the lookups are joined, from the joined record
    /// (`derive { ... }`); their paths name fields, not source keys.
    pub derived: Vec<Field>,
    /// Conditions that keep or drop records after mapping.
    pub filters: Vec<Filter>,
    /// How mapped identities become person emails and identifiers.
    pub identity: Vec<IdentityBinding>,
    /// How an inbound record is linked to an existing person.
    pub matching: Match,
    /// Roles (memberships) each record gives its person.
    pub roles: Vec<Role>,
    /// The slice of people this pipeline speaks for, for partial imports.
    pub scope: Option<Scope>,
    /// Thresholds that refuse a suspicious extract before anything changes.
    pub integrity: Integrity,
    /// What happens to records that disappear or come back.
    pub lifecycle: Lifecycle,
    /// Keep each record's raw (unmapped) form in the state store.
    pub keep_raw: bool,
    /// Outputs written after the state change is committed.
    pub sinks: Vec<Sink>,
    /// Messages sent about the run's outcome.
    pub notifications: Vec<Notify>,
    /// Directories the registry's persons (and groups from roles) are
    /// provisioned into after the commit, through the store's outbox.
    pub targets: Vec<Target>,
}

impl Pipeline {
    /// The mapped field with this name, if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.value == name)
    }
}

/// Where records come from and how their bytes are decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Where the bytes live.
    pub location: Location,
    /// How deliveries are chosen when several match.
    pub pick: Pick,
    /// How the bytes become records.
    pub format: Format,
    /// How the bytes are compressed.
    pub compression: Compression,
    /// Path inside each decoded record to the payload that is mapped
    /// (the staff-SSO payload sits under `object`); empty for the record itself.
    pub record_path: Vec<PathSegment>,
    /// Safety limits set in the file; the engine's defaults apply to the rest.
    pub limits: SourceLimits,
    /// Where the source was declared.
    pub span: Span,
}

/// A source's `limits { ... }`: caps on what one delivery may contain, so a
/// hostile or broken delivery stops with an error instead of exhausting
/// memory or time. `None` keeps the engine's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceLimits {
    /// Longest JSONL line, JSON array element or CSV row, in bytes.
    pub max_line: Option<Spanned<u64>>,
    /// Most bytes a compressed delivery may decompress to.
    pub max_decompressed: Option<Spanned<u64>>,
    /// Deepest JSON nesting inside one record (1 to 128).
    pub max_depth: Option<Spanned<u64>>,
}

/// The place a source's bytes are read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Location {
    /// A local path or glob, resolved against the pipeline file's folder.
    File {
        /// The path or glob pattern as written.
        path: Spanned<String>,
    },
    /// Objects in an S3 bucket.
    S3(S3Location),
}

/// An S3 bucket and prefix to read deliveries from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct S3Location {
    /// Bucket name, usually from the environment.
    pub bucket: Setting,
    /// Key prefix that deliveries sit under.
    pub prefix: String,
    /// Pattern the rest of the key must match, with `{timestamp}` marking
    /// the delivery time (e.g. `{timestamp}/full_ingestion.jsonl.gz`).
    pub key_pattern: Option<Spanned<String>>,
    /// Custom endpoint for S3-compatible stores.
    pub endpoint: Option<Setting>,
    /// Region; the AWS chain decides when absent.
    pub region: Option<Setting>,
    /// Use path-style addressing (most S3-compatible stores need it).
    pub path_style: bool,
    /// Delete deliveries older than the one applied, after a successful run.
    pub delete_older: bool,
}

/// How one delivery is chosen among several matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pick {
    /// The newest: by the timestamp in the name when the pattern names one,
    /// else by modification time.
    Newest,
    /// Exactly one must match; several is an error.
    Only,
}

/// How bytes become records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Format {
    /// One JSON value per line.
    Jsonl,
    /// One JSON array of records, streamed.
    Json,
    /// Delimited text.
    Csv(CsvOptions),
}

/// Options of a CSV source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvOptions {
    /// Field delimiter byte.
    pub delimiter: u8,
    /// Quote byte.
    pub quote: u8,
    /// Whether the first row names the columns.
    pub header: bool,
    /// Column names when there is no header (or to override it).
    pub columns: Vec<String>,
    /// Text encoding of the file.
    pub encoding: Encoding,
    /// Pad rows with fewer fields than columns with empty fields (legacy
    /// exports drop trailing empty cells); longer rows are still refused.
    pub ragged_rows: bool,
}

/// Text encoding of a CSV source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// UTF-16 with a byte-order mark saying which endianness.
    Utf16,
}

/// How a source's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// Detect gzip from the magic bytes.
    Auto,
    /// Always gzip.
    Gzip,
    /// Never compressed.
    None,
}

/// One step of a path into a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// An object key (may contain colons and dots).
    Key(String),
    /// An array index.
    Index(usize),
}

/// A record path as people read it in messages: `object.items[0]`.
pub fn describe_path(path: &[PathSegment]) -> String {
    let mut shown = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(key) => {
                if !shown.is_empty() {
                    shown.push('.');
                }
                shown.push_str(key);
            }
            PathSegment::Index(index) => shown.push_str(&format!("[{index}]")),
        }
    }
    shown
}

/// One mapped field: a person attribute and how to compute it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// Attribute name.
    pub name: Spanned<String>,
    /// Where the value comes from.
    pub origin: Origin,
    /// Transforms applied in order.
    pub transforms: Vec<Spanned<Transform>>,
    /// Value used when the origin gives nothing (missing or null).
    pub default: Option<serde_json::Value>,
    /// A record without this value is invalid.
    pub required: bool,
    /// No two present records may hold the same value (compared ignoring
    /// case); a record that would is refused on its own and reported.
    pub unique: bool,
    /// A missing (null) value keeps the value stored for the key: a change
    /// file that omits a field leaves it as it is (`keep-missing=#true`).
    pub keep_missing: bool,
    /// A value names a key of the pipeline that must be present (stored, or
    /// given earlier in this extract); a record naming another is refused
    /// on its own and reported (`refers-to-key=#true`).
    pub refers_to_key: bool,
    /// Where the field was declared.
    pub span: Span,
}

/// Where a mapped field's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Origin {
    /// A path into the (payload of the) record.
    Path(Vec<PathSegment>),
    /// A constant.
    Const(serde_json::Value),
    /// A template over earlier fields: `"{first_name} {last_name}"`.
    Template(Template),
}

/// A string template over mapped fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    /// The template as written.
    pub text: String,
    /// Literal text and field references, in order.
    pub parts: Vec<TemplatePart>,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum TemplatePart {
    /// Text copied as it is.
    Text(String),
    /// The value of a mapped field.
    Field(String),
}

/// A value transform, applied in declaration order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Transform {
    /// Lowercase a string.
    Lowercase,
    /// Uppercase a string.
    Uppercase,
    /// Trim white space at both ends.
    Trim,
    /// Unicode normalisation form C, so canonically equal text (a precomposed
    /// `é` and `e` with a combining accent) compares equal.
    Nfc,
    /// The first element of an array (null when empty).
    First,
    /// Sort an array, so order changes in the source are not changes.
    Sort,
    /// Drop repeated elements of an array, keeping each one's first place
    /// (the order a source gives can mean something: the first is primary).
    Unique,
    /// From an array of objects, the value of one key in each.
    Pluck {
        /// The key to take.
        key: String,
    },
    /// Split a string into an array.
    Split {
        /// Separator.
        separator: String,
    },
    /// Join an array into a string.
    Join {
        /// Separator.
        separator: String,
    },
    /// Replace values by a table; values not in the table follow `otherwise`.
    Values {
        /// Pairs of (from, to), compared on the value's text.
        table: Vec<(String, serde_json::Value)>,
        /// What an unlisted value becomes.
        otherwise: Otherwise,
    },
    /// Reformat a date/time from one strftime pattern to another.
    Date {
        /// The pattern the source uses.
        from: String,
        /// The pattern to write.
        to: String,
    },
    /// Extract a capture group of a regular expression (null when no match).
    Regex {
        /// The pattern.
        pattern: String,
        /// Capture group number (0 is the whole match).
        group: usize,
    },
    /// True when an array (or string) contains the value.
    Contains {
        /// The value to look for.
        value: String,
    },
}

/// What a value-table transform does with a value it does not list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Otherwise {
    /// Keep the value as it is.
    Keep,
    /// Replace it with null.
    Null,
    /// The record is invalid.
    Error,
    /// Replace it with this value.
    Value(serde_json::Value),
}

/// A second source joined to each record by key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lookup {
    /// The lookup's name.
    pub name: Spanned<String>,
    /// Where the lookup's records come from.
    pub source: Source,
    /// Field of the lookup's records to join on.
    pub key: Spanned<String>,
    /// Mapped field of the main record to join on.
    pub on: Spanned<String>,
    /// Collect every matching lookup record (fields become arrays) instead
    /// of requiring at most one.
    pub many: bool,
    /// What happens to a record with no match.
    pub on_missing: OnMissing,
    /// Fields taken from the lookup record, added to the main record.
    pub fields: Vec<Field>,
    /// Where the lookup was declared.
    pub span: Span,
}

/// What happens to a record that a lookup does not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnMissing {
    /// Drop the record (reported).
    Drop,
    /// Keep it with the lookup's fields null (reported).
    Keep,
    /// The record is invalid.
    Error,
}

/// A condition that keeps or drops mapped records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filter {
    /// Keep when the condition holds, or drop when it holds.
    pub action: FilterAction,
    /// The mapped field tested.
    pub field: Spanned<String>,
    /// The test.
    pub condition: Condition,
    /// Where the filter was declared.
    pub span: Span,
}

/// Whether a filter keeps or drops the records it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterAction {
    /// A record must satisfy every `keep`.
    Keep,
    /// A record satisfying any `drop` is dropped.
    Drop,
}

/// A test on one field's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Condition {
    /// Equal to the value (compared on text).
    Equals(String),
    /// Not equal to the value.
    NotEquals(String),
    /// One of the values; for an array, any element is one of them.
    In(Vec<String>),
    /// None of the values.
    NotIn(Vec<String>),
    /// Matches the regular expression.
    Matches(String),
    /// Present and not null.
    Present,
    /// Missing or null.
    Missing,
}

/// Which mapped fields become a person's emails and identifiers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityBinding {
    /// Email address or identifier.
    pub kind: IdentityKind,
    /// The type, e.g. `official` or `employee-id`.
    pub type_name: Spanned<String>,
    /// The mapped field holding the value.
    pub field: Spanned<String>,
    /// For emails: whether the source vouches the address is verified.
    pub verified: bool,
    /// Where it was declared.
    pub span: Span,
}

/// The kind of an identity attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    /// An email address (matched case-insensitively, verified only).
    Email,
    /// An identifier (matched case-sensitively, active only).
    Identifier,
}

/// How an inbound record is linked to an existing person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The strategy.
    pub strategy: MatchStrategy,
    /// What to do when several persons match.
    pub on_ambiguous: OnAmbiguous,
    /// Where it was declared (default span when not written).
    pub span: Span,
}

/// A match strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MatchStrategy {
    /// Every new source record creates a person.
    None,
    /// A verified email of this type, case-insensitively.
    Email {
        /// The email type declared in `identity`.
        type_name: Spanned<String>,
    },
    /// An active identifier of this type, case-sensitively.
    Identifier {
        /// The identifier type declared in `identity`.
        type_name: Spanned<String>,
    },
    /// Ask an external matcher.
    External {
        /// A command (record JSON on stdin, person reference on stdout) or URL.
        target: ExternalMatcher,
        /// How long one answer may take.
        timeout: Spanned<Duration>,
    },
}

/// Where an external matcher lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum ExternalMatcher {
    /// A command run per record.
    Command(String),
    /// An HTTP endpoint POSTed per record.
    Url(Setting),
}

/// What happens when a match finds several persons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnAmbiguous {
    /// Hold the record and report every candidate.
    Hold,
    /// Link the person created first.
    Oldest,
    /// Link the person created last.
    Newest,
}

/// A role (membership) a record gives its person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    /// Affiliation, e.g. `staff` or `student`.
    pub affiliation: Option<Value>,
    /// Organisational unit.
    pub ou: Option<Value>,
    /// Job title.
    pub title: Option<Value>,
    /// Manager, by an identifier of the given type.
    pub manager: Option<Relation>,
    /// Sponsor, by an identifier of the given type.
    pub sponsor: Option<Relation>,
    /// Start of validity.
    pub valid_from: Option<Value>,
    /// End of validity.
    pub valid_until: Option<Value>,
    /// `each FIELD`: one role per value of this list field.
    pub each: Option<Each>,
    /// `status field=FIELD { FROM TO; ... }`: the role's status from the record.
    pub status: Option<StatusMap>,
    /// Where it was declared.
    pub span: Span,
}

/// `each FIELD [kind=KIND]`: a role declaration that gives one role per
/// value of a list field, each with its own lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Each {
    /// The list field; inside the role, `field=FIELD` reads the one value.
    pub field: Spanned<String>,
    /// When given, each role's scope is its value, of this kind.
    pub kind: Option<String>,
}

/// `status field=FIELD { FROM TO; ... }`: a record's own word for its
/// status, mapped to a role status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusMap {
    /// The mapped field holding the record's status.
    pub field: Spanned<String>,
    /// Each source value (compared as text) and the role status it means.
    pub map: Vec<(String, RoleStatus)>,
}

/// A role attribute: fixed by the pipeline or taken from a mapped field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Value {
    /// A fixed value.
    Fixed(String),
    /// The value of a mapped field.
    Field(Spanned<String>),
}

/// A link to another person by identifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relation {
    /// Mapped field holding the other person's identifier.
    pub field: Spanned<String>,
    /// Identifier type to look it up by.
    pub type_name: String,
}

/// The slice of people a partial import speaks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    /// What kind of slice (e.g. `school`).
    pub kind: String,
    /// Which one (e.g. `gym-mitte`).
    pub value: String,
    /// Where it was declared.
    pub span: Span,
}

/// Thresholds checked on the complete change set before it is applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Integrity {
    /// Minimum ratio of this extract's valid records to the last applied one.
    pub min_ratio: Option<Spanned<f64>>,
    /// Maximum records removed.
    pub max_removed: Option<Spanned<Limit>>,
    /// Maximum invalid records.
    pub max_invalid: Option<Spanned<Limit>>,
    /// Minimum valid records in the extract.
    pub min_records: Option<Spanned<u64>>,
}

/// A threshold given as a count or as a percentage of a base.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Limit {
    /// An absolute number of records.
    Count(u64),
    /// A percentage (0–100).
    Percent(f64),
}

/// What happens to records that disappear or come back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lifecycle {
    /// Status a role takes when its record disappears.
    pub on_removal: RoleStatus,
    /// How long a removed role stays in grace before taking `on_removal`.
    pub grace_period: Duration,
    /// Scope name persons without active roles move to, if any.
    pub limbo: Option<String>,
    /// How long an inactive person is kept before being purged, if ever.
    pub purge_after: Option<Spanned<Duration>>,
    /// Reinstate a removed record (and its person) when its key reappears.
    pub reinstate: bool,
    /// What a key missing from a delivery means: removed (a full extract),
    /// or nothing (a delivery of changes only).
    pub absent: Absent,
    /// A record that passes any of these tests is the removal of its key
    /// (a change file's "archive" action); their `action` is always `keep`.
    pub remove_when: Vec<Filter>,
    /// A record that passes any of these tests needs its key to be present
    /// already (a change file's "update" or "archive"); one whose key is
    /// unknown is refused on its own and reported, never silently created
    /// or ignored.
    pub known_when: Vec<Filter>,
    /// A change file's action column: each row adds, modifies or deletes
    /// its key, several rows of one key apply in file order.
    pub actions: Option<Actions>,
    /// Where `absent` was written, when it was (so a contradiction with
    /// `actions` can point at it).
    pub absent_span: Option<Span>,
    /// The status a role takes once its `valid-until` has passed.
    pub on_expiry: RoleStatus,
}

/// `lifecycle { actions FIELD { ... } }`: which values of a mapped field
/// say that a row adds, modifies or deletes its key, and what a row that
/// does not fit the key's state does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actions {
    /// The mapped field holding the action.
    pub field: Spanned<String>,
    /// Values meaning "add" (compared on the mapped value's text).
    pub add: Vec<Spanned<String>>,
    /// Values meaning "modify".
    pub modify: Vec<Spanned<String>>,
    /// Values meaning "delete".
    pub delete: Vec<Spanned<String>>,
    /// An add of a key that is already present.
    pub add_existing: ActionPolicy,
    /// A modify or delete of a key that is not present.
    pub unknown_key: ActionPolicy,
    /// Where the `actions` node was written.
    pub span: Span,
}

/// What a row whose action does not fit its key's state does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionPolicy {
    /// The row is refused on its own and reported; the rest applies.
    Error,
    /// The row is applied as the action that fits (an add of a present key
    /// as a modify, a modify of an unknown key as an add, a delete of an
    /// unknown key as nothing) and reported.
    Accept,
}

/// What a key missing from a delivery means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Absent {
    /// The delivery is a full extract: a missing key is removed.
    Remove,
    /// The delivery holds changes only: a missing key stays as it is.
    Keep,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            on_removal: RoleStatus::Suspended,
            grace_period: Duration::ZERO,
            limbo: None,
            purge_after: None,
            reinstate: true,
            absent: Absent::Remove,
            remove_when: Vec::new(),
            known_when: Vec::new(),
            actions: None,
            absent_span: None,
            on_expiry: RoleStatus::Expired,
        }
    }
}

/// The status of a role (and, recalculated from roles, of a person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleStatus {
    /// Current.
    Active,
    /// Not valid yet: its `valid-from` is still to come.
    Pending,
    /// Removed in the source, awaiting the grace period.
    GracePeriod,
    /// Removed in the source; may come back.
    Suspended,
    /// Ended normally.
    Expired,
    /// Removed and not expected back.
    Deleted,
}

impl RoleStatus {
    /// The spelling used in pipeline files and the state store.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleStatus::Active => "active",
            RoleStatus::Pending => "pending",
            RoleStatus::GracePeriod => "grace-period",
            RoleStatus::Suspended => "suspended",
            RoleStatus::Expired => "expired",
            RoleStatus::Deleted => "deleted",
        }
    }
}

/// A length of time, in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Duration {
    /// Seconds.
    pub seconds: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { seconds: 0 };
}

/// An output written after the state change is committed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sink {
    /// The output's shape.
    pub kind: SinkKind,
    /// Local path written (atomically), resolved against the pipeline's folder.
    pub path: Spanned<String>,
    /// Where the written file is then delivered.
    pub uploads: Vec<Upload>,
    /// Where it was declared.
    pub span: Span,
}

/// The shape of a sink's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SinkKind {
    /// A CSV file of the current records.
    Csv(CsvSink),
    /// A JSON array of the current records.
    Json {
        /// Mapped fields written, in order (all when empty).
        fields: Vec<Spanned<String>>,
    },
    /// One JSON change event per line for this run's changes.
    Jsonl,
    /// An action file of this run's changes (create/update/archive/reinstate).
    Actions(ActionSink),
}

/// Options of a CSV sink.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvSink {
    /// Header name and mapped field of each column, in order.
    pub columns: Vec<(String, Spanned<String>)>,
    /// Write a header row.
    pub header: bool,
    /// When to quote fields.
    pub quote: QuoteStyle,
    /// Prefix values starting with `=`, `+`, `-` or `@` so spreadsheets do
    /// not run them as formulas.
    pub formula_guard: bool,
    /// Field delimiter byte.
    pub delimiter: u8,
}

/// When a CSV sink quotes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuoteStyle {
    /// Every field.
    All,
    /// Only fields that need it.
    Necessary,
}

/// Options of an action-file sink.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionSink {
    /// The dialect of action codes and field names.
    pub dialect: ActionDialect,
    /// Output field name and mapped field, in order.
    pub fields: Vec<(String, Spanned<String>)>,
    /// Output field name and constant written on every action.
    pub defaults: Vec<(String, serde_json::Value)>,
    /// The external id archived users' work is reassigned to.
    pub reassign_to: Option<Setting>,
    /// The mapped field holding a record's groups, if groups are synced.
    pub groups: Option<Spanned<String>>,
    /// Groups never removed by the sync.
    pub protected_groups: Vec<String>,
}

/// Action-file dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionDialect {
    /// Ideagen Cora: Create=0, Update=1, Archive=2, Reinstate=3.
    Cora,
}

/// A delivery of a sink's file to a remote place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Upload {
    /// An S3 object.
    S3 {
        /// Bucket.
        bucket: Setting,
        /// Object key.
        key: String,
        /// Custom endpoint.
        endpoint: Option<Setting>,
        /// Region.
        region: Option<Setting>,
        /// Path-style addressing.
        path_style: bool,
    },
    /// A file on an SFTP server.
    Sftp {
        /// Host name.
        host: Setting,
        /// Port.
        port: u16,
        /// Login user.
        user: Setting,
        /// Password, from the environment.
        password: Option<Setting>,
        /// Private key file path, from the environment or literal.
        key_file: Option<Setting>,
        /// Remote path, relative to the login directory.
        path: String,
        /// Pinned host key: a `SHA256:` fingerprint or known-hosts line.
        host_key: Setting,
    },
}

/// A message sent about a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notify {
    /// Email or webhook.
    pub channel: Channel,
    /// Which outcomes send it.
    pub on: NotifyOn,
    /// Where it was declared.
    pub span: Span,
}

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Channel {
    /// Email over SMTP (server from the environment).
    Email {
        /// Recipient addresses.
        to: Vec<Setting>,
        /// Sender address.
        from: Option<Setting>,
        /// Subject line; `{pipeline}` and `{outcome}` are replaced.
        subject: Option<String>,
    },
    /// An HTTP POST of the run summary.
    Webhook {
        /// The URL.
        url: Setting,
    },
}

/// Which outcomes send a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyOn {
    /// Failed runs (errors).
    Failure,
    /// Runs refused by the integrity gate.
    Breach,
    /// Failures and breaches.
    Problem,
    /// Every run.
    Always,
}

/// A directory the pipeline's persons are provisioned into (`target scim|ldap NAME { ... }`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// The target's name, unique in the pipeline (the outbox's and ownership's key).
    pub name: Spanned<String>,
    /// The protocol and its settings.
    pub kind: TargetKind,
    /// Target attribute to the person attribute (mapped field) it takes, in order.
    pub attributes: Vec<(String, Spanned<String>)>,
    /// Groups made from the persons' roles, their members the role holders.
    pub groups: Option<GroupsFromRoles>,
    /// Delete a person's object once the registry purged them (otherwise it stays deactivated).
    pub delete_after_purge: bool,
    /// How an object that exists before rollcall created it is adopted:
    /// `user-name`/`external-id` (SCIM) or an attribute (LDAP, e.g. `uid`).
    /// Without it, such an object is foreign and never touched.
    pub adopt_by: Option<Spanned<String>>,
    /// At most this many requests per second.
    pub rate: Option<Spanned<f64>>,
    /// Where it was declared.
    pub span: Span,
}

/// A target's protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TargetKind {
    /// A SCIM 2.0 service provider (RFC 7643/7644).
    Scim(ScimTarget),
    /// An LDAP directory.
    Ldap(LdapTarget),
}

/// Settings of a SCIM 2.0 target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScimTarget {
    /// The service's base URL (the one `/Users` is under).
    pub url: Setting,
    /// Bearer token, from the environment.
    pub token: Option<Setting>,
    /// The mapped field a user's `userName` is.
    pub user_name: Spanned<String>,
    /// Resources asked for per page of a listing.
    pub page_size: u64,
}

/// Settings of an LDAP target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LdapTarget {
    /// `ldap://` or `ldaps://` URL.
    pub url: Setting,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// The DN bound as.
    pub bind_dn: Option<Setting>,
    /// The bind password, from the environment.
    pub password: Option<Setting>,
    /// The subtree listed: rollcall's objects and the foreign ones it must see.
    pub base: String,
    /// A person's DN: `{FIELD}` is a person attribute, `{scope}` the scope of their active role.
    pub person_dn: Spanned<String>,
    /// Where a deactivated person is moved (their RDN kept), if anywhere.
    pub limbo_dn: Option<String>,
    /// Object classes of a created person.
    pub object_classes: Vec<String>,
    /// Attribute changes that deactivate a person (`deactivate { set NAME VALUE }`).
    pub deactivate: Vec<(String, String)>,
}

/// `groups-from-roles`: one group per distinct name the template gives a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupsFromRoles {
    /// The group's name (SCIM `displayName`) or DN (LDAP): `{affiliation}`,
    /// `{ou}`, `{title}` and `{scope}` are the role's values.
    pub name: Spanned<String>,
    /// LDAP: the attribute listing the members' DNs (`member`).
    pub member_attribute: Option<String>,
}
