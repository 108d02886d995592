//! `role { ... }`: a membership each record gives its person.

use kdl::KdlNode;

use super::cx::{Cx, entry_span, name_span, node_name};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Each, Relation, Role, RoleStatus, StatusMap, Value};

const VALUES: &[&str] = &["affiliation", "ou", "title", "valid-from", "valid-until"];
const RELATIONS: &[&str] = &["manager", "sponsor"];
const OTHERS: &[&str] = &["each", "status"];
const STATUSES: &[(&str, RoleStatus)] = &[
    ("active", RoleStatus::Active),
    ("pending", RoleStatus::Pending),
    ("suspended", RoleStatus::Suspended),
    ("expired", RoleStatus::Expired),
    ("deleted", RoleStatus::Deleted),
];

/// Lowers a `role` block.
pub(crate) fn lower_role(cx: &mut Cx, node: &KdlNode) -> Role {
    cx.props(node, &[], "`role`");
    cx.args(node, 0, Some(0), "`role { ... }`");
    let mut allowed = VALUES.to_vec();
    allowed.extend(RELATIONS);
    allowed.extend(OTHERS);
    let children = cx.children(node, &allowed);
    let mut value = |name: &str| cx.single(&children, name).and_then(|n| lower_value(cx, n));
    let (affiliation, ou, title, valid_from, valid_until) = (
        value("affiliation"),
        value("ou"),
        value("title"),
        value("valid-from"),
        value("valid-until"),
    );
    let mut relation = |name: &str| {
        cx.single(&children, name)
            .and_then(|n| lower_relation(cx, n))
    };
    let (manager, sponsor) = (relation("manager"), relation("sponsor"));
    let each = cx.single(&children, "each").and_then(|n| lower_each(cx, n));
    let status = cx
        .single(&children, "status")
        .and_then(|n| lower_status(cx, n));
    Role {
        affiliation,
        ou,
        title,
        manager,
        sponsor,
        valid_from,
        valid_until,
        each,
        status,
        span: name_span(node),
    }
}

/// `each FIELD [kind=KIND]`.
fn lower_each(cx: &mut Cx, node: &KdlNode) -> Option<Each> {
    let usage = "`each FIELD` or `each FIELD kind=KIND`";
    cx.no_children(node);
    let props = cx.props(node, &["kind"], "`each`");
    let field = cx
        .args(node, 1, Some(1), usage)
        .first()
        .and_then(|arg| cx.name(arg, "a field name"));
    let kind = props
        .get("kind")
        .and_then(|e| cx.name(e, "a scope kind"))
        .map(|k| k.value);
    Some(Each {
        field: field?,
        kind,
    })
}

/// `status field=FIELD { FROM TO; ... }`: every `TO` a role status.
fn lower_status(cx: &mut Cx, node: &KdlNode) -> Option<StatusMap> {
    let usage = "`status field=FIELD { active active; inactive suspended }`";
    cx.args(node, 0, Some(0), usage);
    let props = cx.props(node, &["field"], "`status`");
    let field = match props.get("field") {
        Some(entry) => cx.name(entry, "a field name"),
        None => {
            cx.missing_property(node, "field", usage);
            None
        }
    };
    let mut map: Vec<(String, RoleStatus)> = Vec::new();
    let mut seen: Vec<(&str, crate::model::Span)> = Vec::new();
    for row in node.iter_children() {
        let from = node_name(row);
        cx.no_children(row);
        cx.props(row, &[], "a `status` row");
        let args = cx.args(row, 1, Some(1), "`FROM STATUS`, e.g. `inactive suspended`");
        if let Some((_, first)) = seen.iter().find(|(f, _)| *f == from) {
            cx.report(
                Diagnostic::error(
                    Code::DuplicateNode,
                    format!("`status` lists `{from}` twice"),
                )
                .with_label(name_span(row), "listed again here")
                .with_label(*first, "first listed here")
                .with_help("keep one row per value"),
            );
            continue;
        }
        seen.push((from, name_span(row)));
        if let Some(to) = args
            .first()
            .and_then(|arg| cx.choice(arg, "role status", STATUSES))
        {
            map.push((from.to_owned(), to));
        }
    }
    if node.children().is_none() {
        cx.report(
            Diagnostic::error(Code::MissingNode, "`status` has no value map")
                .with_label(name_span(node), "no `{ FROM STATUS; ... }` block")
                .with_help(format!(
                    "say what each of the record's values means: {usage}"
                )),
        );
    }
    Some(StatusMap { field: field?, map })
}

/// `NAME "fixed"` or `NAME field=FIELD`.
fn lower_value(cx: &mut Cx, node: &KdlNode) -> Option<Value> {
    let name = node_name(node);
    let usage = format!("`{name} \"value\"` or `{name} field=FIELD`");
    cx.no_children(node);
    let props = cx.props(node, &["field"], &format!("`{name}`"));
    let args = cx.args(node, 0, Some(1), &usage);
    match (args.first(), props.get("field")) {
        (Some(fixed), Some(field)) => {
            cx.report(
                Diagnostic::error(
                    Code::Conflict,
                    format!("`{name}` has both a fixed value and `field=`"),
                )
                .with_label(entry_span(fixed), "a fixed value")
                .with_label(entry_span(field), "and a field")
                .with_help(format!("keep one: {usage}")),
            );
            None
        }
        (Some(fixed), None) => cx.text(fixed, &format!("`{name}`")).map(Value::Fixed),
        (None, Some(field)) => cx.name(field, "a field name").map(Value::Field),
        (None, None) => {
            cx.report(
                Diagnostic::error(Code::MissingArgument, format!("`{name}` has no value"))
                    .with_label(name_span(node), "no value")
                    .with_help(format!("write it as {usage}")),
            );
            None
        }
    }
}

/// `manager|sponsor field=FIELD type=TYPE`.
fn lower_relation(cx: &mut Cx, node: &KdlNode) -> Option<Relation> {
    let name = node_name(node);
    let usage = format!("`{name} field=FIELD type=IDENTIFIER-TYPE`");
    cx.no_children(node);
    cx.args(node, 0, Some(0), &usage);
    let props = cx.props(node, &["field", "type"], &format!("`{name}`"));
    let mut get = |prop: &str, what: &str| match props.get(prop) {
        Some(entry) => cx.name(entry, what),
        None => {
            cx.missing_property(node, prop, &usage);
            None
        }
    };
    let field = get("field", "a field name");
    let type_name = get("type", "an identifier type");
    Some(Relation {
        field: field?,
        type_name: type_name?.value,
    })
}
