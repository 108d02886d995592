//! Uploading a file to S3 (`upload s3 bucket=... key=...`).
//!
//! S3 makes an object visible only once it is complete: a single PutObject
//! replaces the key atomically, and a multipart upload shows nothing until
//! CompleteMultipartUpload, which is sent only after every part is stored
//! (a failed one is aborted, so its parts do not linger). Files up to
//! [`UploadOptions::single_put_limit`] go in one PUT; larger ones in parts.
//! The file is streamed from disk, never read into memory whole.

use std::path::Path;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use rollcall_model::Upload;
use serde::Serialize;

use super::UploadError;
use crate::env::EnvError;
use crate::s3::{self, Connection, Endpoint, S3Error};

/// Where an S3 upload goes, with every `(env)` setting resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Bucket.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Endpoint, region and addressing.
    pub endpoint: Endpoint,
}

impl Target {
    /// Resolves an `upload s3` declaration; `None` for other kinds of upload.
    pub fn resolve(upload: &Upload) -> Result<Option<Target>, EnvError> {
        let Upload::S3 {
            bucket,
            key,
            endpoint,
            region,
            path_style,
        } = upload
        else {
            return Ok(None);
        };
        Ok(Some(Target {
            bucket: crate::env::resolve(bucket, "the s3 upload's bucket")?,
            key: key.clone(),
            endpoint: Endpoint::resolve(
                endpoint.as_ref(),
                region.as_ref(),
                *path_style,
                "the s3 upload",
            )?,
        }))
    }

    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        s3::uri(&self.bucket, &self.key)
    }
}

/// How files are cut for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOptions {
    /// Largest file sent in one PutObject (S3 allows up to 5 GiB).
    pub single_put_limit: u64,
    /// Part size of a multipart upload (S3 needs at least 5 MiB).
    pub part_size: u64,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            single_put_limit: 64 << 20,
            part_size: 16 << 20,
        }
    }
}

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uploaded {
    /// `s3://bucket/key`.
    pub uri: String,
    /// The new object's entity tag.
    pub etag: Option<String>,
    /// Bytes uploaded.
    pub size: u64,
    /// Parts used (1 for a single PUT).
    pub parts: u32,
}

/// Uploads `file` to `target` with the default part sizes.
pub fn upload(file: &Path, target: &Target) -> Result<Uploaded, UploadError> {
    upload_with(file, target, &UploadOptions::default())
}

/// Uploads `file` to `target`: one PutObject, or a multipart upload
/// completed only when every part is stored.
pub fn upload_with(
    file: &Path,
    target: &Target,
    options: &UploadOptions,
) -> Result<Uploaded, UploadError> {
    let size = std::fs::metadata(file)
        .map_err(|e| UploadError::Unreadable {
            path: file.display().to_string(),
            source: e,
        })?
        .len();
    let conn = Connection::connect(&target.endpoint)?;
    if size <= options.single_put_limit {
        put(&conn, file, target, size)
    } else {
        multipart(&conn, file, target, size, options.part_size.max(5 << 20))
    }
}

/// Checks that `target`'s folder can be listed (ListObjectsV2 on the key's
/// prefix, one key at most): the credentials, endpoint and bucket work.
/// Nothing is written.
pub fn reach(target: &Target) -> Result<String, UploadError> {
    let conn = Connection::connect(&target.endpoint)?;
    let prefix = match target.key.rfind('/') {
        Some(end) => &target.key[..=end],
        None => "",
    };
    conn.block_on(
        conn.client()
            .list_objects_v2()
            .bucket(&target.bucket)
            .prefix(prefix)
            .max_keys(1)
            .send(),
    )
    .map_err(|e| failed(&e, "ListObjectsV2", target))?;
    Ok(format!("listed {}", s3::uri(&target.bucket, prefix)))
}

fn put(
    conn: &Connection,
    file: &Path,
    target: &Target,
    size: u64,
) -> Result<Uploaded, UploadError> {
    let output = conn.block_on(async {
        let body = ByteStream::from_path(file)
            .await
            .map_err(|e| unreadable(file, e))?;
        conn.client()
            .put_object()
            .bucket(&target.bucket)
            .key(&target.key)
            .content_length(size as i64)
            .body(body)
            .send()
            .await
            .map_err(|e| failed(&e, "PutObject", target))
    })?;
    Ok(Uploaded {
        uri: target.uri(),
        etag: output.e_tag().map(s3::bare_etag),
        size,
        parts: 1,
    })
}

fn multipart(
    conn: &Connection,
    file: &Path,
    target: &Target,
    size: u64,
    part_size: u64,
) -> Result<Uploaded, UploadError> {
    let client = conn.client();
    let uri = target.uri();
    let created = conn
        .block_on(
            client
                .create_multipart_upload()
                .bucket(&target.bucket)
                .key(&target.key)
                .send(),
        )
        .map_err(|e| failed(&e, "CreateMultipartUpload", target))?;
    let Some(upload_id) = created.upload_id().map(str::to_owned) else {
        return Err(UploadError::S3(S3Error::Failed {
            operation: "CreateMultipartUpload".into(),
            target: uri,
            message: "the store returned no upload id".into(),
        }));
    };
    let result = conn.block_on(async {
        let mut parts = Vec::new();
        let mut offset = 0u64;
        let mut number = 1i32;
        while offset < size {
            let length = part_size.min(size - offset);
            let body = ByteStream::read_from()
                .path(file)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|e| unreadable(file, e))?;
            let stored = client
                .upload_part()
                .bucket(&target.bucket)
                .key(&target.key)
                .upload_id(&upload_id)
                .part_number(number)
                .content_length(length as i64)
                .body(body)
                .send()
                .await
                .map_err(|e| failed(&e, "UploadPart", target))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(stored.e_tag().map(str::to_owned))
                    .build(),
            );
            offset += length;
            number += 1;
        }
        let count = parts.len() as u32;
        let done = client
            .complete_multipart_upload()
            .bucket(&target.bucket)
            .key(&target.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failed(&e, "CompleteMultipartUpload", target))?;
        Ok::<_, UploadError>((done, count))
    });
    match result {
        Ok((done, parts)) => Ok(Uploaded {
            uri,
            etag: done.e_tag().map(s3::bare_etag),
            size,
            parts,
        }),
        Err(err) => {
            // Best effort: the parts are invisible either way, this only
            // stops them costing storage until a lifecycle rule clears them.
            let aborted = conn.block_on(
                client
                    .abort_multipart_upload()
                    .bucket(&target.bucket)
                    .key(&target.key)
                    .upload_id(&upload_id)
                    .send(),
            );
            if let Err(abort) = aborted {
                tracing::warn!(
                    uri = %uri,
                    "could not abort the failed multipart upload: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&abort)
                );
            }
            Err(err)
        }
    }
}

fn failed<E>(err: &aws_sdk_s3::error::SdkError<E>, operation: &str, target: &Target) -> UploadError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    UploadError::S3(s3::classify(err, operation, &target.bucket, &target.uri()))
}

fn unreadable(file: &Path, err: impl std::error::Error + Send + Sync + 'static) -> UploadError {
    UploadError::Unreadable {
        path: file.display().to_string(),
        source: std::io::Error::other(err),
    }
}
