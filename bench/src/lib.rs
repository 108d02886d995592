//! rollcall's benchmark: a deterministic generator of staff-SSO extracts
//! ([`generate`]), process timing against the `gzip -dc | wc -l` floor
//! ([`measure`]) and the harness that runs and reports it all ([`report`]),
//! against SQLite and, with `--store`, PostgreSQL ([`postgres`]).
//! `bench/run` builds release binaries and runs the harness; the smoke test
//! (`tests/bench_smoke.rs`) runs it small in CI.

pub mod generate;
pub mod measure;
pub mod postgres;
pub mod report;
