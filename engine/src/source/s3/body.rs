//! An S3 object's body as a blocking `Read`, streamed, never held whole.
//!
//! A task on the connection's runtime pulls the body chunk by chunk into a
//! small bounded channel; the engine's thread reads from the channel. The
//! channel's bound is the backpressure: memory stays at a few chunks
//! whatever the object's size. When the connection drops part-way, the task
//! asks again for the rest (`Range: bytes=OFFSET-`, pinned to the same
//! entity tag so the bytes cannot come from a newer object), a bounded
//! number of times with exponential backoff.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Buf, Bytes};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::s3::{self, Connection};
use crate::source::SourceError;

/// Chunks in flight between the network and the decoder.
const CHANNEL_CHUNKS: usize = 8;
/// Times a dropped body is resumed before the read fails.
const MAX_RESUMES: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Where the object is and what it must be.
#[derive(Clone)]
pub(super) struct Target {
    pub bucket: String,
    pub key: String,
    /// Entity tag with its quotes, as `If-Match` wants it.
    pub etag: Option<String>,
    /// Expected length, to notice a body that ends early without an error.
    pub size: u64,
}

impl Target {
    fn uri(&self) -> String {
        s3::uri(&self.bucket, &self.key)
    }
}

/// Sends GetObject and returns its body as a reader. Errors of the request
/// itself (denied, gone, changed) are returned here, before any byte is read.
pub(super) fn open(conn: &Connection, target: Target) -> Result<BodyReader, SourceError> {
    let first = conn
        .block_on(get(conn.client(), &target, 0))
        .map_err(SourceError::S3)?;
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    // The task gets the client only: were it to hold the runtime, the
    // runtime could end up dropped on its own worker thread, which panics.
    let client = conn.client().clone();
    conn.runtime()
        .spawn(async move { feed(client, target, first, tx).await });
    Ok(BodyReader {
        rx,
        chunk: Bytes::new(),
        _runtime: Arc::clone(conn.runtime()),
    })
}

/// GetObject from `offset` on.
async fn get(client: &Client, target: &Target, offset: u64) -> Result<ByteStream, s3::S3Error> {
    let mut request = client.get_object().bucket(&target.bucket).key(&target.key);
    if let Some(etag) = &target.etag {
        request = request.if_match(etag);
    }
    if offset > 0 {
        request = request.range(format!("bytes={offset}-"));
    }
    request
        .send()
        .await
        .map(|output| output.body)
        .map_err(|e| s3::classify(&e, "GetObject", &target.bucket, &target.uri()))
}

/// Pulls the body into the channel, resuming after a dropped connection.
async fn feed(
    client: Client,
    target: Target,
    mut body: ByteStream,
    tx: mpsc::Sender<io::Result<Bytes>>,
) {
    let mut offset = 0u64;
    let mut resumes = 0;
    loop {
        let failure = match body.next().await {
            Some(Ok(chunk)) => {
                offset += chunk.len() as u64;
                if tx.send(Ok(chunk)).await.is_err() {
                    return; // the reader is gone
                }
                continue;
            }
            None if offset >= target.size => return, // complete
            None => format!("the body ended at byte {offset} of {}", target.size),
            Some(Err(err)) => DisplayErrorContext(&err).to_string(),
        };
        if resumes == MAX_RESUMES {
            let message = format!("{failure} (after {MAX_RESUMES} resumed requests)");
            let _ = tx.send(Err(io::Error::other(message))).await;
            return;
        }
        resumes += 1;
        tracing::warn!(
            uri = %target.uri(),
            offset,
            attempt = resumes,
            "S3 body interrupted ({failure}); resuming"
        );
        tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(resumes - 1)).await;
        match get(&client, &target, offset).await {
            Ok(rest) => body = rest,
            Err(err) => {
                let _ = tx.send(Err(SourceError::S3(err).into_io())).await;
                return;
            }
        }
    }
}

/// The blocking end of the channel.
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
    /// Keeps the runtime that feeds the channel alive as long as the reader.
    _runtime: Arc<Runtime>,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(err)) => return Err(err),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}
