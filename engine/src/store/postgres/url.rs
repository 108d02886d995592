//! A `postgres://` URL: what is shown of it (never the password), and the
//! connection it describes (credentials from the URL, `PGPASSWORD` or the
//! password file; TLS per `sslmode` with `sslrootcert` as the CA).
//!
//! The client library understands `sslmode` only up to `require` and no
//! `sslrootcert`; libpq's meaning of both is kept by taking them out of
//! the URL and building the TLS connector here:
//!
//! | `sslmode` | TLS | certificate checked against the CA | host name checked |
//! |---|---|---|---|
//! | `disable` | no | | |
//! | `prefer` (default) | if the server offers it | no | no |
//! | `require` | yes | only with `sslrootcert` | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use postgres::config::{Host, SslMode};

/// What stands for the password wherever the URL is shown.
const HIDDEN: &str = "***";

/// A PostgreSQL URL; [`fmt::Display`] and [`fmt::Debug`] show it without
/// its password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// As given, password included: only ever handed to the client.
    raw: String,
    /// Without the password (user information keeps the user only;
    /// a `password=` parameter is hidden).
    shown: String,
}

/// How to verify the server, from `sslmode` and `sslrootcert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tls {
    /// `disable`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub mode: String,
    /// The CA file (`sslrootcert`).
    pub root_cert: Option<PathBuf>,
}

impl PostgresUrl {
    /// Whether `text` names a PostgreSQL database.
    pub fn is_one(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    /// Checks a URL's syntax; the error never contains the password.
    /// A URL as shown (`user:***@`) has no password: it is then looked up
    /// like any missing one, so a shown URL (a saved plan's) still connects.
    pub fn parse(text: &str) -> Result<PostgresUrl, String> {
        let raw = match password_of(text) {
            Some(password) if password == HIDDEN => text.replacen(&format!(":{HIDDEN}@"), "@", 1),
            _ => text.to_owned(),
        };
        let url = PostgresUrl {
            shown: hide_password(&raw),
            raw,
        };
        url.config().map_err(|e| format!("{}: {e}", url.shown))?;
        Ok(url)
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL as given, only to hide it in the client's error messages.
    pub(super) fn raw_for_hiding(&self) -> &str {
        &self.raw
    }

    /// The client's configuration (password filled in from `PGPASSWORD` or
    /// the password file when the URL has none) and how to verify TLS.
    pub(super) fn config(&self) -> Result<(postgres::Config, Tls), String> {
        let (base, query) = match self.raw.split_once('?') {
            Some((base, query)) => (base, query),
            None => (self.raw.as_str(), ""),
        };
        let mut tls = Tls {
            mode: "prefer".into(),
            root_cert: None,
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "sslmode" => tls.mode = value.to_owned(),
                "sslrootcert" => tls.root_cert = Some(PathBuf::from(decode(value))),
                _ => kept.push(pair),
            }
        }
        if !["disable", "prefer", "require", "verify-ca", "verify-full"]
            .contains(&tls.mode.as_str())
        {
            return Err(format!(
                "sslmode={} is not one of disable, prefer, require, verify-ca, verify-full",
                tls.mode
            ));
        }
        let rebuilt = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        let mut config = postgres::Config::from_str(&rebuilt)
            .map_err(|e| hide(&e.to_string(), &self.raw, &self.shown))?;
        config.ssl_mode(match tls.mode.as_str() {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            _ => SslMode::Require,
        });
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".into());
            config.user(&user);
        }
        if config.get_password().is_none()
            && let Some(password) = password_from_environment(&config)
        {
            config.password(password);
        }
        Ok((config, tls))
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostgresUrl").field(&self.shown).finish()
    }
}

/// `text` with the password of its user information, and the value of any
/// `password=` parameter, replaced by `***`.
fn hide_password(text: &str) -> String {
    let Some(at) = text.find("://") else {
        return text.to_owned();
    };
    let (scheme, rest) = text.split_at(at + 3);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}@{host}"),
            None => format!("{info}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name == "password" => format!("{name}={HIDDEN}"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

/// `message` without the raw URL or anything of its password: for errors
/// of the client library, which may repeat what it was given.
pub(super) fn hide(message: &str, raw: &str, shown: &str) -> String {
    let mut message = message.replace(raw, shown);
    if let Some(password) = password_of(raw).filter(|p| !p.is_empty()) {
        message = message.replace(&password, HIDDEN);
    }
    message
}

/// The password of a URL's user information, decoded.
fn password_of(raw: &str) -> Option<String> {
    let rest = &raw[raw.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let (info, _) = authority.rsplit_once('@')?;
    let (_, password) = info.split_once(':')?;
    Some(decode(password))
}

/// Percent-decoding of a URL component.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && let Some(hex) = text.get(at + 1..at + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            at += 3;
            continue;
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `PGPASSWORD`, else the line of the password file (`PGPASSFILE`, else
/// `~/.pgpass`) matching the host, port, database and user.
fn password_from_environment(config: &postgres::Config) -> Option<String> {
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Some(password);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    let wanted = [host.as_str(), &port, database, config.get_user()?];
    passfile_lookup(&text, &wanted)
}

/// The password of the first line of a `.pgpass` text whose four fields
/// match `wanted` (`*` matches anything; `\:` and `\\` are escapes).
fn passfile_lookup(text: &str, wanted: &[&str; 4]) -> Option<String> {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() == 5
            && fields[..4]
                .iter()
                .zip(wanted)
                .all(|(have, want)| have == "*" || have == want)
        {
            return fields.pop();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let url = PostgresUrl::parse(
            "postgres://rc:s3cr%40t@db.example.org:5433/rollcall?sslmode=verify-full&sslrootcert=/ca.pem",
        )
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://rc:***@db.example.org:5433/rollcall?sslmode=verify-full&sslrootcert=/ca.pem"
        );
        assert!(!format!("{url:?}").contains("s3cr"));
        let (config, tls) = url.config().unwrap();
        assert_eq!(config.get_password(), Some(&b"s3cr@t"[..]));
        assert_eq!(tls.mode, "verify-full");
        assert_eq!(tls.root_cert, Some(PathBuf::from("/ca.pem")));
        let bad = PostgresUrl::parse("postgres://rc:s3cret@h/db?sslmode=sometimes").unwrap_err();
        assert!(!bad.contains("s3cret"), "{bad}");
        let param = PostgresUrl::parse("postgresql://h/db?user=rc&password=s3cret").unwrap();
        assert_eq!(param.to_string(), "postgresql://h/db?user=rc&password=***");
        assert_eq!(
            hide(
                "failed for postgres://rc:s3cret@h/db: s3cret",
                "postgres://rc:s3cret@h/db",
                "x"
            ),
            "failed for x: ***"
        );
    }

    #[test]
    fn a_password_file_line_matches_by_host_port_database_and_user() {
        let text = "# comment\nother:5432:*:rc:no\ndb.example.org:*:roll\\:call:rc:yes\n";
        let wanted = ["db.example.org", "5433", "roll:call", "rc"];
        assert_eq!(passfile_lookup(text, &wanted), Some("yes".into()));
        assert_eq!(passfile_lookup(text, &["x", "1", "d", "rc"]), None);
    }
}
