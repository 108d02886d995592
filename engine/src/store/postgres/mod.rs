//! The PostgreSQL backend: one store for many nodes (issue 18).
//!
//! The same guarantees as SQLite's, kept by the server:
//!
//! - a run is one transaction (`READ COMMITTED`) from before it reads the
//!   prior state until it commits or rolls back; a client killed meanwhile
//!   has its transaction aborted by the server, which leaves the store as
//!   before and releases its locks;
//! - a second run of the same pipeline, or of another pipeline of the same
//!   system, is refused at once ([`StoreError::Locked`]): each run locks its
//!   pipeline's and its system's rows of the `locks` table with
//!   `SELECT ... FOR UPDATE NOWAIT` inside its transaction (SQLSTATE 55P03
//!   is the refusal), so runs of different systems run concurrently, and
//!   the locks live exactly as long as the transaction (no stale locks, and
//!   they work through a transaction-mode pooler);
//! - readers (`plan`, `history`, `show`, `person`) read one snapshot
//!   (`REPEATABLE READ, READ ONLY`) while a run writes.
//!
//! Statements are prepared once per transaction and reused ([`PgTx::stmt`]);
//! nothing is kept in the session between transactions, so a
//! transaction-mode pooler (PgBouncer) may stand in front.

mod bulk;
mod changes;
mod copy;
mod frozen;
mod identities;
mod lineage;
mod outbox;
mod outputs;
mod persons;
mod pipelines;
mod records;
mod roles;
mod runs;
mod schema;
mod tables;
mod url;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

pub use url::PostgresUrl;

use super::sqlite::identity_lookup::IdentityLookup;

use super::{Backend, BackendError, Claim, Result, StoreError, Transaction};

/// A failure of the PostgreSQL store, with the URL shown without its password.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("state store {url}: {message}")]
#[diagnostic(code(rollcall::store::postgres), help("{help}"))]
pub struct PostgresError {
    /// The URL without its password.
    url: String,
    /// What failed, the password hidden.
    message: String,
    /// What to check.
    help: String,
}

/// Parameters of a statement.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A store in a PostgreSQL database.
pub struct PostgresStore {
    client: Client,
    /// Where it was opened from, credentials included ([`Backend::reopen`]).
    url: PostgresUrl,
    /// The URL without its password, as [`Backend::path`] gives it.
    shown: PathBuf,
    /// Statements prepared on this connection, by their text.
    statements: RefCell<HashMap<String, Statement>>,
}

impl PostgresStore {
    /// Connects, creates the schema if needed and migrates it.
    pub fn open(url: &PostgresUrl) -> Result<PostgresStore> {
        let mut store = PostgresStore::connect(url)?;
        store.migrate()?;
        Ok(store)
    }

    /// Connects to an existing store for reading; `None` when the database
    /// holds no store yet, so read-only commands never create one.
    pub fn open_read_only(url: &PostgresUrl) -> Result<Option<PostgresStore>> {
        let mut store = PostgresStore::connect(url)?;
        let found = match store.version()? {
            None | Some(0) => return Ok(None),
            Some(found) => found,
        };
        let supported = schema::MIGRATIONS.len();
        if found > supported {
            return Err(StoreError::TooNew {
                path: store.shown.clone(),
                found,
                supported,
            });
        }
        if found < supported {
            return Err(StoreError::NeedsMigration {
                path: store.shown.clone(),
                found,
            });
        }
        Ok(Some(store))
    }

    fn connect(url: &PostgresUrl) -> Result<PostgresStore> {
        let shown = PathBuf::from(url.shown());
        let failed = |message: String, help: &str| {
            StoreError::Backend(BackendError::new(PostgresError {
                url: url.shown().to_owned(),
                message,
                help: help.to_owned(),
            }))
        };
        let (config, tls) = url.config().map_err(|message| {
            failed(
                message,
                "give --state a URL like postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full",
            )
        })?;
        let client = match tls.mode.as_str() {
            "disable" => config.connect(postgres::NoTls),
            _ => {
                let connector = connector(&tls).map_err(|message| {
                    failed(
                        message,
                        "sslrootcert must name a readable PEM file of the CA that signed the server's certificate",
                    )
                })?;
                config.connect(postgres_native_tls::MakeTlsConnector::new(connector))
            }
        };
        let client = client.map_err(|e| {
            let message = url::hide(&error_text(&e), url.raw_for_hiding(), url.shown());
            failed(message, connect_help(&e))
        })?;
        Ok(PostgresStore {
            client,
            url: url.clone(),
            shown,
            statements: RefCell::new(HashMap::new()),
        })
    }

    /// The schema version, `None` when the database holds no store.
    fn version(&mut self) -> Result<Option<usize>> {
        let row = self
            .client
            .query_one("SELECT to_regclass('rollcall_schema') IS NOT NULL", &[])
            .map_err(|e| pg(&self.shown, e))?;
        if !row.get::<_, bool>(0) {
            return Ok(None);
        }
        let row = self
            .client
            .query_one("SELECT version FROM rollcall_schema WHERE id = 1", &[])
            .map_err(|e| pg(&self.shown, e))?;
        Ok(Some(row.get::<_, i32>(0) as usize))
    }

    /// Brings the schema to [`schema::MIGRATIONS`]' version in one
    /// transaction. A transaction-scoped advisory lock makes two first runs
    /// racing to create the schema take turns (it ends with the
    /// transaction, so it cannot go stale either).
    fn migrate(&mut self) -> Result<()> {
        let supported = schema::MIGRATIONS.len();
        match self.version()? {
            Some(found) if found == supported => return Ok(()),
            Some(found) if found > supported => {
                return Err(StoreError::TooNew {
                    path: self.shown.clone(),
                    found,
                    supported,
                });
            }
            _ => {}
        }
        let shown = self.shown.clone();
        let mut tx = self.client.transaction().map_err(|e| pg(&shown, e))?;
        tx.batch_execute("SELECT pg_advisory_xact_lock(7234811, 1)")
            .and_then(|()| tx.batch_execute(schema::BOOTSTRAP))
            .map_err(|e| pg(&shown, e))?;
        let found: i32 = tx
            .query_one("SELECT version FROM rollcall_schema WHERE id = 1", &[])
            .map_err(|e| pg(&shown, e))?
            .get(0);
        let found = found as usize;
        if found > supported {
            return Err(StoreError::TooNew {
                path: shown,
                found,
                supported,
            });
        }
        for migration in &schema::MIGRATIONS[found..] {
            tx.batch_execute(migration).map_err(|e| pg(&shown, e))?;
        }
        tx.execute(
            "UPDATE rollcall_schema SET version = $1 WHERE id = 1",
            &[&(supported as i32)],
        )
        .map_err(|e| pg(&shown, e))?;
        tx.commit().map_err(|e| pg(&shown, e))
    }

    /// Makes sure the rows a claim locks exist, committed, so that two
    /// runs can contend for them (a row inserted in an open transaction is
    /// invisible to the other).
    fn ensure_lock_rows(&mut self, claim: &Claim<'_>) -> Result<()> {
        let Claim::Run { pipeline, system } = *claim else {
            return Ok(());
        };
        self.client
            .execute(
                "INSERT INTO locks (kind, name) VALUES ('pipeline', $1), ('system', $2)
                 ON CONFLICT DO NOTHING",
                &[&pipeline, &system],
            )
            .map_err(|e| pg(&self.shown, e))?;
        Ok(())
    }

    /// Starts a transaction; a write one takes the claim's row locks.
    fn begin(&mut self, claim: Option<&Claim<'_>>) -> Result<PgTx<'_>> {
        if let Some(claim) = claim {
            self.ensure_lock_rows(claim)?;
        }
        // Behind a transaction-mode pooler each transaction may be served
        // by another server connection, which has not seen the statements
        // an earlier one prepared: they are prepared again per transaction
        // (a run is one transaction, so it still prepares each once).
        self.statements.borrow_mut().clear();
        let shown = &self.shown;
        let mut tx = match claim {
            Some(_) => self.client.transaction(),
            None => self
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        }
        .map_err(|e| pg(shown, e))?;
        match claim {
            Some(Claim::Run { pipeline, system }) => {
                tx.query(
                    "SELECT 1 FROM locks WHERE kind = 'store' FOR SHARE NOWAIT",
                    &[],
                )
                .and_then(|_| {
                    tx.query(
                        "SELECT 1 FROM locks
                          WHERE (kind = 'pipeline' AND name = $1) OR (kind = 'system' AND name = $2)
                          ORDER BY kind, name FOR UPDATE NOWAIT",
                        &[pipeline, system],
                    )
                })
                .map_err(|e| locked_or(shown, e))?;
            }
            Some(Claim::Whole) => {
                tx.query(
                    "SELECT 1 FROM locks WHERE kind = 'store' FOR UPDATE NOWAIT",
                    &[],
                )
                .map_err(|e| locked_or(shown, e))?;
            }
            None => {}
        }
        Ok(PgTx {
            tx: RefCell::new(tx),
            statements: &self.statements,
            path: shown,
            last_record: RefCell::new(None),
            last_person: RefCell::new(None),
            pending: RefCell::new(copy::Pending::default()),
            identity_lookup: RefCell::new(None),
        })
    }
}

impl Backend for PostgresStore {
    fn path(&self) -> &Path {
        &self.shown
    }

    fn reopen(&self) -> Result<Box<dyn Backend>> {
        Ok(Box::new(PostgresStore::open(&self.url)?))
    }

    fn write(&mut self, claim: &Claim<'_>) -> Result<Box<dyn Transaction + '_>> {
        Ok(Box::new(self.begin(Some(claim))?))
    }

    fn read(&mut self) -> Result<Box<dyn Transaction + '_>> {
        Ok(Box::new(self.begin(None)?))
    }

    fn integrity_ok(&self) -> Result<bool> {
        // The server checks its own pages; nothing to ask of it here.
        Ok(true)
    }
}

/// A transaction on a PostgreSQL store. Dropping it without committing
/// rolls back everything it wrote.
pub struct PgTx<'s> {
    tx: RefCell<postgres::Transaction<'s>>,
    statements: &'s RefCell<HashMap<String, Statement>>,
    path: &'s Path,
    /// The record last inserted or updated, `(pipeline, key, id)`, as in SQLite.
    last_record: RefCell<Option<(String, String, i64)>>,
    /// The person last inserted and their attributes, as in SQLite.
    last_person: RefCell<Option<(i64, String)>>,
    /// Inserted rows not written yet ([`copy`]).
    pending: RefCell<copy::Pending>,
    /// Answers matching during a first load (see [`bulk`]).
    identity_lookup: RefCell<Option<IdentityLookup>>,
}

impl PgTx<'_> {
    fn err(&self, e: postgres::Error) -> StoreError {
        pg(self.path, e)
    }

    fn corrupt(&self, e: serde_json::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.to_owned(),
            source: e,
        }
    }

    /// The statement for `sql`, prepared on first use on this connection,
    /// after the rows held back are written (nothing reads past them).
    fn stmt(&self, sql: &str) -> Result<Statement> {
        self.flush()?;
        self.prepared(sql)
    }

    /// The statement for `sql`, prepared on first use on this connection.
    fn prepared(&self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.borrow_mut().prepare(sql).map_err(|e| self.err(e))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Every row `sql` returns.
    fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.stmt(sql)?;
        self.tx
            .borrow_mut()
            .query(&statement, params)
            .map_err(|e| self.err(e))
    }

    /// The one row `sql` returns, if any.
    fn row(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let statement = self.stmt(sql)?;
        self.tx
            .borrow_mut()
            .query_opt(&statement, params)
            .map_err(|e| self.err(e))
    }

    /// Runs `sql`; the number of rows it touched.
    fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let statement = self.stmt(sql)?;
        self.tx
            .borrow_mut()
            .execute(&statement, params)
            .map_err(|e| self.err(e))
    }

    /// Calls `each` with every row `sql` returns, fetched in batches through
    /// a portal, so a large result is never held whole and `each` may use
    /// this transaction between batches.
    fn each_row(
        &self,
        sql: &str,
        params: Params<'_>,
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let statement = self.stmt(sql)?;
        let portal = self
            .tx
            .borrow_mut()
            .bind(&statement, params)
            .map_err(|e| self.err(e))?;
        loop {
            let batch = self
                .tx
                .borrow_mut()
                .query_portal(&portal, 10_000)
                .map_err(|e| self.err(e))?;
            if batch.is_empty() {
                return Ok(());
            }
            for row in &batch {
                each(row)?;
            }
        }
    }

    /// Parses stored JSON text.
    fn json<T: serde::de::DeserializeOwned>(&self, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| self.corrupt(e))
    }
}

impl Transaction for PgTx<'_> {
    fn commit(self: Box<Self>) -> Result<()> {
        self.flush()?;
        let path = self.path;
        self.tx.into_inner().commit().map_err(|e| pg(path, e))
    }

    fn rollback(self: Box<Self>) -> Result<()> {
        let path = self.path;
        self.tx.into_inner().rollback().map_err(|e| pg(path, e))
    }
}

/// A TLS connector for `tls`: verifying the chain against `sslrootcert`
/// (with `verify-ca`, `verify-full`, or `require` given a CA), the host
/// name only with `verify-full`, nothing with `prefer` or a bare `require`
/// (libpq's meaning of each mode).
fn connector(tls: &url::Tls) -> std::result::Result<native_tls::TlsConnector, String> {
    let mut builder = native_tls::TlsConnector::builder();
    let verify_chain = matches!(tls.mode.as_str(), "verify-ca" | "verify-full")
        || (tls.mode == "require" && tls.root_cert.is_some());
    if let Some(file) = &tls.root_cert {
        let pem = std::fs::read(file)
            .map_err(|e| format!("cannot read sslrootcert {}: {e}", file.display()))?;
        let certificate = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            format!(
                "sslrootcert {} is not a PEM certificate: {e}",
                file.display()
            )
        })?;
        builder.add_root_certificate(certificate);
    }
    builder.danger_accept_invalid_certs(!verify_chain);
    builder.danger_accept_invalid_hostnames(tls.mode != "verify-full");
    builder.build().map_err(|e| e.to_string())
}

/// The error and its causes, one after the other.
fn error_text(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What to check when connecting failed.
fn connect_help(e: &postgres::Error) -> &'static str {
    let text = error_text(e).to_lowercase();
    match e.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD => {
            "the server refused the user or password: give them in the URL, PGPASSWORD or the password file (PGPASSFILE, ~/.pgpass)"
        }
        Some(code) if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            "the server has no pg_hba.conf entry letting this user in from here, or refused TLS-less connections: check the user, sslmode and the server's pg_hba.conf"
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            "the database does not exist: create it (createdb) or name another in the URL"
        }
        _ if text.contains("refused") => {
            "nothing accepts connections at that host and port: check that PostgreSQL is running and the URL's host and port"
        }
        _ if text.contains("tls") || text.contains("ssl") || text.contains("certificate") => {
            "TLS failed: check sslmode, that sslrootcert is the CA of the server's certificate, and (verify-full) that the URL's host is the name in it"
        }
        _ => "check the URL, that the server is reachable, and the credentials",
    }
}

fn pg(path: &Path, e: postgres::Error) -> StoreError {
    StoreError::Backend(BackendError::new(PostgresError {
        url: path.display().to_string(),
        message: error_text(&e),
        help: "check that the URL names a rollcall state store and that the server is reachable"
            .into(),
    }))
}

/// A row lock another transaction holds (55P03) is the refusal of a
/// second run; anything else is a failure.
fn locked_or(path: &Path, e: postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
        StoreError::Locked {
            path: path.to_owned(),
        }
    } else {
        pg(path, e)
    }
}
