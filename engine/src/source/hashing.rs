//! Source identity: the size and SHA-256 of an extract's raw bytes.
//!
//! The hash is taken over the bytes exactly as stored (still compressed), so
//! it identifies the extract itself: the engine can tell "same file again"
//! from "new extract" without trusting names or timestamps.

use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::error::SourceError;

/// Size and SHA-256 of the raw bytes read from an extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    /// Number of raw (still compressed) bytes read.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of those bytes.
    pub sha256: String,
}

#[derive(Debug, Default)]
struct State {
    bytes: u64,
    hasher: Sha256,
}

/// A shared view of a [`HashingReader`]'s progress, readable while the
/// reader is buried inside the decoding stages.
#[derive(Debug, Clone, Default)]
pub struct RunningHash(Arc<Mutex<State>>);

impl RunningHash {
    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Size and hash of the bytes read so far (the whole extract once the
    /// reader has reached its end).
    pub fn stats(&self) -> SourceStats {
        let state = self.lock();
        SourceStats {
            bytes: state.bytes,
            sha256: hex(&state.hasher.clone().finalize()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the counter half-updated, so a
        // poisoned lock still holds usable data.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts and hashes every byte read through it; read failures become
/// [`SourceError::Read`] naming the extract and the offset.
pub struct HashingReader {
    inner: Box<dyn Read + Send>,
    name: Arc<str>,
    hash: RunningHash,
}

impl HashingReader {
    /// Wraps the raw extract bytes; `name` is used in read errors.
    pub fn new(inner: Box<dyn Read + Send>, name: Arc<str>) -> Self {
        HashingReader {
            inner,
            name,
            hash: RunningHash::default(),
        }
    }

    /// A handle on the running count and hash.
    pub fn running_hash(&self) -> RunningHash {
        self.hash.clone()
    }
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let offset = self.hash.bytes();
                    return Err(SourceError::from_io(e, &self.name, offset).into_io());
                }
            }
        };
        // One lock per read is noise: reads come in buffer-sized chunks.
        let mut state = self.hash.lock();
        state.bytes += n as u64;
        state.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
