//! A pipeline test file (`NAME.test.kdl` beside `NAME.kdl`): test cases,
//! each a sequence of extracts run against a throwaway store, with what
//! each extract is expected to map, reject, change and move. The dsl
//! reads it ([`TestFile`]); the engine runs it; neither needs the other.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Span;

/// One test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFile {
    /// The test file.
    pub file: PathBuf,
    /// The pipeline file its steps run by default (resolved).
    pub pipeline: PathBuf,
    /// Its test cases, in file order.
    pub cases: Vec<TestCase>,
}

impl TestFile {
    /// Every pipeline file the steps run (the default one first).
    pub fn pipelines(&self) -> Vec<PathBuf> {
        let mut all = vec![self.pipeline.clone()];
        for step in self.cases.iter().flat_map(|c| &c.steps) {
            if !all.contains(&step.pipeline) {
                all.push(step.pipeline.clone());
            }
        }
        all
    }
}

/// One test: a name and its extracts, run in order against one new store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    pub span: Span,
    /// The extracts, in order.
    pub steps: Vec<TestStep>,
}

/// One extract run through a pipeline, and what is expected of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestStep {
    /// Where it was declared.
    pub span: Span,
    /// The pipeline file run (resolved).
    pub pipeline: PathBuf,
    /// The time decisions are made at (RFC 3339 or a date), as written.
    pub now: Option<String>,
    /// The records read.
    pub input: TestInput,
    /// What the run must show.
    pub expect: Vec<Expectation>,
}

/// The records of a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TestInput {
    /// An extract file (resolved), read as the pipeline's source format.
    File(PathBuf),
    /// Records written in the test file, in order.
    Records(Vec<InlineRecord>),
}

/// A record written in a test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum InlineRecord {
    /// `record name=value ...`: a flat record (a CSV row, or a JSON object).
    Fields(Map<String, Value>),
    /// `json "..."`: any JSON value, for JSON sources.
    Json(Value),
    /// `line "..."`: a line of the extract as it is (for malformed input).
    Line(String),
}

/// One expectation, with where it was written (failures point at it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    /// Where it was written.
    pub span: Span,
    /// What is expected.
    pub expect: Expect,
}

/// What a step may expect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expect {
    /// The run's outcome (`applied`, `no-change`, `rejected`, `failed`);
    /// without one, `applied` or `no-change`.
    Outcome(String),
    /// Figures of the run's summary (`created=4`, `invalid=0`, ...).
    Counts(Vec<(String, u64)>),
    /// The stored mapped fields of a key after the run (those listed).
    Mapped {
        /// The key.
        key: String,
        /// Field names and values.
        fields: Vec<(String, Value)>,
    },
    /// A record refused; when a step names any, it names them all.
    Rejected {
        /// Its key (`None`: one whose key could not be read).
        key: Option<String>,
        /// Its line, when given.
        line: Option<u64>,
        /// `rollcall::record::invalid`, `::unique`, `::unknown-key` or `::ambiguous`.
        code: String,
        /// Text the reason must contain.
        contains: Option<String>,
    },
    /// Exactly these record changes.
    Changes(Vec<ExpectedChange>),
    /// Exactly these registry transitions.
    Transitions(Vec<ExpectedTransition>),
}

/// A change of one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedChange {
    /// `create`, `update`, `remove` or `reinstate`.
    pub action: String,
    /// The key.
    pub key: String,
    /// Fields that must have these values after the change (those listed).
    pub fields: Vec<(String, Value)>,
}

/// A status change of a person or a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedTransition {
    /// Whose.
    pub subject: TransitionSubject,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
    /// The limbo after (`Some(None)`: out of limbo), when given.
    pub limbo: Option<Option<String>>,
    /// The purge time, when given.
    pub purge_at: Option<String>,
}

/// Whose status moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TransitionSubject {
    /// The person of a record (by its key, in any pipeline the test ran).
    Person(String),
    /// The role a record gives (with its scope, for `each` roles).
    Role {
        /// The record's key.
        key: String,
        /// The role's scope, when given.
        scope: Option<String>,
    },
}
