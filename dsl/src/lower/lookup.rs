//! `lookup NAME { ... }`: a second source joined to each record by key.

use kdl::KdlNode;

use super::cx::{Cx, name_span};
use super::map::lower_map;
use super::source::{lower_source, one_arg, word};
use crate::model::{Lookup, OnMissing};

const CHILDREN: &[&str] = &["source", "map", "key", "on", "many", "on-missing"];

/// Lowers a `lookup` node; `None` when a required part is missing.
pub(crate) fn lower_lookup(cx: &mut Cx, node: &KdlNode) -> Option<Lookup> {
    cx.props(node, &[], "`lookup`");
    let name = cx
        .args(node, 1, Some(1), "`lookup NAME { ... }`")
        .first()
        .and_then(|arg| cx.name(arg, "lookup name"));
    let children = cx.children(node, CHILDREN);
    let source = match cx.single(&children, "source") {
        Some(source) => lower_source(cx, source),
        None => {
            cx.missing_node(node, "source", "`source file \"...\" { format csv }`");
            None
        }
    };
    let fields = match cx.single(&children, "map") {
        Some(map) => Some(lower_map(cx, map)),
        None => {
            cx.missing_node(node, "map", "`map { FIELD \"column\" }`");
            None
        }
    };
    let mut field_ref = |child: &str, usage: &str| match cx.single(&children, child) {
        Some(node) => one_arg(cx, node, usage).and_then(|arg| cx.name(arg, "a field name")),
        None => {
            cx.missing_node(node, child, usage);
            None
        }
    };
    let key = field_ref("key", "`key FIELD` (a field of the lookup's `map`)");
    let on = field_ref("on", "`on FIELD` (a field of the pipeline's `map`)");
    let many = cx
        .single(&children, "many")
        .and_then(|n| one_arg(cx, n, "`many #true`"))
        .and_then(|arg| cx.bool(arg, "`many`"))
        .unwrap_or(false);
    let on_missing = cx
        .single(&children, "on-missing")
        .and_then(|n| {
            word(
                cx,
                n,
                "`on-missing`",
                &[
                    ("drop", OnMissing::Drop),
                    ("keep", OnMissing::Keep),
                    ("error", OnMissing::Error),
                ],
            )
        })
        .unwrap_or(OnMissing::Drop);
    Some(Lookup {
        name: name?,
        source: source?,
        key: key?,
        on: on?,
        many,
        on_missing,
        fields: fields?,
        span: name_span(node),
    })
}
