//! `filter { keep|drop FIELD TEST [VALUE...] }`.

use kdl::KdlNode;

use super::cx::{Cx, entry_span, name_span, node_name};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Condition, Filter, FilterAction};

const TESTS: &[&str] = &[
    "equals",
    "not-equals",
    "in",
    "not-in",
    "matches",
    "present",
    "missing",
];
const USAGE: &str =
    "`keep|drop FIELD TEST [VALUE...]`, e.g. `drop email matches \"@test\\\\.example$\"`";

/// Lowers a `filter` block into its conditions, in order.
pub(crate) fn lower_filter(cx: &mut Cx, node: &KdlNode) -> Vec<Filter> {
    cx.props(node, &[], "`filter`");
    cx.args(node, 0, Some(0), "`filter { ... }`");
    let rules = cx.children(node, &["keep", "drop"]);
    rules
        .into_iter()
        .filter_map(|rule| lower_rule(cx, rule))
        .collect()
}

/// One `keep` or `drop` rule (or a `remove-when` test, read the same way).
pub(crate) fn lower_rule(cx: &mut Cx, node: &KdlNode) -> Option<Filter> {
    let action = if node_name(node) == "keep" {
        FilterAction::Keep
    } else {
        FilterAction::Drop
    };
    cx.no_children(node);
    cx.props(node, &[], &format!("`{}`", node_name(node)));
    let args = cx.args(node, 2, None, USAGE);
    let field = cx.name(args.first()?, "a field name");
    let test = cx.choice(
        args.get(1)?,
        "filter test",
        &TESTS.iter().map(|t| (*t, *t)).collect::<Vec<_>>(),
    )?;
    let values = &args[2..];
    let (min, max) = match test {
        "equals" | "not-equals" | "matches" => (1, Some(1)),
        "in" | "not-in" => (1, None),
        _ => (0, Some(0)),
    };
    let test_entry = args[1];
    if values.len() < min {
        cx.report(
            Diagnostic::error(
                Code::MissingArgument,
                format!("`{test}` needs a value to compare with"),
            )
            .with_label(entry_span(test_entry), "no value after this test")
            .with_help(format!("write it as {USAGE}")),
        );
        return None;
    }
    if let Some(max) = max {
        for extra in &values[max.min(values.len())..] {
            cx.report(
                Diagnostic::error(
                    Code::UnexpectedArgument,
                    format!(
                        "`{test}` takes {}",
                        if max == 0 { "no value" } else { "one value" }
                    ),
                )
                .with_label(entry_span(extra), "unexpected value")
                .with_help(if max == 0 {
                    format!("remove it: `{test}` tests the field alone")
                } else {
                    "remove it, or test several values with `in`".to_owned()
                }),
            );
        }
    }
    let texts: Vec<String> = values
        .iter()
        .filter_map(|v| cx.text(v, "a filter value"))
        .collect();
    let first = || texts.first().cloned().unwrap_or_default();
    let condition = match test {
        "equals" => Condition::Equals(first()),
        "not-equals" => Condition::NotEquals(first()),
        "in" => Condition::In(texts.clone()),
        "not-in" => Condition::NotIn(texts.clone()),
        "matches" => {
            let pattern = cx.string(values[0], "the pattern")?;
            cx.regex(&pattern.value, pattern.span)?;
            Condition::Matches(pattern.value)
        }
        "present" => Condition::Present,
        _ => Condition::Missing,
    };
    Some(Filter {
        action,
        field: field?,
        condition,
        span: name_span(node),
    })
}
