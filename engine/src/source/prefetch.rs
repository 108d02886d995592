//! Reading ahead on a thread of its own: the extract's bytes are read,
//! hashed and inflated there, chunk by chunk, while the caller parses.
//!
//! Inflating is a fifth to a third of the work of decoding a gzip extract;
//! on its own thread it overlaps with parsing instead of adding to it. The
//! channel is bounded and its buffers are recycled, so the read-ahead is a
//! few chunks whatever the extract's size.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes per chunk handed over.
const CHUNK: usize = 256 * 1024;

/// Chunks the reading thread may be ahead.
const AHEAD: usize = 4;

/// A [`BufRead`] over `inner`, which is read on another thread.
pub(crate) struct Prefetch {
    chunks: Option<Receiver<io::Result<Vec<u8>>>>,
    spent: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    /// The end or an error was reached; nothing more will come.
    finished: bool,
    reader: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Starts reading `inner` ahead.
    pub(crate) fn spawn(inner: impl Read + Send + 'static) -> Prefetch {
        let (sender, chunks) = mpsc::sync_channel(AHEAD);
        // Room for every buffer in circulation, so returning one never blocks.
        let (spent, recycled) = mpsc::sync_channel(AHEAD + 2);
        let reader = std::thread::Builder::new()
            .name("rollcall-read".into())
            .spawn(move || read_ahead(inner, &sender, &recycled))
            .expect("the OS can start a thread");
        Prefetch {
            chunks: Some(chunks),
            spent,
            chunk: Vec::new(),
            at: 0,
            finished: false,
            reader: Some(reader),
        }
    }
}

/// The reading thread: fills chunks until the end, an error, or the
/// reader side hanging up.
fn read_ahead(
    mut inner: impl Read,
    sender: &SyncSender<io::Result<Vec<u8>>>,
    recycled: &Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        let result = loop {
            match inner.read(&mut chunk[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == CHUNK {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        chunk.truncate(filled);
        let end = filled < CHUNK;
        if filled > 0 && sender.send(Ok(chunk)).is_err() {
            return;
        }
        match result {
            // The bytes before an error are handed on first, then the error.
            Err(e) => {
                let _ = sender.send(Err(e));
                return;
            }
            Ok(()) if end => return,
            Ok(()) => {}
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Prefetch {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.chunk.len() && !self.finished {
            let next = self.chunks.as_ref().and_then(|chunks| chunks.recv().ok());
            match next {
                Some(Ok(chunk)) => {
                    let spent = std::mem::replace(&mut self.chunk, chunk);
                    self.at = 0;
                    // The reading thread may have stopped; then the buffer just goes.
                    let _ = self.spent.try_send(spent);
                }
                Some(Err(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                // The channel closed: the reading thread reached the end.
                None => self.finished = true,
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.chunk.len());
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Hanging up stops a reading thread that is still ahead.
        self.chunks = None;
        if let Some(reader) = self.reader.take() {
            // Its panic, if any, already surfaced as a closed channel.
            let _ = reader.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data` in uneven pieces, then fails if `fail` is set.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        fail: bool,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return if self.fail {
                    Err(io::Error::other("disk on fire"))
                } else {
                    Ok(0)
                };
            }
            let n = buf.len().min(7919).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn hands_over_every_byte_in_order() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17] {
            let expected = data(len);
            let mut prefetch = Prefetch::spawn(Pieces {
                data: expected.clone(),
                at: 0,
                fail: false,
            });
            let mut got = Vec::new();
            prefetch.read_to_end(&mut got).unwrap();
            assert_eq!(got, expected, "length {len}");
            assert!(prefetch.fill_buf().unwrap().is_empty());
        }
    }

    #[test]
    fn an_error_comes_after_the_bytes_before_it() {
        let expected = data(CHUNK + 100);
        let mut prefetch = Prefetch::spawn(Pieces {
            data: expected.clone(),
            at: 0,
            fail: true,
        });
        let mut got = Vec::new();
        let error = prefetch.read_to_end(&mut got).unwrap_err();
        assert_eq!(error.to_string(), "disk on fire");
        assert_eq!(got, expected);
    }

    #[test]
    fn dropping_early_stops_the_reading_thread() {
        let mut prefetch = Prefetch::spawn(io::repeat(7));
        assert_eq!(prefetch.fill_buf().unwrap()[0], 7);
        drop(prefetch);
    }
}
