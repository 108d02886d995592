//! Why an LDAP directory could not be reached, and how to name a server's
//! answer. Messages never hold the bind password: the settings' password is
//! only ever handed to the bind request.

use std::path::PathBuf;

/// A connection or bind that failed, with what to check.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConnectError {
    /// The URL is not `ldap://` or `ldaps://`, or StartTLS was asked over `ldaps://`.
    #[error("target {target}: {url} is not a usable LDAP URL: {reason}")]
    #[diagnostic(
        code("rollcall::ldap::url"),
        help("use ldap://host:port (with starttls for TLS) or ldaps://host:port")
    )]
    BadUrl {
        /// The target's name.
        target: String,
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA file cannot be read or holds no PEM certificate.
    #[error("target {target}: CA file {}: {reason}", path.display())]
    #[diagnostic(
        code("rollcall::ldap::ca-file"),
        help("ca-file must be a PEM certificate (the CA that signed the server's certificate)")
    )]
    CaFile {
        /// The target's name.
        target: String,
        /// The file as configured.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
    /// Nothing accepts connections at the address.
    #[error("target {target}: connection to {url} refused")]
    #[diagnostic(
        code("rollcall::ldap::refused"),
        help("is the LDAP server running, and are the host and port in the url right?")
    )]
    Refused {
        /// The target's name.
        target: String,
        /// The URL.
        url: String,
    },
    /// The network failed or the server did not answer in time.
    #[error("target {target}: cannot reach {url}: {reason}")]
    #[diagnostic(
        code("rollcall::ldap::unreachable"),
        help("check the url, the network path to the server and its firewall")
    )]
    Unreachable {
        /// The target's name.
        target: String,
        /// The URL.
        url: String,
        /// The I/O error or timeout.
        reason: String,
    },
    /// The TLS handshake failed (certificate not trusted, wrong name, no TLS).
    #[error("target {target}: TLS with {url} failed: {reason}")]
    #[diagnostic(
        code("rollcall::ldap::tls"),
        help(
            "check ca-file (the CA that signed the server's certificate) and that the \
             certificate names the host in the url"
        )
    )]
    Tls {
        /// The target's name.
        target: String,
        /// The URL.
        url: String,
        /// The TLS library's reason.
        reason: String,
    },
    /// The server refused StartTLS.
    #[error("target {target}: {url} refused StartTLS: {answer}")]
    #[diagnostic(
        code("rollcall::ldap::starttls"),
        help("the server has no TLS certificate configured; use ldaps:// or configure TLS on it")
    )]
    StartTls {
        /// The target's name.
        target: String,
        /// The URL.
        url: String,
        /// The server's answer.
        answer: String,
    },
    /// The server refused the bind DN and password.
    #[error("target {target}: bind as {bind_dn} at {url} failed: {answer}")]
    #[diagnostic(
        code("rollcall::ldap::bind"),
        help("check bind-dn and the password's env variable")
    )]
    InvalidCredentials {
        /// The target's name.
        target: String,
        /// The URL.
        url: String,
        /// The DN bound as.
        bind_dn: String,
        /// The server's answer (result code and message).
        answer: String,
    },
    /// The bind failed for another reason (the account is locked, a policy).
    #[error("target {target}: bind as {bind_dn} at {url} failed: {answer}")]
    #[diagnostic(
        code("rollcall::ldap::bind"),
        help("the server refused the bind; its answer says why")
    )]
    Bind {
        /// The target's name.
        target: String,
        /// The URL.
        url: String,
        /// The DN bound as.
        bind_dn: String,
        /// The server's answer (result code and message).
        answer: String,
    },
}

/// The server's answer as an operator reads it: `name (code): message`.
pub fn answer(rc: u32, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        format!("{} ({rc})", code_name(rc))
    } else {
        format!("{} ({rc}): {text}", code_name(rc))
    }
}

/// Result codes that may succeed when sent again later.
pub fn is_transient(rc: u32) -> bool {
    // timeLimitExceeded, busy, unavailable, and the client-side codes for
    // a lost server or a timeout (RFC 4511 appendix A, RFC 3771).
    matches!(rc, 3 | 51 | 52 | 81 | 85)
}

/// The RFC 4511 name of a result code.
pub fn code_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        81 => "serverDown",
        85 => "timeout",
        _ => "unknown result",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_answer_names_the_code_and_keeps_the_servers_message() {
        assert_eq!(
            super::answer(19, "attribute 'mail' cannot have multiple values "),
            "constraintViolation (19): attribute 'mail' cannot have multiple values"
        );
        assert_eq!(super::answer(68, ""), "entryAlreadyExists (68)");
        assert!(super::is_transient(51) && !super::is_transient(68));
    }
}
