//! The `s3` source: list the objects under a prefix, pick the newest
//! extract, stream it, and after a successful run remove older ones.
//!
//! Listing is paginated (1000 keys a page) and keeps only the best
//! candidate, so a prefix with years of extracts costs no memory. The
//! newest is decided by the `{timestamp}` in the key when the key pattern
//! has one (copies and re-uploads change LastModified, not the name), else
//! by LastModified; ties go to the greater key.

mod body;
mod pattern;

use std::io::Read;
use std::time::SystemTime;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use chrono::{DateTime, Utc};
use rollcall_model::{Pick, S3Location};

use super::{SourceError, SourceIdentity, rfc3339};
use crate::s3::{self, Connection, Endpoint};
pub(crate) use pattern::KeyPattern;

/// Names kept for the `pick only` error when several objects match.
const AMBIGUOUS_SHOWN: usize = 20;
/// Keys per DeleteObjects request (the API's maximum).
const DELETE_BATCH: usize = 1000;

/// A bucket and prefix to find extracts in, with its connection.
#[derive(Clone)]
pub(crate) struct Bucket {
    conn: Connection,
    name: String,
    prefix: String,
    pattern: KeyPattern,
    pattern_text: Option<String>,
    pick: Pick,
}

/// One object chosen for reading.
#[derive(Clone)]
pub(crate) struct Object {
    bucket: Bucket,
    key: String,
    etag: Option<String>,
    size: u64,
    modified: Option<SystemTime>,
}

/// How extracts are ordered: the time in the key, then LastModified,
/// then the key itself.
type Rank = (Option<DateTime<Utc>>, Option<SystemTime>, String);

/// One listed object that the pattern accepts.
struct Candidate {
    key: String,
    etag: Option<String>,
    size: u64,
    modified: Option<SystemTime>,
    timestamp: Option<DateTime<Utc>>,
}

impl Candidate {
    fn rank(&self) -> Rank {
        (self.timestamp, self.modified, self.key.clone())
    }
}

impl Bucket {
    /// Resolves the source's settings and builds its client. Sends nothing.
    pub(crate) fn connect(location: &S3Location, pick: Pick) -> Result<Bucket, SourceError> {
        let name = crate::env::resolve(&location.bucket, "the s3 source's bucket")?;
        let endpoint = Endpoint::resolve(
            location.endpoint.as_ref(),
            location.region.as_ref(),
            location.path_style,
            "the s3 source",
        )?;
        let pattern_text = location.key_pattern.as_ref().map(|p| p.value.clone());
        Ok(Bucket {
            conn: Connection::connect(&endpoint)?,
            name,
            prefix: location.prefix.clone(),
            pattern: KeyPattern::compile(pattern_text.as_deref())?,
            pattern_text,
            pick,
        })
    }

    /// `s3://bucket/prefix` and the key pattern, for messages.
    fn location(&self) -> String {
        let uri = s3::uri(&self.name, &self.prefix);
        match &self.pattern_text {
            Some(pattern) => format!("{uri} matching `{pattern}`"),
            None => uri,
        }
    }

    /// Lists every object under the prefix, a page at a time, and calls
    /// `each` with those the key pattern accepts.
    fn for_each_match(&self, mut each: impl FnMut(Candidate)) -> Result<(), SourceError> {
        let client = self.conn.client();
        let mut pages = client
            .list_objects_v2()
            .bucket(&self.name)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        while let Some(page) = self.conn.block_on(pages.next()) {
            let page = page.map_err(|e| {
                s3::classify(
                    &e,
                    "ListObjectsV2",
                    &self.name,
                    &s3::uri(&self.name, &self.prefix),
                )
            })?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let relative = key.strip_prefix(self.prefix.as_str()).unwrap_or(key);
                let Some(matched) = self.pattern.matches(relative) else {
                    continue;
                };
                each(Candidate {
                    key: key.to_owned(),
                    etag: object.e_tag().map(str::to_owned),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    modified: object
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok()),
                    timestamp: matched.timestamp,
                });
            }
        }
        Ok(())
    }

    /// The extract to read: the newest match, or the only one (`pick only`).
    pub(crate) fn newest(&self) -> Result<Object, SourceError> {
        let mut best: Option<(Rank, Candidate)> = None;
        let mut count = 0usize;
        let mut shown = Vec::new();
        self.for_each_match(|candidate| {
            count += 1;
            if shown.len() < AMBIGUOUS_SHOWN {
                shown.push(s3::uri(&self.name, &candidate.key));
            }
            let rank = candidate.rank();
            if best.as_ref().is_none_or(|(top, _)| rank > *top) {
                best = Some((rank, candidate));
            }
        })?;
        let Some((_, newest)) = best else {
            return Err(s3::S3Error::NothingMatches {
                location: self.location(),
            }
            .into());
        };
        if self.pick == Pick::Only && count > 1 {
            shown.sort();
            if count > shown.len() {
                shown.push(format!("and {} more", count - shown.len()));
            }
            return Err(SourceError::Ambiguous {
                pattern: self.location(),
                matches: shown,
            });
        }
        let mut object = Object {
            bucket: self.clone(),
            key: newest.key,
            etag: newest.etag,
            size: newest.size,
            modified: newest.modified,
        };
        if object.etag.is_none() {
            // Some S3-compatible stores leave ETag out of listings; the
            // entity tag is what tells one extract from another.
            object.head()?;
        }
        Ok(object)
    }

    /// Deletes every extract ranked below `applied` (an extract of this
    /// source); returns the URIs deleted. Keys the pattern does not accept
    /// are never touched.
    pub(crate) fn delete_older(&self, applied: &Object) -> Result<Vec<String>, SourceError> {
        let relative = applied
            .key
            .strip_prefix(self.prefix.as_str())
            .unwrap_or(&applied.key);
        let mut bar: Rank = (
            self.pattern.matches(relative).and_then(|m| m.timestamp),
            applied.modified,
            applied.key.clone(),
        );
        let mut listed = Vec::new();
        self.for_each_match(|candidate| {
            if candidate.key == applied.key {
                // The listing's time is exact; the applied one may be rounded.
                bar = candidate.rank();
            }
            listed.push(candidate);
        })?;
        let older: Vec<String> = listed
            .into_iter()
            .filter(|c| c.key != applied.key && c.rank() < bar)
            .map(|c| c.key)
            .collect();
        for batch in older.chunks(DELETE_BATCH) {
            self.delete(batch)?;
        }
        Ok(older.iter().map(|key| s3::uri(&self.name, key)).collect())
    }

    fn delete(&self, keys: &[String]) -> Result<(), SourceError> {
        let target = s3::uri(&self.name, &self.prefix);
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| s3::S3Error::Failed {
                operation: "DeleteObjects".into(),
                target: target.clone(),
                message: e.to_string(),
            })?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| s3::S3Error::Failed {
                operation: "DeleteObjects".into(),
                target: target.clone(),
                message: e.to_string(),
            })?;
        let output = self
            .conn
            .block_on(
                self.conn
                    .client()
                    .delete_objects()
                    .bucket(&self.name)
                    .delete(delete)
                    .send(),
            )
            .map_err(|e| s3::classify(&e, "DeleteObjects", &self.name, &target))?;
        if let Some(failed) = output.errors().first() {
            let key = failed.key().unwrap_or_default();
            let uri = s3::uri(&self.name, key);
            return Err(match failed.code() {
                Some("AccessDenied") => s3::S3Error::AccessDenied {
                    operation: "DeleteObjects".into(),
                    target: uri,
                },
                code => s3::S3Error::Failed {
                    operation: "DeleteObjects".into(),
                    target: uri,
                    message: format!(
                        "{}: {}",
                        code.unwrap_or("error"),
                        failed.message().unwrap_or("no message from the store")
                    ),
                },
            }
            .into());
        }
        Ok(())
    }
}

impl Object {
    /// `s3://bucket/key`.
    pub(crate) fn uri(&self) -> String {
        s3::uri(&self.bucket.name, &self.key)
    }

    /// The bucket it was found in.
    pub(crate) fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// What the run records about it.
    pub(crate) fn identity(&self) -> SourceIdentity {
        SourceIdentity {
            uri: self.uri(),
            etag: self.etag.as_deref().map(s3::bare_etag),
            size: Some(self.size),
            modified: self.modified.map(rfc3339),
            sha256: None,
        }
    }

    /// Fills in the entity tag, size and time from HeadObject.
    fn head(&mut self) -> Result<(), SourceError> {
        let client = self.bucket.conn.client();
        let output = self
            .bucket
            .conn
            .block_on(
                client
                    .head_object()
                    .bucket(&self.bucket.name)
                    .key(&self.key)
                    .send(),
            )
            .map_err(|e| s3::classify(&e, "HeadObject", &self.bucket.name, &self.uri()))?;
        self.etag = output.e_tag().map(str::to_owned);
        if let Some(size) = output.content_length() {
            self.size = size.max(0) as u64;
        }
        if let Some(time) = output.last_modified() {
            self.modified = SystemTime::try_from(*time).ok().or(self.modified);
        }
        Ok(())
    }

    /// Streams the object's bytes (GetObject, pinned to its entity tag).
    pub(crate) fn reader(&self) -> Result<Box<dyn Read + Send>, SourceError> {
        let target = body::Target {
            bucket: self.bucket.name.clone(),
            key: self.key.clone(),
            etag: self.etag.clone(),
            size: self.size,
        };
        Ok(Box::new(body::open(&self.bucket.conn, target)?))
    }
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("uri", &self.uri())
            .field("etag", &self.etag)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}
