//! The state store a test runs against, on either backend: a SQLite file in
//! the test's folder, or a fresh database on the test PostgreSQL server
//! (`rollcall_testkit::postgres`). A [`State`] dereferences to the text
//! `--state` takes (a path, or a `postgres://` URL held in a `Path`), so a
//! test passes `arg(&state)` whatever the backend.
//!
//! [`backends!`](crate::backends) turns a test function taking a
//! [`Backend`] into one test per backend (`NAME::sqlite`, `NAME::postgres`).

use std::path::{Path, PathBuf};

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A database on the test PostgreSQL server.
    Postgres,
}

/// A store for one test.
#[derive(Debug, Clone)]
pub struct State {
    backend: Backend,
    location: PathBuf,
}

impl State {
    /// A new, empty store: `state.db` in `dir`, or a fresh database.
    pub fn new(backend: Backend, dir: &Path) -> State {
        State::named(backend, dir, "state.db")
    }

    /// A new, empty store; SQLite's file is `dir/file`.
    pub fn named(backend: Backend, dir: &Path, file: &str) -> State {
        let location = match backend {
            Backend::Sqlite => dir.join(file),
            Backend::Postgres => {
                PathBuf::from(rollcall_testkit::postgres::server().fresh_database())
            }
        };
        State { backend, location }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The `--state` text.
    pub fn text(&self) -> &str {
        self.location.to_str().expect("UTF-8 state location")
    }

    /// Runs `sql` (one row, one column, cast to text in the query when it
    /// is not already text or an integer) and returns it as text.
    pub fn scalar(&self, sql: &str) -> String {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.location).expect("open store");
                let value: rusqlite::types::Value =
                    conn.query_row(sql, [], |row| row.get(0)).unwrap();
                text_of_sqlite(value)
            }
            Backend::Postgres => {
                let rows = self.pg_rows(sql);
                rows.into_iter()
                    .next()
                    .and_then(|row| row.into_iter().next())
                    .unwrap_or_else(|| panic!("{sql}: no row"))
            }
        }
    }

    /// [`State::scalar`] as an integer (`count(*)` and friends).
    pub fn count(&self, sql: &str) -> i64 {
        let text = self.scalar(sql);
        text.parse()
            .unwrap_or_else(|_| panic!("{sql}: not a number: {text}"))
    }

    /// Every row of `sql`, each column as text (NULL as `NULL`).
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.location).expect("open store");
                let mut stmt = conn.prepare(sql).unwrap();
                let columns = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                let mut out = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    out.push(
                        (0..columns)
                            .map(|i| text_of_sqlite(row.get(i).unwrap()))
                            .collect(),
                    );
                }
                out
            }
            Backend::Postgres => self.pg_rows(sql),
        }
    }

    fn pg_rows(&self, sql: &str) -> Vec<Vec<String>> {
        let mut client = postgres::Client::connect(self.text(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test store: {e}"));
        // The simple protocol returns every column as text, whatever its type.
        let messages = client
            .simple_query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        messages
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }
}

impl std::ops::Deref for State {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.location
    }
}

impl AsRef<Path> for State {
    fn as_ref(&self) -> &Path {
        &self.location
    }
}

fn text_of_sqlite(value: rusqlite::types::Value) -> String {
    use rusqlite::types::Value;
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t,
        Value::Blob(b) => b.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}

/// Whether `location` (a `--state` text) names a PostgreSQL store.
pub fn is_postgres(location: &Path) -> bool {
    location
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// One test per backend from a function taking a [`Backend`]: for each
/// `NAME`, a module `NAME` with tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::support::Backend::Sqlite)
            }

            #[test]
            fn postgres() {
                super::$name($crate::support::Backend::Postgres)
            }
        }
    )*};
}

impl State {
    /// The store at a `--state` text a test already holds.
    pub fn at(location: &Path) -> State {
        let backend = if is_postgres(location) {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        State {
            backend,
            location: location.to_owned(),
        }
    }
}

impl State {
    /// Makes this store an exact copy of `from` (closed, same backend),
    /// replacing whatever a previous trial left: SQLite copies the file;
    /// PostgreSQL recreates the database from `from` as its template.
    pub fn copy_from(&self, from: &State) {
        assert_eq!(self.backend, from.backend, "a copy stays on its backend");
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.location.display()));
                }
                std::fs::copy(&from.location, &self.location).unwrap();
            }
            Backend::Postgres => {
                let server = rollcall_testkit::postgres::server();
                let mut admin = postgres::Client::connect(server.admin_url(), postgres::NoTls)
                    .expect("admin connection to the test PostgreSQL");
                let (to, from) = (self.database(), from.database());
                // A session that just closed on `from` may linger for a moment,
                // and a template must have none: try again briefly.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                loop {
                    // Two statements: neither may run inside a transaction block.
                    let copied = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {to} WITH (FORCE)"))
                        .and_then(|()| {
                            admin.batch_execute(&format!("CREATE DATABASE {to} TEMPLATE {from}"))
                        });
                    match copied {
                        Ok(()) => break,
                        Err(e) if std::time::Instant::now() < deadline => {
                            let _ = e;
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                        Err(e) => panic!("copying database {from} to {to}: {e:?}"),
                    }
                }
            }
        }
    }

    /// The database's name (PostgreSQL): the URL's last segment.
    fn database(&self) -> &str {
        let text = self.text();
        let name = text.rsplit('/').next().unwrap_or(text);
        name.split('?').next().unwrap_or(name)
    }
}
