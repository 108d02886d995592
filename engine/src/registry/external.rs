//! External matchers: a command (the record as JSON on stdin, an answer on
//! stdout) or an HTTP endpoint (the record POSTed as JSON). The answer is a
//! person id, several ids (an ambiguity, held like any other), or `none`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollcall_model::ExternalMatcher;

use super::RegistryError;
use crate::env;

/// An external matcher ready to ask, its settings resolved.
#[derive(Debug, Clone)]
pub enum External {
    /// A shell command run in the pipeline's folder.
    Command {
        /// The command line.
        command: String,
        /// The folder it runs in.
        dir: PathBuf,
        /// How long one answer may take.
        timeout: Duration,
    },
    /// An `http://` endpoint.
    Url {
        /// The URL.
        url: String,
        /// How long one answer may take.
        timeout: Duration,
    },
}

impl External {
    /// Resolves the matcher's settings (a URL from the environment) once per run.
    pub fn resolve(
        target: &ExternalMatcher,
        timeout: u64,
        dir: &Path,
    ) -> Result<External, RegistryError> {
        let timeout = Duration::from_secs(timeout);
        Ok(match target {
            ExternalMatcher::Command(command) => External::Command {
                command: command.clone(),
                dir: dir.to_path_buf(),
                timeout,
            },
            ExternalMatcher::Url(setting) => External::Url {
                url: env::resolve(setting, "the external matcher's url")?,
                timeout,
            },
        })
    }

    /// The matcher as messages name it (printed, stored in `runs.error`,
    /// sent in notifications): through [`crate::redact`], so a token in its
    /// URL or command line is never shown.
    pub fn name(&self) -> String {
        match self {
            External::Command { command, .. } => {
                format!("command {:?}", crate::redact::command(command))
            }
            External::Url { url, .. } => format!("url {}", crate::redact::url(url)),
        }
    }

    /// Asks the matcher about one record; the person ids it answers.
    pub fn ask(&self, key: &str, body: &str) -> Result<Vec<i64>, RegistryError> {
        let fail = |problem: String| RegistryError::Matcher {
            matcher: self.name(),
            key: key.to_owned(),
            problem,
        };
        let answer = match self {
            External::Command {
                command,
                dir,
                timeout,
            } => run_command(command, dir, *timeout, body).map_err(fail)?,
            External::Url { url, timeout } => post(url, *timeout, body).map_err(fail)?,
        };
        parse_answer(&answer).map_err(|problem| RegistryError::Matcher {
            matcher: self.name(),
            key: key.to_owned(),
            problem,
        })
    }
}

/// `none` (or nothing) is no match; otherwise whitespace-separated ids.
fn parse_answer(answer: &str) -> Result<Vec<i64>, String> {
    let answer = answer.trim();
    if answer.is_empty() || answer.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    answer
        .split_whitespace()
        .map(|word| {
            word.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    format!("answered {answer:?}; expected a person id, several ids, or `none`")
                })
        })
        .collect()
}

fn run_command(command: &str, dir: &Path, timeout: Duration, body: &str) -> Result<String, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    // Write and read on threads, so a matcher that answers before reading
    // all of its input (or never reads it) cannot dead-lock the run.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let body = body.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(body.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stderr.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("gave no answer within {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("could not be waited for: {e}")),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = errors.join().unwrap_or_default();
    if !status.success() {
        let err = err.trim();
        return Err(format!(
            "exited with {status}{}",
            if err.is_empty() {
                String::new()
            } else {
                format!(": {}", err.lines().last().unwrap_or(err))
            }
        ));
    }
    Ok(out)
}

/// A plain HTTP/1.0 POST, so the answer is the body up to the connection's end
/// (no chunking to decode).
fn post(url: &str, timeout: Duration, body: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        "only http:// endpoints are supported (run the matcher on a trusted network or behind a local TLS proxy)".to_owned()
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let address = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", crate::redact::url(authority)))?
        .next()
        .ok_or_else(|| format!("cannot resolve {}", crate::redact::url(authority)))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("cannot connect: {e}"))?;
    let deadline = Instant::now() + timeout;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("gave no answer within {}s", timeout.as_secs()))
    };
    stream
        .set_write_timeout(Some(remaining()?))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the record: {e}"))?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        stream
            .set_read_timeout(Some(remaining()?))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buffer[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("gave no answer within {}s", timeout.as_secs()));
            }
            Err(e) => return Err(format!("cannot read the answer: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "answered without an HTTP header".to_owned())?;
    let status = head.lines().next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!("answered {status:?}"));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_none_one_id_or_several() {
        assert_eq!(parse_answer("none\n"), Ok(vec![]));
        assert_eq!(parse_answer(""), Ok(vec![]));
        assert_eq!(parse_answer(" 42\n"), Ok(vec![42]));
        assert_eq!(parse_answer("3 7"), Ok(vec![3, 7]));
        assert!(parse_answer("person-3").is_err());
        assert!(parse_answer("0").is_err());
    }
}
