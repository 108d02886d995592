//! `filter` conditions: which mapped records are kept.

use std::collections::HashSet;

use regex::Regex;
use rollcall_model::{Condition, Filter, FilterAction};
use serde_json::Value;

use super::error::CompileError;
use super::text::value_text;

/// A set of filters compiled against a list of field names.
///
/// A record is kept when every `keep` holds and no `drop` holds. That is a
/// conjunction of per-filter checks, so a pipeline's filters may be split
/// into sets evaluated at different stages (mapped fields first, lookup
/// fields after the join) without changing the outcome.
#[derive(Debug, Default)]
pub struct Filters {
    filters: Vec<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    action: FilterAction,
    field: usize,
    test: Test,
}

#[derive(Debug)]
enum Test {
    Equals(String),
    NotEquals(String),
    In(HashSet<String>),
    NotIn(HashSet<String>),
    Matches(Regex),
    Present,
    Missing,
}

impl Filters {
    /// Compiles `filters`, resolving each tested field among `field_names`
    /// (the layout of the values later passed to [`Filters::keeps`]).
    pub fn compile<'a>(
        filters: impl IntoIterator<Item = &'a Filter>,
        field_names: &[String],
    ) -> Result<Self, CompileError> {
        let filters = filters
            .into_iter()
            .map(|filter| {
                let field = field_names
                    .iter()
                    .position(|name| *name == filter.field.value)
                    .ok_or_else(|| CompileError::FilterField {
                        field: filter.field.value.clone(),
                    })?;
                Ok(Compiled {
                    action: filter.action,
                    field,
                    test: Test::compile(&filter.condition, &filter.field.value)?,
                })
            })
            .collect::<Result<_, CompileError>>()?;
        Ok(Filters { filters })
    }

    /// Whether a record with these values is kept.
    pub fn keeps(&self, values: &[Value]) -> bool {
        self.filters.iter().all(|filter| {
            let holds = filter.test.holds(&values[filter.field]);
            match filter.action {
                FilterAction::Keep => holds,
                FilterAction::Drop => !holds,
            }
        })
    }

    /// Whether there are no filters (every record is kept).
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }
}

impl Test {
    fn compile(condition: &Condition, field: &str) -> Result<Self, CompileError> {
        let set = |values: &[String]| values.iter().cloned().collect();
        Ok(match condition {
            Condition::Equals(value) => Test::Equals(value.clone()),
            Condition::NotEquals(value) => Test::NotEquals(value.clone()),
            Condition::In(values) => Test::In(set(values)),
            Condition::NotIn(values) => Test::NotIn(set(values)),
            Condition::Matches(pattern) => {
                Test::Matches(Regex::new(pattern).map_err(|source| CompileError::Regex {
                    place: format!("filter on {field:?}"),
                    pattern: pattern.clone(),
                    source,
                })?)
            }
            Condition::Present => Test::Present,
            Condition::Missing => Test::Missing,
        })
    }

    /// Whether the condition holds. Null (missing) equals, is in and
    /// matches nothing; the negations are the exact opposites.
    fn holds(&self, value: &Value) -> bool {
        match self {
            Test::Equals(expected) => any_text(value, |text| text == expected),
            Test::NotEquals(expected) => !any_text(value, |text| text == expected),
            Test::In(set) => any_text(value, |text| set.contains(text)),
            Test::NotIn(set) => !any_text(value, |text| set.contains(text)),
            Test::Matches(regex) => any_text(value, |text| regex.is_match(text)),
            Test::Present => !value.is_null(),
            Test::Missing => value.is_null(),
        }
    }
}

/// Whether the value's text, or for an array any non-null element's text,
/// satisfies `test`.
fn any_text(value: &Value, test: impl Fn(&str) -> bool) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => items
            .iter()
            .any(|item| !item.is_null() && test(&value_text(item))),
        scalar => test(&value_text(scalar)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollcall_model::{Span, Spanned};
    use serde_json::json;

    fn filter(action: FilterAction, field: &str, condition: Condition) -> Filter {
        Filter {
            action,
            field: Spanned::new(field.to_owned(), Span::default()),
            condition,
            span: Span::default(),
        }
    }

    fn keep(field: &str, condition: Condition) -> Filter {
        filter(FilterAction::Keep, field, condition)
    }

    fn drop(field: &str, condition: Condition) -> Filter {
        filter(FilterAction::Drop, field, condition)
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    /// Whether one `keep` filter on field `v` holds for `value`.
    fn holds(condition: Condition, value: Value) -> bool {
        let filters = Filters::compile(&[keep("v", condition)], &strings(&["v"])).unwrap();
        filters.keeps(&[value])
    }

    #[test]
    fn equals_compares_text() {
        assert!(holds(Condition::Equals("active".into()), json!("active")));
        assert!(!holds(Condition::Equals("active".into()), json!("Active")));
        assert!(holds(Condition::Equals("42".into()), json!(42)));
        assert!(holds(Condition::Equals("true".into()), json!(true)));
        assert!(!holds(Condition::Equals("".into()), Value::Null));
    }

    #[test]
    fn not_equals_is_the_opposite() {
        assert!(holds(Condition::NotEquals("a".into()), json!("b")));
        assert!(!holds(Condition::NotEquals("a".into()), json!("a")));
        assert!(holds(Condition::NotEquals("a".into()), Value::Null));
        assert!(!holds(Condition::NotEquals("a".into()), json!(["b", "a"])));
    }

    #[test]
    fn in_and_not_in() {
        let roles = strings(&["SUBJ_DEPT_ADMIN", "SUBJ_FACULTY"]);
        assert!(holds(Condition::In(roles.clone()), json!("SUBJ_FACULTY")));
        assert!(!holds(Condition::In(roles.clone()), json!("STUDENT")));
        assert!(holds(Condition::NotIn(roles.clone()), json!("STUDENT")));
        assert!(!holds(
            Condition::NotIn(roles.clone()),
            json!("SUBJ_FACULTY")
        ));
        assert!(!holds(Condition::In(roles.clone()), Value::Null));
        assert!(holds(Condition::NotIn(roles), Value::Null));
    }

    #[test]
    fn arrays_hold_when_any_element_does() {
        let roles = json!(["STUDENT", "SUBJ_FACULTY"]);
        assert!(holds(
            Condition::Equals("SUBJ_FACULTY".into()),
            roles.clone()
        ));
        assert!(holds(
            Condition::In(strings(&["X", "SUBJ_FACULTY"])),
            roles.clone()
        ));
        assert!(!holds(Condition::In(strings(&["X"])), roles.clone()));
        assert!(!holds(
            Condition::NotIn(strings(&["SUBJ_FACULTY"])),
            roles.clone()
        ));
        assert!(holds(Condition::Matches("^SUBJ_".into()), roles));
        assert!(!holds(Condition::Equals("x".into()), json!([])));
    }

    #[test]
    fn matches_uses_the_regex() {
        assert!(holds(
            Condition::Matches(r"@test\.example$".into()),
            json!("a@test.example")
        ));
        assert!(!holds(
            Condition::Matches(r"@test\.example$".into()),
            json!("a@example.org")
        ));
        assert!(!holds(Condition::Matches(".*".into()), Value::Null));
    }

    #[test]
    fn present_and_missing() {
        assert!(holds(Condition::Present, json!("")));
        assert!(!holds(Condition::Present, Value::Null));
        assert!(holds(Condition::Missing, Value::Null));
        assert!(!holds(Condition::Missing, json!(0)));
    }

    #[test]
    fn kept_when_every_keep_holds_and_no_drop_holds() {
        let names = strings(&["status", "email"]);
        let filters = Filters::compile(
            &[
                keep("status", Condition::In(strings(&["active", "grace"]))),
                keep("email", Condition::Present),
                drop("email", Condition::Matches(r"@test\.example$".into())),
                drop("status", Condition::Equals("grace".into())),
            ],
            &names,
        )
        .unwrap();
        assert!(filters.keeps(&[json!("active"), json!("a@ex.org")]));
        assert!(
            !filters.keeps(&[json!("inactive"), json!("a@ex.org")]),
            "a keep fails"
        );
        assert!(
            !filters.keeps(&[json!("active"), Value::Null]),
            "the second keep fails"
        );
        assert!(
            !filters.keeps(&[json!("active"), json!("a@test.example")]),
            "a drop holds"
        );
        assert!(
            !filters.keeps(&[json!("grace"), json!("a@ex.org")]),
            "the other drop holds"
        );
    }

    #[test]
    fn no_filters_keep_everything() {
        let filters = Filters::compile(&[], &[]).unwrap();
        assert!(filters.is_empty());
        assert!(filters.keeps(&[]));
    }

    #[test]
    fn compile_errors() {
        let error =
            Filters::compile(&[keep("nope", Condition::Present)], &strings(&["v"])).unwrap_err();
        assert!(matches!(error, CompileError::FilterField { .. }));
        let error = Filters::compile(
            &[keep("v", Condition::Matches("(".into()))],
            &strings(&["v"]),
        )
        .unwrap_err();
        assert!(matches!(error, CompileError::Regex { .. }));
    }
}
