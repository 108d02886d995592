//! Rendering reports and errors for people (stdout/stderr) and machines (JSON).

use std::borrow::Cow;
use std::fmt::Write as _;

use rollcall_engine::diff::{Action, Change};
use rollcall_engine::registry::RegistryReport;
use rollcall_engine::run::{Report, RunError};
use rollcall_engine::source::SourceError;
use rollcall_engine::store::{
    ChangeRow, FrozenRow, Identity, PersonRow, RoleRow, RunRow, StoreError, StoredRecord,
};
use rollcall_engine::vocabulary::Outcome;
use serde::Serialize;

use crate::exit::Exit;

/// Text from a record (a key, a field value) made safe to print on a
/// terminal: control characters (an escape sequence could clear the screen
/// or recolour text; a newline could forge a line of the plan) and
/// bidirectional overrides (which reorder what is shown) are written as
/// `\u{..}` escapes. Ordinary text is returned as it is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(safe, "\\u{{{:x}}}", c as u32);
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// Prints any value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialize")
    );
}

/// Prints an error with miette and returns the error exit code.
pub fn error(err: impl miette::Diagnostic + Send + Sync + 'static) -> Exit {
    eprintln!("{:?}", miette::Report::new(err));
    Exit::Error
}

/// Prints a command-line value error and returns the usage exit code.
pub fn usage_error(err: impl miette::Diagnostic + Send + Sync + 'static) -> Exit {
    eprintln!("{:?}", miette::Report::new(err));
    Exit::Usage
}

/// Prints a run error; a locked store exits 75.
pub fn run_error(err: RunError) -> Exit {
    match err {
        RunError::Store(err) => store_error(err),
        RunError::Source(SourceError::BadJson {
            name,
            line,
            column,
            message,
        }) => match JsonAt::read(&name, line, column, &message) {
            Some(located) => error(located),
            None => error(RunError::Source(SourceError::BadJson {
                name,
                line,
                column,
                message,
            })),
        },
        err => error(err),
    }
}

/// A JSON syntax error shown on its line of the file, with a caret where
/// the missing `,` or `]` belongs.
#[derive(Debug, miette::Diagnostic)]
#[diagnostic(
    code("rollcall::source::bad-json"),
    help(
        "open the file at this line and column; check the producer writes valid JSON (for `format jsonl`, exactly one value per line; for `format json`, one array)"
    )
)]
struct JsonAt {
    name: String,
    line: u64,
    column: u64,
    message: String,
    #[source_code]
    text: miette::NamedSource<String>,
    #[label("{message}")]
    at: miette::SourceSpan,
}

impl JsonAt {
    /// Reads the file back to show the place; `None` when it cannot (a
    /// compressed or very large extract), and the plain error is shown.
    fn read(name: &str, line: u64, column: u64, message: &str) -> Option<JsonAt> {
        let meta = std::fs::metadata(name).ok()?;
        if meta.len() > 16 << 20 {
            return None;
        }
        let text = String::from_utf8(std::fs::read(name).ok()?).ok()?;
        let start: usize = text
            .split_inclusive('\n')
            .take(usize::try_from(line).ok()?.checked_sub(1)?)
            .map(str::len)
            .sum();
        let offset = (start + usize::try_from(column).ok()?.saturating_sub(1)).min(text.len());
        let len = usize::from(offset < text.len());
        Some(JsonAt {
            name: name.to_owned(),
            line,
            column,
            message: message.to_owned(),
            text: miette::NamedSource::new(name, text),
            at: (offset, len).into(),
        })
    }
}

impl std::fmt::Display for JsonAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.name, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonAt {}

/// Prints a store error; a locked store exits 75.
pub fn store_error(err: StoreError) -> Exit {
    let locked = matches!(err, StoreError::Locked { .. });
    error(err);
    if locked { Exit::Locked } else { Exit::Error }
}

/// The machine-readable report of `plan --format json` (and `run --format json`).
#[derive(Serialize)]
struct PlanJson<'a> {
    pipeline: &'a str,
    run_id: Option<i64>,
    outcome: Outcome,
    overridden: bool,
    source: &'a rollcall_engine::source::SourceIdentity,
    summary: &'a rollcall_engine::vocabulary::Summary,
    integrity: &'a rollcall_engine::vocabulary::GateVerdict,
    changes: &'a [Change],
    invalid: &'a [rollcall_engine::run::InvalidRecord],
    registry: &'a RegistryReport,
    lookups: &'a [rollcall_engine::lookup::LookupReport],
    conflicts: &'a [rollcall_engine::unique::Conflict],
    deliveries: &'a [rollcall_engine::sink::Delivered],
}

/// Prints a report as the JSON document described by `schemas/plan-output.schema.json`.
pub fn plan_json(report: &Report) {
    json(&PlanJson {
        pipeline: &report.pipeline,
        run_id: report.run_id,
        outcome: report.outcome,
        overridden: report.overridden,
        source: &report.source,
        summary: &report.summary,
        integrity: &report.integrity,
        changes: &report.changes,
        invalid: &report.invalid,
        registry: &report.registry,
        lookups: &report.lookups,
        conflicts: &report.conflicts,
        deliveries: &report.deliveries,
    });
}

/// Prints `plan`'s per-record diffs and summary.
pub fn plan_text(report: &Report) {
    let mut out = String::new();
    for change in &report.changes {
        let (sign, word) = match change.action {
            Action::Create => ('+', "create"),
            Action::Update => ('~', "update"),
            Action::Remove => ('-', "remove"),
            Action::Reinstate => ('^', "reinstate"),
        };
        let at = change
            .line
            .map(|l| format!("  (line {l})"))
            .unwrap_or_default();
        let _ = writeln!(out, "{sign} {word:<9} {}{at}", terminal_safe(&change.key));
        for field in &change.fields {
            // JSON text escapes C0 controls but not DEL, C1 or bidi overrides.
            let after = field.after.to_string();
            match change.action {
                Action::Create => {
                    let _ = writeln!(out, "      {}: {}", field.field, terminal_safe(&after));
                }
                _ => {
                    let before = field.before.to_string();
                    let _ = writeln!(
                        out,
                        "      {}: {} -> {}",
                        field.field,
                        terminal_safe(&before),
                        terminal_safe(&after)
                    );
                }
            }
        }
    }
    print!("{out}");
    registry_text(&report.registry);
    print_invalid(report);
    println!("{}", summary_line(report));
    print_checks(report);
    print_feeds(report);
}

fn person(id: Option<i64>) -> String {
    id.map(|id| format!("person {id}"))
        .unwrap_or_else(|| "a new person".to_owned())
}

/// Prints the registry's findings: links to existing persons, ambiguous
/// matches with every candidate, frozen values held, lifecycle transitions,
/// unresolved managers and sponsors, and purges.
pub fn registry_text(registry: &RegistryReport) {
    let mut out = String::new();
    for link in &registry.links {
        let chosen = link
            .chosen
            .map(|c| {
                let all: Vec<String> = link.candidates.iter().map(|c| person(c.person)).collect();
                format!(", the {c} of {}", all.join(", "))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "= link      {}  (line {}) -> {} (by {}{chosen})",
            terminal_safe(&link.key),
            link.line,
            person(link.person),
            link.by.as_str()
        );
    }
    for held in &registry.ambiguous {
        let values: Vec<&str> = held.values.iter().map(|v| v.value.as_str()).collect();
        let _ = writeln!(
            out,
            "? ambiguous {}  (line {}): {} {} matches {} persons; held, nothing changed",
            terminal_safe(&held.key),
            held.line,
            held.by,
            if values.is_empty() {
                "key".to_owned()
            } else {
                format!("{values:?}")
            },
            held.candidates.len()
        );
        for candidate in &held.candidates {
            let _ = writeln!(
                out,
                "      candidate {} ({}{})",
                person(candidate.person),
                candidate.status,
                candidate
                    .created_run
                    .map(|r| format!(", created in run {r}"))
                    .unwrap_or_default()
            );
        }
    }
    for held in &registry.frozen {
        let _ = writeln!(
            out,
            "* frozen    {}  person {} {}: keeps {}, source says {} (frozen by {}{}{})",
            terminal_safe(&held.key),
            held.person,
            held.attribute,
            terminal_safe(&held.frozen.to_string()),
            terminal_safe(&held.incoming.to_string()),
            held.frozen_by,
            held.until
                .as_deref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            held.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    for t in &registry.transitions {
        let subject = match &t.role {
            Some(role) => format!(
                "role {} ({}/{}{}) of {}",
                role.id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "new".into()),
                role.pipeline,
                terminal_safe(&role.key),
                role.scope
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default(),
                person(t.person)
            ),
            None => person(t.person),
        };
        let limbo = match &t.limbo {
            Some(change) => match (&change.from, &change.to) {
                (_, Some(to)) => format!(", into limbo {to:?}"),
                (Some(from), None) => format!(", out of limbo {from:?}"),
                (None, None) => String::new(),
            },
            None => String::new(),
        };
        let purge = t
            .purge_at
            .as_deref()
            .map(|at| format!(", purge at {at}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "> {subject}: {} -> {} ({}){limbo}{purge}",
            t.from,
            t.to,
            t.cause.as_str()
        );
    }
    for u in &registry.unresolved {
        let why = if u.candidates.is_empty() {
            "no person holds it".to_owned()
        } else {
            let all: Vec<String> = u.candidates.iter().map(|c| person(*c)).collect();
            format!("held by {}; left empty", all.join(", "))
        };
        let _ = writeln!(
            out,
            "! unresolved {} role {} {} {} {:?}: {why}",
            terminal_safe(&u.key),
            u.ordinal,
            u.relation.as_str(),
            u.reference.type_name,
            u.reference.value
        );
    }
    for p in &registry.purged {
        let _ = writeln!(
            out,
            "x purge     person {} (inactive since {}, due {}): {}",
            p.person,
            p.inactive_since.as_deref().unwrap_or("?"),
            p.purge_at.as_deref().unwrap_or("?"),
            p.records.join(", ")
        );
    }
    print!("{out}");
}

/// One person as `rollcall person` shows it.
#[derive(Serialize)]
pub struct PersonView {
    /// The person.
    pub person: PersonRow,
    /// Emails and identifiers.
    pub identities: Vec<Identity>,
    /// Roles.
    pub roles: Vec<RoleRow>,
    /// Frozen attributes.
    pub frozen: Vec<FrozenRow>,
    /// Linked records as `pipeline/key`.
    pub records: Vec<String>,
    /// The change log about the person.
    pub changes: Vec<ChangeRow>,
}

/// Prints a person.
pub fn person_text(view: &PersonView) {
    let p = &view.person;
    println!(
        "person {}: {}{}{}",
        p.id,
        p.status,
        p.limbo
            .as_deref()
            .map(|l| format!(", in limbo {l:?}"))
            .unwrap_or_default(),
        p.purge_at
            .as_deref()
            .map(|at| format!(", purge at {at}"))
            .unwrap_or_default()
    );
    for (name, value) in &p.attributes {
        println!("  {name}: {}", terminal_safe(&value.to_string()));
    }
    println!("records: {}", terminal_safe(&view.records.join(", ")));
    for identity in &view.identities {
        println!(
            "  {:?} {} {:?}{}",
            identity.kind,
            identity.type_name,
            identity.value,
            if identity.usable {
                ""
            } else {
                " (not matchable)"
            }
        );
    }
    println!("roles:");
    for role in &view.roles {
        let v = &role.values;
        println!(
            "  role {} ({}/{} #{}){}: {}{}{}{}{}",
            role.id,
            role.pipeline,
            terminal_safe(&role.source_key),
            role.ordinal,
            role.scope
                .as_deref()
                .map(|s| format!(" in {s}"))
                .unwrap_or_default(),
            role.status,
            v.affiliation
                .as_deref()
                .map(|a| format!(", {a}"))
                .unwrap_or_default(),
            v.title
                .as_deref()
                .map(|t| format!(", {t:?}"))
                .unwrap_or_default(),
            v.ou.as_deref()
                .map(|o| format!(", ou {}", terminal_safe(o)))
                .unwrap_or_default(),
            match (&v.manager, role.manager_person_id) {
                (Some(m), Some(id)) => format!(", manager {} = person {id}", m.value),
                (Some(m), None) => format!(", manager {} (unresolved)", m.value),
                _ => String::new(),
            }
        );
    }
    for frozen in &view.frozen {
        println!(
            "frozen {} = {} by {}{}",
            frozen.attribute,
            frozen.value,
            frozen.frozen_by,
            frozen
                .until
                .as_deref()
                .map(|u| format!(" until {u}"))
                .unwrap_or_default()
        );
    }
    println!("changes:");
    for change in &view.changes {
        println!(
            "  run {:>4}  {:<13} {}{}",
            change.run_id,
            change.action,
            change
                .source_key
                .as_deref()
                .map(|k| format!("{}/{k} ", change.pipeline))
                .unwrap_or_default(),
            change
                .after
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
    }
}

/// Prints `run`'s outcome and summary.
pub fn run_text(report: &Report) {
    if report.outcome == Outcome::NoNewExtract {
        let run = report
            .run_id
            .map(|id| format!(" run {id}"))
            .unwrap_or_default();
        let etag = report
            .source
            .etag
            .as_deref()
            .map(|e| format!(" (etag {e})"))
            .unwrap_or_default();
        println!(
            "{}{run}: no new extract: {}{etag} was already applied; nothing read (--force reads it again)",
            report.pipeline, report.source.uri
        );
        return;
    }
    registry_text(&report.registry);
    print_invalid(report);
    let outcome = match report.outcome {
        Outcome::Applied if report.overridden => "applied (integrity breach overridden)",
        Outcome::Applied => "applied",
        Outcome::NoChange => "no change",
        Outcome::NoNewExtract => "no new extract",
        Outcome::Rejected => "rejected",
        Outcome::Planned => "planned",
    };
    let run = report
        .run_id
        .map(|id| format!(" run {id}"))
        .unwrap_or_default();
    println!("{}{run}: {outcome}", report.pipeline);
    println!("{}", summary_line(report));
    print_checks(report);
    print_feeds(report);
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{}: {} read, {} valid, {} invalid, {} filtered | {} created, {} updated, {} removed, {} reinstated, {} unchanged, {} held | {} ambiguous, {} transitions, {} purged",
        report.source.uri,
        s.read,
        s.valid,
        s.invalid,
        s.filtered,
        s.created,
        s.updated,
        s.removed,
        s.reinstated,
        s.unchanged,
        s.held,
        s.ambiguous,
        s.transitions,
        s.purged
    )
}

fn print_checks(report: &Report) {
    for check in &report.integrity.checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {:<12} {}", check.name, check.detail);
    }
}

/// Lookup misses, refused records and delivered files, after the counts.
fn print_feeds(report: &Report) {
    for lookup in &report.lookups {
        println!(
            "  lookup {}: {} records from {}; {} matched, {} without a match ({})",
            lookup.name,
            lookup.records,
            lookup.source,
            lookup.matched,
            lookup.unmatched,
            lookup.on_missing
        );
        for miss in &lookup.examples {
            eprintln!(
                "unmatched: {}:{} key {:?}: lookup {} has no {:?} ({})",
                report.source.uri, miss.line, miss.key, lookup.name, miss.value, lookup.on_missing
            );
        }
    }
    for conflict in &report.conflicts {
        let at = conflict
            .held_at
            .map(|line| format!(" (line {line})"))
            .unwrap_or_else(|| " (in the store)".into());
        eprintln!(
            "refused: {}:{} key {:?}: {} {:?} is already held by key {:?}{at}",
            report.source.uri,
            conflict.line,
            conflict.key,
            conflict.field,
            conflict.value,
            conflict.held_by
        );
    }
    if !report.conflicts.is_empty() {
        println!(
            "  {} record(s) refused: a unique value was already taken",
            report.conflicts.len()
        );
    }
    deliveries(&report.deliveries);
}

/// Prints each file written after a commit, and where it was uploaded.
pub fn deliveries(delivered: &[rollcall_engine::sink::Delivered]) {
    for delivered in delivered {
        let uploads = if delivered.uploads.is_empty() {
            String::new()
        } else {
            format!(" -> {}", delivered.uploads.join(", "))
        };
        println!(
            "  wrote {} ({}, {} records){uploads}",
            delivered.path, delivered.kind, delivered.records
        );
    }
}

fn print_invalid(report: &Report) {
    for bad in &report.invalid {
        let key = bad
            .key
            .as_deref()
            .map(|k| format!(" key \"{}\"", terminal_safe(k)))
            .unwrap_or_default();
        for problem in &bad.problems {
            eprintln!(
                "invalid: {}:{}{key}: {}",
                report.source.uri,
                bad.line,
                terminal_safe(problem)
            );
        }
    }
    if report.summary.invalid as usize > report.invalid.len() {
        eprintln!(
            "invalid: ... and {} more",
            report.summary.invalid as usize - report.invalid.len()
        );
    }
}

/// Explains an integrity breach on stderr: what failed, what to check, and
/// how to override.
pub fn breach_explanation(report: &Report, applied_nothing: bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "error: integrity breach in pipeline {}: {}",
        report.pipeline,
        if applied_nothing {
            "nothing was applied"
        } else {
            "a run would be refused"
        }
    );
    for check in report.integrity.failures() {
        let _ = writeln!(out, "  {}: {}", check.name, check.detail);
    }
    let _ = writeln!(
        out,
        "help: check that the extract {} is complete (not truncated or filtered upstream); \
         if the change is real, re-run with `rollcall run --accept-breach`",
        report.source.uri
    );
    eprint!("{out}");
}

/// Prints runs as a table.
pub fn history_text(pipeline: &str, runs: &[RunRow]) {
    if runs.is_empty() {
        println!("{pipeline}: no runs");
        return;
    }
    println!(
        "{:>5}  {:<24}  {:<10}  {:>8} {:>8} {:>8} {:>8} {:>8}  source",
        "run", "finished", "outcome", "read", "created", "updated", "removed", "invalid"
    );
    for run in runs {
        let outcome = if run.overridden {
            format!("{}!", run.outcome)
        } else {
            run.outcome.clone()
        };
        println!(
            "{:>5}  {:<24}  {:<10}  {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
            run.id,
            run.finished_at,
            outcome,
            run.summary.read,
            run.summary.created,
            run.summary.updated,
            run.summary.removed,
            run.summary.invalid,
            run.source.uri
        );
        for check in run.checks.iter().filter(|c| !c.passed) {
            println!("       failed {}: {}", check.name, check.detail);
        }
        if let Some(error) = &run.error {
            println!("       error: {}", terminal_safe(error));
        }
        if run.undelivered() {
            println!(
                "       outputs not delivered: `rollcall deliver PIPELINE --run {}` writes them",
                run.id
            );
        }
    }
}

/// Prints the change log of a key the store no longer holds (purged).
pub fn changes_text(pipeline: &str, key: &str, changes: &[ChangeRow]) {
    println!("{pipeline} / {key}: no longer stored");
    print_changes(changes);
}

/// Prints a stored record and its change log.
pub fn show_text(pipeline: &str, record: &StoredRecord, changes: &[ChangeRow]) {
    println!("{pipeline} / {}", terminal_safe(&record.key));
    println!(
        "  state: {:?}, person: {}, first seen in run {}, last changed in run {}",
        record.state,
        record
            .person_id
            .map(|id| format!("{id} ({})", record.person_status.as_deref().unwrap_or("?")))
            .unwrap_or_else(|| "none".into()),
        record.first_seen_run,
        record.changed_run
    );
    for (name, value) in &record.fields {
        println!("  {name}: {}", terminal_safe(&value.to_string()));
    }
    print_changes(changes);
}

fn print_changes(changes: &[ChangeRow]) {
    println!("changes:");
    for change in changes {
        let detail = match (&change.before, &change.after) {
            (Some(before), Some(after)) => format!("{before} -> {after}"),
            (None, Some(after)) => after.to_string(),
            _ => String::new(),
        };
        println!(
            "  run {:>4}  {:<9} {}",
            change.run_id,
            change.action,
            terminal_safe(&detail)
        );
    }
}
