//! Connecting to S3 (or any S3-compatible store) for the `s3` source and
//! S3 uploads, and turning the SDK's errors into one-line errors with a hint.
//!
//! The engine's API is synchronous; the AWS SDK is async. Each [`Connection`]
//! owns a small tokio runtime (one worker thread) that drives the SDK's
//! requests, and the engine blocks on them. Credentials and region come from
//! the standard AWS chain (environment, shared profile, container and
//! instance metadata) through `aws-config`: none is ever read from a
//! pipeline file, and none is ever printed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use rollcall_model::Setting;
use tokio::runtime::Runtime;

use crate::env::{self, EnvError};

/// The environment variable that turns on path-style addressing for every
/// S3 source and upload, like `path-style #true` in the pipeline.
pub const PATH_STYLE_VAR: &str = "ROLLCALL_S3_PATH_STYLE";

/// Attempts per request, first included; the SDK backs off exponentially
/// with jitter between them and retries only transient failures
/// (throttling, 5xx, timeouts, dropped connections).
const MAX_ATTEMPTS: u32 = 5;
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to reach S3, with every `(env)` setting resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// Custom endpoint URL; `None` leaves it to the AWS chain
    /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`,
    /// else AWS itself).
    pub url: Option<String>,
    /// Region; `None` leaves it to the AWS chain (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// Path-style addressing (`https://host/bucket/key`).
    pub path_style: bool,
}

impl Endpoint {
    /// Resolves a pipeline's S3 settings; `what` names their owner in errors
    /// (e.g. `the s3 source`). Path style is on when the pipeline says so or
    /// [`PATH_STYLE_VAR`] is true.
    pub fn resolve(
        url: Option<&Setting>,
        region: Option<&Setting>,
        path_style: bool,
        what: &str,
    ) -> Result<Endpoint, EnvError> {
        let url = env::resolve_opt(url, &format!("{what}'s endpoint"))?;
        let region = env::resolve_opt(region, &format!("{what}'s region"))?;
        let path_style = path_style || env::flag(PATH_STYLE_VAR)?.unwrap_or(false);
        Ok(Endpoint {
            url,
            region,
            path_style,
        })
    }
}

/// A client for one endpoint and the runtime that drives it.
#[derive(Clone)]
pub struct Connection {
    runtime: Arc<Runtime>,
    client: Client,
}

impl Connection {
    /// Builds a client from the AWS chain and `endpoint`. Nothing is sent
    /// yet: credentials are looked up on the first request.
    pub fn connect(endpoint: &Endpoint) -> Result<Connection, S3Error> {
        if let Some(url) = &endpoint.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(S3Error::BadEndpoint {
                url: crate::redact::url(url),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rollcall-s3")
            .enable_all()
            .build()
            .map_err(|e| S3Error::Runtime {
                message: e.to_string(),
            })?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            );
        if let Some(region) = &endpoint.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &endpoint.url {
            loader = loader.endpoint_url(url.clone());
        }
        let shared = runtime.block_on(loader.load());
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(endpoint.path_style)
            .build();
        Ok(Connection {
            runtime: Arc::new(runtime),
            client: Client::from_conf(config),
        })
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs a request to completion on this connection's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The runtime, for tasks that outlive one request (streaming a body).
    pub(crate) fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }
}

/// A failed S3 request, in terms an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum S3Error {
    /// The AWS chain found no credentials.
    #[error("no AWS credentials found for {target}")]
    #[diagnostic(
        code("rollcall::s3::no-credentials"),
        help(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ~/.aws/credentials, or run with an instance or task role; credentials never go in the pipeline file"
        )
    )]
    NoCredentials {
        /// The bucket (or object) being reached.
        target: String,
    },
    /// No region anywhere.
    #[error("no AWS region set for {target}")]
    #[diagnostic(
        code("rollcall::s3::no-region"),
        help(
            "set AWS_REGION (any value, e.g. us-east-1, for S3-compatible stores), a `region` in the pipeline, or a region in the AWS profile"
        )
    )]
    NoRegion {
        /// The bucket (or object) being reached.
        target: String,
    },
    /// The endpoint setting is not an HTTP(S) URL.
    #[error("S3 endpoint {url:?} is not an http:// or https:// URL")]
    #[diagnostic(
        code("rollcall::s3::bad-endpoint"),
        help("write the endpoint as a full URL, e.g. https://minio.example.org:9000")
    )]
    BadEndpoint {
        /// The endpoint as resolved, through [`crate::redact::url`].
        url: String,
    },
    /// The bucket does not exist (at this endpoint and region).
    #[error("bucket {bucket:?} does not exist")]
    #[diagnostic(
        code("rollcall::s3::no-such-bucket"),
        help(
            "check the bucket name (and the environment variable it comes from), and that the endpoint and region are the bucket's"
        )
    )]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
    },
    /// The credentials are valid but not allowed to do this.
    #[error("access denied: {operation} on {target}")]
    #[diagnostic(
        code("rollcall::s3::access-denied"),
        help(
            "the credentials in use are not allowed this operation on this bucket; check the IAM or bucket policy (reading needs s3:ListBucket and s3:GetObject, delete-older s3:DeleteObject, uploads s3:PutObject), and that AWS_PROFILE names the right account"
        )
    )]
    AccessDenied {
        /// The operation, e.g. `ListObjectsV2`.
        operation: String,
        /// `s3://bucket/prefix` or `s3://bucket/key`.
        target: String,
    },
    /// The store does not accept the credentials themselves.
    #[error("S3 rejected the credentials ({code}) for {target}")]
    #[diagnostic(
        code("rollcall::s3::bad-credentials"),
        help(
            "the access key is unknown, the secret does not match it, or the session token has expired; check which credentials the AWS chain picks up (environment first, then AWS_PROFILE)"
        )
    )]
    BadCredentials {
        /// The store's error code, e.g. `SignatureDoesNotMatch`.
        code: String,
        /// The bucket (or object) being reached.
        target: String,
    },
    /// No object under the prefix matches the key pattern.
    #[error("no extract under {location}")]
    #[diagnostic(
        code("rollcall::s3::nothing-matches"),
        help(
            "check the source's `prefix` and `key-pattern`, and that the extract has arrived (`aws s3 ls` on the same prefix)"
        )
    )]
    NothingMatches {
        /// `s3://bucket/prefix` and the key pattern.
        location: String,
    },
    /// The object changed or vanished between listing and reading it.
    #[error("{target} changed or was removed while it was being read")]
    #[diagnostic(
        code("rollcall::s3::changed"),
        help("a new extract replaced it under the same key; run again to read the new one")
    )]
    Changed {
        /// `s3://bucket/key`.
        target: String,
    },
    /// The store could not be reached, even after retries.
    #[error("cannot reach S3 for {target}: {message}")]
    #[diagnostic(
        code("rollcall::s3::unreachable"),
        help(
            "check the endpoint (AWS_ENDPOINT_URL_S3 or the pipeline's `endpoint`), the network and any proxy; transient failures were already retried with backoff"
        )
    )]
    Unreachable {
        /// The bucket (or object) being reached.
        target: String,
        /// What failed, with its causes.
        message: String,
    },
    /// Any other error answer from the store.
    #[error("{operation} on {target} failed: {message}")]
    #[diagnostic(
        code("rollcall::s3::failed"),
        help(
            "the store refused the request; transient failures were already retried with backoff, so this one is likely to persist"
        )
    )]
    Failed {
        /// The operation.
        operation: String,
        /// The bucket (or object).
        target: String,
        /// The store's code and message.
        message: String,
    },
    /// The runtime for the SDK could not start.
    #[error("cannot start the S3 client's runtime: {message}")]
    #[diagnostic(
        code("rollcall::s3::runtime"),
        help("the process could not create a thread; check its limits")
    )]
    Runtime {
        /// The operating system's error.
        message: String,
    },
}

/// Turns an SDK error from `operation` on `target` (`s3://bucket/...`) into
/// an [`S3Error`]. `bucket` names the bucket for a missing-bucket answer.
pub(crate) fn classify<E>(err: &SdkError<E>, operation: &str, bucket: &str, target: &str) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let target = target.to_owned();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_owned);
    match (code.as_deref(), status) {
        (Some("NoSuchBucket"), _) => {
            return S3Error::NoSuchBucket {
                bucket: bucket.to_owned(),
            };
        }
        (
            Some(
                code @ ("InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "NotSignedUp"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"),
            ),
            _,
        ) => {
            return S3Error::BadCredentials {
                code: code.to_owned(),
                target,
            };
        }
        (Some("AccessDenied" | "AllAccessDisabled"), _) | (None, Some(403)) => {
            return S3Error::AccessDenied {
                operation: operation.to_owned(),
                target,
            };
        }
        (Some("PreconditionFailed" | "NoSuchKey"), _) | (None, Some(404 | 412)) => {
            return S3Error::Changed { target };
        }
        _ => {}
    }
    let message = DisplayErrorContext(err).to_string();
    match err {
        SdkError::ServiceError(_) => S3Error::Failed {
            operation: operation.to_owned(),
            target,
            message: match code {
                Some(code) => format!(
                    "{code}: {}",
                    err.message().unwrap_or("no message from the store")
                ),
                None => message,
            },
        },
        // Before anything is sent: the credential chain and the region are
        // resolved here. The SDK only says so in its error text.
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_)
            if message.contains("credentials") || message.contains("Credentials") =>
        {
            S3Error::NoCredentials { target }
        }
        SdkError::ConstructionFailure(_) if message.contains("region") => {
            S3Error::NoRegion { target }
        }
        _ => S3Error::Unreachable { target, message },
    }
}

/// `s3://bucket/key`.
pub fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// An entity tag without the quotes S3 wraps it in.
pub(crate) fn bare_etag(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}
