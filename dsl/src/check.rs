//! Cross-reference checks on lowered pipelines: every field a pipeline
//! names exists, lookups do not clash, matched identity types are bound,
//! and pipeline names are unique across files.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Absent, Actions, Field, IdentityKind, Lookup, MatchStrategy, Origin, Otherwise, PathSegment,
    Pipeline, Role, Sink, SinkKind, Span, Spanned, TargetKind, Transform, Value,
};
use crate::source_file::SourceFile;
use crate::suggest;

/// Every cross-reference problem in one pipeline (spans point into its file).
pub fn check_pipeline(pipeline: &Pipeline) -> Vec<Diagnostic> {
    let mut checker = Checker::new(pipeline);
    checker.check_key();
    checker.check_lookups();
    checker.check_derived();
    checker.check_references();
    checker.check_match();
    checker.check_sink_paths();
    checker.check_actions();
    checker.check_targets();
    checker.found
}

/// One pipeline's cross-reference analysis: each `check_*` method covers one
/// part of the language and adds what it finds, in file order.
struct Checker<'a> {
    pipeline: &'a Pipeline,
    /// The fields of the pipeline's own `map`.
    main: Vec<&'a str>,
    /// Every field of the joined record declared so far: `map`, then each
    /// lookup's, then `derive`'s.
    all: Vec<&'a str>,
    /// Which part of the pipeline first declared each field name.
    field_owner: HashMap<&'a str, (Span, String)>,
    found: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn new(pipeline: &'a Pipeline) -> Self {
        let main: Vec<&str> = pipeline
            .fields
            .iter()
            .map(|f| f.name.value.as_str())
            .collect();
        let field_owner = pipeline
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.value.as_str(),
                    (f.name.span, "the pipeline's `map`".to_owned()),
                )
            })
            .collect();
        Checker {
            pipeline,
            all: main.clone(),
            main,
            field_owner,
            found: Vec::new(),
        }
    }

    /// `key`: a field of the pipeline's own mapping, best `required`.
    fn check_key(&mut self) {
        let pipeline = self.pipeline;
        match pipeline.field(&pipeline.key.value) {
            Some(field) if !field.required => self.found.push(
                Diagnostic::warning(Code::KeyNotRequired, format!("the key field `{}` is not required", field.name.value))
                    .with_label(pipeline.key.span, "the key")
                    .with_label(field.name.span, "declared here without `required=#true`")
                    .with_help("add `required=#true` to the field, so a record without a key is invalid instead of unkeyed"),
            ),
            Some(_) => {}
            None => self.found.push(unknown_field(&pipeline.key, "`key`", &self.main)),
        }
    }

    /// Lookups: unique names, their own `key`, the pipeline's `on`, no
    /// clashes; their fields then join the record's.
    fn check_lookups(&mut self) {
        let pipeline = self.pipeline;
        let mut lookup_names: HashMap<&str, Span> = HashMap::new();
        for lookup in &pipeline.lookups {
            if let Some(first) = lookup_names.insert(&lookup.name.value, lookup.name.span) {
                self.found.push(
                    Diagnostic::error(
                        Code::DuplicateLookup,
                        format!("lookup `{}` is declared twice", lookup.name.value),
                    )
                    .with_label(lookup.name.span, "declared again here")
                    .with_label(first, "first declared here")
                    .with_help("give each lookup its own name"),
                );
            }
            self.check_lookup_join(lookup);
            let owner = format!("lookup `{}`", lookup.name.value);
            for field in &lookup.fields {
                self.claim(
                    &field.name,
                    &owner,
                    "lookup",
                    format!("declared by {owner}"),
                );
            }
        }
        self.all.extend(
            pipeline
                .lookups
                .iter()
                .flat_map(|l| l.fields.iter().map(|f| f.name.value.as_str())),
        );
    }

    /// A lookup's `key` is one of its own fields; its `on` one of the
    /// pipeline's `map`.
    fn check_lookup_join(&mut self, lookup: &'a Lookup) {
        let own: Vec<&str> = lookup
            .fields
            .iter()
            .map(|f| f.name.value.as_str())
            .collect();
        if !own.contains(&lookup.key.value.as_str()) {
            self.found.push(unknown_field(
                &lookup.key,
                &format!("the `key` of lookup `{}`", lookup.name.value),
                &own,
            ));
        }
        if !self.main.contains(&lookup.on.value.as_str()) {
            self.found.push(unknown_field(
                &lookup.on,
                &format!("the `on` of lookup `{}`", lookup.name.value),
                &self.main,
            ));
        }
    }

    /// Records `name` as declared by `owner`, or reports the clash with the
    /// part that declared it first (`what` is `lookup` or `derived`).
    fn claim(&mut self, name: &'a Spanned<String>, owner: &str, what: &str, label: String) {
        if let Some((span, other)) = self.field_owner.get(name.value.as_str()) {
            self.found.push(
                Diagnostic::error(
                    Code::FieldClash,
                    format!(
                        "{what} field `{}` clashes with a field of {other}",
                        name.value
                    ),
                )
                .with_label(name.span, label)
                .with_label(*span, format!("already declared by {other}"))
                .with_help(format!(
                    "{what} fields join the record's fields: rename one of them"
                )),
            );
        } else {
            self.field_owner
                .insert(&name.value, (name.span, owner.to_owned()));
        }
    }

    /// `derive` reads the joined record: its paths start with a field of the
    /// pipeline, a lookup or an earlier derived field, and its names are new.
    fn check_derived(&mut self) {
        let pipeline = self.pipeline;
        for field in &pipeline.derived {
            if let Origin::Path(path) = &field.origin
                && let Some(PathSegment::Key(first)) = path.first()
                && !self.all.contains(&first.as_str())
            {
                self.found.push(unknown_field(
                    &Spanned::new(first.clone(), field.name.span),
                    &format!("derived field `{}`", field.name.value),
                    &self.all,
                ));
            }
            self.claim(
                &field.name,
                "`derive`",
                "derived",
                "declared in `derive`".to_owned(),
            );
            self.all.push(&field.name.value);
        }
    }

    /// Reports `field` unless the joined record declares it.
    fn refer(&mut self, field: &Spanned<String>, what: &str) {
        if !self.all.contains(&field.value.as_str()) {
            self.found.push(unknown_field(field, what, &self.all));
        }
    }

    /// Filters, `remove-when`, `identity`, roles and sinks name fields of
    /// the joined record.
    fn check_references(&mut self) {
        let pipeline = self.pipeline;
        for filter in &pipeline.filters {
            self.refer(&filter.field, "`filter`");
        }
        for filter in &pipeline.lifecycle.remove_when {
            self.refer(&filter.field, "`remove-when`");
        }
        for filter in &pipeline.lifecycle.known_when {
            self.refer(&filter.field, "`known-when`");
        }
        if let Some(actions) = &pipeline.lifecycle.actions {
            self.refer(&actions.field, "`actions`");
        }
        for binding in &pipeline.identity {
            self.refer(&binding.field, "`identity`");
        }
        for role in &pipeline.roles {
            self.check_role(role);
        }
        for sink in &pipeline.sinks {
            self.check_sink_fields(sink);
        }
    }

    /// A role's values and relations that read fields. Each of them takes
    /// one value: a field that gives a list is an error, except the field
    /// of `each`, which gives one role per value.
    fn check_role(&mut self, role: &Role) {
        let each = role.each.as_ref().map(|e| &e.field);
        if let Some(field) = each {
            self.refer(field, "`each`");
        }
        if let Some(status) = &role.status {
            self.refer(&status.field, "`status`");
            self.single_value(&status.field, "`status`", each);
        }
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
                self.refer(field, "`role`");
                self.single_value(field, "a `role` attribute", each);
            }
        }
        for relation in [&role.manager, &role.sponsor].into_iter().flatten() {
            self.refer(&relation.field, "`role`");
            self.single_value(&relation.field, "a `role` link", each);
        }
    }

    /// Reports a role attribute reading a field whose transforms make it a
    /// list: the role would otherwise keep one value of several.
    fn single_value(
        &mut self,
        field: &Spanned<String>,
        what: &str,
        each: Option<&Spanned<String>>,
    ) {
        if each.is_some_and(|e| e.value == field.value) || !self.gives_list(&field.value) {
            return;
        }
        let mut diagnostic = Diagnostic::error(
            Code::ListInRole,
            format!("{what} reads `{}`, which gives a list", field.value),
        )
        .with_label(field.span, "one value is expected here");
        if let Some(declared) = self.field_owner.get(field.value.as_str()) {
            diagnostic = diagnostic.with_label(declared.0, "a list: see its transforms");
        }
        self.found.push(diagnostic.with_help(format!(
            "give one role per value with `each {}` in this `role`, or make it one value (`first`, `join \",\"`)",
            field.value
        )));
    }

    /// Whether a field of the joined record certainly holds a list: a
    /// `many` lookup's, or one whose last shaping transform makes one.
    fn gives_list(&self, name: &str) -> bool {
        let pipeline = self.pipeline;
        if let Some(lookup) = pipeline
            .lookups
            .iter()
            .find(|l| l.fields.iter().any(|f| f.name.value == name))
        {
            return lookup.many || lookup_field_lists(lookup, name);
        }
        pipeline
            .fields
            .iter()
            .chain(&pipeline.derived)
            .find(|f| f.name.value == name)
            .is_some_and(transforms_give_list)
    }

    /// The fields a sink writes.
    fn check_sink_fields(&mut self, sink: &Sink) {
        match &sink.kind {
            SinkKind::Csv(csv) => csv
                .columns
                .iter()
                .for_each(|(_, f)| self.refer(f, "a `column`")),
            SinkKind::Json { fields } => fields.iter().for_each(|f| self.refer(f, "`fields`")),
            SinkKind::Jsonl => {}
            SinkKind::Actions(actions) => {
                actions
                    .fields
                    .iter()
                    .for_each(|(_, f)| self.refer(f, "a sink `field`"));
                if let Some(groups) = &actions.groups {
                    self.refer(groups, "`groups`");
                }
            }
        }
    }

    /// Targets: names unique, the fields they read declared, `adopt-by`
    /// one the kind knows, templates naming only what they can fill.
    fn check_targets(&mut self) {
        let pipeline = self.pipeline;
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for target in &pipeline.targets {
            if let Some(first) = seen.insert(target.name.value.as_str(), target.name.span) {
                self.found.push(
                    Diagnostic::error(
                        Code::DuplicateNode,
                        format!("target `{}` is declared twice", target.name.value),
                    )
                    .with_label(target.name.span, "declared again here")
                    .with_label(first, "first declared here")
                    .with_help(
                        "give each target its own name: the outbox and ownership are kept per name",
                    ),
                );
            }
            for (_, field) in &target.attributes {
                self.refer(field, "a target `attribute`");
            }
            match &target.kind {
                TargetKind::Scim(scim) => {
                    self.refer(&scim.user_name, "`user-name`");
                    if let Some(adopt) = &target.adopt_by
                        && !matches!(adopt.value.as_str(), "user-name" | "external-id")
                    {
                        self.found.push(
                            Diagnostic::error(
                                Code::InvalidValue,
                                format!("a SCIM target adopts by `user-name` or `external-id`, not `{}`", adopt.value),
                            )
                            .with_label(adopt.span, "not a SCIM match")
                            .with_help("write `adopt-by user-name` (or `external-id`), or leave it out to touch only what rollcall created"),
                        );
                    }
                }
                TargetKind::Ldap(ldap) => {
                    let mut known: Vec<&str> = self.all.clone();
                    known.push("scope");
                    self.check_placeholders(&ldap.person_dn, "`person-dn`", &known);
                }
            }
            if let Some(groups) = &target.groups {
                let known = ["affiliation", "ou", "title", "scope"];
                self.check_placeholders(&groups.name, "`groups-from-roles`", &known);
            }
        }
    }

    /// Every `{NAME}` of a target template is one of `known`.
    fn check_placeholders(&mut self, template: &Spanned<String>, what: &str, known: &[&str]) {
        let mut rest = template.value.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                self.found.push(
                    Diagnostic::error(
                        Code::InvalidTemplate,
                        format!("{what} has an unclosed `{{`"),
                    )
                    .with_label(template.span, "unclosed `{`")
                    .with_help("close each `{NAME}`"),
                );
                return;
            };
            let name = &rest[open + 1..open + close];
            if !known.contains(&name) {
                self.found.push(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("{what} uses `{{{name}}}`, which it cannot fill"),
                    )
                    .with_label(template.span, "unknown placeholder")
                    .with_help(suggest::help_for(name, "placeholders", known)),
                );
            }
            rest = &rest[open + close + 1..];
        }
    }

    /// `match email|identifier TYPE`: the type must be bound in `identity`.
    fn check_match(&mut self) {
        let pipeline = self.pipeline;
        let (kind, type_name, word) = match &pipeline.matching.strategy {
            MatchStrategy::Email { type_name } => (IdentityKind::Email, type_name, "email"),
            MatchStrategy::Identifier { type_name } => {
                (IdentityKind::Identifier, type_name, "identifier")
            }
            _ => return,
        };
        let bound: Vec<&str> = pipeline
            .identity
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.type_name.value.as_str())
            .collect();
        if bound.contains(&type_name.value.as_str()) {
            return;
        }
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
        self.found.push(
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

    /// Two sinks writing one file would each overwrite the other on every run.
    fn check_sink_paths(&mut self) {
        let mut sink_paths: HashMap<PathBuf, Span> = HashMap::new();
        for sink in &self.pipeline.sinks {
            let file: PathBuf = Path::new(&sink.path.value)
                .components()
                .filter(|c| !matches!(c, Component::CurDir))
                .collect();
            if let Some(first) = sink_paths.insert(file, sink.path.span) {
                self.found.push(
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
    }
}

impl Checker<'_> {
    /// An action column: no lifecycle setting that contradicts it, each
    /// value meaning one action, and every value one the field can give.
    fn check_actions(&mut self) {
        let lifecycle = &self.pipeline.lifecycle;
        let Some(actions) = &lifecycle.actions else {
            return;
        };
        if let Some(span) = lifecycle.absent_span
            && lifecycle.absent == Absent::Remove
        {
            self.found.push(
                Diagnostic::error(
                    Code::ActionsContradiction,
                    "an action column and `absent remove` contradict each other",
                )
                .with_label(span, "says a key missing from the extract is removed")
                .with_label(actions.span, "says the extract holds changes only")
                .with_help("a file of actions mentions only the keys it changes: remove `absent remove` (or write `absent keep`)"),
            );
        }
        for (test, name) in lifecycle
            .remove_when
            .iter()
            .map(|t| (t, "remove-when"))
            .chain(lifecycle.known_when.iter().map(|t| (t, "known-when")))
        {
            self.found.push(
                Diagnostic::error(
                    Code::ActionsContradiction,
                    format!("`{name}` beside an action column"),
                )
                .with_label(test.span, format!("`{name}` decides per record too"))
                .with_label(actions.span, "the action column decides what each row does")
                .with_help("say it with the action column: `delete` removes a key, and `unknown-key error` refuses a modify or delete of a key that is not present"),
            );
        }
        self.check_action_values(actions);
    }

    /// Each action value once, and (when the field's last transform is a
    /// `values` table that replaces every value) one the table gives.
    fn check_action_values(&mut self, actions: &Actions) {
        let mut seen: HashMap<&str, (Span, &str)> = HashMap::new();
        let declared = [
            ("add", &actions.add),
            ("modify", &actions.modify),
            ("delete", &actions.delete),
        ];
        let given = self.table_outputs(&actions.field.value);
        for (action, values) in declared {
            for value in values {
                if let Some((first, other)) =
                    seen.insert(value.value.as_str(), (value.span, action))
                {
                    self.found.push(
                        Diagnostic::error(
                            Code::DuplicateActionValue,
                            format!(
                                "the value {:?} is declared for `{other}` and `{action}`",
                                value.value
                            ),
                        )
                        .with_label(value.span, format!("declared for `{action}` here"))
                        .with_label(first, format!("first declared for `{other}` here"))
                        .with_help("a row does one thing: give each value to one action"),
                    );
                }
                if let Some((field_span, outputs)) = &given
                    && !outputs.contains(&value.value)
                {
                    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
                    self.found.push(
                        Diagnostic::error(
                            Code::UnreachableActionValue,
                            format!(
                                "`{action} {:?}`: field `{}` never gives this value",
                                value.value, actions.field.value
                            ),
                        )
                        .with_label(value.span, "never given")
                        .with_label(*field_span, "its `values` table replaces every value")
                        .with_help(suggest::help_for(
                            &value.value,
                            "action values are matched after the field's mapping; it gives",
                            &names,
                        )),
                    );
                }
            }
        }
    }

    /// The values a field can give when its last transform is a `values`
    /// table that replaces every value (`otherwise=error`, `null` or a
    /// default), with the field's span; `None` when it may keep others.
    fn table_outputs(&self, name: &str) -> Option<(Span, Vec<String>)> {
        let field = self
            .pipeline
            .fields
            .iter()
            .chain(&self.pipeline.derived)
            .find(|f| f.name.value == name)?;
        let Transform::Values { table, otherwise } = &field.transforms.last()?.value else {
            return None;
        };
        let text = |value: &serde_json::Value| match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut outputs: Vec<String> = table.iter().map(|(_, to)| text(to)).collect();
        match otherwise {
            Otherwise::Keep => return None,
            Otherwise::Value(value) => outputs.push(text(value)),
            Otherwise::Null | Otherwise::Error => {}
        }
        outputs.dedup();
        Some((field.name.span, outputs))
    }
}

fn lookup_field_lists(lookup: &Lookup, name: &str) -> bool {
    lookup
        .fields
        .iter()
        .find(|f| f.name.value == name)
        .is_some_and(transforms_give_list)
}

/// Whether a field's transforms leave a list: the last of them that shapes
/// the value (`split`, `pluck` make a list; `first`, `join`, `contains` one value).
fn transforms_give_list(field: &Field) -> bool {
    field
        .transforms
        .iter()
        .rev()
        .find_map(|t| match t.value {
            Transform::Split { .. } | Transform::Pluck { .. } => Some(true),
            Transform::First | Transform::Join { .. } | Transform::Contains { .. } => Some(false),
            _ => None,
        })
        .unwrap_or(false)
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
