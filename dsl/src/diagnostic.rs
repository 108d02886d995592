//! The diagnostics every stage reports: a stable code, a severity, a message,
//! labelled spans in one file, help that says how to fix it, and related
//! diagnostics for places in other files.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, Severity};

use crate::model::Span;
use crate::source_file::{Position, SourceFile};

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal, $summary:literal;)*) => {
        /// A diagnostic's stable code; tools and tests may rely on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as written in output, e.g. `rollcall::unknown-node`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    /// The file is not valid KDL v2.
    Syntax => "rollcall::syntax", "the file is not valid KDL v2";
    /// Blocks nested deeper than the parser reads.
    TooDeep => "rollcall::too-deep", "blocks nested more than 64 deep";
    /// A file or folder could not be read.
    Io => "rollcall::io", "a file or folder could not be read";
    /// A folder holds no pipeline files.
    NoFiles => "rollcall::no-files", "no `.kdl` files were found";
    /// A file declares no pipeline.
    NoPipeline => "rollcall::no-pipeline", "a file declares no `pipeline`";
    /// A node name the language does not know in this place.
    UnknownNode => "rollcall::unknown-node", "a node the language does not know here";
    /// A property the node does not take.
    UnknownProperty => "rollcall::unknown-property", "a property the node does not take";
    /// More arguments than the node takes.
    UnexpectedArgument => "rollcall::unexpected-argument", "more arguments than the node takes";
    /// A children block on a node that takes none.
    UnexpectedChildren => "rollcall::unexpected-children", "a `{ ... }` block on a node that takes none";
    /// A required child node is missing.
    MissingNode => "rollcall::missing-node", "a required child node is missing";
    /// A required argument is missing.
    MissingArgument => "rollcall::missing-argument", "a required argument is missing";
    /// A required property is missing.
    MissingProperty => "rollcall::missing-property", "a required property is missing";
    /// A value of the wrong type (a number where text belongs, ...).
    WrongType => "rollcall::wrong-type", "a value of the wrong type";
    /// A value that is not one of the allowed words or forms.
    InvalidValue => "rollcall::invalid-value", "a value that is not one of the allowed ones";
    /// A name with characters names may not hold.
    InvalidName => "rollcall::invalid-name", "a name with characters other than letters, digits, `-`, `_`, `.`";
    /// A node written twice where only one is allowed.
    DuplicateNode => "rollcall::duplicate-node", "a node written twice where only one is allowed";
    /// A property written twice on one node.
    DuplicateProperty => "rollcall::duplicate-property", "a property written twice on one node";
    /// Two pipelines with one name.
    DuplicatePipeline => "rollcall::duplicate-pipeline", "two pipelines with one name";
    /// Two fields with one name in a mapping.
    DuplicateField => "rollcall::duplicate-field", "two fields with one name";
    /// Two lookups with one name in a pipeline.
    DuplicateLookup => "rollcall::duplicate-lookup", "two lookups with one name";
    /// Properties or arguments that exclude each other.
    Conflict => "rollcall::conflict", "arguments or properties that exclude each other";
    /// A child or property that does not apply to this kind.
    NotApplicable => "rollcall::not-applicable", "a setting that does not apply to this kind of source or sink";
    /// A reference to a field the mapping does not declare.
    UnknownField => "rollcall::unknown-field", "a reference to a field the mapping does not declare";
    /// A template that uses a field declared after it.
    TemplateForwardReference => "rollcall::template-forward-reference", "a template uses a field declared after it";
    /// A template that is not well formed.
    InvalidTemplate => "rollcall::invalid-template", "a template with an unclosed or empty `{...}`";
    /// A lookup field with the name of another field.
    FieldClash => "rollcall::field-clash", "a lookup field has the name of another field";
    /// A `match` type that `identity` does not bind.
    UnboundIdentityType => "rollcall::unbound-identity-type", "a `match` type that `identity` does not bind";
    /// A role attribute reading a field that gives a list.
    ListInRole => "rollcall::list-in-role", "a role attribute reads a field that gives a list (use `each`)";
    /// Two sinks of a pipeline writing the same file.
    DuplicateSinkPath => "rollcall::duplicate-sink-path", "two sinks writing one file";
    /// A sink writing a file the pipeline reads (its source, a lookup, the pipeline file).
    SinkOverwritesInput => "rollcall::sink-overwrites-input", "a sink writing a file the pipeline reads";
    /// The `schema` file does not exist.
    SchemaNotFound => "rollcall::schema-not-found", "the `schema` file does not exist";
    /// The `schema` file is not a JSON Schema that compiles.
    SchemaInvalid => "rollcall::schema-invalid", "the `schema` file is not a JSON Schema that compiles";
    /// A regular expression that does not compile.
    InvalidRegex => "rollcall::invalid-regex", "a regular expression that does not compile";
    /// A `date` pattern with a `%` specifier chrono does not know.
    InvalidDatePattern => "rollcall::invalid-date-pattern", "a `date` pattern with an unknown or incomplete `%` specifier";
    /// A duration that is not `<number><unit>...`.
    InvalidDuration => "rollcall::invalid-duration", "a duration that is not like \"90d\" or \"1d12h\"";
    /// A number outside its allowed range.
    OutOfRange => "rollcall::out-of-range", "a number outside its allowed range";
    /// `(env)` where the value cannot come from the environment.
    EnvNotAllowed => "rollcall::env-not-allowed", "`(env)` on a value that cannot come from the environment";
    /// A type annotation other than `(env)`.
    UnknownTypeAnnotation => "rollcall::unknown-type-annotation", "a type annotation other than `(env)`";
    /// A CSV delimiter or quote that is not one ASCII character.
    InvalidCsvCharacter => "rollcall::invalid-csv-character", "a CSV delimiter or quote that is not one ASCII character";
    /// `header=#false` without `columns`.
    MissingColumns => "rollcall::missing-columns", "a CSV source without a header row needs `columns`";
    /// A secret written in the file instead of read from the environment.
    InlineSecret => "rollcall::inline-secret", "a secret written in the file instead of `(env)\"NAME\"`";
    /// An action column beside a lifecycle setting that says otherwise.
    ActionsContradiction => "rollcall::actions-contradiction", "an action column beside `absent remove`, `remove-when` or `known-when`";
    /// One value declared for two actions, or twice.
    DuplicateActionValue => "rollcall::duplicate-action-value", "one value declared for two actions";
    /// An action value the field's `values` table can never give.
    UnreachableActionValue => "rollcall::unreachable-action-value", "an action value the field's `values` table never gives";
    /// The `key` field is not `required=#true` (a warning).
    KeyNotRequired => "rollcall::key-not-required", "the `key` field should be `required=#true`";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span in the file with the text shown beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is said about it.
    pub text: String,
}

/// One problem found in a pipeline file (or with the files themselves).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Error, warning or advice.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Labelled spans; the first is the primary one.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// Places in other files (a duplicate's first definition, ...).
    pub related: Vec<Diagnostic>,
    /// The file the spans point into, when there is one.
    pub file: Option<Arc<SourceFile>>,
}

impl Diagnostic {
    /// A new error with a code and message and nothing else.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            related: Vec::new(),
            file: None,
        }
    }

    /// A new warning: reported, but the pipeline stays valid.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds a labelled span (the first one added is the primary one).
    pub fn with_label(mut self, span: impl Into<Span>, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span: span.into(),
            text: text.into(),
        });
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a related diagnostic, e.g. the other place in another file.
    pub fn with_related(mut self, related: Diagnostic) -> Self {
        self.related.push(related);
        self
    }

    /// Attaches the file the spans point into (unless one is already set).
    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        if self.file.is_none() {
            self.file = Some(Arc::clone(file));
        }
        self
    }

    /// Whether this diagnostic makes the pipelines invalid.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary label, if any.
    pub fn primary(&self) -> Option<&Label> {
        self.labels.first()
    }

    /// 1-based line/column range of the primary label, for JSON output.
    pub fn position(&self) -> Option<Position> {
        let file = self.file.as_ref()?;
        let label = self.primary()?;
        Some(file.position(label.span.offset, label.span.len))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.file
            .as_ref()
            .map(|file| file.named_source() as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        // Spans are meaningless without the text they point into.
        self.file.as_ref()?;
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, label)| {
                let text = (!label.text.is_empty()).then(|| label.text.clone());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, label.span)
                } else {
                    LabeledSpan::new_with_span(text, label.span)
                }
            },
        )))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(code.as_str().starts_with("rollcall::"), "{code}");
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(!code.summary().is_empty());
        }
    }

    #[test]
    fn every_code_is_documented_in_the_language_reference() {
        let reference = include_str!("../LANGUAGE.md");
        for code in Code::ALL {
            assert!(
                reference.contains(&format!("`{code}`")),
                "{code} is not in LANGUAGE.md"
            );
        }
    }
}
