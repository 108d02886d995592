//! `rollcall validate`: check pipeline files offline and report every
//! problem, as miette's rendering on stderr or as one JSON object on stdout.

use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme, Severity};
use rollcall_dsl::{Diagnostic, Loaded};
use serde_json::{Value, json};

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::ErrorJson;

/// Arguments of `rollcall validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline files or folders (default: pipelines/).
    pub paths: Vec<PathBuf>,
}

/// Width used when stderr is not a terminal, so output is the same everywhere.
const FIXED_WIDTH: usize = 100;

/// Runs `rollcall validate`.
pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("pipelines")]
    } else {
        args.paths
    };
    let loaded = rollcall_dsl::load_files(&paths);
    let exit = if loaded.is_valid() {
        Exit::Ok
    } else {
        Exit::Error
    };
    if console.json() {
        let error = (!loaded.is_valid()).then(|| {
            let first = loaded
                .diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error);
            ErrorJson::new(
                first.map_or("rollcall::invalid", |d| d.code.as_str()),
                summary(&loaded),
                Some("each diagnostic names its file, line, column and how to fix it"),
            )
        });
        console.document(&to_json(&loaded), exit, error.as_ref())?;
    } else if console.style.log_json {
        for diagnostic in &loaded.diagnostics {
            let error = ErrorJson::of(diagnostic);
            match diagnostic.severity {
                Severity::Error => console.problem("", Some(&error))?,
                _ => console.warning("", &error)?,
            }
        }
        tracing::info!("{}", summary(&loaded));
    } else {
        console.err(&human(&loaded, console.style.color))?;
    }
    Ok(exit)
}

/// Every diagnostic rendered, and a summary line (for stderr).
fn human(loaded: &Loaded, color: bool) -> String {
    let handler = if color {
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode())
    } else {
        // Plain and fixed-width when piped, so logs and tests are stable.
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(FIXED_WIDTH)
    };
    let mut out = String::new();
    for diagnostic in &loaded.diagnostics {
        let _ = handler.render_report(&mut out, diagnostic);
        out.push('\n');
    }
    out.push_str(&summary(loaded));
    out.push('\n');
    out
}

/// "2 pipelines valid" or "3 errors, 1 warning".
fn summary(loaded: &Loaded) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let warnings = loaded.warning_count();
    if loaded.is_valid() {
        let mut line = format!("valid: {}", plural(loaded.pipelines.len(), "pipeline"));
        if warnings > 0 {
            line.push_str(&format!(", {}", plural(warnings, "warning")));
        }
        line
    } else {
        format!(
            "invalid: {}, {}",
            plural(loaded.error_count(), "error"),
            plural(warnings, "warning")
        )
    }
}

/// The JSON report described by schemas/validate-output.schema.json.
fn to_json(loaded: &Loaded) -> Value {
    json!({
        "valid": loaded.is_valid(),
        "outcome": if loaded.is_valid() { "valid" } else { "invalid" },
        "error_count": loaded.error_count(),
        "warning_count": loaded.warning_count(),
        "diagnostics": loaded.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

/// One diagnostic: its primary place, and the other places it mentions.
fn diagnostic_json(diagnostic: &Diagnostic) -> Value {
    let file = diagnostic.file.as_ref().map(|f| f.name().to_owned());
    let position = diagnostic.position();
    let mut related: Vec<Value> = Vec::new();
    if let Some(source) = &diagnostic.file {
        for label in diagnostic.labels.iter().skip(1) {
            let p = source.position(label.span.offset, label.span.len);
            related.push(place(Some(source.name()), Some(p), &label.text));
        }
    }
    for other in &diagnostic.related {
        let text = other
            .primary()
            .map_or(other.message.as_str(), |l| l.text.as_str());
        related.push(place(
            other.file.as_ref().map(|f| f.name()),
            other.position(),
            text,
        ));
    }
    json!({
        "file": file,
        "line": position.map(|p| p.line),
        "column": position.map(|p| p.column),
        "end_line": position.map(|p| p.end_line),
        "end_column": position.map(|p| p.end_column),
        "severity": severity(diagnostic.severity),
        "code": diagnostic.code.as_str(),
        "message": diagnostic.message,
        "label": diagnostic.primary().map(|l| l.text.clone()),
        "help": diagnostic.help,
        "related": related,
    })
}

/// A place mentioned by a diagnostic besides its primary one.
fn place(file: Option<&str>, position: Option<rollcall_dsl::Position>, message: &str) -> Value {
    json!({
        "file": file,
        "line": position.map(|p| p.line),
        "column": position.map(|p| p.column),
        "end_line": position.map(|p| p.end_line),
        "end_column": position.map(|p| p.end_column),
        "message": message,
    })
}

/// The severity's name in JSON.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "advice",
    }
}
