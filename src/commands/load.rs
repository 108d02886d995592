//! Loading one pipeline file for the commands that run it.

use std::path::Path;

use rollcall_dsl::model::Pipeline;
use rollcall_engine::plan::Plan;

use crate::exit::Exit;

/// Reads, checks and compiles the pipeline file; on failure every diagnostic
/// has been printed and the exit code is returned.
pub fn compile(path: &Path) -> Result<(Pipeline, Plan), Exit> {
    let loaded = rollcall_dsl::load_files(&[path.to_path_buf()]);
    let errors = loaded.error_count();
    for diagnostic in loaded.diagnostics {
        eprintln!("{:?}", miette::Report::new(diagnostic));
    }
    if errors > 0 {
        return Err(Exit::Error);
    }
    let mut pipelines = loaded.pipelines;
    if pipelines.len() != 1 {
        eprintln!(
            "error: {} holds {} pipelines; `rollcall run` and `plan` take a file with exactly one",
            path.display(),
            pipelines.len()
        );
        return Err(Exit::Usage);
    }
    let pipeline = pipelines.remove(0);
    match Plan::compile(&pipeline) {
        Ok(plan) => Ok((pipeline, plan)),
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            Err(Exit::Error)
        }
    }
}
