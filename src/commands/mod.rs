//! One module per subcommand, plus the pieces they share.

pub mod deliver;
pub mod fmt;
pub mod freeze;
pub mod frozen;
pub mod history;
mod load;
pub mod person;
pub mod plan;
pub mod purge;
mod render;
pub mod run;
pub mod show;
pub mod state;
pub mod unfreeze;
pub mod validate;

use crate::exit::Exit;

/// A pipeline named on the command line, either by name or by its file.
fn pipeline_name(arg: &str) -> Result<String, Exit> {
    if arg.ends_with(".kdl") || std::path::Path::new(arg).is_file() {
        return load::compile(std::path::Path::new(arg)).map(|(pipeline, _)| pipeline.name.value);
    }
    Ok(arg.to_owned())
}
