//! Lookups: second sources joined to each mapped record by key, then the
//! pipeline's `derive` fields and the filters that test joined fields.
//!
//! Each lookup source is read once per run into a map keyed by its `key`
//! field; the main stream then joins record by record. Because filters are
//! a conjunction, applying the lookup-field filters here, after the mapper
//! applied the others, keeps exactly the records the pipeline keeps.

use std::collections::HashMap;
use std::path::Path;

use rollcall_model::{Lookup, OnMissing, Pipeline};
use serde::Serialize;
use serde_json::Value;

use crate::mapping::{
    self, CompileError, Derived, Filters, Invalid, Mapped, MappedRecord, Mapper, value_text,
};
use crate::source::{self, Limits, SourceError};

/// A lookup that could not be loaded; the run stops before changing anything.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LookupError {
    /// The lookup's source could not be found or decoded.
    #[error("lookup {lookup}: {source}")]
    #[diagnostic(code("rollcall::lookup::source"))]
    Source {
        /// The lookup's name.
        lookup: String,
        /// What went wrong reading it.
        #[source]
        #[diagnostic_source]
        source: SourceError,
    },
    /// A lookup record failed its mapping. A broken lookup row would drop or
    /// strip the people it should enrich, so it stops the run.
    #[error("lookup {lookup}: {file}:{line}: invalid record{}: {}", key.as_ref().map(|k| format!(" (key {k:?})")).unwrap_or_default(), problems.join("; "))]
    #[diagnostic(
        code("rollcall::lookup::invalid"),
        help("fix the lookup's file, or the lookup's `map` in the pipeline")
    )]
    Invalid {
        /// The lookup's name.
        lookup: String,
        /// The lookup's file.
        file: String,
        /// Line of the record.
        line: u64,
        /// Its key, when it could be computed.
        key: Option<String>,
        /// What is wrong with it.
        problems: Vec<String>,
    },
    /// Two lookup records share a key, and the lookup is not `many`.
    #[error(
        "lookup {lookup}: {file}:{line}: duplicate key {key:?}, first seen on line {first_line}"
    )]
    #[diagnostic(
        code("rollcall::lookup::duplicate-key"),
        help(
            "a lookup without `many #true` joins at most one record per key; declare `many #true` to collect every match"
        )
    )]
    DuplicateKey {
        /// The lookup's name.
        lookup: String,
        /// The lookup's file.
        file: String,
        /// The key.
        key: String,
        /// Where it first appeared.
        first_line: u64,
        /// Where it appeared again.
        line: u64,
    },
}

/// A record the lookup did not find, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Unmatched {
    /// Line of the main record.
    pub line: u64,
    /// Its key.
    pub key: String,
    /// The value looked up.
    pub value: String,
}

/// Unmatched records kept in a report per lookup; the count is always exact.
const MAX_UNMATCHED_REPORTED: usize = 100;

/// What one lookup did in a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LookupReport {
    /// The lookup's name.
    pub name: String,
    /// Its file.
    pub source: String,
    /// Records loaded from it.
    pub records: u64,
    /// Main records that found a match.
    pub matched: u64,
    /// Main records that found none.
    pub unmatched: u64,
    /// What happened to those: `drop`, `keep` or `error`.
    pub on_missing: String,
    /// The first unmatched records.
    pub examples: Vec<Unmatched>,
}

/// One lookup, compiled.
#[derive(Debug)]
struct Compiled {
    lookup: Lookup,
    mapper: Mapper,
    /// Index of the `on` field among the main record's fields.
    on: usize,
}

/// The stage after mapping: lookups, `derive`, and the filters on joined
/// fields, compiled once per pipeline.
#[derive(Debug)]
pub struct Joiner {
    lookups: Vec<Compiled>,
    derived: Derived,
    filters: Filters,
    names: Vec<String>,
    key: usize,
}

impl Joiner {
    /// Each lookup's source (what a run reads besides its own source).
    pub fn sources(&self) -> impl Iterator<Item = &rollcall_model::Source> {
        self.lookups.iter().map(|compiled| &compiled.lookup.source)
    }

    /// Compiles the pipeline's lookups, derived fields and deferred filters
    /// against the main mapper's fields.
    pub fn compile(pipeline: &Pipeline, mapper: &Mapper) -> Result<Joiner, CompileError> {
        let mut names: Vec<String> = mapper.field_names().to_vec();
        let mut lookups = Vec::with_capacity(pipeline.lookups.len());
        for lookup in &pipeline.lookups {
            // A lookup is mapped exactly like a pipeline of its own.
            let own = Pipeline {
                source: lookup.source.clone(),
                schema: None,
                key: lookup.key.clone(),
                fields: lookup.fields.clone(),
                lookups: Vec::new(),
                derived: Vec::new(),
                filters: Vec::new(),
                ..pipeline.clone()
            };
            let on = names
                .iter()
                .position(|n| *n == lookup.on.value)
                .ok_or_else(|| CompileError::LookupOn {
                    lookup: lookup.name.value.clone(),
                    field: lookup.on.value.clone(),
                })?;
            lookups.push(Compiled {
                lookup: lookup.clone(),
                mapper: Mapper::compile(&own)?,
                on,
            });
            names.extend(lookup.fields.iter().map(|f| f.name.value.clone()));
        }
        let derived = Derived::compile(&pipeline.derived)?;
        names.extend(derived.names().map(str::to_owned));
        let filters = Filters::compile(mapper.deferred_filters(), &names)?;
        Ok(Joiner {
            lookups,
            derived,
            filters,
            names,
            key: mapper.key_index(),
        })
    }

    /// Whether joining leaves a mapped record's values as they are (no
    /// lookups, no derived fields), so they can be fingerprinted before it.
    pub fn adds_nothing(&self) -> bool {
        self.lookups.is_empty() && self.derived.is_empty()
    }

    /// Every field of a joined record: the pipeline's, each lookup's, then
    /// the derived ones.
    pub fn field_names(&self) -> &[String] {
        &self.names
    }

    /// Reads every lookup source into memory for one run.
    pub fn load(&self, base_dir: &Path, limits: &Limits) -> Result<Joins<'_>, LookupError> {
        let mut tables = Vec::with_capacity(self.lookups.len());
        for compiled in &self.lookups {
            tables.push(Table::load(compiled, base_dir, limits)?);
        }
        Ok(Joins {
            joiner: self,
            tables,
        })
    }
}

/// One lookup's records by key, with its figures for the report.
struct Table {
    rows: HashMap<String, Vec<Vec<Value>>>,
    report: LookupReport,
}

impl Table {
    fn load(compiled: &Compiled, base_dir: &Path, limits: &Limits) -> Result<Table, LookupError> {
        let lookup = &compiled.lookup;
        let name = lookup.name.value.clone();
        let wrap = |source: SourceError| LookupError::Source {
            lookup: name.clone(),
            source,
        };
        let opened = source::open(&lookup.source, base_dir, None, limits.clone()).map_err(wrap)?;
        let file = opened.identity.uri.clone();
        let key_index = compiled.mapper.key_index();
        let mut rows: HashMap<String, Vec<Vec<Value>>> = HashMap::new();
        let mut first_lines: HashMap<String, u64> = HashMap::new();
        let mut records = 0;
        for item in opened.records {
            let raw = item.map_err(wrap)?;
            records += 1;
            let values = match compiled.mapper.map(&raw.value) {
                Mapped::Record(record) => record.values,
                Mapped::Filtered => continue,
                Mapped::Invalid(bad) => {
                    return Err(LookupError::Invalid {
                        lookup: name,
                        file,
                        line: raw.line,
                        key: bad.key,
                        problems: bad.problems,
                    });
                }
            };
            let key = value_text(&values[key_index]).into_owned();
            if !lookup.many
                && let Some(first_line) = first_lines.get(&key)
            {
                return Err(LookupError::DuplicateKey {
                    lookup: name,
                    file,
                    key,
                    first_line: *first_line,
                    line: raw.line,
                });
            }
            first_lines.entry(key.clone()).or_insert(raw.line);
            rows.entry(key).or_default().push(values);
        }
        if lookup.many {
            // Rows in a stable order, so reordering the lookup file is not a change.
            for matches in rows.values_mut() {
                matches.sort_by_cached_key(|row| Value::Array(row.clone()).to_string());
            }
        }
        Ok(Table {
            rows,
            report: LookupReport {
                name,
                source: file,
                records,
                matched: 0,
                unmatched: 0,
                on_missing: match lookup.on_missing {
                    OnMissing::Drop => "drop",
                    OnMissing::Keep => "keep",
                    OnMissing::Error => "error",
                }
                .to_owned(),
                examples: Vec::new(),
            },
        })
    }
}

/// The lookups of one run, loaded, ready to join records.
pub struct Joins<'p> {
    joiner: &'p Joiner,
    tables: Vec<Table>,
}

impl Joins<'_> {
    /// Joins one mapped record: adds each lookup's fields and the derived
    /// ones, then applies the filters on them. Filtered and invalid records
    /// pass through as they are.
    pub fn join(&mut self, mapped: Mapped, line: u64) -> Mapped {
        let Mapped::Record(MappedRecord { mut values }) = mapped else {
            return mapped;
        };
        let joiner = self.joiner;
        let mut problems = Vec::new();
        for (compiled, table) in joiner.lookups.iter().zip(&mut self.tables) {
            let lookup = &compiled.lookup;
            let width = lookup.fields.len();
            let wanted = value_text(&values[compiled.on]).into_owned();
            let found = (!values[compiled.on].is_null())
                .then(|| table.rows.get(&wanted))
                .flatten();
            match found {
                Some(matches) => {
                    table.report.matched += 1;
                    if lookup.many {
                        for column in 0..width {
                            values.push(Value::Array(
                                matches.iter().map(|row| row[column].clone()).collect(),
                            ));
                        }
                    } else {
                        values.extend(matches[0].iter().cloned());
                    }
                }
                None => {
                    table.report.unmatched += 1;
                    let key = value_text(&values[joiner.key]).into_owned();
                    if table.report.examples.len() < MAX_UNMATCHED_REPORTED {
                        table.report.examples.push(Unmatched {
                            line,
                            key: key.clone(),
                            value: wanted.clone(),
                        });
                    }
                    match lookup.on_missing {
                        OnMissing::Drop => return Mapped::Filtered,
                        OnMissing::Error => {
                            return Mapped::Invalid(Invalid {
                                key: Some(key),
                                problems: vec![format!(
                                    "lookup {} has no record with {} {wanted:?}",
                                    lookup.name.value, lookup.key.value
                                )],
                            });
                        }
                        OnMissing::Keep => {
                            let empty = if lookup.many {
                                Value::Array(Vec::new())
                            } else {
                                Value::Null
                            };
                            values.extend(std::iter::repeat_n(empty, width));
                        }
                    }
                }
            }
        }
        joiner
            .derived
            .compute(&joiner.names, &mut values, &mut problems);
        if !problems.is_empty() {
            return Mapped::Invalid(Invalid {
                key: Some(mapping::value_text(&values[joiner.key]).into_owned()),
                problems,
            });
        }
        if joiner.filters.keeps(&values) {
            Mapped::Record(MappedRecord { values })
        } else {
            Mapped::Filtered
        }
    }

    /// What each lookup did, for the run's report.
    pub fn report(self) -> Vec<LookupReport> {
        self.tables.into_iter().map(|t| t.report).collect()
    }
}
