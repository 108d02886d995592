//! Turns an extract's raw bytes into its decoded (decompressed) bytes.
//!
//! Gzip is recognised by its magic bytes (`1f 8b`) or forced by the source;
//! concatenated gzip members are read as one stream, and zero bytes after
//! the last member are ignored, as `gzip -t` does (tape and block devices
//! pad files that way). Decoding failures become located errors here, at
//! the one place that knows the compressed offset.

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::sync::Arc;

use flate2::bufread::GzDecoder;
use rollcall_model::Compression;

use super::error::SourceError;
use super::hashing::{HashingReader, RunningHash};
use super::prefetch::Prefetch;

/// Buffer size of every stage: large reads keep syscalls and virtual calls
/// rare on a multi-hundred-megabyte extract.
pub(crate) const BUFFER_SIZE: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The raw bytes with the sniffed prefix put back in front.
type Raw = Chain<Cursor<Vec<u8>>, HashingReader>;

/// Wraps the raw extract in the right decoder and a buffer.
///
/// An empty extract is an empty stream whatever the compression: whether
/// zero records is acceptable is the integrity gate's decision.
pub(crate) fn decoded_stream(
    mut raw: HashingReader,
    name: &Arc<str>,
    compression: Compression,
    max_decompressed_bytes: u64,
) -> Result<Box<dyn BufRead + Send>, SourceError> {
    let hash = raw.running_hash();
    let prefix = read_prefix(&mut raw, GZIP_MAGIC.len())
        .map_err(|e| SourceError::from_io(e, name, hash.bytes()))?;
    let is_gzip = match compression {
        _ if prefix.is_empty() => false,
        Compression::Auto => prefix == GZIP_MAGIC,
        Compression::None => false,
        Compression::Gzip if prefix == GZIP_MAGIC => true,
        Compression::Gzip => {
            return Err(SourceError::BadGzip {
                name: name.to_string(),
                offset: 0,
                message: "the data does not start with the gzip magic bytes 1f 8b".into(),
            });
        }
    };
    let raw = BufReader::with_capacity(BUFFER_SIZE, Cursor::new(prefix).chain(raw));
    // Reading, hashing and inflating happen on a thread of their own.
    if !is_gzip {
        return Ok(Box::new(Prefetch::spawn(raw)));
    }
    let stage = GzipStage {
        decoder: Some(GzDecoder::new(raw)),
        name: Arc::clone(name),
        hash,
        produced: 0,
        limit: max_decompressed_bytes,
    };
    Ok(Box::new(Prefetch::spawn(stage)))
}

/// Reads up to `n` bytes (fewer only at the end of the data).
pub(crate) fn read_prefix(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// The gzip decoder plus error location and the decompressed-size limit.
struct GzipStage {
    /// The current member's decoder; `None` once the stream has ended.
    decoder: Option<GzDecoder<BufReader<Raw>>>,
    name: Arc<str>,
    hash: RunningHash,
    produced: u64,
    limit: u64,
}

impl GzipStage {
    /// Compressed bytes the decoder has actually consumed: those read from
    /// the extract minus those still waiting in the buffers.
    fn consumed(&self) -> u64 {
        let Some(decoder) = &self.decoder else {
            return self.hash.bytes();
        };
        let buffered = decoder.get_ref();
        let (prefix, _) = buffered.get_ref().get_ref();
        let pending_prefix = prefix.get_ref().len() as u64 - prefix.position();
        self.hash.bytes() - buffered.buffer().len() as u64 - pending_prefix
    }

    /// After a member's trailer: another member follows, or only zero
    /// padding (or nothing) is left and the stream has ended.
    fn next_member(&mut self) -> io::Result<bool> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(false);
        };
        let raw = decoder.get_mut();
        let mut padded = false;
        loop {
            let buffer = raw.fill_buf()?;
            if buffer.is_empty() {
                self.decoder = None;
                return Ok(false);
            }
            let zeros = buffer.iter().take_while(|b| **b == 0).count();
            if zeros == 0 {
                break;
            }
            padded = true;
            raw.consume(zeros);
        }
        if padded {
            return Err(SourceError::BadGzip {
                name: self.name.to_string(),
                offset: self.consumed(),
                message: "data follows the zero padding after the last gzip member".into(),
            }
            .into_io());
        }
        let raw = self.decoder.take().expect("checked above").into_inner();
        self.decoder = Some(GzDecoder::new(raw));
        Ok(true)
    }
}

impl GzipStage {
    /// Gives a decoding failure the extract's name and compressed offset.
    fn located(&self, e: io::Error) -> io::Error {
        match e {
            e if e.kind() == io::ErrorKind::Interrupted => e,
            // A read failure of the extract itself, already located.
            e if e.get_ref().is_some_and(|inner| inner.is::<SourceError>()) => e,
            // flate2 reports a stream that stops before its trailer this way.
            e if e.kind() == io::ErrorKind::UnexpectedEof => SourceError::TruncatedGzip {
                name: self.name.to_string(),
                offset: self.consumed(),
            }
            .into_io(),
            e => SourceError::BadGzip {
                name: self.name.to_string(),
                offset: self.consumed(),
                message: e.to_string(),
            }
            .into_io(),
        }
    }
}

impl Read for GzipStage {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // A loop, not recursion: a file of many empty members must not
        // exhaust the stack.
        let n = loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf).map_err(|e| self.located(e))?;
            if n > 0 || buf.is_empty() {
                break n;
            }
            if !self.next_member().map_err(|e| self.located(e))? {
                return Ok(0);
            }
        };
        self.produced += n as u64;
        if self.produced > self.limit {
            return Err(SourceError::DecompressedTooLarge {
                name: self.name.to_string(),
                offset: self.consumed(),
                limit: self.limit,
            }
            .into_io());
        }
        Ok(n)
    }
}
