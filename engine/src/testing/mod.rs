//! `rollcall test`: a pipeline test file's cases run against a throwaway
//! store, each step's report compared with what the step expects. The test
//! file comes as the model's [`TestFile`] (the dsl reads it); the pipelines
//! as compiled [`Plan`]s, so this module needs no KDL.

mod check;
mod input;

use std::collections::BTreeMap;
use std::path::PathBuf;

use rollcall_model::pipeline_test::{TestCase, TestFile, TestInput};
use rollcall_model::{Pipeline, Span};
use serde::Serialize;

use crate::clock::Instant;
use crate::plan::{InvariantError, Plan};
use crate::run::{self, Options, Silent};
use crate::store::{Store, StoreError};

/// A test that could not be run at all (as opposed to one that failed).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TestError {
    /// The throwaway store or its folder could not be made.
    #[error("cannot make the test's throwaway store: {0}")]
    #[diagnostic(
        code(rollcall::test::store),
        help("check that the temporary folder is writable (TMPDIR)")
    )]
    Store(#[from] StoreError),
    /// Inline records could not be written out.
    #[error("cannot write the test's records: {0}")]
    #[diagnostic(
        code(rollcall::test::io),
        help("check that the temporary folder is writable (TMPDIR)")
    )]
    Io(#[from] std::io::Error),
    /// A step names a pipeline file that was not loaded.
    #[error("no compiled pipeline for {}", .0.display())]
    #[diagnostic(
        code(rollcall::test::pipeline),
        help("a bug: every pipeline a test file names is loaded first")
    )]
    NoPlan(PathBuf),
}

/// How one test case went.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Where it was declared.
    pub span: Span,
    /// Every expectation not met (empty: passed).
    pub failures: Vec<Failure>,
}

impl CaseResult {
    /// Whether every expectation was met.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// An expectation not met: what was expected and what the run showed,
/// line by line, for a diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The step (1-based).
    pub step: usize,
    /// Where the expectation (or, for the outcome, the step) was written.
    pub span: Span,
    /// What was compared, in a few words.
    pub what: String,
    /// The expected lines.
    pub expected: Vec<String>,
    /// The lines the run gave.
    pub found: Vec<String>,
}

/// A pipeline compiled for its tests: without sinks, notifications and targets, so
/// a test checks what a run records and delivers nothing anywhere (and
/// needs none of the outputs' `(env)` settings).
pub fn compile(pipeline: &Pipeline) -> Result<Plan, InvariantError> {
    let mut pipeline = pipeline.clone();
    pipeline.sinks.clear();
    pipeline.notifications.clear();
    pipeline.targets.clear();
    Plan::compile(&pipeline)
}

/// Runs every case of a test file, each against a store of its own.
pub fn run_file(
    tests: &TestFile,
    plans: &BTreeMap<PathBuf, Plan>,
) -> Result<Vec<CaseResult>, TestError> {
    tests
        .cases
        .iter()
        .map(|case| run_case(case, plans))
        .collect()
}

/// Runs one case: its extracts in order against one new store.
pub fn run_case(case: &TestCase, plans: &BTreeMap<PathBuf, Plan>) -> Result<CaseResult, TestError> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("test.db").into())?;
    let mut failures = Vec::new();
    for (index, step) in case.steps.iter().enumerate() {
        let plan = plans
            .get(&step.pipeline)
            .ok_or_else(|| TestError::NoPlan(step.pipeline.clone()))?;
        let input = match &step.input {
            TestInput::File(path) => path.clone(),
            TestInput::Records(records) => input::write(
                plan,
                records,
                &dir.path().join(format!("step-{}", index + 1)),
            )?,
        };
        let now = match step.now.as_deref().map(|t| Instant::parse(t, "now=")) {
            Some(Ok(now)) => Some(now),
            Some(Err(err)) => {
                failures.push(Failure {
                    step: index + 1,
                    span: step.span,
                    what: "the step's time".into(),
                    expected: vec!["a time (RFC 3339 or a date)".into()],
                    found: vec![err.to_string()],
                });
                continue;
            }
            None => None,
        };
        let options = Options {
            input: Some(input),
            collect_changes: true,
            allow_empty: true,
            now,
            skip_uploads: true,
            ..Options::default()
        };
        let outcome = run::apply(plan, &mut store, &options, &Silent);
        // The step's own pipeline first: a key is looked up there first.
        let mut pipelines = vec![plan.name.as_str()];
        pipelines.extend(
            plans
                .values()
                .map(|p| p.name.as_str())
                .filter(|n| *n != plan.name),
        );
        failures.extend(check::step(
            index + 1,
            step,
            &outcome,
            plan,
            &pipelines,
            &mut store,
        )?);
    }
    Ok(CaseResult {
        name: case.name.clone(),
        span: case.span,
        failures,
    })
}
