//! `map { NAME ORIGIN ... { TRANSFORMS } }`: fields and their transforms.

use std::collections::HashMap;

use kdl::{KdlEntry, KdlNode};

use super::cx::{Cx, entry_span, invalid_name, name_span, node_name};
use super::source::{one_arg, path_steps};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Field, Origin, Otherwise, Span, Spanned, Template, Transform};
use crate::suggest;
use crate::values;

const FIELD_PROPS: &[&str] = &[
    "const",
    "template",
    "required",
    "default",
    "unique",
    "keep-missing",
    "refers-to-key",
];
const TRANSFORMS: &[&str] = &[
    "trim",
    "nfc",
    "lowercase",
    "uppercase",
    "first",
    "sort",
    "unique",
    "pluck",
    "split",
    "join",
    "values",
    "date",
    "regex",
    "contains",
];
const FIELD_USAGE: &str =
    "`NAME \"path\" \"step\"`, `NAME const=VALUE` or `NAME template=\"{other_field}\"`";

/// Lowers a `map` block into its fields, in declaration order.
pub(crate) fn lower_map(cx: &mut Cx, node: &KdlNode) -> Vec<Field> {
    cx.props(node, &[], "`map`");
    cx.args(node, 0, Some(0), "`map { NAME ORIGIN; ... }`");
    let nodes: Vec<&KdlNode> = node.iter_children().collect();
    if nodes.is_empty() {
        cx.report(
            Diagnostic::error(Code::MissingNode, "`map` declares no fields")
                .with_label(name_span(node), "empty mapping")
                .with_help(format!(
                    "declare one field per line inside `map {{ ... }}`: {FIELD_USAGE}"
                )),
        );
        return Vec::new();
    }
    // Templates may only use fields declared before them; knowing every
    // name up front lets the error say "declared later" rather than "unknown".
    let declared: HashMap<&str, Span> = nodes
        .iter()
        .rev()
        .map(|n| (node_name(n), name_span(n)))
        .collect();
    let all_names: Vec<&str> = nodes.iter().map(|n| node_name(n)).collect();

    let mut fields: Vec<Field> = Vec::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (index, field_node) in nodes.iter().enumerate() {
        let name = node_name(field_node);
        if let Some(first) = seen.get(name) {
            cx.report(
                Diagnostic::error(
                    Code::DuplicateField,
                    format!("field `{name}` is declared twice"),
                )
                .with_label(name_span(field_node), "declared again here")
                .with_label(*first, "first declared here")
                .with_help("give each field its own name, or remove one of them"),
            );
            continue;
        }
        seen.insert(name, name_span(field_node));
        let scope = TemplateScope {
            earlier: &all_names[..index],
            all: &all_names,
            declared: &declared,
        };
        if let Some(field) = lower_field(cx, field_node, &scope) {
            fields.push(field);
        }
    }
    fields
}

/// The field names a template may and may not use.
struct TemplateScope<'a> {
    earlier: &'a [&'a str],
    all: &'a [&'a str],
    declared: &'a HashMap<&'a str, Span>,
}

/// Lowers one field node.
fn lower_field(cx: &mut Cx, node: &KdlNode, scope: &TemplateScope<'_>) -> Option<Field> {
    let name = node_name(node);
    let what = format!("field `{name}`");
    let name_ok = values::is_valid_name(name);
    if !name_ok {
        cx.report(invalid_name(name, name_span(node), "field name"));
    }
    let props = cx.props(node, FIELD_PROPS, &what);
    let args = cx.args(node, 0, None, FIELD_USAGE);

    let mut origins: Vec<(&str, Span)> = Vec::new();
    if let Some(first) = args.first() {
        origins.push(("a path", entry_span(first)));
    }
    for prop in ["const", "template"] {
        if let Some(entry) = props.get(prop) {
            origins.push((prop, entry_span(entry)));
        }
    }
    if origins.len() > 1 {
        let mut diagnostic =
            Diagnostic::error(Code::Conflict, format!("{what} has more than one origin"))
                .with_help(format!("give one of: {FIELD_USAGE}"));
        for (kind, span) in &origins {
            diagnostic = diagnostic.with_label(*span, format!("{kind} here"));
        }
        cx.report(diagnostic);
    }
    let origin = if let Some(entry) = props.get("template") {
        lower_template(cx, entry, scope).map(Origin::Template)
    } else if let Some(entry) = props.get("const") {
        cx.json(entry, "`const`").map(Origin::Const)
    } else if !args.is_empty() {
        Some(Origin::Path(path_steps(cx, &args, "a path step")))
    } else {
        cx.report(
            Diagnostic::error(
                Code::MissingArgument,
                format!("{what} says nowhere to take its value from"),
            )
            .with_label(name_span(node), "no origin")
            .with_help(format!("write it as {FIELD_USAGE}")),
        );
        None
    };
    let required = props
        .get("required")
        .and_then(|e| cx.bool(e, "`required`"))
        .unwrap_or(false);
    let default = props.get("default").and_then(|e| cx.json(e, "`default`"));
    let unique = props
        .get("unique")
        .and_then(|e| cx.bool(e, "`unique`"))
        .unwrap_or(false);
    let keep_missing = props
        .get("keep-missing")
        .and_then(|e| cx.bool(e, "`keep-missing`"))
        .unwrap_or(false);
    let refers_to_key = props
        .get("refers-to-key")
        .and_then(|e| cx.bool(e, "`refers-to-key`"))
        .unwrap_or(false);
    let transforms = node
        .iter_children()
        .filter_map(|t| lower_transform(cx, t, &what))
        .collect();
    if !name_ok {
        return None;
    }
    Some(Field {
        name: Spanned::new(name.to_owned(), name_span(node)),
        // A broken origin is already reported; the field still exists for
        // the cross-reference checks.
        origin: origin.unwrap_or(Origin::Path(Vec::new())),
        transforms,
        default,
        required,
        unique,
        keep_missing,
        refers_to_key,
        span: name_span(node),
    })
}

/// Parses `template="..."` and checks every `{field}` is declared earlier.
fn lower_template(cx: &mut Cx, entry: &KdlEntry, scope: &TemplateScope<'_>) -> Option<Template> {
    let text = cx.string(entry, "`template`")?;
    let (parts, refs) = match values::parse_template(&text.value) {
        Ok(parsed) => parsed,
        Err(reason) => {
            cx.report(
                Diagnostic::error(Code::InvalidTemplate, "the template is not well formed")
                    .with_label(text.span, reason)
                    .with_help("write field references as `{field}`; write `{{` and `}}` for literal braces"),
            );
            return None;
        }
    };
    let raw = cx.file.slice(text.span.offset, text.span.len).to_owned();
    for reference in refs {
        if scope.earlier.contains(&reference.field.as_str()) {
            continue;
        }
        // Point at `{field}` itself when it is written verbatim in the file.
        let needle = &text.value[reference.offset..reference.offset + reference.len];
        let span = raw
            .find(needle)
            .map(|at| Span::new(text.span.offset + at, needle.len()))
            .unwrap_or(text.span);
        let field = reference.field.as_str();
        if let Some(later) = scope.declared.get(field) {
            cx.report(
                Diagnostic::error(
                    Code::TemplateForwardReference,
                    format!("the template uses `{field}`, which is declared after it"),
                )
                .with_label(span, "used here")
                .with_label(*later, "declared here, later")
                .with_help(format!(
                    "templates see only earlier fields: move `{field}` above this field"
                )),
            );
        } else {
            cx.report(
                Diagnostic::error(
                    Code::UnknownField,
                    format!("the template uses `{field}`, which the mapping does not declare"),
                )
                .with_label(span, "unknown field")
                .with_help(suggest::help_for(
                    field,
                    "fields declared in `map`",
                    scope.all,
                )),
            );
        }
    }
    Some(Template {
        text: text.value,
        parts,
    })
}

/// Lowers one transform node.
fn lower_transform(cx: &mut Cx, node: &KdlNode, field: &str) -> Option<Spanned<Transform>> {
    let name = node_name(node);
    let span = name_span(node);
    let simple = match name {
        "trim" => Some(Transform::Trim),
        "nfc" => Some(Transform::Nfc),
        "lowercase" => Some(Transform::Lowercase),
        "uppercase" => Some(Transform::Uppercase),
        "first" => Some(Transform::First),
        "sort" => Some(Transform::Sort),
        "unique" => Some(Transform::Unique),
        _ => None,
    };
    if let Some(transform) = simple {
        cx.no_children(node);
        cx.props(node, &[], &format!("`{name}`"));
        cx.args(node, 0, Some(0), &format!("`{name}`"));
        return Some(Spanned::new(transform, span));
    }
    let transform = match name {
        "pluck" => {
            let arg = one_arg(cx, node, "`pluck \"key\"`")?;
            Transform::Pluck {
                key: cx.string(arg, "the key to pluck")?.value,
            }
        }
        "split" => Transform::Split {
            separator: lower_separator(cx, node, "`split \";\"`")?,
        },
        "join" => Transform::Join {
            separator: lower_separator(cx, node, "`join \",\"`")?,
        },
        "contains" => {
            let arg = one_arg(cx, node, "`contains \"VALUE\"`")?;
            Transform::Contains {
                value: cx.text(arg, "the value looked for")?,
            }
        }
        "date" => lower_date(cx, node)?,
        "regex" => {
            cx.no_children(node);
            let props = cx.props(node, &["group"], "`regex`");
            let arg = *cx
                .args(node, 1, Some(1), "`regex \"PATTERN\" group=1`")
                .first()?;
            let pattern = cx.string(arg, "the pattern")?;
            let regex = cx.regex(&pattern.value, pattern.span);
            let group = match props.get("group") {
                Some(entry) => {
                    let group = cx.count(entry, "`group`")?;
                    if let Some(regex) = &regex
                        && group.value as usize >= regex.captures_len()
                    {
                        let groups = regex.captures_len() - 1;
                        cx.out_of_range(
                            entry,
                            "`group`",
                            &format!("0 to {groups} (the pattern has {groups} capture groups)"),
                        );
                    }
                    group.value as usize
                }
                None => 1,
            };
            if props.get("group").is_none()
                && let Some(regex) = &regex
                && regex.captures_len() < 2
            {
                cx.report(
                    Diagnostic::error(
                        Code::OutOfRange,
                        "the pattern has no capture group for the default `group=1`",
                    )
                    .with_label(pattern.span, "no `( ... )` group")
                    .with_help(
                        "add a group, e.g. \"^([^@]+)@\", or write `group=0` for the whole match",
                    ),
                );
            }
            Transform::Regex {
                pattern: pattern.value,
                group,
            }
        }
        "values" => lower_values(cx, node)?,
        _ => {
            cx.unknown_node(node, &format!("the transforms of {field}"), TRANSFORMS);
            return None;
        }
    };
    Some(Spanned::new(transform, span))
}

/// The one argument of `split` or `join`: a separator that is not empty,
/// since splitting on nothing (or joining with it) has no meaning the
/// runtime could give.
fn lower_separator(cx: &mut Cx, node: &KdlNode, usage: &str) -> Option<String> {
    let arg = one_arg(cx, node, usage)?;
    let separator = cx.string(arg, "the separator")?;
    if separator.value.is_empty() {
        cx.report(
            Diagnostic::error(
                Code::InvalidValue,
                format!("the separator of `{}` is empty", node_name(node)),
            )
            .with_label(separator.span, "empty separator")
            .with_help(format!("write the text between the elements: {usage}")),
        );
        return None;
    }
    Some(separator.value)
}

/// `date from=PATTERN to=PATTERN`, each a strftime pattern the runtime can
/// compile.
fn lower_date(cx: &mut Cx, node: &KdlNode) -> Option<Transform> {
    const USAGE: &str = "`date from=\"%d/%m/%Y\" to=\"%Y-%m-%d\"`";
    cx.no_children(node);
    cx.args(node, 0, Some(0), USAGE);
    let props = cx.props(node, &["from", "to"], "`date`");
    let mut pattern = |prop: &str| match props.get(prop) {
        Some(entry) => {
            let pattern = cx.string(entry, &format!("`{prop}`"))?;
            cx.date_pattern(&pattern).then_some(pattern.value)
        }
        None => {
            cx.missing_property(node, prop, USAGE);
            None
        }
    };
    let (from, to) = (pattern("from"), pattern("to"));
    Some(Transform::Date {
        from: from?,
        to: to?,
    })
}

/// `values [otherwise=...] [default=VALUE] { FROM TO; ... }`.
fn lower_values(cx: &mut Cx, node: &KdlNode) -> Option<Transform> {
    cx.args(
        node,
        0,
        Some(0),
        "`values otherwise=\"keep\" { FROM TO; ... }`",
    );
    let props = cx.props(node, &["otherwise", "default"], "`values`");
    let otherwise = match (props.get("otherwise"), props.get("default")) {
        (Some(otherwise), Some(default)) => {
            cx.report(
                Diagnostic::error(Code::Conflict, "`otherwise=` and `default=` exclude each other")
                    .with_label(entry_span(default), "`default=` replaces unlisted values")
                    .with_label(entry_span(otherwise), "`otherwise=` says what else happens")
                    .with_help("keep `default=VALUE` to replace unlisted values, or `otherwise=` to keep, null or reject them"),
            );
            Otherwise::Keep
        }
        (None, Some(default)) => Otherwise::Value(cx.json(default, "`default`")?),
        (Some(otherwise), None) => cx
            .choice(
                otherwise,
                "`otherwise`",
                &[
                    ("keep", OtherwiseKind::Keep),
                    ("null", OtherwiseKind::Null),
                    ("error", OtherwiseKind::Error),
                ],
            )
            .map(OtherwiseKind::into_otherwise)
            .unwrap_or(Otherwise::Keep),
        (None, None) => Otherwise::Keep,
    };
    let mut table = Vec::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for row in node.iter_children() {
        let from = node_name(row);
        cx.no_children(row);
        cx.props(row, &[], "a `values` row");
        let args = cx.args(row, 1, Some(1), "`FROM TO`, e.g. `inactive \"suspended\"`");
        if let Some(first) = seen.insert(from, name_span(row)) {
            cx.report(
                Diagnostic::error(
                    Code::DuplicateNode,
                    format!("`values` lists `{from}` twice"),
                )
                .with_label(name_span(row), "listed again here")
                .with_label(first, "first listed here")
                .with_help("keep one row per value"),
            );
        }
        if let Some(to) = args.first().and_then(|arg| cx.json(arg, "the replacement")) {
            table.push((from.to_owned(), to));
        }
    }
    if table.is_empty() && node.children().is_none() {
        cx.report(
            Diagnostic::error(Code::MissingNode, "`values` has no table")
                .with_label(name_span(node), "no `{ FROM TO; ... }` block")
                .with_help(
                    "list the replacements: `values { active \"active\"; inactive \"suspended\" }`",
                ),
        );
    }
    Some(Transform::Values { table, otherwise })
}

/// The `otherwise=` words, which (unlike [`Otherwise`]) are `Copy`.
#[derive(Clone, Copy)]
enum OtherwiseKind {
    Keep,
    Null,
    Error,
}

impl OtherwiseKind {
    fn into_otherwise(self) -> Otherwise {
        match self {
            OtherwiseKind::Keep => Otherwise::Keep,
            OtherwiseKind::Null => Otherwise::Null,
            OtherwiseKind::Error => Otherwise::Error,
        }
    }
}
