//! `rollcall check`'s text, and the warnings `plan` gives for values a run
//! would need: variable names and what they are for, never their values.

use rollcall_engine::needs::{Need, Part};
use rollcall_engine::reach::Probe;

use super::terminal_safe;

/// Words for the part of a run a value is for.
fn part(part: Part) -> &'static str {
    match part {
        Part::Source => "source",
        Part::Matcher => "matcher",
        Part::Sink => "sink, after the commit",
        Part::Upload => "upload, after the commit",
        Part::Notification => "notification",
    }
}

/// One warning line of `plan` about a value `run` would need.
pub fn missing_warning(need: &Need) -> String {
    let consequence = match need.part {
        Part::Sink => "`run` refuses to start without it",
        Part::Upload => "`run` refuses to start without it, unless `--skip-upload`",
        Part::Notification => "`run` cannot send this notification without it",
        Part::Source | Part::Matcher => "`run` fails without it",
    };
    format!(
        "warning: {} is not set: it is {} ({}); {consequence}\n",
        need.variable,
        need.what,
        part(need.part)
    )
}

/// `check`: every value and whether it is set, then what `--reach` found.
pub fn check_text(pipeline: &str, needs: &[Need], probes: Option<&[Probe]>) -> String {
    let missing = needs.iter().filter(|n| !n.set && n.required).count();
    let mut out = format!(
        "{pipeline}: {} environment value{}, {missing} missing\n",
        needs.len(),
        if needs.len() == 1 { "" } else { "s" }
    );
    let width = needs.iter().map(|n| n.variable.len()).max().unwrap_or(0);
    for need in needs {
        out.push_str(&format!(
            "  {:<7} {:<width$}  {} ({}{})\n",
            match (need.set, need.required) {
                (true, _) => "set",
                (false, true) => "missing",
                (false, false) => "unset",
            },
            need.variable,
            need.what,
            part(need.part),
            if need.required {
                ""
            } else {
                "; optional while the other login setting is set"
            }
        ));
    }
    if let Some(probes) = probes {
        let failed = probes.iter().filter(|p| !p.ok).count();
        out.push_str(&format!(
            "reach: {} target{}, {failed} failed\n",
            probes.len(),
            if probes.len() == 1 { "" } else { "s" }
        ));
        for probe in probes {
            out.push_str(&format!(
                "  {:<6} {}: {}\n",
                if probe.ok { "ok" } else { "failed" },
                terminal_safe(&probe.target),
                terminal_safe(&probe.detail)
            ));
        }
    }
    out
}
