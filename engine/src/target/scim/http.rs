//! The SCIM client's HTTP: one request at a time, spaced by the declared
//! rate, with `429`/`503` waited out as `Retry-After` says. The bearer
//! token goes in a header and never into a message.

use std::time::{Duration, Instant};

use crate::target::ObjectFailure;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How often a throttled request is tried again before it is given up (for this delivery).
const RETRIES: u32 = 5;
/// The longest `Retry-After` waited for; a longer one ends the attempt (the outbox keeps it).
const LONGEST_WAIT: Duration = Duration::from_secs(120);

/// What the server answered.
pub(super) struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// An HTTP session with one SCIM service.
pub(super) struct Http {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    /// Least time between two requests (from `rate`).
    spacing: Option<Duration>,
    last: Option<Instant>,
}

impl Http {
    /// A session with the service at `base` (no trailing `/`).
    pub fn new(base: &str, token: Option<String>, rate: Option<f64>) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::NativeTls)
                    .build(),
            )
            .build()
            .into();
        Http {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            token,
            spacing: rate
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            last: None,
        }
    }

    /// Sends `method path` (a path below the base) with an optional JSON
    /// body and `If-Match`; throttling is waited out and retried.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        if_match: Option<&str>,
    ) -> Result<Answer, ObjectFailure> {
        let mut tries = 0;
        loop {
            self.pace();
            let answer = self.once(method, path, body, if_match)?;
            if !matches!(answer.0.status, 429 | 503) {
                return Ok(answer.0);
            }
            tries += 1;
            let wait = answer.1.unwrap_or(Duration::from_secs(1));
            if tries > RETRIES || wait > LONGEST_WAIT {
                return Err(ObjectFailure {
                    request: format!("{method} {path}"),
                    answer: format!(
                        "{} (throttled {tries} times): {}",
                        answer.0.status, answer.0.body
                    ),
                    transient: true,
                });
            }
            tracing::info!(
                status = answer.0.status,
                wait_s = wait.as_secs_f64(),
                "SCIM service throttles; waiting as Retry-After says"
            );
            std::thread::sleep(wait);
        }
    }

    /// Waits until the declared rate allows the next request.
    fn pace(&mut self) {
        if let (Some(spacing), Some(last)) = (self.spacing, self.last) {
            let since = last.elapsed();
            if since < spacing {
                std::thread::sleep(spacing - since);
            }
        }
        self.last = Some(Instant::now());
    }

    /// One request; the answer and its `Retry-After`.
    fn once(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        if_match: Option<&str>,
    ) -> Result<(Answer, Option<Duration>), ObjectFailure> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        macro_rules! headers {
            ($builder:expr) => {{
                let mut b = $builder.header("accept", "application/scim+json");
                if let Some(auth) = &auth {
                    b = b.header("authorization", auth.as_str());
                }
                if let Some(tag) = if_match {
                    b = b.header("if-match", tag);
                }
                b
            }};
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let sent = match method {
            "GET" => headers!(self.agent.get(&url)).call(),
            "DELETE" => headers!(self.agent.delete(&url)).call(),
            "POST" => headers!(self.agent.post(&url))
                .header("content-type", "application/scim+json")
                .send(text),
            "PUT" => headers!(self.agent.put(&url))
                .header("content-type", "application/scim+json")
                .send(text),
            _ => headers!(self.agent.patch(&url))
                .header("content-type", "application/scim+json")
                .send(text),
        };
        let mut response = sent.map_err(|e| ObjectFailure {
            request: format!("{method} {path}"),
            // The error may name the URL, never the token (it is a header).
            answer: format!("no answer: {e}"),
            transient: true,
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Ok((Answer { status, etag, body }, retry_after))
    }
}
