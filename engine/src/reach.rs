//! `rollcall check --reach`: contacting what a pipeline reads from and
//! delivers to, with the settings it would use, writing nothing: the
//! source is located (S3: the prefix listed), each upload's target reached
//! (S3: its folder listed; SFTP: logged in after the pinned host key is
//! checked), the SMTP server's greeting read, the webhook's host
//! connected to (no request is sent, so no one is notified), and an
//! external matcher's command looked up, and each directory target listed
//! in full (every page).
//!
//! Targets are named as messages name them everywhere: never a secret.

use std::io::{BufRead, BufReader};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rollcall_model::{Channel, ExternalMatcher, Location, Setting, Upload};
use serde::Serialize;

use crate::plan::Plan;
use crate::registry::config::Strategy;

/// How long one contact may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What contacting one target found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The target, e.g. `upload sftp of sink ../out/users.csv`.
    pub target: String,
    /// Whether it answered as it should.
    pub ok: bool,
    /// What was done, or why it failed.
    pub detail: String,
}

/// Contacts the source and every target of `plan`, in the order a run
/// uses them.
pub fn reach(plan: &Plan) -> Vec<Probe> {
    let mut probes = vec![source(plan)];
    if let Strategy::External { target, dir, .. } = &plan.registry.strategy {
        probes.push(matcher(target, dir));
    }
    for sink in &plan.sinks {
        for upload in &sink.uploads {
            let kind = match upload {
                Upload::S3 { .. } => "s3",
                Upload::Sftp { .. } => "sftp",
            };
            let result = crate::upload::reach(upload).map_err(|e| e.to_string());
            probes.push(probe(
                format!("upload {kind} of sink {}", sink.path.value),
                result,
            ));
        }
    }
    for target in &plan.targets {
        probes.push(probe(
            format!("target {}", target.name.value),
            directory(target, plan),
        ));
    }
    for notify in &plan.notifications {
        probes.push(match &notify.channel {
            Channel::Email { .. } => smtp(),
            Channel::Webhook { url } => webhook(url),
        });
    }
    probes
}

/// A target's directory listed in full (every page), nothing written.
fn directory(target: &rollcall_model::Target, plan: &Plan) -> Result<String, String> {
    let mut directory = crate::target::open(target, plan)?;
    let objects = directory.list().map_err(|e| e.to_string())?;
    Ok(format!("listed in full: {} object(s)", objects.len()))
}

fn probe(target: String, result: Result<String, String>) -> Probe {
    match result {
        Ok(detail) => Probe {
            target,
            ok: true,
            detail,
        },
        Err(detail) => Probe {
            target,
            ok: false,
            detail,
        },
    }
}

/// The source: its newest extract located (S3: the prefix listed).
fn source(plan: &Plan) -> Probe {
    let target = match &plan.source.location {
        Location::File { path } => format!("source file {}", path.value),
        Location::S3(s3) => format!("source s3 prefix {:?}", s3.prefix),
    };
    let found = crate::source::locate(&plan.source, &plan.base_dir, None)
        .map(|located| format!("found {}", located.identity.uri))
        .map_err(|e| e.to_string());
    probe(target, found)
}

/// An external matcher: its command found, or its URL's host connected to.
fn matcher(target: &ExternalMatcher, dir: &Path) -> Probe {
    match target {
        ExternalMatcher::Command(command) => {
            let program = command.split_whitespace().next().unwrap_or_default();
            let found = find_program(program, dir)
                .map(|path| format!("found {}", path.display()))
                .ok_or_else(|| format!("{program:?} is not a file nor on PATH"));
            probe(
                format!("matcher command {:?}", crate::redact::command(command)),
                found,
            )
        }
        ExternalMatcher::Url(url) => connect_url(url, "matcher url"),
    }
}

/// A program named alone is looked up on `PATH`; a path, in the pipeline's folder.
fn find_program(program: &str, dir: &Path) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let path = dir.join(program);
        return path.is_file().then_some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|folder| folder.join(program))
        .find(|path| path.is_file())
}

/// The SMTP server of email notifications: its `220` greeting read.
fn smtp() -> Probe {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(host) = var("ROLLCALL_SMTP_HOST") else {
        return probe(
            "notify email".into(),
            Err("ROLLCALL_SMTP_HOST is not set".into()),
        );
    };
    let port = var("ROLLCALL_SMTP_PORT").unwrap_or_else(|| "25".into());
    let target = format!("notify email via smtp {host}:{port}");
    let greeting = port
        .parse::<u16>()
        .map_err(|_| "ROLLCALL_SMTP_PORT is not a port number".to_owned())
        .and_then(|port| connect(&host, port))
        .and_then(|stream| {
            let mut line = String::new();
            BufReader::new(stream)
                .read_line(&mut line)
                .map_err(|e| format!("no greeting: {e}"))?;
            if line.starts_with("220") {
                Ok("the server greeted (220)".to_owned())
            } else {
                Err(format!(
                    "the server answered {:?}, not a 220 greeting",
                    line.trim_end().chars().take(80).collect::<String>()
                ))
            }
        });
    probe(target, greeting)
}

/// A webhook: its host and port connected to; no request is sent.
fn webhook(url: &Setting) -> Probe {
    connect_url(url, "notify webhook")
}

fn connect_url(url: &Setting, what: &str) -> Probe {
    let url = match crate::env::resolve(url, what) {
        Ok(url) => url,
        Err(err) => return probe(what.to_owned(), Err(err.to_string())),
    };
    let target = format!("{what} {}", crate::redact::url(&url));
    let result = host_port(&url)
        .ok_or_else(|| "not an http:// or https:// URL".to_owned())
        .and_then(|(host, port)| {
            connect(&host, port).map(|_| format!("connected to {host}:{port}"))
        });
    probe(target, result)
}

/// The host and port of an `http://` or `https://` URL.
fn host_port(url: &str) -> Option<(String, u16)> {
    let (rest, default) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, 443)
    } else {
        (url.strip_prefix("http://")?, 80)
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(default), |p| p.parse().ok())?;
        return Some((host.to_owned(), port));
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), default)),
    }
}

fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_their_host_and_port() {
        assert_eq!(
            host_port("https://hooks.example.com/T0/B1?x=1"),
            Some(("hooks.example.com".into(), 443))
        );
        assert_eq!(
            host_port("http://user:secret@127.0.0.1:8080/hook"),
            Some(("127.0.0.1".into(), 8080))
        );
        assert_eq!(host_port("http://[::1]:81/"), Some(("::1".into(), 81)));
        assert_eq!(host_port("ftp://x/"), None);
    }
}
