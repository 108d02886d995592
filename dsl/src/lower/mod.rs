//! Lowering: a hand-written walk of the KDL document into [`Pipeline`]s.
//!
//! Every problem is collected, never just the first: each node reader
//! reports what does not fit and carries on with what does, so one run of
//! `rollcall validate` shows every error in a file.

mod actions;
pub(crate) mod cx;
mod filter;
mod identity;
mod lookup;
mod map;
mod notify;
mod policy;
mod role;
mod sink;
mod source;
mod target;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlNode};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Match, MatchStrategy, OnAmbiguous, Pipeline, Source, Span, Spanned};
use crate::source_file::SourceFile;
use crate::{schema, secrets};
use cx::{Cx, node_name};
use source::one_arg;

const PIPELINE_CHILDREN: &[&str] = &[
    "description",
    "system",
    "keep-raw",
    "source",
    "schema",
    "key",
    "map",
    "lookup",
    "derive",
    "filter",
    "identity",
    "match",
    "role",
    "scope",
    "integrity",
    "lifecycle",
    "sink",
    "notify",
    "target",
];

/// Lowers a parsed file into its pipelines, with every diagnostic found.
/// Paths in the file are resolved against `base_dir`.
pub fn lower(
    file: &Arc<SourceFile>,
    document: &KdlDocument,
    base_dir: &Path,
) -> (Vec<Pipeline>, Vec<Diagnostic>) {
    let mut cx = Cx::new(Arc::clone(file), base_dir.to_path_buf());
    annotations(&mut cx, document);
    cx.diagnostics
        .extend(secrets::find_inline_secrets(document));
    let mut pipelines = Vec::new();
    for node in document.nodes() {
        if node_name(node) == "pipeline" {
            if let Some(pipeline) = lower_pipeline(&mut cx, node) {
                pipelines.push(pipeline);
            }
        } else {
            cx.unknown_node(node, "a pipeline file", &["pipeline"]);
        }
    }
    if document.nodes().is_empty() {
        cx.report(
            Diagnostic::warning(Code::NoPipeline, "the file declares no pipeline")
                .with_help("add `pipeline NAME { ... }`, or remove the file"),
        );
    }
    let diagnostics = cx
        .diagnostics
        .into_iter()
        .map(|d| d.in_file(file))
        .collect();
    (pipelines, diagnostics)
}

/// Reports type annotations other than `(env)`, wherever they are.
fn annotations(cx: &mut Cx, document: &KdlDocument) {
    for node in document.nodes() {
        if let Some(ty) = node.ty() {
            cx.report(unknown_annotation(
                ty.value(),
                ty.span().into(),
                "nodes take no type annotation",
            ));
        }
        for entry in node.entries() {
            if let Some(ty) = entry.ty()
                && ty.value() != "env"
            {
                cx.report(unknown_annotation(
                    ty.value(),
                    ty.span().into(),
                    "the only type annotation is `(env)`, for settings read from the environment",
                ));
            }
        }
        if let Some(children) = node.children() {
            annotations(cx, children);
        }
    }
}

/// The diagnostic for an annotation the language does not know.
fn unknown_annotation(name: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UnknownTypeAnnotation,
        format!("unknown type annotation `({name})`"),
    )
    .with_label(span, "unknown annotation")
    .with_help(format!("{why}; remove `({name})`"))
}

/// The pipeline's `source`, which is required.
fn lower_pipeline_source(cx: &mut Cx, node: &KdlNode, children: &[&KdlNode]) -> Option<Source> {
    match cx.single(children, "source") {
        Some(n) => source::lower_source(cx, n),
        None => {
            cx.missing_node(
                node,
                "source",
                "`source file \"PATH\" { format jsonl }` or `source s3 bucket=... { ... }`",
            );
            None
        }
    }
}

/// `schema "PATH"`, resolved against the pipeline's folder and checked to
/// be a JSON Schema that compiles.
fn lower_schema(cx: &mut Cx, children: &[&KdlNode]) -> Option<Spanned<PathBuf>> {
    cx.single(children, "schema")
        .and_then(|n| one_arg(cx, n, "`schema \"PATH\"`"))
        .and_then(|arg| cx.string(arg, "the schema path"))
        .map(|path| {
            let resolved = cx.base_dir.join(&path.value);
            if let Some(diagnostic) = schema::check_schema(&path.value, &resolved, path.span) {
                cx.report(diagnostic);
            }
            Spanned::new(resolved, path.span)
        })
}

/// `key FIELD`, which is required.
fn lower_key(cx: &mut Cx, node: &KdlNode, children: &[&KdlNode]) -> Option<Spanned<String>> {
    match cx.single(children, "key") {
        Some(n) => one_arg(cx, n, "`key FIELD`").and_then(|arg| cx.name(arg, "a field name")),
        None => {
            cx.missing_node(
                node,
                "key",
                "`key FIELD` (the mapped field that identifies a record)",
            );
            None
        }
    }
}

/// `match ...`, or no matching strategy when the pipeline writes none.
fn lower_matching(cx: &mut Cx, children: &[&KdlNode]) -> Match {
    cx.single(children, "match")
        .and_then(|n| identity::lower_match(cx, n))
        .unwrap_or(Match {
            strategy: MatchStrategy::None,
            on_ambiguous: OnAmbiguous::Hold,
            span: Span::default(),
        })
}

/// Lowers one `pipeline NAME { ... }`; `None` when a required part is missing.
fn lower_pipeline(cx: &mut Cx, node: &KdlNode) -> Option<Pipeline> {
    cx.props(node, &[], "`pipeline`");
    let name = cx
        .args(node, 1, Some(1), "`pipeline NAME { ... }`")
        .first()
        .and_then(|arg| cx.name(arg, "pipeline name"));
    let children = cx.children(node, PIPELINE_CHILDREN);

    let description = cx
        .single(&children, "description")
        .and_then(|n| one_arg(cx, n, "`description \"TEXT\"`"))
        .and_then(|arg| cx.string(arg, "`description`"))
        .map(|d| d.value);
    let system = cx
        .single(&children, "system")
        .and_then(|n| one_arg(cx, n, "`system NAME`"))
        .and_then(|arg| cx.name(arg, "a system name"))
        .map(|s| s.value);
    let keep_raw = cx
        .single(&children, "keep-raw")
        .and_then(|n| one_arg(cx, n, "`keep-raw #true`"))
        .and_then(|arg| cx.bool(arg, "`keep-raw`"))
        .unwrap_or(false);
    let source = lower_pipeline_source(cx, node, &children);
    let schema = lower_schema(cx, &children);
    let key = lower_key(cx, node, &children);
    let fields = match cx.single(&children, "map") {
        Some(n) => Some(map::lower_map(cx, n)),
        None => {
            cx.missing_node(node, "map", "`map { FIELD \"path\"; ... }`");
            None
        }
    };
    let lookups = Cx::all(&children, "lookup")
        .into_iter()
        .filter_map(|n| lookup::lower_lookup(cx, n))
        .collect();
    // A `derive` block is a `map` read from the joined record's fields.
    let derived = cx
        .single(&children, "derive")
        .map(|n| map::lower_map(cx, n))
        .unwrap_or_default();
    let filters = cx
        .single(&children, "filter")
        .map(|n| filter::lower_filter(cx, n))
        .unwrap_or_default();
    let identity = cx
        .single(&children, "identity")
        .map(|n| identity::lower_identity(cx, n))
        .unwrap_or_default();
    let matching = lower_matching(cx, &children);
    let roles = Cx::all(&children, "role")
        .into_iter()
        .map(|n| role::lower_role(cx, n))
        .collect();
    let scope = cx
        .single(&children, "scope")
        .and_then(|n| policy::lower_scope(cx, n));
    let integrity = cx
        .single(&children, "integrity")
        .map(|n| policy::lower_integrity(cx, n))
        .unwrap_or_default();
    let lifecycle = cx
        .single(&children, "lifecycle")
        .map(|n| policy::lower_lifecycle(cx, n))
        .unwrap_or_default();
    let sinks = Cx::all(&children, "sink")
        .into_iter()
        .filter_map(|n| sink::lower_sink(cx, n))
        .collect();
    let notifications = Cx::all(&children, "notify")
        .into_iter()
        .filter_map(|n| notify::lower_notify(cx, n))
        .collect();
    let targets = Cx::all(&children, "target")
        .into_iter()
        .filter_map(|n| target::lower_target(cx, n))
        .collect();

    let name = name?;
    Some(Pipeline {
        system: system.unwrap_or_else(|| name.value.clone()),
        name,
        description,
        file: cx.file.path().to_path_buf(),
        source: source?,
        schema,
        key: key?,
        fields: fields?,
        lookups,
        derived,
        filters,
        identity,
        matching,
        roles,
        scope,
        integrity,
        lifecycle,
        keep_raw,
        sinks,
        notifications,
        targets,
    })
}
