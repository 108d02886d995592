//! Inline secrets: credentials written in a pipeline file instead of read
//! from the environment with `(env)"NAME"`.

use std::sync::LazyLock;

use kdl::{KdlDocument, KdlEntry, KdlValue};
use regex::Regex;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Span;

/// Whether a property with this name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token", "access-key"]
        .iter()
        .any(|word| name.contains(word))
}

static AWS_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b").expect("valid regex"));
static PRIVATE_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----").expect("valid regex"));
static URL_CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@").expect("valid regex")
});

static QUERY_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[?&](?:access_token|api_key|apikey|api-key|token|secret|password|passwd|client_secret|sig|signature|x-amz-signature)=[^&#\s]+")
        .expect("valid regex")
});
static WEBHOOK_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)https://(?:hooks\.slack\.com/services|discord(?:app)?\.com/api/webhooks|[a-z0-9.-]+\.webhook\.office\.com)/\S+")
        .expect("valid regex")
});

/// What kind of secret a literal value looks like, if any.
pub fn looks_like_secret(value: &str) -> Option<&'static str> {
    if AWS_KEY.is_match(value) {
        Some("an AWS access key id")
    } else if PRIVATE_KEY.is_match(value) {
        Some("a private key")
    } else if URL_CREDENTIALS.is_match(value) {
        Some("a URL with a user and password")
    } else if QUERY_SECRET.is_match(value) {
        Some("a URL with a token in its query")
    } else if WEBHOOK_URL.is_match(value) {
        Some("a webhook URL (its path is the token)")
    } else {
        None
    }
}

/// Properties that may be written `(env)"NAME"` (LANGUAGE.md's env-capable
/// settings), so the help can show the fix in place.
const ENV_CAPABLE: &[&str] = &[
    "bucket", "endpoint", "region", "host", "user", "password", "key-file", "host-key", "url",
    "from",
];

/// Every literal secret in the document.
pub fn find_inline_secrets(document: &KdlDocument) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    walk(document, &mut found);
    found
}

fn walk(document: &KdlDocument, found: &mut Vec<Diagnostic>) {
    for node in document.nodes() {
        for entry in node.entries() {
            if let Some(diagnostic) = check_entry(entry) {
                found.push(diagnostic);
            }
        }
        if let Some(children) = node.children() {
            walk(children, found);
        }
    }
}

fn check_entry(entry: &KdlEntry) -> Option<Diagnostic> {
    if entry.ty().is_some_and(|ty| ty.value() == "env") {
        return None;
    }
    let span = Span::from(entry.span());
    if let Some(name) = entry.name().map(|n| n.value())
        && is_secret_name(name)
        && !matches!(entry.value(), KdlValue::Null)
    {
        return Some(
            Diagnostic::error(
                Code::InlineSecret,
                format!("`{name}` is written in the file"),
            )
            .with_label(span, "a secret in plain text")
            .with_help(format!(
                "put it in an environment variable and write `{name}=(env)\"NAME\"`; \
                     `rollcall validate` never reads the value"
            )),
        );
    }
    let KdlValue::String(text) = entry.value() else {
        return None;
    };
    let kind = looks_like_secret(text)?;
    let help = match entry.name().map(|n| n.value()) {
        Some(name) if ENV_CAPABLE.contains(&name) => format!(
            "put it in an environment variable and write `{name}=(env)\"NAME\"`; \
             `rollcall validate` never reads the value"
        ),
        _ => "move it to an environment variable and write `(env)\"NAME\"` in its place \
              (only env-capable settings take one, see LANGUAGE.md); `rollcall validate` \
              never reads the value"
            .to_owned(),
    };
    Some(
        Diagnostic::error(Code::InlineSecret, format!("this value looks like {kind}"))
            .with_label(span, "a secret in plain text")
            .with_help(help),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        assert!(is_secret_name("password"));
        assert!(is_secret_name("client-secret"));
        assert!(is_secret_name("api-token"));
        assert!(is_secret_name("aws-access-key"));
        assert!(!is_secret_name("host-key"));
        assert!(!is_secret_name("key"));
    }

    #[test]
    fn secret_values() {
        assert!(looks_like_secret("AKIAABCDEFGHIJKLMNOP").is_some());
        assert!(looks_like_secret("ASIAABCDEFGHIJKLMNOP").is_some());
        assert!(looks_like_secret("AKIA123").is_none());
        assert!(looks_like_secret("-----BEGIN RSA PRIVATE KEY-----\nabc").is_some());
        assert!(looks_like_secret("https://bob:hunter2@example.com/x").is_some());
        assert!(looks_like_secret("https://example.com/x@y").is_none());
        assert!(looks_like_secret("data-flow-exports/StaffSSOUsersPipeline/").is_none());
        // Issue 13: tokens in a query and webhook URLs.
        for secret in [
            "https://api.example.org/v1?access_token=abc123",
            "http://match.internal/find?mode=x&api_key=abc123",
            "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
        ] {
            assert!(looks_like_secret(secret).is_some(), "{secret}");
        }
        assert!(looks_like_secret("https://example.org/find?mode=fast").is_none());
        assert!(looks_like_secret("https://hooks.slack.com/").is_none());
    }
}
