//! `role { ... }`: a membership each record gives its person.

use kdl::KdlNode;

use super::cx::{Cx, entry_span, name_span, node_name};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Relation, Role, Value};

const VALUES: &[&str] = &["affiliation", "ou", "title", "valid-from", "valid-until"];
const RELATIONS: &[&str] = &["manager", "sponsor"];

/// Lowers a `role` block.
pub(crate) fn lower_role(cx: &mut Cx, node: &KdlNode) -> Role {
    cx.props(node, &[], "`role`");
    cx.args(node, 0, Some(0), "`role { ... }`");
    let mut allowed = VALUES.to_vec();
    allowed.extend(RELATIONS);
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
    Role {
        affiliation,
        ou,
        title,
        manager,
        sponsor,
        valid_from,
        valid_until,
        span: name_span(node),
    }
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
