//! Key patterns of the `s3` source: which keys under the prefix are
//! extracts, and the extract time written in them.
//!
//! `*` matches within one `/` segment; `{timestamp}` matches one segment's
//! worth of text that must read as a date-time (ISO 8601, basic ISO digits,
//! or Unix seconds or milliseconds). Everything else is literal, and the
//! pattern must match the whole key after the prefix.

use chrono::{DateTime, TimeZone, Utc};
use regex::Regex;

use crate::source::SourceError;
use crate::source::locate::timestamp_in;

const PLACEHOLDER: &str = "{timestamp}";

/// A compiled key pattern.
#[derive(Debug, Clone)]
pub(crate) struct KeyPattern {
    regex: Option<Regex>,
    has_timestamp: bool,
}

/// A key the pattern accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyMatch {
    /// The extract time written in the key, when the pattern names one.
    pub timestamp: Option<DateTime<Utc>>,
}

impl KeyPattern {
    /// Compiles `pattern`; `None` accepts every key (folder markers aside).
    pub(crate) fn compile(pattern: Option<&str>) -> Result<KeyPattern, SourceError> {
        let Some(pattern) = pattern else {
            return Ok(KeyPattern {
                regex: None,
                has_timestamp: false,
            });
        };
        let bad = |message: &str| SourceError::BadPattern {
            pattern: pattern.to_owned(),
            message: message.to_owned(),
        };
        let placeholders = pattern.matches(PLACEHOLDER).count();
        if placeholders > 1 {
            return Err(bad("`{timestamp}` may appear only once"));
        }
        let mut regex = String::from("^");
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix(PLACEHOLDER) {
                regex.push_str("([^/]+)");
                rest = after;
            } else if let Some(after) = rest.strip_prefix('*') {
                regex.push_str("[^/]*");
                rest = after;
            } else if rest.starts_with('{') {
                return Err(bad(
                    "the only placeholder is `{timestamp}` (and `*` for any text within one segment)",
                ));
            } else {
                let end = rest.find(['*', '{']).unwrap_or(rest.len());
                regex.push_str(&regex::escape(&rest[..end]));
                rest = &rest[end..];
            }
        }
        regex.push('$');
        let regex = Regex::new(&regex).map_err(|e| bad(&e.to_string()))?;
        Ok(KeyPattern {
            regex: Some(regex),
            has_timestamp: placeholders == 1,
        })
    }

    /// Whether `relative` (the key after the prefix) is an extract. A key
    /// whose `{timestamp}` part is not a date-time is not one.
    pub(crate) fn matches(&self, relative: &str) -> Option<KeyMatch> {
        if relative.is_empty() || relative.ends_with('/') {
            return None; // the prefix itself, or a "folder" marker
        }
        let Some(regex) = &self.regex else {
            return Some(KeyMatch { timestamp: None });
        };
        let caps = regex.captures(relative)?;
        if !self.has_timestamp {
            return Some(KeyMatch { timestamp: None });
        }
        let timestamp = parse_time(caps.get(1)?.as_str())?;
        Some(KeyMatch {
            timestamp: Some(timestamp),
        })
    }
}

/// A date-time as written in a key: ISO 8601 (extended or basic), or Unix
/// seconds (up to 10 digits) or milliseconds (13 digits).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Some(time) = timestamp_in(text) {
        return Some(time);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: i64 = text.parse().ok()?;
    match text.len() {
        1..=10 => Utc.timestamp_opt(number, 0).single(),
        13 => Utc.timestamp_millis_opt(number).single(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(pattern: &str, key: &str) -> Option<String> {
        KeyPattern::compile(Some(pattern))
            .unwrap()
            .matches(key)
            .map(|m| m.timestamp.map_or("-".into(), |t| t.to_rfc3339()))
    }

    #[test]
    fn s3_key_pattern_reads_the_staff_sso_layout() {
        let p = "{timestamp}/full_ingestion.jsonl.gz";
        assert_eq!(
            time(p, "2024-09-04T12:00:05.864Z/full_ingestion.jsonl.gz").as_deref(),
            Some("2024-09-04T12:00:05.864+00:00")
        );
        assert_eq!(
            time(p, "20240904T000000/full_ingestion.jsonl.gz").as_deref(),
            Some("2024-09-04T00:00:00+00:00")
        );
        assert_eq!(
            time(p, "1725451200/full_ingestion.jsonl.gz").as_deref(),
            Some("2024-09-04T12:00:00+00:00")
        );
        assert_eq!(
            time(p, "1725451200000/full_ingestion.jsonl.gz").as_deref(),
            Some("2024-09-04T12:00:00+00:00")
        );
        // Another file of the same extract, a non-time folder, a nested key.
        assert_eq!(time(p, "2024-09-04T12:00:05Z/manifest.json"), None);
        assert_eq!(time(p, "latest/full_ingestion.jsonl.gz"), None);
        assert_eq!(time(p, "a/2024-09-04/full_ingestion.jsonl.gz"), None);
    }

    #[test]
    fn s3_key_pattern_star_stays_within_a_segment_and_literals_are_literal() {
        let p = KeyPattern::compile(Some("export_*.csv")).unwrap();
        assert!(p.matches("export_1.csv").is_some());
        assert!(p.matches("export_a/b.csv").is_none());
        assert!(p.matches("export_1xcsv").is_none(), "the dot is literal");
        assert_eq!(p.matches("export_1.csv").unwrap().timestamp, None);
        let any = KeyPattern::compile(None).unwrap();
        assert!(any.matches("x/y.jsonl").is_some());
        assert!(
            any.matches("x/").is_none(),
            "folder markers are not extracts"
        );
    }

    #[test]
    fn s3_key_pattern_rejects_unknown_or_repeated_placeholders() {
        let err = KeyPattern::compile(Some("{date}/x.gz")).unwrap_err();
        assert!(err.to_string().contains("only placeholder"), "{err}");
        let err = KeyPattern::compile(Some("{timestamp}/{timestamp}")).unwrap_err();
        assert!(err.to_string().contains("only once"), "{err}");
    }
}
