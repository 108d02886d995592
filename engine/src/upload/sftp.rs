//! `upload sftp`: delivery to an SFTP server (libssh2, through `ssh2`).
//!
//! The server's host key is checked against the pinned one right after the
//! key exchange, before any credential is sent. The file goes to a temporary
//! name in the target folder and is then renamed over the target, so the
//! consumer never picks up half a file.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rollcall_model::{Setting, Upload};
use sha2::{Digest, Sha256};
use ssh2::{RenameFlags, Session};

use super::UploadError;
use crate::env;

/// How long connecting, and each network operation, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The OpenSSH-style fingerprint of a host key blob: `SHA256:` and the
/// unpadded base64 of its SHA-256.
pub fn host_key_fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// Where to, and as whom.
struct Target {
    host: String,
    port: u16,
    user: String,
}

impl Target {
    fn fail(&self, step: &str, message: impl ToString) -> UploadError {
        UploadError::Sftp {
            target: format!(
                "{}@{}:{}",
                self.user,
                crate::redact::url(&self.host),
                self.port
            ),
            step: step.to_owned(),
            message: message.to_string(),
        }
    }
}

/// Logs in to the server of an `upload sftp` (pinned host key checked
/// first) and writes nothing: what `rollcall check --reach` asks.
pub(super) fn reach(upload: &Upload) -> Result<String, UploadError> {
    let (_, target) = log_in(upload)?;
    Ok(format!(
        "logged in to sftp://{}@{}:{}",
        target.user, target.host, target.port
    ))
}

/// Uploads `file` to the server and path of an `upload sftp`.
pub(super) fn upload(upload: &Upload, file: &Path) -> Result<String, UploadError> {
    let Upload::Sftp { path, .. } = upload else {
        unreachable!("dispatched on the kind");
    };
    let (session, target) = log_in(upload)?;
    let remote = remote_path(path);
    let temp = temporary_name(&remote);
    let sftp = session.sftp().map_err(|e| target.fail("start sftp", e))?;
    let bytes = std::fs::read(file).map_err(|e| target.fail("read the local file", e))?;
    let written = sftp
        .create(Path::new(&temp))
        .map_err(std::io::Error::from)
        .and_then(|mut remote_file| {
            remote_file.write_all(&bytes)?;
            remote_file.flush()
        })
        .map_err(|e| target.fail(&format!("write {temp}"), e));
    if let Err(err) = written {
        let _ = sftp.unlink(Path::new(&temp));
        return Err(err);
    }
    if let Err(err) = replace(&sftp, &temp, &remote) {
        let _ = sftp.unlink(Path::new(&temp));
        return Err(target.fail(&format!("rename {temp} to {remote}"), err));
    }
    Ok(format!(
        "sftp://{}@{}:{}/~/{remote}",
        target.user, target.host, target.port
    ))
}

/// Connects, checks the pinned host key and logs in.
fn log_in(upload: &Upload) -> Result<(Session, Target), UploadError> {
    let Upload::Sftp {
        host,
        port,
        user,
        password,
        key_file,
        host_key,
        ..
    } = upload
    else {
        unreachable!("dispatched on the kind");
    };
    let (host, port) = host_and_port(&env::resolve(host, "the sftp upload's `host`")?, *port);
    let target = Target {
        host,
        port,
        user: env::resolve(user, "the sftp upload's `user`")?,
    };
    let pin = env::resolve(host_key, "the sftp upload's `host-key`")?;
    // Either way of logging in may be declared and left unset in a given
    // environment (a password in production, a key in a test).
    let password = optional(password.as_ref(), "the sftp upload's `password`")?;
    let key_file = optional(key_file.as_ref(), "the sftp upload's `key-file`")?;

    let session = connect(&target, &pin)?;
    match (&key_file, &password) {
        (Some(key), _) => session
            .userauth_pubkey_file(&target.user, None, Path::new(key), None)
            .map_err(|e| target.fail("log in with the key file", e))?,
        (None, Some(password)) => session
            .userauth_password(&target.user, password)
            .map_err(|e| target.fail("log in with the password", e))?,
        (None, None) => {
            return Err(target.fail(
                "log in",
                "neither the password nor the key file setting is set in the environment",
            ));
        }
    }
    if !session.authenticated() {
        return Err(target.fail("log in", "the server did not accept the credentials"));
    }
    Ok((session, target))
}

/// A setting whose unset environment variable means "not used here".
fn optional(setting: Option<&Setting>, what: &str) -> Result<Option<String>, UploadError> {
    match env::resolve_opt(setting, what) {
        Err(env::EnvError::Missing { .. }) => Ok(None),
        other => Ok(other?),
    }
}

/// Connects and checks the host key against the pin, before logging in.
fn connect(target: &Target, pin: &str) -> Result<Session, UploadError> {
    let address = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| target.fail("resolve the host", e))?
        .next()
        .ok_or_else(|| target.fail("resolve the host", "no address"))?;
    let tcp =
        TcpStream::connect_timeout(&address, TIMEOUT).map_err(|e| target.fail("connect", e))?;
    let mut session = Session::new().map_err(|e| target.fail("start ssh", e))?;
    session.set_tcp_stream(tcp);
    session.set_timeout(TIMEOUT.as_millis() as u32);
    session
        .handshake()
        .map_err(|e| target.fail("ssh handshake", e))?;
    let (blob, _) = session
        .host_key()
        .ok_or_else(|| target.fail("ssh handshake", "the server sent no host key"))?;
    if !pin_matches(pin, blob).ok_or_else(|| UploadError::BadPin {
        host: target.host.clone(),
    })? {
        return Err(UploadError::HostKeyMismatch {
            host: target.host.clone(),
            port: target.port,
            found: host_key_fingerprint(blob),
        });
    }
    Ok(session)
}

/// Whether the server's key blob is the pinned one; `None` when the pin is
/// neither a `SHA256:` fingerprint nor known-hosts line(s).
fn pin_matches(pin: &str, blob: &[u8]) -> Option<bool> {
    let pin = pin.trim();
    if let Some(fingerprint) = pin.strip_prefix("SHA256:") {
        return Some(
            fingerprint.trim_end_matches('=') == STANDARD_NO_PAD.encode(Sha256::digest(blob)),
        );
    }
    // A known-hosts line is `[marker] hosts keytype base64-key [comment]`;
    // the key blob is the token that decodes to an SSH key. Host names are
    // not compared: this pin belongs to this one upload.
    let mut any_key = false;
    for line in pin.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for token in line.split_whitespace() {
            if let Ok(decoded) = STANDARD.decode(token)
                && decoded.len() > 16
                && decoded.starts_with(&[0, 0, 0])
            {
                any_key = true;
                if decoded == blob {
                    return Some(true);
                }
            }
        }
    }
    any_key.then_some(false)
}

/// The host, and the port: `host=` may carry one (`name:2222`,
/// `[::1]:2222`), which wins over `port=` so one environment variable can
/// point a pipeline at another server.
fn host_and_port(host: &str, port: u16) -> (String, u16) {
    let split = match host.strip_prefix('[') {
        Some(rest) => rest
            .split_once("]:")
            .map(|(name, port)| (name.to_owned(), port)),
        None => host
            .split_once(':')
            .filter(|(_, port)| !port.contains(':'))
            .map(|(name, port)| (name.to_owned(), port)),
    };
    match split.and_then(|(name, text)| Some((name, text.parse().ok()?))) {
        Some((name, port)) => (name, port),
        None => (
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
        ),
    }
}

/// A remote path relative to the login folder; `~/` and `/~/` are accepted
/// (the MIT feed writes `/~/userprovisioning`).
fn remote_path(path: &str) -> String {
    let path = path
        .strip_prefix("/~/")
        .or_else(|| path.strip_prefix("~/"))
        .unwrap_or(path);
    path.to_owned()
}

/// A hidden temporary name beside the target.
fn temporary_name(remote: &str) -> String {
    let (folder, name) = match remote.rsplit_once('/') {
        Some((folder, name)) => (format!("{folder}/"), name),
        None => (String::new(), remote),
    };
    format!("{folder}.{name}.rollcall-{}.tmp", std::process::id())
}

/// Renames the temporary file over the target. SFTP v3 (OpenSSH) refuses
/// to rename onto an existing file, so an existing target is removed first:
/// for that moment there is no file, but never a partial one.
fn replace(sftp: &ssh2::Sftp, temp: &str, remote: &str) -> Result<(), ssh2::Error> {
    let flags = Some(RenameFlags::OVERWRITE | RenameFlags::ATOMIC | RenameFlags::NATIVE);
    let (temp, remote) = (Path::new(temp), Path::new(remote));
    match sftp.rename(temp, remote, flags) {
        Ok(()) => Ok(()),
        Err(first) => {
            if sftp.stat(remote).is_err() {
                return Err(first);
            }
            sftp.unlink(remote)?;
            sftp.rename(temp, remote, flags)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ed25519 public key blob (the test sshd's kind).
    const LINE: &str = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn blob() -> Vec<u8> {
        STANDARD
            .decode("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
            .unwrap()
    }

    #[test]
    fn a_known_hosts_line_or_its_fingerprint_pins_the_key() {
        let blob = blob();
        assert_eq!(pin_matches(LINE, &blob), Some(true));
        assert_eq!(pin_matches(&host_key_fingerprint(&blob), &blob), Some(true));
        let mut other = blob.clone();
        *other.last_mut().unwrap() ^= 1;
        assert_eq!(pin_matches(LINE, &other), Some(false));
        assert_eq!(
            pin_matches(&host_key_fingerprint(&blob), &other),
            Some(false)
        );
        assert_eq!(pin_matches("yes", &blob), None, "never accepted blindly");
    }

    #[test]
    fn a_host_may_carry_its_port() {
        assert_eq!(
            host_and_port("sftp.example.org", 22),
            ("sftp.example.org".into(), 22)
        );
        assert_eq!(
            host_and_port("127.0.0.1:2222", 22),
            ("127.0.0.1".into(), 2222)
        );
        assert_eq!(host_and_port("[::1]:2222", 22), ("::1".into(), 2222));
        assert_eq!(host_and_port("::1", 22), ("::1".into(), 22));
    }

    #[test]
    fn remote_paths_are_relative_to_the_login_folder() {
        assert_eq!(
            remote_path("/~/userprovisioning/feed.csv"),
            "userprovisioning/feed.csv"
        );
        assert_eq!(remote_path("feed.csv"), "feed.csv");
        assert!(
            temporary_name("userprovisioning/feed.csv")
                .starts_with("userprovisioning/.feed.csv.rollcall-")
        );
    }
}
