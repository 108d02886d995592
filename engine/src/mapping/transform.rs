//! Value transforms, compiled once per pipeline and applied per record.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::format::{Item, Parsed, StrftimeItems};
use regex::Regex;
use rollcall_model::{Otherwise, Transform};
use serde_json::Value;

use super::error::CompileError;
use super::text::{type_name, value_text};

/// One transform, with its regex, table or date patterns compiled.
#[derive(Debug)]
pub(crate) enum Compiled {
    Lowercase,
    Uppercase,
    Trim,
    Nfc,
    First,
    Sort,
    Unique,
    Pluck(String),
    Split(String),
    Join(String),
    Values {
        table: HashMap<String, Value>,
        otherwise: Otherwise,
    },
    Date {
        from_text: String,
        from: Vec<Item<'static>>,
        to: Vec<Item<'static>>,
    },
    Regex {
        regex: Regex,
        group: usize,
    },
    Contains(String),
}

/// Why a transform could not be applied to one record's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// The value has a type the transform does not take.
    Mismatch {
        expected: &'static str,
        found: &'static str,
    },
    /// A `values otherwise=error` table does not list the value.
    NotInTable(String),
    /// The text does not match the `from` pattern.
    DateParse { text: String, pattern: String },
    /// The parsed date lacks what the `to` pattern writes (e.g. a time).
    DateFormat { text: String },
}

type Outcome = Result<Value, Failure>;

impl Compiled {
    /// Compiles one transform of `field`.
    pub(crate) fn compile(transform: &Transform, field: &str) -> Result<Self, CompileError> {
        Ok(match transform {
            Transform::Lowercase => Compiled::Lowercase,
            Transform::Uppercase => Compiled::Uppercase,
            Transform::Trim => Compiled::Trim,
            Transform::Nfc => Compiled::Nfc,
            Transform::First => Compiled::First,
            Transform::Sort => Compiled::Sort,
            Transform::Unique => Compiled::Unique,
            Transform::Pluck { key } => Compiled::Pluck(key.clone()),
            Transform::Split { separator } => {
                Compiled::Split(non_empty(separator, field, "split")?)
            }
            Transform::Join { separator } => Compiled::Join(separator.clone()),
            Transform::Values { table, otherwise } => {
                let mut map = HashMap::with_capacity(table.len());
                for (from, to) in table {
                    // The first row for a value wins, as a reader scanning
                    // the table top-down would expect.
                    map.entry(from.clone()).or_insert_with(|| to.clone());
                }
                Compiled::Values {
                    table: map,
                    otherwise: otherwise.clone(),
                }
            }
            Transform::Date { from, to } => Compiled::Date {
                from_text: from.clone(),
                from: date_items(from, field)?,
                to: date_items(to, field)?,
            },
            Transform::Regex { pattern, group } => {
                let regex = Regex::new(pattern).map_err(|source| CompileError::Regex {
                    place: format!("field {field:?}"),
                    pattern: pattern.clone(),
                    source,
                })?;
                let groups = regex.captures_len() - 1;
                if *group > groups {
                    return Err(CompileError::RegexGroup {
                        field: field.to_owned(),
                        pattern: pattern.clone(),
                        group: *group,
                        groups,
                    });
                }
                Compiled::Regex {
                    regex,
                    group: *group,
                }
            }
            Transform::Contains { value } => Compiled::Contains(value.clone()),
        })
    }

    /// The transform's name as written in pipeline files.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Compiled::Lowercase => "lowercase",
            Compiled::Uppercase => "uppercase",
            Compiled::Trim => "trim",
            Compiled::Nfc => "nfc",
            Compiled::First => "first",
            Compiled::Sort => "sort",
            Compiled::Unique => "unique",
            Compiled::Pluck(_) => "pluck",
            Compiled::Split(_) => "split",
            Compiled::Join(_) => "join",
            Compiled::Values { .. } => "values",
            Compiled::Date { .. } => "date",
            Compiled::Regex { .. } => "regex",
            Compiled::Contains(_) => "contains",
        }
    }

    /// Applies the transform. Null stays null, so a missing source value
    /// falls through to the field's `default`.
    pub(crate) fn apply(&self, value: Value) -> Outcome {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match self {
            Compiled::Lowercase => each_string(value, |text| Ok(lowercase(text).into())),
            Compiled::Uppercase => each_string(value, |text| Ok(uppercase(text).into())),
            Compiled::Trim => each_string(value, |text| Ok(trim(text).into())),
            Compiled::Nfc => each_string(value, |text| Ok(nfc(text).into())),
            Compiled::First => match value {
                Value::Array(items) => Ok(items.into_iter().next().unwrap_or(Value::Null)),
                other => Err(mismatch("an array", &other)),
            },
            Compiled::Sort => match value {
                Value::Array(mut items) => {
                    items.sort_by(compare);
                    Ok(Value::Array(items))
                }
                other => Err(mismatch("an array", &other)),
            },
            Compiled::Unique => match value {
                Value::Array(items) => {
                    let mut kept: Vec<Value> = Vec::with_capacity(items.len());
                    for item in items {
                        if !kept.contains(&item) {
                            kept.push(item);
                        }
                    }
                    Ok(Value::Array(kept))
                }
                other => Err(mismatch("an array", &other)),
            },
            Compiled::Pluck(key) => pluck(value, key),
            Compiled::Split(separator) => match value {
                Value::String(text) if text.is_empty() => Ok(Value::Array(Vec::new())),
                Value::String(text) => Ok(text.split(separator.as_str()).collect()),
                other => Err(mismatch("a string", &other)),
            },
            Compiled::Join(separator) => join(value, separator),
            Compiled::Values { table, otherwise } => {
                each_scalar(value, |item| replace(table, otherwise, item))
            }
            Compiled::Date {
                from_text,
                from,
                to,
            } => each_string(value, |text| reformat_date(&text, from_text, from, to)),
            Compiled::Regex { regex, group } => each_string(value, |text| {
                let found = if *group == 0 {
                    regex.find(&text).map(|m| m.as_str().to_owned())
                } else {
                    regex
                        .captures(&text)
                        .and_then(|captures| captures.get(*group))
                        .map(|m| m.as_str().to_owned())
                };
                Ok(found.map_or(Value::Null, Value::String))
            }),
            Compiled::Contains(needle) => match value {
                Value::Array(items) => {
                    Ok(items.iter().any(|item| value_text(item) == *needle).into())
                }
                Value::String(text) => Ok(text.contains(needle.as_str()).into()),
                other => Err(mismatch("an array or a string", &other)),
            },
        }
    }
}

fn non_empty(
    separator: &str,
    field: &str,
    transform: &'static str,
) -> Result<String, CompileError> {
    if separator.is_empty() {
        return Err(CompileError::EmptySeparator {
            field: field.to_owned(),
            transform,
        });
    }
    Ok(separator.to_owned())
}

fn date_items(pattern: &str, field: &str) -> Result<Vec<Item<'static>>, CompileError> {
    StrftimeItems::new(pattern)
        .parse_to_owned()
        .map_err(|_| CompileError::DatePattern {
            field: field.to_owned(),
            pattern: pattern.to_owned(),
        })
}

fn mismatch(expected: &'static str, found: &Value) -> Failure {
    Failure::Mismatch {
        expected,
        found: type_name(found),
    }
}

/// Keeps the allocation when the text is ASCII without capitals (the
/// common case for addresses), where lowercasing changes nothing.
fn lowercase(text: String) -> String {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        text
    } else {
        text.to_lowercase()
    }
}

/// Keeps the allocation when the text is ASCII without small letters.
fn uppercase(text: String) -> String {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_lowercase())
    {
        text
    } else {
        text.to_uppercase()
    }
}

/// Keeps the allocation when there is nothing to trim (the common case).
fn trim(text: String) -> String {
    let trimmed = text.trim();
    if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    }
}

/// Applies a string transform to a string, or to each element of an array
/// (null elements stay null).
/// The text in normalisation form C; already-normalised text (nearly all of
/// it) is returned without copying.
fn nfc(text: String) -> String {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text,
        _ => text.nfc().collect(),
    }
}

fn each_string(value: Value, apply: impl Fn(String) -> Outcome) -> Outcome {
    match value {
        Value::String(text) => apply(text),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Null => Ok(Value::Null),
                Value::String(text) => apply(text),
                other => Err(mismatch("a string", &other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Err(mismatch("a string", &other)),
    }
}

/// Applies a text-comparing transform to a scalar, or to each element of an
/// array (null elements stay null).
fn each_scalar(value: Value, apply: impl Fn(Value) -> Outcome) -> Outcome {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Null => Ok(Value::Null),
                Value::Array(_) | Value::Object(_) => Err(mismatch("a scalar", &item)),
                scalar => apply(scalar),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(_) => Err(mismatch("a scalar or an array", &value)),
        scalar => apply(scalar),
    }
}

fn replace(table: &HashMap<String, Value>, otherwise: &Otherwise, value: Value) -> Outcome {
    let text = value_text(&value);
    if let Some(to) = table.get(text.as_ref()) {
        return Ok(to.clone());
    }
    match otherwise {
        Otherwise::Keep => Ok(value),
        Otherwise::Null => Ok(Value::Null),
        Otherwise::Error => Err(Failure::NotInTable(text.into_owned())),
        Otherwise::Value(fallback) => Ok(fallback.clone()),
    }
}

fn pluck(value: Value, key: &str) -> Outcome {
    let Value::Array(items) = value else {
        return Err(mismatch("an array of objects", &value));
    };
    items
        .into_iter()
        .map(|item| match item {
            // The element is ours to take apart; no need to clone the value.
            Value::Object(mut object) => Ok(object.remove(key).unwrap_or(Value::Null)),
            Value::Null => Ok(Value::Null),
            other => Err(mismatch("an array of objects", &other)),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn join(value: Value, separator: &str) -> Outcome {
    let Value::Array(items) = value else {
        return Err(mismatch("an array", &value));
    };
    let mut joined = String::new();
    let mut first = true;
    for item in &items {
        match item {
            // A missing element is nothing to show, not an empty slot.
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => {
                return Err(mismatch("an array of scalars", item));
            }
            scalar => {
                if !first {
                    joined.push_str(separator);
                }
                joined.push_str(&value_text(scalar));
                first = false;
            }
        }
    }
    Ok(Value::String(joined))
}

/// A total order for `sort`: by type first (null, booleans, numbers,
/// strings, arrays, objects), then by value; numbers numerically.
fn compare(a: &Value, b: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let x = x.as_f64().unwrap_or(f64::NAN);
                let y = y.as_f64().unwrap_or(f64::NAN);
                x.total_cmp(&y)
            }
        },
        _ => rank(a)
            .cmp(&rank(b))
            .then_with(|| value_text(a).cmp(&value_text(b))),
    }
}

/// Parses `text` with the `from` items and writes it with the `to` items.
///
/// A parsed offset makes it a date-time with offset (so `to` may write
/// `%z`); otherwise it is a naive date-time, or failing that a date.
fn reformat_date(
    text: &str,
    from_text: &str,
    from: &[Item<'static>],
    to: &[Item<'static>],
) -> Outcome {
    let unparsable = || Failure::DateParse {
        text: text.to_owned(),
        pattern: from_text.to_owned(),
    };
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, from.iter()).map_err(|_| unparsable())?;

    let mut out = String::new();
    // Formatting fails (rather than panics, as `to_string` would) when `to`
    // writes something the parsed value does not have, e.g. a time of day.
    let written = if parsed.offset().is_some()
        && let Ok(moment) = parsed.to_datetime()
    {
        write!(out, "{}", moment.format_with_items(to.iter()))
    } else if let Ok(moment) = parsed.to_naive_datetime_with_offset(0) {
        write!(out, "{}", moment.format_with_items(to.iter()))
    } else if let Ok(day) = parsed.to_naive_date() {
        write!(out, "{}", day.format_with_items(to.iter()))
    } else {
        return Err(unparsable());
    };
    written.map_err(|_| Failure::DateFormat {
        text: text.to_owned(),
    })?;
    Ok(Value::String(out))
}

impl Failure {
    /// The problem text for `field`, naming the transform that failed.
    pub(crate) fn describe(&self, field: &str, transform: &str) -> String {
        match self {
            Failure::Mismatch { expected, found } => format!(
                "field {field:?}: transform \"{transform}\" expects {expected}, got {found}"
            ),
            Failure::NotInTable(text) => format!(
                "field {field:?}: transform \"{transform}\" does not list the value {text:?}"
            ),
            Failure::DateParse { text, pattern } => format!(
                "field {field:?}: transform \"{transform}\" cannot read {text:?} with pattern {pattern:?}"
            ),
            Failure::DateFormat { text } => format!(
                "field {field:?}: transform \"{transform}\" cannot write {text:?} with its `to` pattern (it lacks a part the pattern writes)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(transform: Transform) -> Compiled {
        Compiled::compile(&transform, "f").expect("transform compiles")
    }

    fn apply(transform: Transform, value: Value) -> Outcome {
        compiled(transform).apply(value)
    }

    fn values(table: &[(&str, Value)], otherwise: Otherwise) -> Transform {
        Transform::Values {
            table: table
                .iter()
                .map(|(from, to)| (from.to_string(), to.clone()))
                .collect(),
            otherwise,
        }
    }

    #[test]
    fn case_and_trim_change_strings() {
        assert_eq!(
            apply(Transform::Lowercase, json!("Ab@EX.org")),
            Ok(json!("ab@ex.org"))
        );
        assert_eq!(apply(Transform::Uppercase, json!("ab")), Ok(json!("AB")));
        assert_eq!(apply(Transform::Trim, json!("  a b \t")), Ok(json!("a b")));
        assert_eq!(apply(Transform::Trim, json!("ab")), Ok(json!("ab")));
        // Unchanged text (kept as it is) and non-ASCII text (Unicode rules).
        assert_eq!(
            apply(Transform::Lowercase, json!("ab@x.org")),
            Ok(json!("ab@x.org"))
        );
        assert_eq!(
            apply(Transform::Lowercase, json!("ÉCOLE")),
            Ok(json!("école"))
        );
        assert_eq!(
            apply(Transform::Uppercase, json!("AB-1")),
            Ok(json!("AB-1"))
        );
        assert_eq!(
            apply(Transform::Uppercase, json!("straße")),
            Ok(json!("STRASSE"))
        );
    }

    #[test]
    fn nfc_makes_canonically_equal_text_equal() {
        // "é" precomposed (U+00E9) and as "e" + combining acute (U+0301).
        let composed = apply(Transform::Nfc, json!("Ren\u{e9}e"));
        let decomposed = apply(Transform::Nfc, json!("Rene\u{301}e"));
        assert_eq!(composed, Ok(json!("Ren\u{e9}e")));
        assert_eq!(decomposed, composed);
        assert_eq!(
            apply(Transform::Nfc, json!(["e\u{301}"])),
            Ok(json!(["\u{e9}"]))
        );
    }

    #[test]
    fn string_transforms_apply_to_each_array_element() {
        assert_eq!(
            apply(Transform::Lowercase, json!(["A", null, "B"])),
            Ok(json!(["a", null, "b"]))
        );
        assert_eq!(
            apply(Transform::Trim, json!([" x ", "y "])),
            Ok(json!(["x", "y"]))
        );
    }

    #[test]
    fn every_transform_keeps_null() {
        let all = [
            Transform::Lowercase,
            Transform::Uppercase,
            Transform::Trim,
            Transform::Nfc,
            Transform::First,
            Transform::Sort,
            Transform::Pluck { key: "k".into() },
            Transform::Split {
                separator: ";".into(),
            },
            Transform::Join {
                separator: ",".into(),
            },
            values(&[], Otherwise::Error),
            Transform::Date {
                from: "%Y".into(),
                to: "%Y".into(),
            },
            Transform::Regex {
                pattern: "(a)".into(),
                group: 1,
            },
            Transform::Contains { value: "x".into() },
        ];
        for transform in all {
            assert_eq!(
                apply(transform.clone(), Value::Null),
                Ok(Value::Null),
                "{transform:?}"
            );
        }
    }

    #[test]
    fn type_mismatch_is_a_failure_not_a_panic() {
        assert_eq!(
            apply(
                Transform::Split {
                    separator: ";".into()
                },
                json!(5)
            ),
            Err(Failure::Mismatch {
                expected: "a string",
                found: "a number"
            })
        );
        assert_eq!(
            apply(Transform::Lowercase, json!({"a": 1})),
            Err(Failure::Mismatch {
                expected: "a string",
                found: "an object"
            })
        );
        assert_eq!(
            apply(Transform::Trim, json!(["a", 1])),
            Err(Failure::Mismatch {
                expected: "a string",
                found: "a number"
            })
        );
        assert_eq!(
            apply(Transform::First, json!("a")),
            Err(Failure::Mismatch {
                expected: "an array",
                found: "a string"
            })
        );
        let failure = Failure::Mismatch {
            expected: "a string",
            found: "a number",
        };
        assert_eq!(
            failure.describe("phone", "split"),
            r#"field "phone": transform "split" expects a string, got a number"#
        );
    }

    #[test]
    fn first_takes_the_first_element_or_null() {
        assert_eq!(apply(Transform::First, json!(["a", "b"])), Ok(json!("a")));
        assert_eq!(apply(Transform::First, json!([])), Ok(Value::Null));
    }

    #[test]
    fn sort_orders_by_type_then_value() {
        assert_eq!(
            apply(Transform::Sort, json!(["b", "a", "c"])),
            Ok(json!(["a", "b", "c"]))
        );
        assert_eq!(
            apply(Transform::Sort, json!([10, 9, 1.5])),
            Ok(json!([1.5, 9, 10]))
        );
        assert_eq!(
            apply(Transform::Sort, json!(["a", 2, null, true])),
            Ok(json!([null, true, 2, "a"]))
        );
        assert!(apply(Transform::Sort, json!("ba")).is_err());
    }

    #[test]
    fn unique_keeps_each_elements_first_place() {
        assert_eq!(
            apply(Transform::Unique, json!(["b", "a", "b", "c", "a"])),
            Ok(json!(["b", "a", "c"]))
        );
        assert!(apply(Transform::Unique, json!("ab")).is_err());
    }

    #[test]
    fn pluck_takes_one_key_of_each_object() {
        let roles = json!([{"key": "admin", "n": 1}, {"n": 2}, null]);
        assert_eq!(
            apply(Transform::Pluck { key: "key".into() }, roles),
            Ok(json!(["admin", null, null]))
        );
        assert!(apply(Transform::Pluck { key: "key".into() }, json!(["x"])).is_err());
        assert!(apply(Transform::Pluck { key: "key".into() }, json!({"key": 1})).is_err());
    }

    #[test]
    fn split_and_join() {
        let split = Transform::Split {
            separator: ";".into(),
        };
        assert_eq!(
            apply(split.clone(), json!("a;b;;c")),
            Ok(json!(["a", "b", "", "c"]))
        );
        assert_eq!(apply(split.clone(), json!("")), Ok(json!([])));
        assert!(apply(split, json!(["a;b"])).is_err());

        let join = Transform::Join {
            separator: ", ".into(),
        };
        assert_eq!(
            apply(join.clone(), json!(["a", 1, null, true])),
            Ok(json!("a, 1, true"))
        );
        assert_eq!(apply(join.clone(), json!([])), Ok(json!("")));
        assert!(apply(join.clone(), json!([["nested"]])).is_err());
        assert!(apply(join, json!("a")).is_err());
    }

    #[test]
    fn empty_split_separator_is_a_compile_error() {
        let error = Compiled::compile(
            &Transform::Split {
                separator: String::new(),
            },
            "f",
        );
        assert!(matches!(error, Err(CompileError::EmptySeparator { .. })));
    }

    #[test]
    fn values_replace_by_text_with_each_otherwise_mode() {
        let table = [
            ("active", json!("active")),
            ("inactive", json!("suspended")),
            ("1", json!(true)),
        ];
        let keep = values(&table, Otherwise::Keep);
        assert_eq!(
            apply(keep.clone(), json!("inactive")),
            Ok(json!("suspended"))
        );
        assert_eq!(apply(keep.clone(), json!("other")), Ok(json!("other")));
        // Numbers are compared on their JSON text.
        assert_eq!(apply(keep.clone(), json!(1)), Ok(json!(true)));
        assert_eq!(
            apply(keep, json!(["active", "inactive", null])),
            Ok(json!(["active", "suspended", null]))
        );
        assert_eq!(
            apply(values(&table, Otherwise::Null), json!("other")),
            Ok(Value::Null)
        );
        assert_eq!(
            apply(
                values(&table, Otherwise::Value(json!("unknown"))),
                json!("other")
            ),
            Ok(json!("unknown"))
        );
        assert_eq!(
            apply(values(&table, Otherwise::Error), json!("other")),
            Err(Failure::NotInTable("other".into()))
        );
        assert_eq!(
            apply(values(&table, Otherwise::Error), json!("active")),
            Ok(json!("active"))
        );
    }

    #[test]
    fn values_first_row_wins() {
        let table = [("a", json!(1)), ("a", json!(2))];
        assert_eq!(
            apply(values(&table, Otherwise::Keep), json!("a")),
            Ok(json!(1))
        );
    }

    #[test]
    fn date_reformats_dates_and_date_times() {
        let date = |from: &str, to: &str| Transform::Date {
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(
            apply(date("%d/%m/%Y", "%Y-%m-%d"), json!("31/12/2024")),
            Ok(json!("2024-12-31"))
        );
        assert_eq!(
            apply(
                date("%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%d %H:%M"),
                json!("2024-09-04T14:58:05.864Z")
            ),
            Ok(json!("2024-09-04 14:58"))
        );
        assert_eq!(
            apply(
                date("%Y-%m-%dT%H:%M:%S%z", "%d.%m.%Y %H:%M %z"),
                json!("2024-09-04T14:58:05+0200")
            ),
            Ok(json!("04.09.2024 14:58 +0200"))
        );
        assert_eq!(
            apply(date("%d/%m/%Y", "%Y"), json!(["01/02/2003", null])),
            Ok(json!(["2003", null]))
        );
    }

    #[test]
    fn date_failures_are_problems() {
        let date = |from: &str, to: &str| Transform::Date {
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(
            apply(date("%d/%m/%Y", "%Y-%m-%d"), json!("2024-12-31")),
            Err(Failure::DateParse {
                text: "2024-12-31".into(),
                pattern: "%d/%m/%Y".into()
            })
        );
        // A date has no time of day to write.
        assert_eq!(
            apply(date("%d/%m/%Y", "%H:%M"), json!("31/12/2024")),
            Err(Failure::DateFormat {
                text: "31/12/2024".into()
            })
        );
        assert!(apply(date("%Y", "%Y"), json!(2024)).is_err());
    }

    #[test]
    fn invalid_date_pattern_is_a_compile_error() {
        let error = Compiled::compile(
            &Transform::Date {
                from: "%Q".into(),
                to: "%Y".into(),
            },
            "born",
        );
        assert!(matches!(error, Err(CompileError::DatePattern { .. })));
    }

    #[test]
    fn regex_extracts_a_group_or_null() {
        let user = Transform::Regex {
            pattern: "^([^@]+)@(.+)$".into(),
            group: 1,
        };
        assert_eq!(apply(user.clone(), json!("jo@ex.org")), Ok(json!("jo")));
        assert_eq!(apply(user.clone(), json!("no-at-sign")), Ok(Value::Null));
        assert_eq!(apply(user, json!(["a@b", "c"])), Ok(json!(["a", null])));
        let whole = Transform::Regex {
            pattern: "[0-9]+".into(),
            group: 0,
        };
        assert_eq!(apply(whole, json!("id 123 x")), Ok(json!("123")));
        // An optional group that did not take part is null.
        let optional = Transform::Regex {
            pattern: "a(b)?".into(),
            group: 1,
        };
        assert_eq!(apply(optional, json!("a")), Ok(Value::Null));
    }

    #[test]
    fn bad_regexes_are_compile_errors() {
        let error = Compiled::compile(
            &Transform::Regex {
                pattern: "(".into(),
                group: 0,
            },
            "f",
        );
        assert!(matches!(error, Err(CompileError::Regex { .. })));
        let error = Compiled::compile(
            &Transform::Regex {
                pattern: "(a)".into(),
                group: 2,
            },
            "f",
        );
        assert!(matches!(
            error,
            Err(CompileError::RegexGroup {
                group: 2,
                groups: 1,
                ..
            })
        ));
    }

    #[test]
    fn contains_checks_arrays_and_strings() {
        let admin = Transform::Contains {
            value: "ADMIN".into(),
        };
        assert_eq!(
            apply(admin.clone(), json!(["USER", "ADMIN"])),
            Ok(json!(true))
        );
        assert_eq!(apply(admin.clone(), json!(["USER"])), Ok(json!(false)));
        assert_eq!(apply(admin.clone(), json!("SUBJ_ADMIN_X")), Ok(json!(true)));
        let number = Transform::Contains { value: "7".into() };
        assert_eq!(apply(number, json!([1, 7])), Ok(json!(true)));
        assert!(apply(admin, json!(7)).is_err());
    }
}
