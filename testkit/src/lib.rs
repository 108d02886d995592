//! Real servers for rollcall's tests, started on 127.0.0.1 with ephemeral
//! ports: PostgreSQL ([`postgres`]), a SCIM 2.0 server ([`scim`]). A server that cannot be started is a
//! failing test that says how to install it, never a skipped one.

pub mod postgres;
pub mod scim;

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
