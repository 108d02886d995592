//! `notify email`: a plain-text message over SMTP. The server comes from
//! the environment (`ROLLCALL_SMTP_HOST`, `ROLLCALL_SMTP_PORT`,
//! `ROLLCALL_SMTP_USER`, `ROLLCALL_SMTP_PASSWORD`, `ROLLCALL_SMTP_TLS`,
//! `ROLLCALL_SMTP_FROM`), so one pipeline file serves every environment.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use rollcall_model::Setting;

use crate::env;

/// How long talking to the SMTP server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An optional environment variable (empty counts as unset).
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Sends one message to every recipient. Errors never include a password.
pub(super) fn send(
    to: &[Setting],
    from: Option<&Setting>,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let host = env::resolve(
        &Setting::Env("ROLLCALL_SMTP_HOST".into()),
        "email notifications",
    )
    .map_err(|e| e.to_string())?;
    let port = match var("ROLLCALL_SMTP_PORT") {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| "ROLLCALL_SMTP_PORT is not a port number".to_owned())?,
        None => 25,
    };
    let from = match from {
        Some(setting) => env::resolve(setting, "the email's `from`").map_err(|e| e.to_string())?,
        None => var("ROLLCALL_SMTP_FROM").unwrap_or_else(|| "rollcall@localhost".into()),
    };
    let mut message = Message::builder()
        .from(from.parse().map_err(|e| format!("sender {from:?}: {e}"))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for recipient in to {
        let address = env::resolve(recipient, "an email recipient").map_err(|e| e.to_string())?;
        message = message.to(address
            .parse()
            .map_err(|e| format!("recipient {address:?}: {e}"))?);
    }
    let message = message
        .body(body.to_owned())
        .map_err(|e| format!("cannot build the message: {e}"))?;

    let credentials = match (var("ROLLCALL_SMTP_USER"), var("ROLLCALL_SMTP_PASSWORD")) {
        (Some(user), Some(password)) => Some(Credentials::new(user, password)),
        _ => None,
    };
    let tls_mode = var("ROLLCALL_SMTP_TLS").unwrap_or_else(|| {
        // Credentials never go over a connection that could stay plain text.
        if credentials.is_some() {
            "starttls"
        } else {
            "opportunistic"
        }
        .into()
    });
    let parameters = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS setup: {e}"));
    let tls = match tls_mode.as_str() {
        "none" => Tls::None,
        "opportunistic" => Tls::Opportunistic(parameters()?),
        "starttls" => Tls::Required(parameters()?),
        "tls" => Tls::Wrapper(parameters()?),
        other => {
            return Err(format!(
                "ROLLCALL_SMTP_TLS is {other:?}; use none, opportunistic, starttls or tls"
            ));
        }
    };
    let mut transport = SmtpTransport::builder_dangerous(&host)
        .port(port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let Some(credentials) = credentials {
        transport = transport.credentials(credentials);
    }
    transport.build().send(&message).map(|_| ()).map_err(|e| {
        let shown = crate::redact::url(&host);
        crate::redact::within(&format!("email via {shown}:{port}: {e}"), &host)
    })
}
