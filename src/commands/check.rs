//! `rollcall check`: is this environment ready to run the pipeline? Every
//! `(env)` value it needs is looked for (presence only: values are never
//! printed), and with `--reach` the source and every target are contacted.

use std::path::PathBuf;

use rollcall_engine::needs::{self, Need, Part};
use rollcall_engine::plan::Plan;
use rollcall_engine::reach;
use serde::Serialize;

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::ErrorJson;
use crate::render::check::{check_text, missing_warning};

/// Arguments of `rollcall check`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file.
    pub pipeline: PathBuf,
    /// Also contact the source and each target: S3 list permission on the
    /// prefix, SFTP login with the pinned host key, the SMTP greeting, the
    /// webhook's host, the matcher command. Nothing is written or sent.
    #[arg(long)]
    pub reach: bool,
}

/// `check --format json`'s document (schemas/check-output.schema.json).
#[derive(Serialize)]
struct CheckJson<'a> {
    command: &'static str,
    pipeline: &'a str,
    outcome: &'static str,
    values: &'a [Need],
    reach: Option<&'a [reach::Probe]>,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let (_, plan) = super::load::compile(&args.pipeline, console)?;
    let values = needs::needs(&plan);
    let probes = args.reach.then(|| reach::reach(&plan));
    let ready =
        values.iter().all(|n| n.set || !n.required) && probes.iter().flatten().all(|p| p.ok);
    let exit = if ready { Exit::Ok } else { Exit::Error };
    let error = (!ready).then(|| not_ready(&values, probes.as_deref()));
    if console.json() {
        let document = CheckJson {
            command: "check",
            pipeline: &plan.name,
            outcome: if ready { "ready" } else { "not-ready" },
            values: &values,
            reach: probes.as_deref(),
        };
        console.document(&document, exit, error.as_ref())?;
    } else if !console.style.quiet {
        console.out(&check_text(&plan.name, &values, probes.as_deref()))?;
    }
    Ok(exit)
}

/// The error of an environment that is not ready: what is missing or
/// unreachable, by name.
fn not_ready(values: &[Need], probes: Option<&[reach::Probe]>) -> ErrorJson {
    let mut problems: Vec<String> = values
        .iter()
        .filter(|n| !n.set && n.required)
        .map(|n| format!("{} is not set", n.variable))
        .collect();
    problems.extend(
        probes
            .into_iter()
            .flatten()
            .filter(|p| !p.ok)
            .map(|p| format!("{} failed", p.target)),
    );
    ErrorJson::new(
        "rollcall::check::not-ready",
        problems.join("; "),
        Some("export the missing variables in the job's environment; fix the targets that failed"),
    )
}

/// `plan`'s warnings: each value a run of `plan` needs that is not set
/// (the source's only when no `--input` replaces it).
pub fn warn_missing(plan: &Plan, input: bool, console: &mut Console) -> Result<(), Failure> {
    let needed = |n: &&Need| !n.set && n.required && !(input && n.part == Part::Source);
    for need in needs::needs(plan).iter().filter(needed) {
        let error = ErrorJson::new(
            "rollcall::plan::missing-setting",
            missing_warning(need)
                .trim_end()
                .trim_start_matches("warning: "),
            Some("`rollcall check PIPELINE` lists every value the pipeline needs"),
        );
        console.warning(&missing_warning(need), &error)?;
    }
    Ok(())
}
