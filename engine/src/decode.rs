//! Records as a run consumes them: read from the source and mapped on a
//! worker thread, handed over in batches through a bounded channel.
//!
//! The run's own thread then only diffs and writes; decoding (parsing,
//! validating, mapping) proceeds on the other core meanwhile, and the
//! source inflates on a third thread (`source::decompress`). The channel is
//! bounded, so memory stays flat however far the worker could run ahead.
//!
//! Mapped records are fingerprinted here too when nothing changes their
//! values between mapping and the diff (no lookups, no derived fields).
//!
//! JSON Lines records take the mapper's fast path
//! ([`Mapper::map_text`]) unless the pipeline keeps raw records (which
//! needs the parsed value); any record the fast path declines is parsed and
//! mapped the ordinary way, with the same outcome.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::diff;
use crate::mapping::{Mapped, MappedRecord, Mapper, encode_fields};
use crate::source::{Next, RecordReader, SourceError, SourceStats};
use crate::vocabulary::Fingerprint;

/// Records per batch: large enough that channel traffic is noise, small
/// enough that the run starts at once and memory stays small.
const BATCH: usize = 512;

/// Batches the worker may run ahead of the run.
const BATCHES_AHEAD: usize = 4;

/// One record, read and mapped.
#[derive(Debug)]
pub struct Decoded {
    /// 1-based line (or row) where the record starts.
    pub line: u64,
    /// What mapping made of it.
    pub mapped: Mapped,
    /// The record's payload as parsed, when the pipeline keeps raw records.
    pub raw: Option<Value>,
    /// The fingerprint of a mapped record's values, when asked for.
    pub fingerprint: Option<Fingerprint>,
}

type Item = Result<Decoded, SourceError>;

/// The decoded records of one extract, in source order.
///
/// Yields what [`RecordReader`] yields (record-level errors, at most one
/// fatal error, after which it ends), with each record already mapped.
pub struct Records {
    batches: Option<Receiver<Vec<Item>>>,
    batch: std::vec::IntoIter<Item>,
    worker: Option<JoinHandle<RecordReader>>,
    /// Records the run is done with, on their way back to the worker.
    spent: Vec<MappedRecord>,
    returns: SyncSender<Vec<MappedRecord>>,
}

impl Records {
    /// Starts decoding `reader` with `mapper` on a worker thread; with
    /// `fingerprints`, mapped records come with their fingerprint (for when
    /// nothing changes their values before the diff).
    pub fn spawn(
        reader: RecordReader,
        mapper: Arc<Mapper>,
        keep_raw: bool,
        fingerprints: bool,
    ) -> Records {
        let (sender, batches) = mpsc::sync_channel(BATCHES_AHEAD);
        let (returns, returned) = mpsc::sync_channel::<Vec<MappedRecord>>(BATCHES_AHEAD);
        let options = Options {
            keep_raw,
            fingerprints,
        };
        let worker = std::thread::Builder::new()
            .name("rollcall-decode".into())
            .spawn(move || {
                decode(reader, &mapper, options, |batch| {
                    // Free what the run gave back before making more.
                    returned.try_iter().for_each(drop);
                    sender.send(batch).is_ok()
                })
            })
            .expect("the OS can start a thread");
        Records {
            batches: Some(batches),
            batch: Vec::new().into_iter(),
            worker: Some(worker),
            spent: Vec::with_capacity(BATCH),
            returns,
        }
    }

    /// Hands back a record the run is done with, so the worker that
    /// allocated its values frees them: freeing on the run's thread memory
    /// from another thread's allocator arena cost ~5% of a steady-state run.
    pub fn dispose(&mut self, record: MappedRecord) {
        self.spent.push(record);
        if self.spent.len() == BATCH {
            let spent = std::mem::replace(&mut self.spent, Vec::with_capacity(BATCH));
            // A full return channel (or a finished worker) frees them here.
            let _ = self.returns.try_send(spent);
        }
    }

    /// Size and hash of the raw bytes read: the whole extract once every
    /// record has been taken without a fatal error.
    pub fn finish(mut self) -> SourceStats {
        // Closing the channel stops a worker that is still reading.
        self.batches = None;
        let worker = self.worker.take().expect("joined only here or on drop");
        match worker.join() {
            Ok(reader) => reader.finish(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Iterator for Records {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            // A closed channel means the worker is done (or panicked,
            // which `finish` reports).
            let batch = self.batches.as_ref()?.recv().ok()?;
            self.batch = batch.into_iter();
        }
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        self.batches = None;
        if let Some(worker) = self.worker.take() {
            // The run is already failing or done; a worker panic adds nothing.
            let _ = worker.join();
        }
    }
}

/// What the worker adds to each record.
#[derive(Debug, Clone, Copy)]
struct Options {
    keep_raw: bool,
    fingerprints: bool,
}

/// The worker: reads and maps every record, handing batches to `send`
/// until it refuses one (the run stopped) or the source ends.
fn decode(
    mut reader: RecordReader,
    mapper: &Mapper,
    options: Options,
    mut send: impl FnMut(Vec<Item>) -> bool,
) -> RecordReader {
    let keep_raw = options.keep_raw;
    let fast = !keep_raw && mapper.has_fast_path();
    let mut slots = Vec::new();
    let mut encoded = Vec::with_capacity(1024);
    let mut fingerprint = |mapped: &Mapped| match mapped {
        Mapped::Record(record) if options.fingerprints => {
            encoded.clear();
            encode_fields(&record.values, &mut encoded);
            Some(diff::fingerprint(&encoded))
        }
        _ => None,
    };
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(item) = reader.next_or_take(|text| {
        if fast {
            mapper.map_text(text, &mut slots)
        } else {
            None
        }
    }) {
        batch.push(item.map(|next| {
            let (line, mapped, raw) = match next {
                Next::Taken { line, taken } => (line, taken, None),
                Next::Parsed(raw) => (
                    raw.line,
                    mapper.map(&raw.value),
                    keep_raw.then_some(raw.value),
                ),
            };
            Decoded {
                line,
                fingerprint: fingerprint(&mapped),
                mapped,
                raw,
            }
        }));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if !send(full) {
                return reader;
            }
        }
    }
    if !batch.is_empty() {
        send(batch);
    }
    reader
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use rollcall_model::{Compression, Format, PathSegment};
    use serde_json::json;

    use super::*;
    use crate::source::Limits;

    fn mapper(keep_raw: bool) -> (Arc<Mapper>, bool) {
        let text = format!(
            "pipeline t {{\n    source file \"x.jsonl\" {{ format jsonl; record \"object\"; }}\n    key id\n    keep-raw #{keep_raw}\n    map {{\n        id \"id\"\n        name \"name\" {{ lowercase; }}\n    }}\n}}\n"
        );
        let loaded = rollcall_dsl::load_str("t.kdl", &text, Path::new("."));
        assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
        let pipeline = &loaded.pipelines[0];
        let mapper = Mapper::compile(pipeline).unwrap();
        (Arc::new(mapper), pipeline.keep_raw)
    }

    fn records(text: String, keep_raw: bool) -> Records {
        let (mapper, keep_raw) = mapper(keep_raw);
        let reader = RecordReader::new(
            Box::new(Cursor::new(text.into_bytes())),
            "x.jsonl",
            &Format::Jsonl,
            Compression::None,
            &[PathSegment::Key("object".into())],
            Limits::default(),
        );
        Records::spawn(reader, mapper, keep_raw, true)
    }

    fn line(id: usize) -> String {
        format!("{{\"object\": {{\"id\": \"u{id}\", \"name\": \"N{id}\"}}}}\n")
    }

    #[test]
    fn records_arrive_in_order_across_batches_with_their_lines() {
        let n = 3 * BATCH + 7;
        let text: String = (0..n).map(line).collect();
        let mut records = records(text, false);
        for (i, item) in records.by_ref().enumerate() {
            let decoded = item.unwrap();
            assert_eq!(decoded.line, i as u64 + 1);
            let Mapped::Record(record) = decoded.mapped else {
                panic!("{decoded:?}")
            };
            assert_eq!(
                record.values,
                [json!(format!("u{i}")), json!(format!("n{i}"))]
            );
            assert!(decoded.raw.is_none());
            let mut encoded = Vec::new();
            encode_fields(&record.values, &mut encoded);
            assert_eq!(decoded.fingerprint, Some(diff::fingerprint(&encoded)));
        }
        let stats = records.finish();
        assert!(stats.bytes > 0);
    }

    #[test]
    fn record_level_errors_pass_through_and_a_fatal_one_ends_the_stream() {
        let text = format!(
            "{}{{\"other\": 1}}\n{}{{not json\n{}",
            line(1),
            line(2),
            line(3)
        );
        let items: Vec<_> = records(text, false).collect();
        assert_eq!(items.len(), 4, "{items:?}");
        assert!(items[0].is_ok());
        assert!(items[1].as_ref().unwrap_err().is_record_level());
        assert_eq!(items[2].as_ref().unwrap().line, 3);
        let fatal = items[3].as_ref().unwrap_err();
        assert!(!fatal.is_record_level());
        assert_eq!(fatal.line(), Some(4));
    }

    #[test]
    fn kept_raw_records_come_with_their_payload() {
        let items: Vec<_> = records(line(5), true).collect();
        let decoded = items[0].as_ref().unwrap();
        assert_eq!(decoded.raw, Some(json!({"id": "u5", "name": "N5"})));
        assert!(matches!(decoded.mapped, Mapped::Record(_)));
    }

    #[test]
    fn disposed_records_go_back_to_the_worker_and_the_stream_goes_on() {
        let n = 5 * BATCH;
        let text: String = (0..n).map(line).collect();
        let mut records = records(text, false);
        let mut seen = 0;
        while let Some(item) = records.next() {
            let Mapped::Record(record) = item.unwrap().mapped else {
                panic!("every line maps")
            };
            records.dispose(record);
            seen += 1;
        }
        assert_eq!(seen, n);
        records.finish();
    }

    #[test]
    fn dropping_early_stops_the_worker() {
        let text: String = (0..20 * BATCH).map(line).collect();
        let mut records = records(text, false);
        assert!(records.next().is_some());
        drop(records);
    }
}
