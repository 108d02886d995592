//! Stopping a run cleanly on SIGTERM or SIGINT. The binary's signal handler
//! only records which signal came ([`request`]: one atomic store, safe in a
//! handler); the run notices it between records and before its commit,
//! rolls back, records a `failed` run saying so, checkpoints the store and
//! returns [`Interrupted`], and the binary exits 128 + the signal's number
//! (143 for SIGTERM, 130 for SIGINT), as shells report a killed command.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// SIGINT's number on every Unix.
pub const SIGINT: i32 = 2;
/// SIGTERM's number on every Unix.
pub const SIGTERM: i32 = 15;

/// Records that `signal` arrived; safe to call from a signal handler.
pub fn request(signal: i32) {
    RECEIVED.store(signal, Ordering::Relaxed);
}

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<Interrupted> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(Interrupted { signal }),
    }
}

/// A run stopped by a signal; nothing of it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("interrupted by {}", self.name())]
#[diagnostic(
    code("rollcall::run::interrupted"),
    help(
        "the run was rolled back and recorded as failed; nothing was applied. Run it again when it may finish"
    )
)]
pub struct Interrupted {
    /// The signal's number.
    pub signal: i32,
}

impl Interrupted {
    /// The signal's name (`SIGTERM`, `SIGINT`).
    pub fn name(&self) -> &'static str {
        match self.signal {
            SIGTERM => "SIGTERM",
            SIGINT => "SIGINT",
            _ => "a signal",
        }
    }

    /// The exit code a shell reports for a command the signal ended.
    pub fn exit_code(&self) -> u8 {
        u8::try_from(128 + self.signal).unwrap_or(1)
    }
}

/// `Err` once a stop was requested.
pub fn check() -> Result<(), Interrupted> {
    requested().map_or(Ok(()), Err)
}
