//! Cross-reference checks on lowered pipelines: every field a pipeline
//! names exists, lookups do not clash, matched identity types are bound,
//! and pipeline names are unique across files.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    IdentityKind, MatchStrategy, Origin, PathSegment, Pipeline, SinkKind, Span, Spanned, Value,
};
use crate::source_file::SourceFile;
use crate::suggest;

/// Every cross-reference problem in one pipeline (spans point into its file).
pub fn check_pipeline(pipeline: &Pipeline) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let main: Vec<&str> = pipeline
        .fields
        .iter()
        .map(|f| f.name.value.as_str())
        .collect();

    // `key`: a field of the pipeline's own mapping.
    match pipeline.field(&pipeline.key.value) {
        Some(field) if !field.required => found.push(
            Diagnostic::warning(Code::KeyNotRequired, format!("the key field `{}` is not required", field.name.value))
                .with_label(pipeline.key.span, "the key")
                .with_label(field.name.span, "declared here without `required=#true`")
                .with_help("add `required=#true` to the field, so a record without a key is invalid instead of unkeyed"),
        ),
        Some(_) => {}
        None => found.push(unknown_field(&pipeline.key, "`key`", &main)),
    }

    // Lookups: unique names, their own `key`, the pipeline's `on`, no clashes.
    let mut lookup_names: HashMap<&str, Span> = HashMap::new();
    let mut field_owner: HashMap<&str, (Span, String)> = pipeline
        .fields
        .iter()
        .map(|f| {
            (
                f.name.value.as_str(),
                (f.name.span, "the pipeline's `map`".to_owned()),
            )
        })
        .collect();
    for lookup in &pipeline.lookups {
        if let Some(first) = lookup_names.insert(&lookup.name.value, lookup.name.span) {
            found.push(
                Diagnostic::error(
                    Code::DuplicateLookup,
                    format!("lookup `{}` is declared twice", lookup.name.value),
                )
                .with_label(lookup.name.span, "declared again here")
                .with_label(first, "first declared here")
                .with_help("give each lookup its own name"),
            );
        }
        let own: Vec<&str> = lookup
            .fields
            .iter()
            .map(|f| f.name.value.as_str())
            .collect();
        if !own.contains(&lookup.key.value.as_str()) {
            found.push(unknown_field(
                &lookup.key,
                &format!("the `key` of lookup `{}`", lookup.name.value),
                &own,
            ));
        }
        if !main.contains(&lookup.on.value.as_str()) {
            found.push(unknown_field(
                &lookup.on,
                &format!("the `on` of lookup `{}`", lookup.name.value),
                &main,
            ));
        }
        for field in &lookup.fields {
            let owner = format!("lookup `{}`", lookup.name.value);
            if let Some((span, other)) = field_owner.get(field.name.value.as_str()) {
                found.push(
                    Diagnostic::error(
                        Code::FieldClash,
                        format!(
                            "lookup field `{}` clashes with a field of {other}",
                            field.name.value
                        ),
                    )
                    .with_label(field.name.span, format!("declared by {owner}"))
                    .with_label(*span, format!("already declared by {other}"))
                    .with_help("lookup fields join the record's fields: rename one of them"),
                );
            } else {
                field_owner.insert(&field.name.value, (field.name.span, owner));
            }
        }
    }

    // `derive` reads the joined record: its paths start with a field of the
    // pipeline, a lookup or an earlier derived field, and its names are new.
    let mut all: Vec<&str> = main.clone();
    all.extend(
        pipeline
            .lookups
            .iter()
            .flat_map(|l| l.fields.iter().map(|f| f.name.value.as_str())),
    );
    for field in &pipeline.derived {
        if let Origin::Path(path) = &field.origin
            && let Some(PathSegment::Key(first)) = path.first()
            && !all.contains(&first.as_str())
        {
            found.push(unknown_field(
                &Spanned::new(first.clone(), field.name.span),
                &format!("derived field `{}`", field.name.value),
                &all,
            ));
        }
        if let Some((span, other)) = field_owner.get(field.name.value.as_str()) {
            found.push(
                Diagnostic::error(
                    Code::FieldClash,
                    format!(
                        "derived field `{}` clashes with a field of {other}",
                        field.name.value
                    ),
                )
                .with_label(field.name.span, "declared in `derive`")
                .with_label(*span, format!("already declared by {other}"))
                .with_help("derived fields join the record's fields: rename one of them"),
            );
        } else {
            field_owner.insert(&field.name.value, (field.name.span, "`derive`".to_owned()));
        }
        all.push(&field.name.value);
    }
    let mut refer = |field: &Spanned<String>, what: &str| {
        if !all.contains(&field.value.as_str()) {
            found.push(unknown_field(field, what, &all));
        }
    };
    for filter in &pipeline.filters {
        refer(&filter.field, "`filter`");
    }
    if let Some(filter) = &pipeline.lifecycle.remove_when {
        refer(&filter.field, "`remove-when`");
    }
    for binding in &pipeline.identity {
        refer(&binding.field, "`identity`");
    }
    for role in &pipeline.roles {
        for value in [
            &role.affiliation,
            &role.ou,
            &role.title,
            &role.valid_from,
            &role.valid_until,
        ]
        .into_iter()
        .flatten()
        {
            if let Value::Field(field) = value {
                refer(field, "`role`");
            }
        }
        for relation in [&role.manager, &role.sponsor].into_iter().flatten() {
            refer(&relation.field, "`role`");
        }
    }
    for sink in &pipeline.sinks {
        match &sink.kind {
            SinkKind::Csv(csv) => csv.columns.iter().for_each(|(_, f)| refer(f, "a `column`")),
            SinkKind::Json { fields } => fields.iter().for_each(|f| refer(f, "`fields`")),
            SinkKind::Jsonl => {}
            SinkKind::Actions(actions) => {
                actions
                    .fields
                    .iter()
                    .for_each(|(_, f)| refer(f, "a sink `field`"));
                if let Some(groups) = &actions.groups {
                    refer(groups, "`groups`");
                }
            }
        }
    }

    // `match email|identifier TYPE`: the type must be bound in `identity`.
    let wanted = match &pipeline.matching.strategy {
        MatchStrategy::Email { type_name } => Some((IdentityKind::Email, type_name, "email")),
        MatchStrategy::Identifier { type_name } => {
            Some((IdentityKind::Identifier, type_name, "identifier"))
        }
        _ => None,
    };
    if let Some((kind, type_name, word)) = wanted {
        let bound: Vec<&str> = pipeline
            .identity
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.type_name.value.as_str())
            .collect();
        if !bound.contains(&type_name.value.as_str()) {
            let help = match suggest::did_you_mean(&type_name.value, bound.iter().copied()) {
                Some(best) => format!(
                    "did you mean `{best}`? (or bind it: `identity {{ {word} {} FIELD }}`)",
                    type_name.value
                ),
                None => format!(
                    "bind it in `identity`: `identity {{ {word} {} FIELD }}`",
                    type_name.value
                ),
            };
            found.push(
                Diagnostic::error(
                    Code::UnboundIdentityType,
                    format!(
                        "`match {word} {}` uses a type that `identity` does not bind",
                        type_name.value
                    ),
                )
                .with_label(
                    type_name.span,
                    format!("no `{word} {} ...` in `identity`", type_name.value),
                )
                .with_help(help),
            );
        }
    }

    // Two sinks writing one file would each overwrite the other on every run.
    let mut sink_paths: HashMap<PathBuf, Span> = HashMap::new();
    for sink in &pipeline.sinks {
        let file: PathBuf = Path::new(&sink.path.value)
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect();
        if let Some(first) = sink_paths.insert(file, sink.path.span) {
            found.push(
                Diagnostic::error(
                    Code::DuplicateSinkPath,
                    format!("two sinks write `{}`", sink.path.value),
                )
                .with_label(sink.path.span, "written again here")
                .with_label(first, "first written here")
                .with_help("give each sink a file of its own"),
            );
        }
    }
    found
}

/// The diagnostic for a reference to a field that is not declared.
fn unknown_field(field: &Spanned<String>, what: &str, known: &[&str]) -> Diagnostic {
    Diagnostic::error(
        Code::UnknownField,
        format!(
            "{what} uses `{}`, which the mapping does not declare",
            field.value
        ),
    )
    .with_label(field.span, "unknown field")
    .with_help(suggest::help_for(&field.value, "declared fields", known))
}

/// Reports pipeline names used more than once, across all files checked
/// together. `pipelines` pairs each pipeline with its file.
pub fn check_unique_names(pipelines: &[(&Pipeline, &Arc<SourceFile>)]) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, (&Pipeline, &Arc<SourceFile>)> = HashMap::new();
    let mut found = Vec::new();
    for (pipeline, file) in pipelines {
        let name = pipeline.name.value.as_str();
        let Some((earlier, earlier_file)) = first.get(name) else {
            first.insert(name, (pipeline, file));
            continue;
        };
        let mut diagnostic = Diagnostic::error(
            Code::DuplicatePipeline,
            format!("pipeline `{name}` is declared twice"),
        )
        .with_label(pipeline.name.span, "declared again here")
        .with_help("pipeline names must be unique across all files validated together: rename one")
        .in_file(file);
        // miette labels point into one file; the first place in another file
        // becomes a related note with its own source.
        if Arc::ptr_eq(file, earlier_file) {
            diagnostic = diagnostic.with_label(earlier.name.span, "first declared here");
        } else {
            diagnostic = diagnostic.with_related(
                Diagnostic {
                    severity: miette::Severity::Advice,
                    ..Diagnostic::error(
                        Code::DuplicatePipeline,
                        format!("pipeline `{name}` is first declared here"),
                    )
                }
                .with_label(earlier.name.span, "first declared here")
                .in_file(earlier_file),
            );
        }
        found.push(diagnostic);
    }
    found
}
