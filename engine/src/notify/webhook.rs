//! `notify webhook`: the run event POSTed as JSON.

use std::time::Duration;

use rollcall_model::Setting;

use super::RunEvent;
use crate::env;

/// How long the POST may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs the event; any status other than 2xx is a failure. The URL is not
/// repeated in errors: webhook URLs often carry a token.
pub(super) fn send(url: &Setting, event: &RunEvent) -> Result<(), String> {
    let url = env::resolve(url, "the webhook URL").map_err(|e| e.to_string())?;
    let body = serde_json::to_string(event).expect("events serialize");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .build(),
        )
        .build()
        .into();
    agent
        .post(&url)
        .header("content-type", "application/json")
        .send(body)
        .map(|_| ())
        .map_err(|e| match e {
            // Its text would repeat the URL, which may hold a token.
            ureq::Error::BadUri(_) => "webhook POST failed: the URL is not valid".to_owned(),
            other => crate::redact::within(&format!("webhook POST failed: {other}"), &url),
        })
}
