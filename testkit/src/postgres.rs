//! A PostgreSQL server for the tests: one cluster per test process, one
//! fresh database per test.
//!
//! `ROLLCALL_TEST_POSTGRES` (an admin URL, as `.ci/run` exports) points at a
//! running server; without it the first test starts its own cluster with
//! Debian's `initdb`/`pg_ctl` (run as the `postgres` user when we are root)
//! in a temporary folder, listening on 127.0.0.1 with an ephemeral port,
//! password authentication over TCP and TLS on (a self-signed certificate
//! for `localhost`/127.0.0.1, also the CA file tests trust). It is stopped
//! when the test process exits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The superuser's password in a cluster the tests start.
pub const PASSWORD: &str = "rollcall-test-secret";

/// A running server the tests may use.
pub struct Server {
    /// Admin URL (superuser, database `postgres`), password included.
    admin: String,
    /// The CA file that verifies the server's certificate, when we started it.
    ca_file: Option<PathBuf>,
    /// The folder of a cluster we started (data, socket, log).
    _dir: Option<tempfile::TempDir>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATA_DIR: OnceLock<PathBuf> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The server of this test process, started on first use.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("ROLLCALL_TEST_POSTGRES") {
        Ok(admin) if !admin.is_empty() => Server {
            admin,
            ca_file: std::env::var_os("ROLLCALL_TEST_POSTGRES_CA").map(PathBuf::from),
            _dir: None,
        },
        _ => start(),
    })
}

impl Server {
    /// A new, empty database and the URL that reaches it (password in it).
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "rc_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = ::postgres::Client::connect(&self.admin, ::postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        self.url_of(&name)
    }

    /// The admin URL with `database` in place of `postgres`.
    pub fn url_of(&self, database: &str) -> String {
        match self.admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{database}"),
            None => panic!("admin URL without a database: {}", self.admin),
        }
    }

    /// The admin URL (superuser, database `postgres`).
    pub fn admin_url(&self) -> &str {
        &self.admin
    }

    /// The CA file that verifies the server's certificate (TLS tests).
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }
}

/// Where Debian keeps the server's programs (`/usr/lib/postgresql/N/bin`),
/// newest version first.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("postgres").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server found under /usr/lib/postgresql: install it with \
             `apt-get install postgresql` (or run .ci/install-test-servers), or point \
             ROLLCALL_TEST_POSTGRES at a running server's admin URL"
        )
    })
}

fn start() -> Server {
    let bin = bin_dir();
    let dir = tempfile::Builder::new()
        .prefix("rollcall-pg-")
        .tempdir()
        .expect("a temporary folder");
    let data = dir.path().join("data");
    let port = crate::free_port();
    let pwfile = dir.path().join("pwfile");
    std::fs::write(&pwfile, PASSWORD).unwrap();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    crate::self_signed(&cert, &key);
    share_with_postgres(dir.path());
    check(
        crate::command_as("postgres", &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["-E", "UTF8", "--no-sync", "--locale=C"]),
        "initdb",
    );
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on \
         -c ssl_cert_file={} -c ssl_key_file={} -c max_connections=200",
        dir.path().display(),
        cert.display(),
        key.display()
    );
    check(
        crate::command_as("postgres", &bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-w", "-l"])
            .arg(dir.path().join("server.log"))
            .arg("start"),
        "pg_ctl start",
    );
    DATA_DIR.set(data).ok();
    // SAFETY: registering a plain extern "C" function; it runs at exit.
    unsafe { libc::atexit(stop_at_exit) };
    Server {
        admin: format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"),
        ca_file: Some(cert),
        _dir: Some(dir),
    }
}

extern "C" fn stop_at_exit() {
    if let (Some(data), Ok(bin)) = (DATA_DIR.get(), std::panic::catch_unwind(bin_dir)) {
        let _ = crate::command_as("postgres", &bin.join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The folder and its files belong to `postgres` when we are root (the
/// server refuses a key file others can read).
fn share_with_postgres(dir: &Path) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    check(
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir),
        "chown",
    );
    check(
        Command::new("chmod")
            .arg("0600")
            .arg(dir.join("server.key")),
        "chmod",
    );
}

fn check(cmd: &mut Command, what: &str) {
    crate::check(
        cmd,
        what,
        "install PostgreSQL with `apt-get install postgresql`",
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fresh_database_takes_a_password_login_and_a_tls_one() {
        let server = super::server();
        let url = server.fresh_database();
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);
        let ssl: bool = client
            .query_one(
                "SELECT setting = 'on' FROM pg_settings WHERE name = 'ssl'",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(ssl, "the test server offers TLS");
        let wrong = url.replace(super::PASSWORD, "wrong");
        assert!(::postgres::Client::connect(&wrong, ::postgres::NoTls).is_err());
    }
}
