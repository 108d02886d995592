//! `scope`, `integrity` and `lifecycle`: which people a pipeline speaks for,
//! when an extract is refused, and what happens to people who disappear.

use kdl::{KdlNode, KdlValue};

use super::cx::{Cx, entry_span};
use super::source::{one_arg, word};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Absent, Filter, FilterAction, Integrity, Lifecycle, Limit, RoleStatus, Scope, Spanned,
};
use crate::values;

/// Lowers `scope VALUE [kind=KIND]`.
pub(crate) fn lower_scope(cx: &mut Cx, node: &KdlNode) -> Option<Scope> {
    cx.no_children(node);
    let props = cx.props(node, &["kind"], "`scope`");
    let value = cx
        .args(node, 1, Some(1), "`scope VALUE kind=KIND`")
        .first()
        .and_then(|arg| cx.name(arg, "a scope"));
    let kind = props
        .get("kind")
        .and_then(|e| cx.name(e, "a scope kind"))
        .map(|k| k.value)
        .unwrap_or_else(|| "ou".to_owned());
    let value = value?;
    Some(Scope {
        kind,
        value: value.value,
        span: value.span,
    })
}

/// Lowers an `integrity` block.
pub(crate) fn lower_integrity(cx: &mut Cx, node: &KdlNode) -> Integrity {
    cx.props(node, &[], "`integrity`");
    cx.args(node, 0, Some(0), "`integrity { ... }`");
    let children = cx.children(
        node,
        &["min-ratio", "max-removed", "max-invalid", "min-records"],
    );
    let mut integrity = Integrity::default();
    if let Some(node) = cx.single(&children, "min-ratio")
        && let Some(arg) = one_arg(cx, node, "`min-ratio 0.95`")
        && let Some(ratio) = cx.number(arg, "`min-ratio`")
    {
        if ratio.value > 0.0 && ratio.value <= 1.0 {
            integrity.min_ratio = Some(ratio);
        } else {
            cx.out_of_range(arg, "`min-ratio`", "above 0 and at most 1 (0.95 means 95%)");
        }
    }
    if let Some(node) = cx.single(&children, "max-removed") {
        integrity.max_removed = limit(cx, node);
    }
    if let Some(node) = cx.single(&children, "max-invalid") {
        integrity.max_invalid = limit(cx, node);
    }
    if let Some(node) = cx.single(&children, "min-records")
        && let Some(arg) = one_arg(cx, node, "`min-records 1000`")
    {
        integrity.min_records = cx.count(arg, "`min-records`");
    }
    integrity
}

/// A count (`10`) or a percentage (`"2%"`).
fn limit(cx: &mut Cx, node: &KdlNode) -> Option<Spanned<Limit>> {
    let name = node.name().value();
    let arg = one_arg(cx, node, &format!("`{name} 10` or `{name} \"2%\"`"))?;
    let what = format!("`{name}`");
    match arg.value() {
        KdlValue::String(text) if !super::cx::is_env(arg) => match values::parse_percent(text) {
            Ok(percent) => Some(Spanned::new(Limit::Percent(percent), entry_span(arg))),
            Err(reason) => {
                cx.report(
                    Diagnostic::error(Code::InvalidValue, format!("{what} is not a count or a percentage"))
                        .with_label(entry_span(arg), reason)
                        .with_help(format!("write a number of records (`{name} 10`) or a percentage from 0% to 100% (`{name} \"2%\"`)")),
                );
                None
            }
        },
        _ => cx
            .count(arg, &what)
            .map(|n| Spanned::new(Limit::Count(n.value), n.span)),
    }
}

/// Lowers a `lifecycle` block.
pub(crate) fn lower_lifecycle(cx: &mut Cx, node: &KdlNode) -> Lifecycle {
    cx.props(node, &[], "`lifecycle`");
    cx.args(node, 0, Some(0), "`lifecycle { ... }`");
    let children = cx.children(
        node,
        &[
            "on-removal",
            "grace-period",
            "limbo",
            "purge-after",
            "reinstate",
            "absent",
            "remove-when",
            "known-when",
            "actions",
            "on-expiry",
        ],
    );
    let mut lifecycle = Lifecycle::default();
    if let Some(node) = cx.single(&children, "on-removal")
        && let Some(status) = word(
            cx,
            node,
            "`on-removal` status",
            &[
                ("suspended", RoleStatus::Suspended),
                ("expired", RoleStatus::Expired),
                ("deleted", RoleStatus::Deleted),
                ("grace-period", RoleStatus::GracePeriod),
            ],
        )
    {
        lifecycle.on_removal = status;
    }
    if let Some(node) = cx.single(&children, "grace-period")
        && let Some(arg) = one_arg(cx, node, "`grace-period \"30d\"`")
        && let Some(duration) = cx.duration(arg, "`grace-period`")
    {
        lifecycle.grace_period = duration.value;
    }
    if let Some(node) = cx.single(&children, "limbo")
        && let Some(arg) = one_arg(cx, node, "`limbo SCOPE`")
    {
        lifecycle.limbo = cx.name(arg, "a scope").map(|s| s.value);
    }
    if let Some(node) = cx.single(&children, "purge-after")
        && let Some(arg) = one_arg(cx, node, "`purge-after \"90d\"`")
    {
        lifecycle.purge_after = cx.duration(arg, "`purge-after`");
    }
    if let Some(node) = cx.single(&children, "reinstate")
        && let Some(arg) = one_arg(cx, node, "`reinstate #true`")
        && let Some(reinstate) = cx.bool(arg, "`reinstate`")
    {
        lifecycle.reinstate = reinstate;
    }
    if let Some(node) = cx.single(&children, "absent")
        && let Some(absent) = word(
            cx,
            node,
            "`absent`",
            &[("remove", Absent::Remove), ("keep", Absent::Keep)],
        )
    {
        lifecycle.absent = absent;
        lifecycle.absent_span = Some(super::cx::name_span(node));
    }
    // Several `remove-when` tests: a record passing any one is a removal.
    lifecycle.remove_when = record_tests(cx, &children, "remove-when");
    // Several `known-when` tests: a record passing any one needs its key.
    lifecycle.known_when = record_tests(cx, &children, "known-when");
    lifecycle.actions = cx
        .single(&children, "actions")
        .and_then(|node| super::actions::lower_actions(cx, node));
    // An action column makes the extract a change file: keys it does not
    // mention stay as they are (a written `absent remove` is a check error).
    if lifecycle.actions.is_some() && lifecycle.absent_span.is_none() {
        lifecycle.absent = Absent::Keep;
    }
    if let Some(node) = cx.single(&children, "on-expiry")
        && let Some(status) = word(
            cx,
            node,
            "`on-expiry` status",
            &[
                ("suspended", RoleStatus::Suspended),
                ("expired", RoleStatus::Expired),
                ("deleted", RoleStatus::Deleted),
            ],
        )
    {
        lifecycle.on_expiry = status;
    }
    lifecycle
}

/// Every `name` child as a record test (a filter rule whose action does not
/// apply: the lifecycle asks only whether a record passes it).
fn record_tests(cx: &mut Cx, children: &[&KdlNode], name: &str) -> Vec<Filter> {
    Cx::all(children, name)
        .into_iter()
        .filter_map(|node| super::filter::lower_rule(cx, node))
        .map(|filter| Filter {
            action: FilterAction::Keep,
            ..filter
        })
        .collect()
}
