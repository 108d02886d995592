//! Stage 3, map: records are mapped and validated on the decoding thread
//! (`mapping::Mapper`); here the run takes each one as decoding left it and
//! counts and notes the records that could not be read.

use serde::Serialize;

use super::{Progress, RunError, Tally};
use crate::decode::Decoded;
use crate::source::SourceError;
use crate::vocabulary::Summary;

/// A record that failed mapping or validation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct InvalidRecord {
    /// Line (or row) in the source.
    pub line: u64,
    /// Its key, when it could be computed.
    pub key: Option<String>,
    /// What is wrong with it.
    pub problems: Vec<String>,
}

/// Invalid records kept in a report; the count is always exact.
const MAX_INVALID_REPORTED: usize = 1000;

/// Counts a record read. A record-level error (a line that is not JSON, a
/// CSV row of the wrong width) makes it an invalid record and gives `None`;
/// any other error stops the run.
pub(super) fn accept(
    item: Result<Decoded, SourceError>,
    summary: &mut Summary,
    invalid: &mut Vec<InvalidRecord>,
    progress: &dyn Progress,
) -> Result<Option<Decoded>, RunError> {
    let decoded = match item {
        Ok(decoded) => decoded,
        Err(err) if err.is_record_level() => {
            summary.read += 1;
            summary.invalid += 1;
            note_invalid(
                invalid,
                err.line().unwrap_or(0),
                None,
                vec![err.to_string()],
            );
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    summary.read += 1;
    if summary.read.is_multiple_of(4096) {
        progress.records(summary.read);
    }
    Ok(Some(decoded))
}

/// An invalid record whose key could not be read might be any absent key:
/// the run removes no one (`absent` keys are held, and counted so) and
/// each such record says why.
pub(super) fn hold_removals(tally: &mut Tally, absent: u64) {
    tally.summary.held += absent;
    let note = format!(
        "its key could not be read, so it may be any key absent from this extract: \
         the run removes no one ({absent} absent key{} held)",
        if absent == 1 { "" } else { "s" }
    );
    for record in tally.invalid.iter_mut().filter(|r| r.key.is_none()) {
        record.problems.push(note.clone());
    }
}

/// Keeps an invalid record for the report, up to [`MAX_INVALID_REPORTED`].
pub(super) fn note_invalid(
    list: &mut Vec<InvalidRecord>,
    line: u64,
    key: Option<String>,
    problems: Vec<String>,
) {
    if list.len() < MAX_INVALID_REPORTED {
        list.push(InvalidRecord {
            line,
            key,
            problems,
        });
    }
}
