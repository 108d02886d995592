//! The progress bar: drawn only when stderr is a terminal, so scheduled
//! jobs' logs stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use rollcall_engine::run::Progress;

/// A spinner counting records, or nothing when stderr is not a terminal.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar if stderr is a terminal and `--quiet` was not given.
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {human_pos} records read ({per_sec})")
                    .expect("static template"),
            );
            bar
        });
        Bar { bar }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn records(&self, read: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(read);
        }
    }
}
