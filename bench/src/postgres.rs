//! The PostgreSQL side of the benchmark (`--store postgres://ADMIN-URL`):
//! the same first loads and day-2 runs against databases on that server,
//! timed beside the SQLite ones. A day 2 starts from a copy of day 1's
//! database (`CREATE DATABASE ... TEMPLATE`), as SQLite's starts from a copy
//! of its file.

use std::io;

/// A server the benchmark may create and drop databases on.
#[derive(Debug, Clone)]
pub struct Server {
    /// An admin URL (a role that may create databases), database included.
    admin: String,
}

impl Server {
    /// The server behind `admin`.
    pub fn new(admin: &str) -> Server {
        Server {
            admin: admin.to_owned(),
        }
    }

    /// The URL of `database` on this server (the admin's credentials).
    pub fn url(&self, database: &str) -> String {
        let (base, query) = match self.admin.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (self.admin.as_str(), String::new()),
        };
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        format!("{base}/{database}{query}")
    }

    fn admin(&self) -> io::Result<postgres::Client> {
        postgres::Client::connect(&self.admin, postgres::NoTls)
            .map_err(|e| io::Error::other(format!("connecting to the benchmark's PostgreSQL: {e}")))
    }

    /// Drops `database` if present and creates it empty (or as a copy of `template`).
    pub fn recreate(&self, database: &str, template: Option<&str>) -> io::Result<()> {
        let create = match template {
            Some(from) => format!("CREATE DATABASE {database} TEMPLATE {from}"),
            None => format!("CREATE DATABASE {database}"),
        };
        // Two statements: neither may run inside a transaction block.
        self.drop(database)?;
        self.admin()?
            .batch_execute(&create)
            .map_err(|e| io::Error::other(format!("creating database {database}: {e:?}")))
    }

    /// Drops `database` if present.
    pub fn drop(&self, database: &str) -> io::Result<()> {
        self.admin()?
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .map_err(|e| io::Error::other(format!("dropping database {database}: {e:?}")))
    }

    /// `database`'s size on disk, as the server counts it.
    pub fn size(&self, database: &str) -> io::Result<u64> {
        let row = self
            .admin()?
            .query_one("SELECT pg_database_size($1)", &[&database])
            .map_err(|e| io::Error::other(format!("sizing database {database}: {e}")))?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::Server;

    #[test]
    fn a_database_url_keeps_the_admins_credentials_and_options() {
        let server = Server::new("postgres://bench:pw@127.0.0.1:5433/postgres?sslmode=require");
        assert_eq!(
            server.url("rc_day1"),
            "postgres://bench:pw@127.0.0.1:5433/rc_day1?sslmode=require"
        );
    }
}
