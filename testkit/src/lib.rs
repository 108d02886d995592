//! Real servers for rollcall's tests, started on 127.0.0.1 with ephemeral
//! ports: PostgreSQL ([`postgres`]), OpenLDAP ([`slapd`]), a SCIM 2.0 server ([`scim`]). A server that cannot be started is a
//! failing test that says how to install it, never a skipped one.

pub mod postgres;
pub mod scim;
pub mod slapd;

/// A free TCP port on loopback (bound, then released for the server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs `program` with `args` as `user` when this process is root (servers
/// such as PostgreSQL refuse to run as root), else as ourselves.
pub fn command_as(user: &str, program: &std::path::Path) -> std::process::Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut cmd = std::process::Command::new("runuser");
        cmd.args(["-u", user, "--"]).arg(program);
        cmd
    } else {
        std::process::Command::new(program)
    }
}

/// Runs `cmd` to the end; a program that cannot start or that fails is a
/// failing test, with `install` saying how to get it.
pub(crate) fn check(cmd: &mut std::process::Command, what: &str, install: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start ({e}); {install}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate for `localhost` and 127.0.0.1 that is its own CA (the
/// servers' TLS, and the CA file the tests trust).
pub(crate) fn self_signed(cert: &std::path::Path, key: &std::path::Path) {
    check(
        std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(key)
            .arg("-out")
            .arg(cert),
        "openssl req",
        "install openssl with `apt-get install openssl`",
    );
}
