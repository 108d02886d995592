//! Uploads: delivering a written sink file to where its consumer reads it.
//!
//! One module per target: [`s3`] and `sftp`. Each makes the file appear
//! whole or not at all, so a reader never sees a partial upload.

pub mod s3;
mod sftp;

use std::path::Path;

use rollcall_model::Upload;

use crate::env::EnvError;
use crate::s3::S3Error;

pub use sftp::host_key_fingerprint;

/// An upload that failed. Messages name the target, never a secret.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum UploadError {
    /// A setting from the environment is missing.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Env(#[from] EnvError),
    /// S3 refused the upload or could not be reached; the object at the
    /// key is as it was.
    #[error(transparent)]
    #[diagnostic(transparent)]
    S3(#[from] S3Error),
    /// The file to upload cannot be read.
    #[error("{path}: cannot read the file to upload: {source}")]
    #[diagnostic(
        code("rollcall::upload::unreadable"),
        help(
            "the sink writes this file just before uploading it; check the sink's path and the folder's permissions"
        )
    )]
    Unreadable {
        /// The local file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The server's host key is not the pinned one.
    #[error("sftp {host}:{port}: host key {found} does not match the pinned host key")]
    #[diagnostic(
        code("rollcall::upload::host-key-mismatch"),
        help(
            "nothing was sent. If the server's key was changed on purpose, confirm the new fingerprint with its operator and update `host-key`; otherwise someone may be intercepting the connection"
        )
    )]
    HostKeyMismatch {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// The server's key, as a `SHA256:` fingerprint.
        found: String,
    },
    /// The pinned host key is not in a form rollcall reads.
    #[error(
        "the pinned host key for {host} is neither a `SHA256:` fingerprint nor a known-hosts line"
    )]
    #[diagnostic(
        code("rollcall::upload::bad-host-key"),
        help(
            "use `ssh-keyscan HOST | ssh-keygen -lf -` to get the `SHA256:...` fingerprint, or a line of known_hosts"
        )
    )]
    BadPin {
        /// Host.
        host: String,
    },
    /// Connecting, logging in or transferring failed.
    #[error("sftp {target}: {step}: {message}")]
    #[diagnostic(
        code("rollcall::upload::sftp"),
        help(
            "check the host, port, credentials and that the remote folder exists and is writable"
        )
    )]
    Sftp {
        /// `user@host:port`.
        target: String,
        /// What was being done.
        step: String,
        /// What went wrong.
        message: String,
    },
}

/// Uploads `file` as `upload` says; returns where it went, for the report.
pub fn upload(upload: &Upload, file: &Path) -> Result<String, UploadError> {
    match upload {
        Upload::Sftp { .. } => forget_openssl_errors(sftp::upload(upload, file)),
        Upload::S3 { .. } => {
            let target = s3::Target::resolve(upload)?.expect("an s3 upload");
            Ok(s3::upload(file, &target)?.uri)
        }
    }
}

/// libssh2 (through OpenSSL) can leave errors in this thread's OpenSSL
/// error queue, e.g. after parsing a host key it does not support; the next
/// TLS read on the thread (a PostgreSQL store's connection) would then take
/// them for its own and fail. OpenSSL asks for an empty queue before each
/// TLS operation, so it is emptied once libssh2 is done.
fn forget_openssl_errors<T>(result: T) -> T {
    drop(openssl::error::ErrorStack::get());
    result
}

/// Checks that `upload`'s target can be reached with the settings it has,
/// writing nothing: S3 lists the key's folder, SFTP logs in after checking
/// the pinned host key. Returns what was done, for the report.
pub fn reach(upload: &Upload) -> Result<String, UploadError> {
    match upload {
        Upload::Sftp { .. } => forget_openssl_errors(sftp::reach(upload)),
        Upload::S3 { .. } => {
            let target = s3::Target::resolve(upload)?.expect("an s3 upload");
            s3::reach(&target)
        }
    }
}
