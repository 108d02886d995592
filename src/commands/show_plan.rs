//! `rollcall show-plan PLAN`: a saved plan as `plan` showed it, after what
//! it is bound to.

use std::path::PathBuf;

use rollcall_engine::review::SavedPlan;
use serde::Serialize;

use super::Failure;
use crate::console::Console;
use crate::exit::Exit;
use crate::render::plan::{PlanJson, plan_document};
use crate::render::review::saved_plan_text;

/// Arguments of `rollcall show-plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The plan file `rollcall plan --out` wrote.
    pub plan: PathBuf,
}

/// `show-plan --format json` (schemas/show-plan-output.schema.json): the
/// bindings, and the plan as `plan --format json` gave it.
#[derive(Serialize)]
struct ShowPlanJson<'a> {
    command: &'static str,
    format: &'a str,
    version: &'a str,
    created_at: &'a str,
    pipeline: &'a rollcall_engine::review::PipelineBinding,
    extract: &'a rollcall_engine::source::SourceIdentity,
    store: &'a rollcall_engine::review::StoreBinding,
    request: &'a rollcall_engine::review::Request,
    digest: &'a str,
    digest_only: bool,
    plan: PlanJson<'a>,
}

pub fn run(args: Args, console: &mut Console) -> Result<Exit, Failure> {
    let saved = SavedPlan::read(&args.plan)?;
    if console.json() {
        let document = ShowPlanJson {
            command: "show-plan",
            format: &saved.format,
            version: &saved.version,
            created_at: &saved.created_at,
            pipeline: &saved.pipeline,
            extract: &saved.extract,
            store: &saved.store,
            request: &saved.request,
            digest: &saved.digest,
            digest_only: saved.digest_only,
            plan: plan_document(&saved.report),
        };
        console.document(&document, Exit::Ok, None)?;
    } else {
        console.show(&saved_plan_text(&saved))?;
    }
    Ok(Exit::Ok)
}
