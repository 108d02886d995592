//! An OpenLDAP server for the tests: one `slapd` per test process, one
//! fresh organizational unit ([`Area`]) per test.
//!
//! The first test starts Debian's `slapd` with a temporary `cn=config`
//! (loaded with `slapadd -n0`) and two MDB databases: `dc=example,dc=org`
//! (schemas core, cosine, inetorgperson, nis) and `cn=accesslog`, where the
//! accesslog overlay records every write the server performs (add, modify,
//! modrdn, delete, with its result code and the identity that sent it). It
//! listens on `ldap://127.0.0.1:PORT` (StartTLS offered) and
//! `ldaps://127.0.0.1:PORT` with a self-signed certificate for
//! `localhost`/127.0.0.1 that is also the CA file tests trust. The server
//! keeps OpenLDAP's default size limit (500); an account with its own
//! limits ([`Area::account_with_limits`]) makes a listing be cut short. It is
//! stopped when the test process exits.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ldap3::{LdapConn, Mod, Scope, SearchEntry};

/// The suffix of the test database.
pub const SUFFIX: &str = "dc=example,dc=org";
/// The database's rootdn (not subject to limits or access control).
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
/// The rootdn's password, and the password of `cn=admin,cn=config`.
pub const ADMIN_PASSWORD: &str = "rollcall-ldap-admin";
/// The password of every account an [`Area`] creates.
pub const ACCOUNT_PASSWORD: &str = "rollcall-ldap-secret";

const CONFIG_DN: &str = "cn=admin,cn=config";
/// The example database's entry in `cn=config` (accesslog is `{1}`).
const DATABASE_CONFIG: &str = "olcDatabase={2}mdb,cn=config";

/// A running server the tests may use.
pub struct Server {
    url: String,
    ldaps_url: String,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// One test's own part of the tree: `ou=<name>,dc=example,dc=org`, with an
/// account that may write anywhere (`cn=writer,<base>`).
pub struct Area {
    /// The area's DN.
    pub base: String,
    /// The writer account's DN (password [`ACCOUNT_PASSWORD`]).
    pub bind_dn: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static STARTED: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The server of this test process, started on first use.
pub fn server() -> &'static Server {
    SERVER.get_or_init(start)
}

impl Server {
    /// `ldap://127.0.0.1:PORT` (StartTLS available).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `ldaps://127.0.0.1:PORT`.
    pub fn ldaps_url(&self) -> &str {
        &self.ldaps_url
    }

    /// The CA file (the self-signed server certificate) that verifies TLS.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// A new, empty organizational unit for one test, with its writer account.
    pub fn area(&self) -> Area {
        let name = format!(
            "t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let base = format!("ou={name},{SUFFIX}");
        let mut admin = self.admin();
        add(
            &mut admin,
            &base,
            &[("objectClass", &["organizationalUnit"]), ("ou", &[&name])],
        );
        let area = Area {
            bind_dn: format!("cn=writer,{base}"),
            base,
        };
        area.account("writer");
        area
    }

    /// A connection bound as the rootdn (setup and inspection only).
    pub fn admin(&self) -> LdapConn {
        bound(&self.url, ADMIN_DN)
    }
}

impl Area {
    /// Creates `ou=<name>` under the area (as the rootdn: not an operation
    /// of the area's accounts) and returns its DN.
    pub fn ou(&self, name: &str) -> String {
        let dn = format!("ou={name},{}", self.base);
        add(
            &mut server().admin(),
            &dn,
            &[("objectClass", &["organizationalUnit"]), ("ou", &[name])],
        );
        dn
    }

    /// Adds an entry as the rootdn (seeding; not counted in [`Area::operations`]).
    pub fn seed(&self, dn: &str, attrs: &[(&str, &[&str])]) {
        add(&mut server().admin(), dn, attrs);
    }

    /// A new account `cn=<name>,<base>` (password [`ACCOUNT_PASSWORD`]) whose
    /// searches obey `limits`, in slapd's `limits` syntax: `size=5` cuts
    /// every listing (paged ones too) after 5 entries, `size=5
    /// size.prtotal=unlimited` lets a paged listing go past it.
    pub fn account_with_limits(&self, name: &str, limits: &str) -> String {
        let dn = self.account(name);
        let mut config = bound(&server().url, CONFIG_DN);
        let value = format!("dn.exact=\"{dn}\" {limits}");
        config
            .modify(
                DATABASE_CONFIG,
                vec![Mod::Add("olcLimits", HashSet::from([value.as_str()]))],
            )
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("setting limits {limits} for {dn}: {e}"));
        dn
    }

    fn account(&self, name: &str) -> String {
        let dn = format!("cn={name},{}", self.base);
        add(
            &mut server().admin(),
            &dn,
            &[
                ("objectClass", &["person"]),
                ("cn", &[name]),
                ("sn", &[name]),
                ("userPassword", &[ACCOUNT_PASSWORD]),
            ],
        );
        dn
    }

    /// The writes the server performed under this area for anyone but the
    /// rootdn (so not the harness's setup), oldest first: (`add`, `modify`,
    /// `modrdn` or `delete`; the DN as sent, before a rename).
    pub fn operations(&self) -> Vec<(String, String)> {
        self.attempts()
            .into_iter()
            .filter(|(_, _, rc)| *rc == 0)
            .map(|(op, dn, _)| (op, dn))
            .collect()
    }

    /// Like [`Area::operations`], refused writes included, with the result code.
    pub fn attempts(&self) -> Vec<(String, String, u32)> {
        let mut admin = server().admin();
        // slapd answers `busy` (51) now and then while it still writes the
        // log of a moment ago: ask again, briefly.
        let mut tries = 0;
        let (entries, _) = loop {
            let read = admin
                .search(
                    "cn=accesslog",
                    Scope::OneLevel,
                    "(objectClass=auditWriteObject)",
                    vec!["reqStart", "reqType", "reqDN", "reqResult", "reqAuthzID"],
                )
                .and_then(|r| r.success());
            match read {
                Ok(found) => break found,
                Err(ldap3::LdapError::LdapResult { result }) if result.rc == 51 && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("reading the accesslog: {e}"),
            }
        };
        let suffix = format!(",{}", self.base.to_ascii_lowercase());
        let mut found: Vec<(String, String, String, u32)> = entries
            .into_iter()
            .map(SearchEntry::construct)
            .filter(|e| !first(e, "reqAuthzID").eq_ignore_ascii_case(ADMIN_DN))
            .filter(|e| first(e, "reqDN").to_ascii_lowercase().ends_with(&suffix))
            .map(|e| {
                let rc = first(&e, "reqResult").parse().unwrap_or(u32::MAX);
                (
                    first(&e, "reqStart"),
                    first(&e, "reqType"),
                    first(&e, "reqDN"),
                    rc,
                )
            })
            .collect();
        // reqStart is a generalized time with a counter: it sorts as text.
        found.sort();
        found
            .into_iter()
            .map(|(_, op, dn, rc)| (op, dn, rc))
            .collect()
    }

    /// The entry at `dn` as the rootdn reads it (operational attributes such
    /// as `entryUUID` included), or `None` when there is none.
    pub fn entry(&self, dn: &str) -> Option<BTreeMap<String, Vec<String>>> {
        let mut admin = server().admin();
        match admin.search(dn, Scope::Base, "(objectClass=*)", vec!["*", "+"]) {
            Ok(result) => match result.success() {
                Ok((entries, _)) => entries
                    .into_iter()
                    .next()
                    .map(|e| SearchEntry::construct(e).attrs.into_iter().collect()),
                Err(ldap3::LdapError::LdapResult { result }) if result.rc == 32 => None,
                Err(e) => panic!("reading {dn}: {e}"),
            },
            Err(e) => panic!("reading {dn}: {e}"),
        }
    }

    /// The DNs of the entries directly below `dn`.
    pub fn children(&self, dn: &str) -> Vec<String> {
        let mut admin = server().admin();
        let (entries, _) = admin
            .search(dn, Scope::OneLevel, "(objectClass=*)", vec!["1.1"])
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("listing {dn}: {e}"));
        let mut dns: Vec<String> = entries
            .into_iter()
            .map(|e| SearchEntry::construct(e).dn)
            .collect();
        dns.sort();
        dns
    }
}

fn first(entry: &SearchEntry, attr: &str) -> String {
    entry
        .attrs
        .get(attr)
        .and_then(|v| v.first())
        .cloned()
        .unwrap_or_default()
}

fn bound(url: &str, dn: &str) -> LdapConn {
    let mut conn =
        LdapConn::new(url).unwrap_or_else(|e| panic!("connecting to the test slapd at {url}: {e}"));
    conn.simple_bind(dn, ADMIN_PASSWORD)
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("binding as {dn}: {e}"));
    conn
}

fn add(conn: &mut LdapConn, dn: &str, attrs: &[(&str, &[&str])]) {
    let attrs: Vec<(&str, HashSet<&str>)> = attrs
        .iter()
        .map(|(a, vs)| (*a, vs.iter().copied().collect()))
        .collect();
    conn.add(dn, attrs)
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
}

const INSTALL: &str = "install OpenLDAP's server and tools with `apt-get install slapd ldap-utils` \
                       (or run .ci/install-test-servers)";

fn start() -> Server {
    let slapd = Path::new("/usr/sbin/slapd");
    assert!(
        slapd.exists(),
        "no OpenLDAP server at {}: {INSTALL}",
        slapd.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("rollcall-slapd-")
        .tempdir()
        .expect("a temporary folder");
    let d = dir.path();
    for sub in ["config", "data", "accesslog"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let (cert, key) = (d.join("server.crt"), d.join("server.key"));
    crate::self_signed(&cert, &key);
    std::fs::write(d.join("config.ldif"), config_ldif(d)).unwrap();
    std::fs::write(
        d.join("base.ldif"),
        format!("dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n"),
    )
    .unwrap();
    let slapadd = Path::new("/usr/sbin/slapadd");
    check(
        Command::new(slapadd)
            .arg("-n0")
            .arg("-F")
            .arg(d.join("config"))
            .arg("-l")
            .arg(d.join("config.ldif")),
        "slapadd -n0 (cn=config)",
    );
    check(
        Command::new(slapadd)
            .args(["-b", SUFFIX, "-F"])
            .arg(d.join("config"))
            .arg("-l")
            .arg(d.join("base.ldif")),
        "slapadd (suffix entry)",
    );
    let (port, tls_port) = (crate::free_port(), crate::free_port());
    let url = format!("ldap://127.0.0.1:{port}");
    let ldaps_url = format!("ldaps://127.0.0.1:{tls_port}");
    let pid_file = d.join("slapd.pid");
    // slapd detaches once it listens; as root it keeps running as root (no -u).
    check(
        Command::new(slapd)
            .arg("-F")
            .arg(d.join("config"))
            .args(["-h", &format!("{url}/ {ldaps_url}/")]),
        "slapd",
    );
    STARTED.set((pid_file.clone(), d.to_path_buf())).ok();
    // SAFETY: registering a plain extern "C" function; it runs at exit.
    unsafe { libc::atexit(stop_at_exit) };
    wait_for(&url, &pid_file);
    Server {
        url,
        ldaps_url,
        ca_file: cert,
        _dir: dir,
    }
}

/// Waits until the server answers a bind (it may still be opening its databases).
fn wait_for(url: &str, pid_file: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = LdapConn::new(url)
            .and_then(|mut c| c.simple_bind(ADMIN_DN, ADMIN_PASSWORD))
            .and_then(|r| r.success());
        match ready {
            Ok(_) => return,
            Err(e) if Instant::now() > deadline => {
                panic!(
                    "slapd did not answer at {url} (pid file {}): {e}",
                    pid_file.display()
                )
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

extern "C" fn stop_at_exit() {
    let Some((pid_file, dir)) = STARTED.get() else {
        return;
    };
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<libc::pid_t>().ok())
    else {
        return;
    };
    // SAFETY: signalling the slapd this process started, by its pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only checks that the process still exists.
    while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// cn=config: modules, schemas, the accesslog database, the example
/// database with the accesslog overlay, TLS and OpenLDAP's default limits.
fn config_ldif(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {d}/slapd.pid
olcTLSCertificateFile: {d}/server.crt
olcTLSCertificateKeyFile: {d}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: accesslog

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file:///etc/ldap/schema/nis.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: {CONFIG_DN}
olcRootPW: {ADMIN_PASSWORD}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: cn=accesslog
olcDbDirectory: {d}/accesslog
olcRootDN: {ADMIN_DN}
olcDbIndex: reqStart eq
olcDbMaxSize: 268435456
olcSizeLimit: unlimited

dn: {DATABASE_CONFIG}
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{2}}mdb
olcSuffix: {SUFFIX}
olcDbDirectory: {d}/data
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users write by * read

dn: olcOverlay={{0}}accesslog,{DATABASE_CONFIG}
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: {{0}}accesslog
olcAccessLogDB: cn=accesslog
olcAccessLogOps: writes
"
    )
}

fn check(cmd: &mut Command, what: &str) {
    crate::check(cmd, what, INSTALL);
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_area_records_its_accounts_writes_and_not_the_harness_setup() {
        let server = super::server();
        let area = server.area();
        let ou = area.ou("people");
        let mut writer = ldap3::LdapConn::new(server.url()).unwrap();
        writer
            .simple_bind(&area.bind_dn, super::ACCOUNT_PASSWORD)
            .unwrap()
            .success()
            .unwrap();
        let dn = format!("uid=a,{ou}");
        let attrs = vec![
            ("objectClass", ["inetOrgPerson"].into()),
            ("uid", ["a"].into()),
            ("cn", ["A"].into()),
            ("sn", ["A"].into()),
        ];
        writer.add(&dn, attrs.clone()).unwrap().success().unwrap();
        assert_eq!(
            writer.add(&dn, attrs).unwrap().rc,
            68,
            "a duplicate is refused"
        );
        assert!(area.entry(&dn).unwrap().contains_key("entryUUID"));
        assert_eq!(area.operations(), vec![("add".to_string(), dn.clone())]);
        assert_eq!(
            area.attempts(),
            vec![
                ("add".to_string(), dn.clone(), 0),
                ("add".to_string(), dn, 68)
            ]
        );
    }
}
