//! Finding the extract to read among local files.
//!
//! A source names a path or a glob; when several files match, `pick newest`
//! prefers the extract time written in the path (producers name exports
//! after it, and copying a file changes its modification time but not its
//! name), falling back to modification time.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use regex::{Captures, Regex};
use rollcall_model::Pick;

use super::error::SourceError;

/// One extract chosen for reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalExtract {
    /// Where it is: a local path, or an `s3://` URI.
    pub uri: String,
    /// Size in bytes as stored (compressed, if it is).
    pub size: u64,
    /// Modification time, when the store reports one.
    pub modified: Option<SystemTime>,
    /// The store's entity tag (S3), for change detection.
    pub etag: Option<String>,
}

/// Finds the local extract named by `pattern` (a path or a glob, relative
/// to `base_dir` unless absolute) and picks one per `pick`.
///
/// Only regular files count (directories are skipped, symbolic links are
/// followed). `*` and `?` do not cross `/`, and hidden files (leading `.`,
/// typical of uploads in progress) match only a literal leading dot.
pub fn resolve_file(
    pattern: &str,
    base_dir: &Path,
    pick: Pick,
) -> Result<LocalExtract, SourceError> {
    let shown = base_dir.join(pattern).display().to_string();
    if !pattern.contains(['*', '?', '[']) {
        let path = base_dir.join(pattern);
        let metadata = fs::metadata(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => SourceError::NotFound {
                pattern: shown.clone(),
            },
            _ => unreadable(&path, e),
        })?;
        if !metadata.is_file() {
            return Err(unreadable(&path, io::Error::other("not a regular file")));
        }
        return Ok(local_extract(&path, &metadata));
    }

    let mut candidates = matches(pattern, base_dir)?;
    if candidates.is_empty() {
        return Err(SourceError::NotFound { pattern: shown });
    }
    if pick == Pick::Only && candidates.len() > 1 {
        let mut matches: Vec<String> = candidates
            .iter()
            .map(|c| c.path.display().to_string())
            .collect();
        matches.sort();
        return Err(SourceError::Ambiguous {
            pattern: shown,
            matches,
        });
    }
    // The embedded time is only comparable when every candidate has one.
    let by_timestamp = candidates.iter().all(|c| c.timestamp.is_some());
    candidates.sort_by(|a, b| {
        let primary = if by_timestamp {
            a.timestamp.cmp(&b.timestamp)
        } else {
            a.metadata.modified().ok().cmp(&b.metadata.modified().ok())
        };
        primary.then_with(|| a.path.cmp(&b.path))
    });
    let newest = candidates.pop().expect("checked non-empty");
    Ok(local_extract(&newest.path, &newest.metadata))
}

/// A file matching the glob.
struct Candidate {
    path: PathBuf,
    metadata: Metadata,
    timestamp: Option<DateTime<Utc>>,
}

/// Every regular file the glob matches.
fn matches(pattern: &str, base_dir: &Path) -> Result<Vec<Candidate>, SourceError> {
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_owned()
    } else {
        // The folder is taken literally: a `[` in it is not a glob.
        let base = base_dir.to_str().ok_or_else(|| SourceError::BadPattern {
            pattern: pattern.to_owned(),
            message: format!("the base folder {} is not valid UTF-8", base_dir.display()),
        })?;
        let base = glob::Pattern::escape(base);
        Path::new(&base)
            .join(pattern)
            .to_string_lossy()
            .into_owned()
    };
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(&full, options).map_err(|e| SourceError::BadPattern {
        pattern: base_dir.join(pattern).display().to_string(),
        message: e.to_string(),
    })?;
    let mut candidates = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| {
            let path = e.path().to_owned();
            unreadable(&path, e.into())
        })?;
        // Follows symbolic links: a dangling link or a loop is an error here.
        let metadata = fs::metadata(&path).map_err(|e| unreadable(&path, e))?;
        if !metadata.is_file() {
            continue;
        }
        let relative = path.strip_prefix(base_dir).unwrap_or(&path);
        let timestamp = timestamp_in(&relative.to_string_lossy());
        candidates.push(Candidate {
            path,
            metadata,
            timestamp,
        });
    }
    Ok(candidates)
}

fn local_extract(path: &Path, metadata: &Metadata) -> LocalExtract {
    LocalExtract {
        uri: path.display().to_string(),
        size: metadata.len(),
        modified: metadata.modified().ok(),
        etag: None,
    }
}

fn unreadable(path: &Path, source: io::Error) -> SourceError {
    SourceError::Unreadable {
        path: path.display().to_string(),
        source,
    }
}

/// Date-times as producers write them in names. Both capture, in order:
/// year, month, day, hour, minute, second, fraction, offset.
static TIMESTAMPS: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        // ISO 8601 extended: 2024-09-04T14:58:05.864Z, 2024-09-04_14-58-05, 2024-09-04.
        r"(?:^|[^0-9])(\d{4})-(\d{2})-(\d{2})(?:[T _](\d{2})[:\-]?(\d{2})(?:[:\-]?(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+\-]\d{2}:?\d{2})?(?:$|[^0-9])",
        // Basic: 20240904T145805, 20240904145805Z, 20240904.
        r"(?:^|[^0-9])(\d{4})(\d{2})(\d{2})(?:[T_]?(\d{2})(\d{2})(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+\-]\d{2}:?\d{2})?(?:$|[^0-9])",
    ]
    .map(|re| Regex::new(re).expect("valid timestamp pattern"))
});

/// The last valid date-time written in `text` (the file name's, when a
/// folder also has one), as UTC; times without an offset are taken as UTC.
pub(crate) fn timestamp_in(text: &str) -> Option<DateTime<Utc>> {
    TIMESTAMPS
        .iter()
        .flat_map(|re| re.captures_iter(text))
        .filter_map(|caps| Some((caps.get(0)?.end(), parse_timestamp(&caps)?)))
        .max_by_key(|(end, _)| *end)
        .map(|(_, time)| time)
}

fn parse_timestamp(caps: &Captures<'_>) -> Option<DateTime<Utc>> {
    let number =
        |i: usize| -> Option<u32> { caps.get(i).map_or(Some(0), |m| m.as_str().parse().ok()) };
    let date = NaiveDate::from_ymd_opt(caps[1].parse().ok()?, number(2)?, number(3)?)?;
    let nanos = caps.get(7).map_or(Some(0), |m| {
        format!("{:0<9}", m.as_str()).parse::<u32>().ok()
    })?;
    let local = date.and_hms_nano_opt(number(4)?, number(5)?, number(6)?, nanos)?;
    let offset_seconds = match caps.get(8).map(|m| m.as_str()) {
        None | Some("Z") => 0,
        Some(offset) => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let digits: String = offset.chars().filter(char::is_ascii_digit).collect();
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let utc = local - chrono::Duration::seconds(offset_seconds);
    Some(Utc.from_utc_datetime(&utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        timestamp_in(text).map_or("none".into(), |t| t.to_rfc3339())
    }

    #[test]
    fn timestamps_in_names() {
        assert_eq!(
            at("export_20240904T145805.jsonl.gz"),
            "2024-09-04T14:58:05+00:00"
        );
        assert_eq!(
            at("2024-09-04T14:58:05.864Z/full.jsonl.gz"),
            "2024-09-04T14:58:05.864+00:00"
        );
        assert_eq!(
            at("x-2024-09-04T16:58:05+02:00.csv"),
            "2024-09-04T14:58:05+00:00"
        );
        assert_eq!(at("school_20240904.csv"), "2024-09-04T00:00:00+00:00");
        assert_eq!(
            at("2023-01-01/export_20240904T145805.csv"),
            "2024-09-04T14:58:05+00:00"
        );
        // Not dates: an invalid month, and a longer digit run.
        assert_eq!(at("batch_20241399.csv"), "none");
        assert_eq!(at("id_1234567890123456.csv"), "none");
        assert_eq!(at("people.csv"), "none");
    }
}
