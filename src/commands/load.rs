//! Loading one pipeline file for the commands that run it.

use std::path::Path;

use rollcall_dsl::model::Pipeline;
use rollcall_engine::plan::Plan;

use super::Failure;
use crate::console::Console;
use crate::render::ErrorJson;
use crate::render::error::diagnostic;

/// Reads, checks and compiles the pipeline file. Warnings are written to
/// stderr at once (a run may take minutes); errors come back as a failure
/// holding every diagnostic.
pub fn compile(path: &Path, console: &mut Console) -> Result<(Pipeline, Plan), Failure> {
    let loaded = rollcall_dsl::load_files(&[path.to_path_buf()]);
    if loaded.error_count() > 0 {
        return Err(Failure::Invalid(loaded.diagnostics));
    }
    for warning in loaded.diagnostics {
        let error = ErrorJson::of(&warning);
        console.warning(&diagnostic(warning), &error)?;
    }
    let mut pipelines = loaded.pipelines;
    if pipelines.len() != 1 {
        return Err(Failure::NotOnePipeline {
            path: path.to_owned(),
            count: pipelines.len(),
        });
    }
    let pipeline = pipelines.remove(0);
    let plan = Plan::compile(&pipeline)?;
    Ok((pipeline, plan))
}
