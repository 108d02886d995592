//! Where a store lives, as `--state` (or `ROLLCALL_STATE`) gives it: a
//! `postgres://` (or `postgresql://`) URL is a PostgreSQL database, anything
//! else the path of a SQLite file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::postgres::PostgresUrl;

/// A store's location: a SQLite file or a PostgreSQL database.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (`:memory:` for one that vanishes with the process).
    File(PathBuf),
    /// A PostgreSQL database; its password is never shown.
    Postgres(PostgresUrl),
}

impl StoreLocation {
    /// The SQLite file, when the store is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreLocation::File(path) => Some(path),
            StoreLocation::Postgres(_) => None,
        }
    }

    /// The location as messages show it: a path, or the URL without its
    /// password.
    pub fn shown(&self) -> PathBuf {
        match self {
            StoreLocation::File(path) => path.clone(),
            StoreLocation::Postgres(url) => PathBuf::from(url.shown()),
        }
    }
}

impl StoreLocation {
    /// The location a saved plan recorded ([`StoreLocation::shown`]): a URL
    /// (its hidden password then comes from `PGPASSWORD` or the password
    /// file), else the path as it is.
    pub fn from_saved(path: &Path) -> Result<StoreLocation, String> {
        match path.to_str() {
            Some(text) if PostgresUrl::is_one(text) => text.parse(),
            _ => Ok(StoreLocation::File(path.to_owned())),
        }
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> StoreLocation {
        StoreLocation::File(path)
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> StoreLocation {
        StoreLocation::File(path.to_owned())
    }
}

impl FromStr for StoreLocation {
    type Err = String;

    /// A `postgres://` or `postgresql://` URL, else a path. A URL's syntax
    /// is checked here (its password never appears in the error); the
    /// server is reached only when the store is opened.
    fn from_str(text: &str) -> Result<StoreLocation, String> {
        if PostgresUrl::is_one(text) {
            PostgresUrl::parse(text).map(StoreLocation::Postgres)
        } else {
            Ok(StoreLocation::File(PathBuf::from(text)))
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(url.shown()),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(path) => f.debug_tuple("File").field(path).finish(),
            StoreLocation::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

/// What a write transaction claims, so runs that cannot disturb each other
/// run at once: SQLite locks the whole file whatever the claim; PostgreSQL
/// locks the pipeline's and the system's rows of its `locks` table (the
/// pipelines of one system share persons, so they are refused together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim<'a> {
    /// A pipeline's run (and the small writes after it: delivery notes).
    Run {
        /// The pipeline.
        pipeline: &'a str,
        /// Its system.
        system: &'a str,
    },
    /// An operator command (`freeze`, `unfreeze`, `purge`): persons of any
    /// system, so no run may be under way.
    Whole,
}

impl<'a> Claim<'a> {
    /// A run of `pipeline` of `system`.
    pub fn run(pipeline: &'a str, system: &'a str) -> Claim<'a> {
        Claim::Run { pipeline, system }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_anything_else_a_file() {
        for url in [
            "postgres://u:pw@h/db",
            "postgresql://h:5433/db?sslmode=require",
        ] {
            let location: StoreLocation = url.parse().unwrap();
            assert!(location.file().is_none(), "{url}");
            assert!(!location.to_string().contains("pw"));
            assert!(!format!("{location:?}").contains("pw"));
        }
        let file: StoreLocation = "state/rollcall.db".parse().unwrap();
        assert_eq!(file.file(), Some(Path::new("state/rollcall.db")));
        assert_eq!(file.to_string(), "state/rollcall.db");
    }
}
