//! Real servers on loopback for the delivery and notification tests: an
//! OpenSSH sshd (SFTP), aiosmtpd (SMTP) and a one-shot HTTP listener. Each
//! is started by the test that needs it and stopped when dropped. A missing
//! server program fails the test and says how to install it: nothing is
//! skipped silently.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`, or panics naming `what`.
fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            panic!("{what} exited at start ({status}):\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within 20 s");
}

/// Runs a program to completion, panicking with its output on failure.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} (.ci/run installs openssh-server)"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A throw-away OpenSSH sshd serving SFTP on a loopback port.
pub struct Sshd {
    child: Child,
    /// Its folder: config, keys, and `home/`, where logins start.
    pub dir: tempfile::TempDir,
    /// The port it listens on.
    pub port: u16,
    /// A known-hosts line pinning its host key.
    pub known_hosts_line: String,
    /// The private key that logs in (as the current user).
    pub client_key: PathBuf,
    /// The user that logs in.
    pub user: String,
}

impl Sshd {
    /// Starts sshd with a fresh host key and a client key allowed to log in
    /// as the current user; SFTP sessions start in `dir/home`.
    pub fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "/usr/sbin/sshd is missing: the SFTP tests need OpenSSH's server; .ci/run installs it (apt-get install -y openssh-server)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let host_key = path("host_key");
        let client_key = path("client_key");
        run(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                host_key.to_str().unwrap(),
            ],
        );
        run(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                client_key.to_str().unwrap(),
            ],
        );
        std::fs::copy(path("client_key.pub"), path("authorized_keys")).unwrap();
        std::fs::create_dir_all(path("home/userprovisioning")).unwrap();
        // Privilege separation needs this folder when sshd runs as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
             AuthorizedKeysFile {keys}\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n\
             StrictModes no\nSubsystem sftp internal-sftp\n\
             ForceCommand internal-sftp -d {home}\nLogLevel VERBOSE\n",
            host = host_key.display(),
            pid = path("sshd.pid").display(),
            keys = path("authorized_keys").display(),
            home = path("home").display(),
        );
        std::fs::write(path("sshd_config"), config).unwrap();
        let mut child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sshd");
        wait_for_port(port, "sshd", &mut child);
        let public = std::fs::read_to_string(path("host_key.pub")).unwrap();
        let known_hosts_line = format!("[127.0.0.1]:{port} {}", public.trim());
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                let out = Command::new("id").arg("-un").output().unwrap();
                String::from_utf8(out.stdout).unwrap().trim().to_owned()
            });
        Sshd {
            child,
            port,
            known_hosts_line,
            client_key,
            user,
            dir,
        }
    }

    /// A file under the login folder.
    pub fn remote(&self, path: &str) -> PathBuf {
        self.dir.path().join("home").join(path)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// aiosmtpd, writing every message it receives into a maildir.
pub struct Smtp {
    child: Child,
    /// The maildir.
    pub dir: tempfile::TempDir,
    /// The port it listens on.
    pub port: u16,
}

impl Smtp {
    /// Starts `python3 -m aiosmtpd` with the Mailbox handler.
    pub fn start() -> Smtp {
        let probe = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output();
        assert!(
            probe.as_ref().is_ok_and(|o| o.status.success()),
            "python3 with aiosmtpd is needed for the email tests; .ci/run installs it (pip install aiosmtpd)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        wait_for_port(port, "aiosmtpd", &mut child);
        Smtp { child, dir, port }
    }

    /// Every message received so far, as text.
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("mail/new");
        let mut messages: Vec<String> = std::fs::read_dir(&new)
            .map(|entries| {
                entries
                    .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        messages.sort();
        messages
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP listener that answers every request with `status` and hands
/// each request body to the test.
pub struct Webhook {
    /// The URL to POST to.
    pub url: String,
    bodies: mpsc::Receiver<String>,
}

impl Webhook {
    /// Listens on a loopback port in a background thread.
    pub fn start(status: u16) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hooks/rollcall",
            listener.local_addr().unwrap().port()
        );
        let (send, bodies) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                if send
                    .send(String::from_utf8_lossy(&body).into_owned())
                    .is_err()
                {
                    return;
                }
            }
        });
        Webhook { url, bodies }
    }

    /// The bodies received within a second of the last one.
    pub fn received(&self) -> Vec<String> {
        let mut bodies = Vec::new();
        while let Ok(body) = self.bodies.recv_timeout(Duration::from_secs(1)) {
            bodies.push(body);
        }
        bodies
    }
}
