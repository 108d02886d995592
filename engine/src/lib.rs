//! The rollcall runtime: compiles a checked pipeline into a [`plan::Plan`],
//! streams its source through mapping and validation, diffs against the
//! SQLite state store, gates the change set on integrity thresholds and
//! applies it atomically.

pub mod clock;
pub mod decode;
pub mod diff;
pub mod env;
pub mod explain;
pub mod integrity;
pub mod interrupt;
pub mod lookup;
pub mod mapping;
pub mod needs;
pub mod notify;
pub mod paths;
pub mod plan;
pub mod reach;
pub mod redact;
pub mod registry;
pub mod review;
pub mod run;
pub mod s3;
pub mod sink;
pub mod source;
pub mod store;
pub mod target;
pub mod testing;
pub mod unique;
pub mod upload;
pub mod vocabulary;
