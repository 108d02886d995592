//! The mapping stage: one raw JSON record to the pipeline's mapped fields.
//!
//! [`Mapper::compile`] turns a checked [`Pipeline`]'s `schema`, `map` and
//! `filter` into a plan once (regexes, value tables, template indexes, the
//! JSON Schema); [`Mapper::map`] then runs per record without compiling or
//! cloning anything but the values it takes.

mod encode;
mod error;
mod filter;
mod path;
mod scan;
mod schema;
mod shape;
mod template;
mod text;
mod transform;

use rollcall_model::{Field, Filter, Origin, PathSegment, Pipeline};
use serde_json::Value;

pub use encode::encode_fields;
pub use error::CompileError;
pub use filter::Filters;
pub use text::value_text;

use scan::{ScanPlan, Slot};
use schema::Schema;
use text::type_name;

/// The outcome of mapping one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// A valid record the filters keep.
    Record(MappedRecord),
    /// A valid record the filters drop.
    Filtered,
    /// A record that fails the schema, a required field, its key or a transform.
    Invalid(Invalid),
}

/// A record's mapped values.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedRecord {
    /// One value per field, indexed like [`Mapper::field_names`]; missing is null.
    pub values: Vec<Value>,
}

/// Why a record is invalid, and its key when that could be computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// The key field's text, so the engine can hold that key; `None` when the
    /// key itself is missing or broken.
    pub key: Option<String>,
    /// Every problem found, schema errors first, then fields in order.
    pub problems: Vec<String>,
}

/// A pipeline's mapping, compiled once and shared across threads.
#[derive(Debug)]
pub struct Mapper {
    record_path: Vec<PathSegment>,
    schema: Option<Schema>,
    fields: Vec<FieldPlan>,
    names: Vec<String>,
    key: usize,
    filters: Filters,
    deferred_filters: Vec<Filter>,
    /// The fast path ([`Mapper::map_text`]), when the pipeline allows it.
    fast: Option<FastPath>,
}

/// How [`Mapper::map_text`] finds each field's source value among the
/// payload members the scan keeps.
#[derive(Debug)]
struct FastPath {
    scan: ScanPlan,
    /// Per field: the slot its path starts in (`None` for const and template
    /// fields), and whether it is the slot's only user with a one-step path,
    /// so the value can be moved out instead of cloned.
    sources: Vec<Option<(usize, bool)>>,
}

/// One field's compiled origin, transforms, default and requirement.
#[derive(Debug)]
struct FieldPlan {
    name: String,
    origin: OriginPlan,
    /// The origin as people read it, for the `required` problem.
    from: String,
    transforms: Vec<transform::Compiled>,
    default: Option<Value>,
    required: bool,
}

#[derive(Debug)]
enum OriginPlan {
    Path(Vec<PathSegment>),
    Const(Value),
    Template(template::Compiled),
}

impl Mapper {
    /// Compiles the pipeline's schema, fields and filters.
    ///
    /// `pipeline.schema` is used as given: the lowering has already resolved
    /// it against the pipeline file's folder.
    pub fn compile(pipeline: &Pipeline) -> Result<Mapper, CompileError> {
        let schema = match &pipeline.schema {
            Some(path) => Some(Schema::load(&path.value)?),
            None => None,
        };

        let mut names: Vec<String> = Vec::with_capacity(pipeline.fields.len());
        let mut fields = Vec::with_capacity(pipeline.fields.len());
        for field in &pipeline.fields {
            fields.push(FieldPlan::compile(field, &names)?);
            names.push(field.name.value.clone());
        }

        let key = names
            .iter()
            .position(|name| *name == pipeline.key.value)
            .ok_or_else(|| CompileError::UnknownKey {
                key: pipeline.key.value.clone(),
            })?;

        // Filters on lookup fields can only run after the join, which is not
        // this stage's; they are handed back to the engine untouched.
        let (own, deferred): (Vec<&Filter>, Vec<&Filter>) = pipeline
            .filters
            .iter()
            .partition(|filter| names.contains(&filter.field.value));
        for filter in &deferred {
            let from_lookup = pipeline.lookups.iter().any(|lookup| {
                lookup
                    .fields
                    .iter()
                    .any(|f| f.name.value == filter.field.value)
            }) || pipeline
                .derived
                .iter()
                .any(|f| f.name.value == filter.field.value);
            if !from_lookup {
                return Err(CompileError::FilterField {
                    field: filter.field.value.clone(),
                });
            }
        }
        let filters = Filters::compile(own, &names)?;
        let fast = FastPath::plan(&pipeline.source.record_path, schema.as_ref(), &fields);

        Ok(Mapper {
            record_path: pipeline.source.record_path.clone(),
            schema,
            fields,
            names,
            key,
            filters,
            deferred_filters: deferred.into_iter().cloned().collect(),
            fast,
        })
    }

    /// The mapped field names, in declaration order.
    pub fn field_names(&self) -> &[String] {
        &self.names
    }

    /// The index of the pipeline's `key` field in [`Mapper::field_names`].
    pub fn key_index(&self) -> usize {
        self.key
    }

    /// The key text of a mapped record (always a non-empty string).
    pub fn key_of<'a>(&self, record: &'a MappedRecord) -> &'a str {
        record.values[self.key].as_str().unwrap_or_default()
    }

    /// Filters that test lookup fields; the engine applies them after the
    /// join (see [`Filters`]). [`Mapper::map`] applies all the others.
    pub fn deferred_filters(&self) -> &[Filter] {
        &self.deferred_filters
    }

    /// The payload of a decoded source record: the value at the source's
    /// `record` path (the record itself when there is none).
    pub fn payload<'a>(&self, record: &'a Value) -> Option<&'a Value> {
        path::lookup(record, &self.record_path)
    }

    /// Maps a decoded source record: takes its payload, then [`Mapper::map`]s it.
    pub fn map_record(&self, record: &Value) -> Mapped {
        match self.payload(record) {
            Some(payload) => self.map(payload),
            None => Mapped::Invalid(Invalid {
                key: None,
                problems: vec![format!(
                    "record has no payload at {:?}",
                    path::describe(&self.record_path)
                )],
            }),
        }
    }

    /// Maps one payload: schema, then each field in order, then the key,
    /// then the filters. An invalid record is not filtered, so bad data is
    /// held for a person to look at rather than silently removed.
    pub fn map(&self, raw: &Value) -> Mapped {
        let mut problems = Vec::new();
        if let Some(schema) = &self.schema {
            schema.check(raw, &mut problems);
        }
        self.map_fields(problems, |_, path| {
            path::lookup(raw, path).cloned().unwrap_or(Value::Null)
        })
    }

    /// Whether [`Mapper::map_text`] can ever answer: the schema (if any)
    /// stays within the subset the scan checks, the record path is all keys
    /// and every field's path starts with a key.
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// Maps one record straight from its text (a whole JSONL line, record
    /// path included), without building the record as a JSON value.
    ///
    /// `None` when the fast path cannot decide, for any reason: the caller
    /// then parses the text and calls [`Mapper::map`] on the payload, which
    /// gives the same result for every record this accepts. Only records the
    /// schema certainly admits are answered here; so an answer may still be
    /// [`Mapped::Invalid`] for a field's own problem (a failed transform, a
    /// missing required field) or [`Mapped::Filtered`].
    pub fn map_text(&self, text: &str, slots: &mut Vec<Option<Value>>) -> Option<Mapped> {
        let fast = self.fast.as_ref()?;
        fast.scan.scan(text, slots).ok()?;
        Some(self.map_fields(Vec::new(), |index, path| {
            let Some((slot, sole)) = fast.sources[index] else {
                return Value::Null;
            };
            if sole {
                return slots[slot].take().unwrap_or(Value::Null);
            }
            slots[slot]
                .as_ref()
                .and_then(|value| path::lookup(value, &path[1..]))
                .cloned()
                .unwrap_or(Value::Null)
        }))
    }

    /// Computes every field (taking path origins from `source`), settles the
    /// key, then applies the filters; `problems` holds the schema's.
    fn map_fields(
        &self,
        mut problems: Vec<String>,
        mut source: impl FnMut(usize, &[PathSegment]) -> Value,
    ) -> Mapped {
        let mut values = Vec::with_capacity(self.fields.len());
        let mut key_failed = false;
        for (index, field) in self.fields.iter().enumerate() {
            let before = problems.len();
            let value = field.compute(|path| source(index, path), &values, &mut problems);
            key_failed |= index == self.key && problems.len() > before;
            values.push(value);
        }
        self.settle_key(&mut values, key_failed, &mut problems);

        if !problems.is_empty() {
            let key = values[self.key]
                .as_str()
                .filter(|key| !key.is_empty())
                .map(str::to_owned);
            return Mapped::Invalid(Invalid { key, problems });
        }
        if self.filters.keeps(&values) {
            Mapped::Record(MappedRecord { values })
        } else {
            Mapped::Filtered
        }
    }

    /// Makes the key a non-empty string: a number becomes its text; empty,
    /// null or structured keys are problems (unless the field already
    /// reported one, so a record gets one message per cause).
    fn settle_key(&self, values: &mut [Value], field_failed: bool, problems: &mut Vec<String>) {
        let name = &self.names[self.key];
        let slot = &mut values[self.key];
        match slot {
            // A JSON number past the 64-bit integers, or with a fraction or
            // exponent, arrives rounded through f64: `18446744073709551617`
            // would become `1.8446744073709552e19` and `1e0` would collide
            // with `10e-1`. Such a key cannot identify anyone exactly.
            Value::Number(number) if number.is_f64() => {
                if !field_failed {
                    problems.push(format!(
                        "key field {name:?} is the number {number}, not a whole number rollcall \
                         can keep exactly (JSON numbers with a fraction, an exponent or more \
                         than 64 bits are rounded); write the key as a string in the extract"
                    ));
                }
            }
            Value::Number(number) => *slot = Value::String(number.to_string()),
            Value::String(text) if !text.is_empty() => {}
            Value::String(_) | Value::Null => {
                if !field_failed {
                    problems.push(format!("key field {name:?} is empty"));
                }
            }
            other => {
                if !field_failed {
                    problems.push(format!(
                        "key field {name:?} must be a string or a number, got {}",
                        type_name(other)
                    ));
                }
            }
        }
    }
}

impl FieldPlan {
    /// Compiles one field; `earlier` are the names a template may use.
    fn compile(field: &Field, earlier: &[String]) -> Result<FieldPlan, CompileError> {
        let name = field.name.value.clone();
        let (origin, from) = match &field.origin {
            Origin::Path(path) => (
                OriginPlan::Path(path.clone()),
                format!("{:?}", path::describe(path)),
            ),
            Origin::Const(value) => (OriginPlan::Const(value.clone()), format!("const {value}")),
            Origin::Template(template) => (
                OriginPlan::Template(template::Compiled::compile(template, earlier, &name)?),
                format!("template {:?}", template.text),
            ),
        };
        let transforms = field
            .transforms
            .iter()
            .map(|transform| transform::Compiled::compile(transform, &name))
            .collect::<Result<_, _>>()?;
        Ok(FieldPlan {
            name,
            origin,
            from,
            transforms,
            default: field.default.clone(),
            required: field.required,
        })
    }

    /// The field's value: origin, transforms, default, then the `required`
    /// check. A failing transform leaves the field null and skips the rest.
    fn compute(
        &self,
        source: impl FnOnce(&[PathSegment]) -> Value,
        earlier: &[Value],
        problems: &mut Vec<String>,
    ) -> Value {
        let mut value = match &self.origin {
            // Only the value taken is cloned, never the record.
            OriginPlan::Path(path) => source(path),
            OriginPlan::Const(value) => value.clone(),
            OriginPlan::Template(template) => template.render(earlier),
        };
        for transform in &self.transforms {
            match transform.apply(value) {
                Ok(next) => value = next,
                Err(failure) => {
                    problems.push(failure.describe(&self.name, transform.name()));
                    return Value::Null;
                }
            }
        }
        // Where `required` sees nothing (null or ""), `default` fills in.
        if is_blank(&value)
            && let Some(default) = &self.default
        {
            value = default.clone();
        }
        if self.required && is_blank(&value) {
            problems.push(format!(
                "required field {:?} (from {}) is missing",
                self.name, self.from
            ));
        }
        value
    }
}

/// Fields computed from an already mapped (and joined) record: the
/// pipeline's `derive` block. Their paths start with a field name, so they
/// read the record as an object of its fields.
#[derive(Debug, Default)]
pub struct Derived {
    fields: Vec<FieldPlan>,
}

impl Derived {
    /// Compiles the `derive` fields; templates see earlier derived fields.
    pub fn compile(fields: &[Field]) -> Result<Derived, CompileError> {
        let mut names: Vec<String> = Vec::with_capacity(fields.len());
        let mut plans = Vec::with_capacity(fields.len());
        for field in fields {
            plans.push(FieldPlan::compile(field, &names)?);
            names.push(field.name.value.clone());
        }
        Ok(Derived { fields: plans })
    }

    /// The derived field names, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Whether there is nothing to derive.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Appends each derived value to `values` (laid out like `names`),
    /// reporting failures in `problems`.
    pub fn compute(&self, names: &[String], values: &mut Vec<Value>, problems: &mut Vec<String>) {
        if self.fields.is_empty() {
            return;
        }
        let mut record = Value::Object(names.iter().cloned().zip(values.iter().cloned()).collect());
        let mut derived = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            let value = field.compute(
                |path| path::lookup(&record, path).cloned().unwrap_or(Value::Null),
                &derived,
                problems,
            );
            if let Value::Object(fields) = &mut record {
                fields.insert(field.name.clone(), value.clone());
            }
            derived.push(value);
        }
        values.extend(derived);
    }
}

impl FastPath {
    /// The fast path of a pipeline, or `None` when it cannot have one.
    fn plan(
        record_path: &[PathSegment],
        schema: Option<&Schema>,
        fields: &[FieldPlan],
    ) -> Option<FastPath> {
        let record_path = record_path
            .iter()
            .map(|segment| match segment {
                PathSegment::Key(key) => Some(key.clone()),
                PathSegment::Index(_) => None,
            })
            .collect::<Option<Vec<_>>>()?;
        let shape = match schema {
            Some(schema) => Some(schema.shape()?.clone()),
            None => None,
        };
        let mut slots: Vec<Slot> = Vec::new();
        let mut sources = Vec::with_capacity(fields.len());
        for field in fields {
            let OriginPlan::Path(path) = &field.origin else {
                sources.push(None);
                continue;
            };
            let Some(PathSegment::Key(head)) = path.first() else {
                // The whole payload, or an index into it: not kept by the scan.
                return None;
            };
            let slot = match slots.iter().position(|slot| *slot.name == **head) {
                Some(slot) => slot,
                None => {
                    slots.push(Slot {
                        name: head.as_str().into(),
                        pluck: None,
                    });
                    slots.len() - 1
                }
            };
            sources.push(Some((slot, path.len() == 1)));
        }
        // A value may be moved out of its slot only by its one user; that
        // user may also have the scan keep only what it plucks.
        for (index, field) in fields.iter().enumerate() {
            if let Some((slot, true)) = sources[index] {
                let users = sources.iter().flatten().filter(|(s, _)| *s == slot).count();
                sources[index] = Some((slot, users == 1));
                if let (1, Some(transform::Compiled::Pluck(key))) =
                    (users, field.transforms.first())
                {
                    slots[slot].pluck = Some(key.as_str().into());
                }
            }
        }
        Some(FastPath {
            scan: ScanPlan::new(record_path, shape, slots),
            sources,
        })
    }
}

/// Whether a required field counts as missing: null or the empty string.
fn is_blank(value: &Value) -> bool {
    value.is_null() || value.as_str() == Some("")
}

/// The mapper is shared by the engine's worker threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mapper>();
};

#[cfg(test)]
mod tests;
