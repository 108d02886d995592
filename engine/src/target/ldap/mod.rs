//! The LDAP side of a target: a [`Directory`](super::Directory) over one
//! bound connection (crate `ldap3`, sync API, native-tls), listing persons
//! and groups with the Simple Paged Results control and writing one entry
//! per operation. Objects are named by their DN (`Object::id` and `name`
//! are both the DN; a rename is a modrdn that returns the new DN).
//!
//! Groups whose object class requires a member (`groupOfNames`) cannot be
//! empty: an empty membership is written as the one placeholder value
//! [`LdapSettings::empty_group_member`] and listed as no members, so the
//! layer above never sees the placeholder and never has to delete a group
//! because its last member left.

pub mod dn;
pub mod error;
mod list;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings, LdapError};

pub use error::ConnectError;

use super::{Directory, ListingError, Object, ObjectFailure, Operation};

/// How to reach and read one LDAP target; the framework fills it from the
/// pipeline's `target ldap` block (the password already resolved from its
/// environment variable).
#[derive(Clone)]
pub struct LdapSettings {
    /// The target's name, used in every message.
    pub target: String,
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    pub starttls: bool,
    /// A PEM CA certificate trusted for the server's certificate, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// The DN to bind as; empty binds anonymously (read-only servers).
    pub bind_dn: String,
    /// The bind password; never logged, never in an error.
    pub password: String,
    /// Where persons live; each is searched with subtree scope (the school
    /// OUs and the limbo OU must be under one of them, or a move there
    /// would look like a deletion).
    pub person_bases: Vec<String>,
    /// The search filter for persons; `None` is every object class of
    /// `person_object_classes` (`(&(objectClass=a)(objectClass=b))`).
    pub person_filter: Option<String>,
    /// Object classes a created person gets when its attributes name none.
    pub person_object_classes: Vec<String>,
    /// Where groups live (subtree); `None` lists and manages no groups.
    pub group_base: Option<String>,
    /// Groups' object class (`groupOfNames`); created groups get it, listings filter by it.
    pub group_object_class: String,
    /// The attribute holding a group's member DNs (`member`).
    pub member_attribute: String,
    /// The member written for an empty group (its class requires one);
    /// hidden in listings. `None` writes empty groups as they are (`posixGroup`).
    pub empty_group_member: Option<String>,
    /// Entries per page of a listing.
    pub page_size: u32,
    /// How long to wait for a connection or one operation.
    pub timeout: Duration,
}

impl LdapSettings {
    /// Settings for `inetOrgPerson` entries under `person_base` and
    /// `groupOfNames` groups (`member`) under `group_base`, pages of 500.
    pub fn new(target: &str, url: &str, bind_dn: &str, password: &str, person_base: &str) -> Self {
        LdapSettings {
            target: target.to_string(),
            url: url.to_string(),
            starttls: false,
            ca_file: None,
            bind_dn: bind_dn.to_string(),
            password: password.to_string(),
            person_bases: vec![person_base.to_string()],
            person_filter: None,
            person_object_classes: vec!["inetOrgPerson".to_string()],
            group_base: None,
            group_object_class: "groupOfNames".to_string(),
            member_attribute: "member".to_string(),
            empty_group_member: Some(EMPTY_GROUP_MEMBER.to_string()),
            page_size: 500,
            timeout: Duration::from_secs(30),
        }
    }

    /// The person filter in effect.
    pub fn person_filter(&self) -> String {
        match &self.person_filter {
            Some(f) => f.clone(),
            None => {
                let classes: Vec<String> = self
                    .person_object_classes
                    .iter()
                    .map(|c| format!("(objectClass={c})"))
                    .collect();
                match classes.len() {
                    0 => "(objectClass=*)".to_string(),
                    1 => classes[0].clone(),
                    _ => format!("(&{})", classes.concat()),
                }
            }
        }
    }
}

/// The default placeholder member of an empty group: a DN no entry has.
pub const EMPTY_GROUP_MEMBER: &str = "cn=empty-membership";

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log line or a debug dump.
        f.debug_struct("LdapSettings")
            .field("target", &self.target)
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("ca_file", &self.ca_file)
            .field("bind_dn", &self.bind_dn)
            .field("password", &"<redacted>")
            .field("person_bases", &self.person_bases)
            .field("person_filter", &self.person_filter())
            .field("group_base", &self.group_base)
            .field("group_object_class", &self.group_object_class)
            .field("member_attribute", &self.member_attribute)
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// One LDAP target, bound; reconnects on the next call after a lost connection.
pub struct LdapDirectory {
    settings: LdapSettings,
    conn: Option<LdapConn>,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("settings", &self.settings)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl LdapDirectory {
    /// Connects and binds; the error says what to check.
    pub fn connect(settings: &LdapSettings) -> Result<LdapDirectory, ConnectError> {
        let conn = open(settings)?;
        Ok(LdapDirectory {
            settings: settings.clone(),
            conn: Some(conn),
        })
    }

    /// The settings this directory was opened with.
    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    /// The bound connection, opened again when the last one was lost.
    fn conn(&mut self) -> Result<&mut LdapConn, ConnectError> {
        if self.conn.is_none() {
            self.conn = Some(open(&self.settings)?);
        }
        let conn = self.conn.as_mut().expect("just opened");
        conn.with_timeout(self.settings.timeout);
        Ok(conn)
    }

    /// Forgets a connection that failed, so the next call opens a new one.
    fn lost(&mut self) {
        self.conn = None;
    }
}

impl Directory for LdapDirectory {
    fn list(&mut self) -> Result<Vec<Object>, ListingError> {
        list::list(self)
    }

    fn apply(&mut self, operation: &Operation) -> Result<String, ObjectFailure> {
        write::apply(self, operation)
    }
}

/// Opens a connection (TLS as configured) and binds.
fn open(s: &LdapSettings) -> Result<LdapConn, ConnectError> {
    let bad_url = |reason: &str| ConnectError::BadUrl {
        target: s.target.clone(),
        url: s.url.clone(),
        reason: reason.to_string(),
    };
    let tls = if s.url.starts_with("ldaps://") {
        if s.starttls {
            return Err(bad_url(
                "StartTLS over ldaps:// (already TLS); use one of them",
            ));
        }
        true
    } else if s.url.starts_with("ldap://") {
        s.starttls
    } else {
        return Err(bad_url("the scheme must be ldap:// or ldaps://"));
    };
    let mut conn_settings = LdapConnSettings::new()
        .set_conn_timeout(s.timeout)
        .set_starttls(s.starttls);
    if tls {
        conn_settings = conn_settings.set_connector(connector(s)?);
    }
    let mut conn =
        LdapConn::with_settings(conn_settings, &s.url).map_err(|e| connect_error(s, e))?;
    if s.bind_dn.is_empty() {
        return Ok(conn);
    }
    let bound = conn
        .with_timeout(s.timeout)
        .simple_bind(&s.bind_dn, &s.password)
        .map_err(|e| connect_error(s, e))?;
    match bound.rc {
        0 => Ok(conn),
        rc => {
            let (target, url, bind_dn) = (s.target.clone(), s.url.clone(), s.bind_dn.clone());
            let answer = error::answer(rc, &bound.text);
            Err(if rc == 49 {
                ConnectError::InvalidCredentials {
                    target,
                    url,
                    bind_dn,
                    answer,
                }
            } else {
                ConnectError::Bind {
                    target,
                    url,
                    bind_dn,
                    answer,
                }
            })
        }
    }
}

/// A TLS connector trusting the system's CAs and the configured CA file.
fn connector(s: &LdapSettings) -> Result<native_tls::TlsConnector, ConnectError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = &s.ca_file {
        let ca_error = |reason: String| ConnectError::CaFile {
            target: s.target.clone(),
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
        builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| ConnectError::Tls {
        target: s.target.clone(),
        url: s.url.clone(),
        reason: e.to_string(),
    })
}

/// Names a failed connection attempt.
fn connect_error(s: &LdapSettings, e: LdapError) -> ConnectError {
    let (target, url) = (s.target.clone(), s.url.clone());
    match e {
        LdapError::Io { source } if source.kind() == std::io::ErrorKind::ConnectionRefused => {
            ConnectError::Refused { target, url }
        }
        LdapError::NativeTLS { source } => ConnectError::Tls {
            target,
            url,
            reason: source.to_string(),
        },
        // During connect, a result can only be StartTLS's answer.
        LdapError::LdapResult { result } => ConnectError::StartTls {
            target,
            url,
            answer: error::answer(result.rc, &result.text),
        },
        LdapError::UrlParsing { source } => ConnectError::BadUrl {
            target,
            url,
            reason: source.to_string(),
        },
        other => ConnectError::Unreachable {
            target,
            url,
            reason: other.to_string(),
        },
    }
}
