//! `rollcall deliver`: write and upload an applied run's outputs again,
//! after a delivery failed (the change itself is already in the store).

use std::path::PathBuf;

use rollcall_engine::sink;
use rollcall_engine::store::Store;

use super::render;
use super::state::StateArgs;
use crate::exit::Exit;

/// Arguments of `rollcall deliver`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file.
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
    /// The applied run whose outputs to deliver (default: the last one).
    #[arg(long)]
    pub run: Option<i64>,
    /// Write every sink's file into this folder instead of its own.
    #[arg(long, env = "ROLLCALL_OUT_DIR")]
    pub out_dir: Option<PathBuf>,
    /// Write sink files but do not upload them.
    #[arg(long)]
    pub skip_upload: bool,
}

pub fn run(args: Args) -> Exit {
    let (_, plan) = match super::load::compile(&args.pipeline) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let mut store = match Store::open(&args.state.state) {
        Ok(store) => store,
        Err(err) => return render::store_error(err),
    };
    let options = sink::OutputOptions {
        out_dir: args.out_dir,
        skip_uploads: args.skip_upload,
    };
    match sink::redeliver(&plan, &mut store, args.run, &options) {
        Ok((run, delivered)) => {
            println!("{} run {run}: delivered", plan.name);
            render::deliveries(&delivered);
            Exit::Ok
        }
        Err(err) => render::error(err),
    }
}
