//! The fuzz targets' bodies, shared by the cargo-fuzz binaries in
//! `fuzz_targets/` and the bounded smoke run in the main test suite
//! (`tests/fuzz_smoke.rs` includes this file).

pub mod targets;
