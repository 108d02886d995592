//! The lowering's reading helpers: they read a node's arguments,
//! properties, children and values, and report (never stop at) everything
//! that does not fit, so one pass finds every error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::format::StrftimeItems;
use kdl::{KdlEntry, KdlNode, KdlValue};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Duration, Setting, Span, Spanned};
use crate::source_file::SourceFile;
use crate::suggest;
use crate::values;

/// State of one file's lowering: the file, its folder, and the diagnostics
/// found so far.
pub(crate) struct Cx {
    /// The file being lowered.
    pub file: Arc<SourceFile>,
    /// The folder relative paths are resolved against.
    pub base_dir: PathBuf,
    /// Everything reported so far.
    pub diagnostics: Vec<Diagnostic>,
}

/// A node's properties by name, after unknown and repeated ones were reported.
pub(crate) struct Props<'a> {
    by_name: HashMap<&'a str, &'a KdlEntry>,
}

impl<'a> Props<'a> {
    /// The property called `name`, if written.
    pub fn get(&self, name: &str) -> Option<&'a KdlEntry> {
        self.by_name.get(name).copied()
    }
}

/// The span of a node's name: the place to point at for the node itself.
pub(crate) fn name_span(node: &KdlNode) -> Span {
    node.name().span().into()
}

/// The span of an entry (`value` or `name=value`).
pub(crate) fn entry_span(entry: &KdlEntry) -> Span {
    entry.span().into()
}

/// The node's name.
pub(crate) fn node_name(node: &KdlNode) -> &str {
    node.name().value()
}

/// What a KDL value is called in messages.
fn type_name(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

/// Whether the entry is written `(env)"NAME"`.
pub(crate) fn is_env(entry: &KdlEntry) -> bool {
    entry.ty().is_some_and(|ty| ty.value() == "env")
}

impl Cx {
    /// A lowering context for one file.
    pub fn new(file: Arc<SourceFile>, base_dir: PathBuf) -> Self {
        Cx {
            file,
            base_dir,
            diagnostics: Vec::new(),
        }
    }

    /// Records a diagnostic.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The node's positional arguments, reporting fewer than `min` or more
    /// than `max`. `usage` is the node's form, e.g. "`pick newest|only`".
    pub fn args<'a>(
        &mut self,
        node: &'a KdlNode,
        min: usize,
        max: Option<usize>,
        usage: &str,
    ) -> Vec<&'a KdlEntry> {
        let args: Vec<&KdlEntry> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect();
        let name = node_name(node);
        if args.len() < min {
            let missing = if min == 1 {
                "an argument".to_owned()
            } else {
                format!("{min} arguments")
            };
            self.report(
                Diagnostic::error(Code::MissingArgument, format!("`{name}` needs {missing}"))
                    .with_label(name_span(node), format!("{} given", args.len()))
                    .with_help(format!("write it as {usage}")),
            );
        }
        if let Some(max) = max {
            for extra in args.iter().skip(max) {
                self.report(
                    Diagnostic::error(
                        Code::UnexpectedArgument,
                        format!("`{name}` takes {}", count_phrase(max, "argument")),
                    )
                    .with_label(entry_span(extra), "unexpected argument")
                    .with_help(format!("remove it; the form is {usage}")),
                );
            }
        }
        args
    }

    /// The node's properties, reporting ones not in `allowed` (with a
    /// suggestion) and ones written twice. `what` names the node in messages.
    pub fn props<'a>(&mut self, node: &'a KdlNode, allowed: &[&str], what: &str) -> Props<'a> {
        let mut by_name: HashMap<&str, &KdlEntry> = HashMap::new();
        for entry in node.entries() {
            let Some(name) = entry.name() else { continue };
            let key = name.value();
            if !allowed.contains(&key) {
                let help = if allowed.is_empty() {
                    format!("{what} takes no properties; remove `{key}=`")
                } else {
                    suggest::help_for(key, &format!("properties of {what}"), allowed)
                };
                self.report(
                    Diagnostic::error(
                        Code::UnknownProperty,
                        format!("unknown property `{key}` on {what}"),
                    )
                    .with_label(Span::from(name.span()), "unknown property")
                    .with_help(help),
                );
                continue;
            }
            if let Some(first) = by_name.insert(key, entry) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateProperty,
                        format!("property `{key}` is written twice on {what}"),
                    )
                    .with_label(entry_span(entry), "written again here")
                    .with_label(entry_span(first), "first written here")
                    .with_help(format!("keep one `{key}=`")),
                );
            }
        }
        Props { by_name }
    }

    /// Reports a `{ ... }` block on a node that takes none.
    pub fn no_children(&mut self, node: &KdlNode) {
        if let Some(children) = node.children() {
            let name = node_name(node);
            self.report(
                Diagnostic::error(
                    Code::UnexpectedChildren,
                    format!("`{name}` takes no `{{ ... }}` block"),
                )
                .with_label(Span::from(children.span()), "unexpected block")
                .with_help(format!("remove the block after `{name}`")),
            );
        }
    }

    /// The node's children, reporting any whose name is not in `allowed`.
    /// Only known children are returned.
    pub fn children<'a>(&mut self, node: &'a KdlNode, allowed: &[&str]) -> Vec<&'a KdlNode> {
        let parent = node_name(node);
        let mut known = Vec::new();
        for child in node.iter_children() {
            let name = node_name(child);
            if allowed.contains(&name) {
                known.push(child);
            } else {
                self.unknown_node(child, &format!("`{parent}`"), allowed);
            }
        }
        known
    }

    /// Reports a node that is not one of `allowed` inside `parent`.
    pub fn unknown_node(&mut self, node: &KdlNode, parent: &str, allowed: &[&str]) {
        let name = node_name(node);
        self.report(
            Diagnostic::error(
                Code::UnknownNode,
                format!("unknown node `{name}` in {parent}"),
            )
            .with_label(name_span(node), "unknown node")
            .with_help(suggest::help_for(
                name,
                &format!("allowed in {parent}"),
                allowed,
            )),
        );
    }

    /// The only child called `name`, reporting every repetition with both places.
    pub fn single<'a>(&mut self, children: &[&'a KdlNode], name: &str) -> Option<&'a KdlNode> {
        let mut found = children.iter().copied().filter(|c| node_name(c) == name);
        let first = found.next()?;
        for again in found {
            self.report(
                Diagnostic::error(Code::DuplicateNode, format!("`{name}` is written twice"))
                    .with_label(name_span(again), "written again here")
                    .with_label(name_span(first), "first written here")
                    .with_help(format!("only one `{name}` is allowed here; remove one")),
            );
        }
        Some(first)
    }

    /// Every child called `name`.
    pub fn all<'a>(children: &[&'a KdlNode], name: &str) -> Vec<&'a KdlNode> {
        children
            .iter()
            .copied()
            .filter(|c| node_name(c) == name)
            .collect()
    }

    /// Reports a missing required child of `parent`.
    pub fn missing_node(&mut self, parent: &KdlNode, name: &str, usage: &str) {
        // A misspelt child (`fromat`) is already reported with "did you
        // mean `format`?"; saying `format` is missing too would be noise.
        let misspelt = parent
            .iter_children()
            .any(|child| suggest::did_you_mean(node_name(child), [name]).is_some());
        if misspelt {
            return;
        }
        let parent_name = node_name(parent);
        self.report(
            Diagnostic::error(
                Code::MissingNode,
                format!("`{parent_name}` has no `{name}`"),
            )
            .with_label(name_span(parent), format!("`{name}` is required here"))
            .with_help(format!("add {usage} inside `{parent_name} {{ ... }}`")),
        );
    }

    /// Reports a missing required property.
    pub fn missing_property(&mut self, node: &KdlNode, name: &str, usage: &str) {
        let node_name = node_name(node);
        self.report(
            Diagnostic::error(
                Code::MissingProperty,
                format!("`{node_name}` needs the property `{name}=`"),
            )
            .with_label(name_span(node), format!("`{name}=` is missing"))
            .with_help(format!("write it as {usage}")),
        );
    }

    /// Reports a value of the wrong type.
    pub fn wrong_type(&mut self, entry: &KdlEntry, expected: &str, what: &str) {
        self.report(
            Diagnostic::error(
                Code::WrongType,
                format!(
                    "{what} must be {expected}, not {}",
                    type_name(entry.value())
                ),
            )
            .with_label(entry_span(entry), format!("expected {expected}"))
            .with_help(format!("write {what} as {expected}")),
        );
    }

    /// Reports `(env)` on a value that must be written in the file.
    fn env_not_allowed(&mut self, entry: &KdlEntry, what: &str) {
        self.report(
            Diagnostic::error(
                Code::EnvNotAllowed,
                format!("{what} cannot come from the environment"),
            )
            .with_label(entry_span(entry), "`(env)` is not allowed here")
            .with_help(
                "remove `(env)` and write the value itself; only settings marked env-capable \
                 in LANGUAGE.md (buckets, endpoints, regions, hosts, users, passwords, URLs, \
                 recipients) may be read from the environment",
            ),
        );
    }

    /// A string written in the file (`(env)` is reported).
    pub fn string(&mut self, entry: &KdlEntry, what: &str) -> Option<Spanned<String>> {
        if is_env(entry) {
            self.env_not_allowed(entry, what);
            return None;
        }
        match entry.value() {
            KdlValue::String(s) => Some(Spanned::new(s.clone(), entry_span(entry))),
            _ => {
                self.wrong_type(entry, "a string", what);
                None
            }
        }
    }

    /// A name: a string of letters, digits, `-`, `_` and `.`.
    pub fn name(&mut self, entry: &KdlEntry, what: &str) -> Option<Spanned<String>> {
        let name = self.string(entry, what)?;
        if !values::is_valid_name(&name.value) {
            self.report(invalid_name(&name.value, name.span, what));
            return None;
        }
        Some(name)
    }

    /// An env-capable setting: a string, or `(env)"NAME"`.
    pub fn setting(&mut self, entry: &KdlEntry, what: &str) -> Option<Setting> {
        let KdlValue::String(s) = entry.value() else {
            self.wrong_type(entry, "a string or `(env)\"NAME\"`", what);
            return None;
        };
        if is_env(entry) {
            if s.is_empty() {
                self.report(
                    Diagnostic::error(Code::InvalidValue, "`(env)` names no variable")
                        .with_label(entry_span(entry), "empty variable name")
                        .with_help("write the variable's name, e.g. `(env)\"JML_BUCKET\"`"),
                );
                return None;
            }
            Some(Setting::Env(s.clone()))
        } else {
            Some(Setting::Literal(s.clone()))
        }
    }

    /// A boolean (`#true` / `#false`).
    pub fn bool(&mut self, entry: &KdlEntry, what: &str) -> Option<bool> {
        if is_env(entry) {
            self.env_not_allowed(entry, what);
            return None;
        }
        match entry.value() {
            KdlValue::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(entry, "`#true` or `#false`", what);
                None
            }
        }
    }

    /// A whole number of at least zero.
    pub fn count(&mut self, entry: &KdlEntry, what: &str) -> Option<Spanned<u64>> {
        if is_env(entry) {
            self.env_not_allowed(entry, what);
            return None;
        }
        match entry.value() {
            KdlValue::Integer(i) => match u64::try_from(*i) {
                Ok(n) => Some(Spanned::new(n, entry_span(entry))),
                // Too large is not "below zero" (issue 13).
                Err(_) if *i < 0 => {
                    self.out_of_range(entry, what, "0 or more");
                    None
                }
                Err(_) => {
                    self.out_of_range(entry, what, "at most 18446744073709551615");
                    None
                }
            },
            _ => {
                self.wrong_type(entry, "a whole number", what);
                None
            }
        }
    }

    /// A number (integer or decimal).
    pub fn number(&mut self, entry: &KdlEntry, what: &str) -> Option<Spanned<f64>> {
        if is_env(entry) {
            self.env_not_allowed(entry, what);
            return None;
        }
        match entry.value() {
            KdlValue::Integer(i) => Some(Spanned::new(*i as f64, entry_span(entry))),
            KdlValue::Float(f) => Some(Spanned::new(*f, entry_span(entry))),
            _ => {
                self.wrong_type(entry, "a number", what);
                None
            }
        }
    }

    /// Reports a number outside its range.
    pub fn out_of_range(&mut self, entry: &KdlEntry, what: &str, range: &str) {
        self.report(
            Diagnostic::error(Code::OutOfRange, format!("{what} is out of range"))
                .with_label(entry_span(entry), format!("must be {range}"))
                .with_help(format!("use a value that is {range}")),
        );
    }

    /// Any scalar value, as JSON (`(env)` is reported).
    pub fn json(&mut self, entry: &KdlEntry, what: &str) -> Option<serde_json::Value> {
        if is_env(entry) {
            self.env_not_allowed(entry, what);
            return None;
        }
        Some(match entry.value() {
            KdlValue::String(s) => serde_json::Value::String(s.clone()),
            KdlValue::Integer(i) => {
                let number = i64::try_from(*i)
                    .map(serde_json::Number::from)
                    .or_else(|_| u64::try_from(*i).map(serde_json::Number::from));
                match number {
                    Ok(n) => serde_json::Value::Number(n),
                    Err(_) => {
                        self.out_of_range(entry, what, "a 64-bit integer");
                        return None;
                    }
                }
            }
            KdlValue::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => serde_json::Value::Number(n),
                None => {
                    self.wrong_type(entry, "a finite number", what);
                    return None;
                }
            },
            KdlValue::Bool(b) => serde_json::Value::Bool(*b),
            KdlValue::Null => serde_json::Value::Null,
        })
    }

    /// A scalar compared as text (strings, numbers and booleans).
    pub fn text(&mut self, entry: &KdlEntry, what: &str) -> Option<String> {
        match self.json(entry, what)? {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Null => {
                self.wrong_type(entry, "a string", what);
                None
            }
            other => Some(other.to_string()),
        }
    }

    /// One of a fixed set of words, with a suggestion when misspelt.
    pub fn choice<T: Copy>(
        &mut self,
        entry: &KdlEntry,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let word = self.string(entry, what)?;
        if let Some((_, value)) = options.iter().find(|(name, _)| *name == word.value) {
            return Some(*value);
        }
        let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
        self.report(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`{}` is not a valid {what}", word.value),
            )
            .with_label(word.span, format!("not one of {}", suggest::list(&names)))
            .with_help(suggest::help_for(
                &word.value,
                &format!("{what} is one of"),
                &names,
            )),
        );
        None
    }

    /// A duration string such as `"90d"`.
    pub fn duration(&mut self, entry: &KdlEntry, what: &str) -> Option<Spanned<Duration>> {
        let text = self.string(entry, what)?;
        match values::parse_duration(&text.value) {
            Ok(duration) => Some(Spanned::new(duration, text.span)),
            Err(reason) => {
                self.report(
                    Diagnostic::error(
                        Code::InvalidDuration,
                        format!("`{}` is not a duration", text.value),
                    )
                    .with_label(text.span, reason)
                    .with_help(
                        "write numbers with units s, m, h, d or w, e.g. \"90d\", \"1d12h\" or \"30s\"",
                    ),
                );
                None
            }
        }
    }

    /// Checks that `pattern` compiles as a regular expression.
    pub fn regex(&mut self, pattern: &str, span: Span) -> Option<regex::Regex> {
        match regex::Regex::new(pattern) {
            Ok(regex) => Some(regex),
            Err(err) => {
                let reason = err.to_string();
                // The regex crate's message spans several lines with its own
                // caret drawing; its last line says what is wrong.
                let last = reason
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                self.report(
                    Diagnostic::error(
                        Code::InvalidRegex,
                        format!("`{pattern}` is not a valid regular expression"),
                    )
                    .with_label(span, last.trim().trim_start_matches("error: ").to_owned())
                    .with_help(
                        "fix the pattern (Rust regex syntax); in a KDL string a backslash is \
                         written `\\\\`, or use a raw string #\"...\"#",
                    ),
                );
                None
            }
        }
    }

    /// Checks that `pattern` is a strftime pattern chrono compiles, as the
    /// `date` transform does at run time; `false` after reporting it.
    pub fn date_pattern(&mut self, pattern: &Spanned<String>) -> bool {
        if StrftimeItems::new(&pattern.value).parse_to_owned().is_ok() {
            return true;
        }
        self.report(
            Diagnostic::error(
                Code::InvalidDatePattern,
                format!("`{}` is not a valid date pattern", pattern.value),
            )
            .with_label(pattern.span, "unknown or incomplete `%` specifier")
            .with_help(
                "use strftime specifiers, e.g. \"%Y-%m-%d\" or \"%d/%m/%Y %H:%M\"; write `%%` for a literal `%`",
            ),
        );
        false
    }
}

/// The diagnostic for a name with characters names may not hold.
pub(crate) fn invalid_name(name: &str, span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(Code::InvalidName, format!("`{name}` is not a valid {what}"))
        .with_label(span, "invalid name")
        .with_help("names are made of letters, digits, `-`, `_` and `.`")
}

/// "no arguments", "one argument", "2 arguments".
fn count_phrase(count: usize, noun: &str) -> String {
    match count {
        0 => format!("no {noun}s"),
        1 => format!("one {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Issue 13: a count too large for 64 bits was reported as "must be 0
    /// or more"; it is out of range the other way.
    #[test]
    fn a_count_too_large_says_how_large_it_may_be() {
        let text = r#"pipeline p {
    source file "x.jsonl" { format jsonl; }
    key id
    map { id id required=#true; }
    integrity { max-removed 99999999999999999999; max-invalid -1; }
}
"#;
        let loaded = crate::load_str("p.kdl", text, Path::new("."));
        let labels: Vec<&str> = loaded
            .diagnostics
            .iter()
            .filter_map(|d| d.primary().map(|l| l.text.as_str()))
            .collect();
        assert!(
            labels.contains(&"must be at most 18446744073709551615"),
            "{labels:?}"
        );
        assert!(labels.contains(&"must be 0 or more"), "{labels:?}");
    }
}
