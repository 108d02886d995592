//! SIGTERM and SIGINT during `rollcall run`: the first one asks the run to
//! stop at its next safe point (`rollcall_engine::interrupt`), where it rolls
//! back, records a `failed` run and exits 143 or 130. A second one ends the
//! process at once, as the signal's default would, for an operator who
//! cannot wait (the store is still safe: SQLite's WAL discards the open
//! transaction).

/// Installs the handlers; called by the commands that write the store.
pub fn stop_runs_cleanly() {
    #[cfg(unix)]
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `on_signal` only does async-signal-safe work (an atomic
        // store, `signal` and `raise`).
        unsafe {
            libc::signal(signal, on_signal as *const () as libc::sighandler_t);
        }
    }
}

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    if rollcall_engine::interrupt::requested().is_some() {
        // SAFETY: both are async-signal-safe; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    rollcall_engine::interrupt::request(signal);
}
