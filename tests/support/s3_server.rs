//! A real S3 server on loopback, started by the tests themselves: `s3s-fs`
//! serves a temporary folder over the S3 protocol, with SigV4 signatures
//! checked against one key pair. `<root>/<bucket>/<key>` files are the
//! objects, and a file's mtime is the object's LastModified, so tests set
//! times instead of sleeping.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// The key pair the server accepts (test values, not secrets).
pub const ACCESS_KEY: &str = "rollcall-test-access-key";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "rollcall-test-secret-key";
/// Region the clients sign for.
pub const REGION: &str = "us-east-1";

/// A running server; stops when dropped.
pub struct S3Server {
    /// The served folder: `<root>/<bucket>/<key>`.
    pub root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Denies every request on some buckets: a real access policy, enforced
/// by the server after it has checked the signature.
struct DenyBuckets(HashSet<String>);

#[async_trait::async_trait]
impl S3Access for DenyBuckets {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> s3s::S3Result<()> {
        if cx.credentials().is_none() {
            return Err(s3s::s3_error!(AccessDenied, "Signature is required"));
        }
        match cx.s3_path().get_bucket_name() {
            Some(bucket) if self.0.contains(bucket) => {
                Err(s3s::s3_error!(AccessDenied, "Access Denied"))
            }
            _ => Ok(()),
        }
    }
}

impl S3Server {
    /// Starts a server on `127.0.0.1:0`.
    pub fn start() -> S3Server {
        S3Server::start_denying(&[])
    }

    /// Starts a server that answers AccessDenied for `denied` buckets.
    pub fn start_denying(denied: &[&str]) -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        builder.set_access(DenyBuckets(denied.iter().map(|s| s.to_string()).collect()));
        let service = builder.build();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server {
            root,
            url,
            runtime: Some(runtime),
        }
    }

    /// The folder of `bucket`, created.
    pub fn bucket(&self, bucket: &str) -> PathBuf {
        let path = self.root.path().join(bucket);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// The file behind `bucket/key`.
    pub fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.path().join(bucket).join(key)
    }

    /// Stores an object whose LastModified is `modified`.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8], modified: SystemTime) -> PathBuf {
        let path = self.path(bucket, key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        set_mtime(&path, modified);
        path
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// Sets a file's modification time (LastModified to the server).
pub fn set_mtime(path: &Path, modified: SystemTime) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(modified).unwrap();
}

/// `seconds` after a fixed day, as a file time.
pub fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_725_000_000 + seconds)
}

/// AWS configuration files for one test: the credential chain reads these
/// and nothing of the developer's own `~/.aws`.
pub struct AwsFiles {
    dir: tempfile::TempDir,
}

impl AwsFiles {
    /// A config file with the region, and a credentials file with the
    /// server's key pair under `[default]` (`with_credentials`) or empty.
    pub fn new(with_credentials: bool) -> AwsFiles {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config"),
            format!("[default]\nregion = {REGION}\n"),
        )
        .unwrap();
        let credentials = if with_credentials {
            format!(
                "[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
            )
        } else {
            String::new()
        };
        std::fs::write(dir.path().join("credentials"), credentials).unwrap();
        AwsFiles { dir }
    }

    /// Points `cmd`'s credential chain at these files and at nothing else:
    /// no instance metadata, no inherited AWS variables.
    pub fn apply(&self, cmd: &mut Command) {
        for name in AWS_VARIABLES {
            cmd.env_remove(name);
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.dir.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("credentials"),
            );
    }
}

/// Variables of the AWS chain a developer's shell may hold.
const AWS_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "ROLLCALL_S3_PATH_STYLE",
];

/// For tests that build AWS clients in this process: once, before any
/// client exists, points this process's credential chain at temporary
/// files holding the server's key pair, with instance metadata off.
pub fn in_process_aws_env() {
    static ONCE: Once = Once::new();
    static FILES: std::sync::OnceLock<Arc<AwsFiles>> = std::sync::OnceLock::new();
    ONCE.call_once(|| {
        let files = FILES.get_or_init(|| Arc::new(AwsFiles::new(true)));
        // SAFETY: runs once, and every test calls this before it builds any
        // client (waiting on the `Once` meanwhile). std's environment lock
        // orders these writes with every `std::env` read; nothing in these
        // tests reads the environment through libc directly.
        unsafe {
            for name in AWS_VARIABLES {
                std::env::remove_var(name);
            }
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::set_var("AWS_CONFIG_FILE", files.dir.path().join("config"));
            std::env::set_var(
                "AWS_SHARED_CREDENTIALS_FILE",
                files.dir.path().join("credentials"),
            );
        }
    });
}
