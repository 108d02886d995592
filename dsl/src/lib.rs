//! The rollcall pipeline language: KDL v2 text to a typed, checked
//! [`Pipeline`](model::Pipeline), with compiler-grade diagnostics.
//!
//! The stages, each its own module: [`parse`] (KDL syntax) → [`lower`]
//! (KDL nodes to typed values, collecting every error) → [`check`]
//! (cross-references and semantics). [`format`] is the canonical layout
//! behind `rollcall fmt`. The crate reads files and nothing else: no
//! environment values, no network, no database.

pub mod check;
pub mod diagnostic;
pub mod format;
pub mod load;
pub mod lower;
pub mod nesting;
pub mod parse;
pub mod paths;
pub mod schema;
pub mod secrets;
pub mod source_file;
pub mod suggest;
pub mod test_file;
pub mod values;

/// The typed pipeline this crate produces, re-exported so `model::` paths
/// keep reading as part of the language.
pub use rollcall_model as model;

pub use diagnostic::{Code, Diagnostic};
pub use load::{Loaded, load_files, load_str};
pub use source_file::{Position, SourceFile};
