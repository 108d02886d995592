//! The time lifecycle decisions are made at. Grace periods, purges and
//! freezes that lapse all compare against one instant per command, which a
//! test or an operator replaying history can fix with `ROLLCALL_NOW`
//! (`--now`); run records keep the wall clock.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rollcall_model::Duration;

/// An instant, stored as RFC 3339 UTC text with milliseconds so that text
/// order is time order in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(DateTime<Utc>);

/// A time that is neither RFC 3339 nor a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{what}: {text:?} is not a time")]
#[diagnostic(
    code("rollcall::clock::invalid-time"),
    help(
        "write an RFC 3339 time (`2025-03-01T08:00:00Z`) or a date (`2025-03-01`, meaning midnight UTC)"
    )
)]
pub struct TimeError {
    /// Where the text came from (`--now`, `--until`, ...).
    pub what: String,
    /// The text as given.
    pub text: String,
}

impl Instant {
    /// The wall clock.
    pub fn wall() -> Instant {
        Instant(Utc::now())
    }

    /// Parses RFC 3339 or a plain date (midnight UTC).
    pub fn parse(text: &str, what: &str) -> Result<Instant, TimeError> {
        let text = text.trim();
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Instant(time.with_timezone(&Utc)));
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            && let Some(midnight) = date.and_hms_opt(0, 0, 0)
        {
            return Ok(Instant(midnight.and_utc()));
        }
        Err(TimeError {
            what: what.to_owned(),
            text: text.to_owned(),
        })
    }

    /// This instant plus a pipeline duration.
    pub fn plus(self, duration: Duration) -> Instant {
        let seconds = i64::try_from(duration.seconds).unwrap_or(i64::MAX);
        Instant(
            self.0
                .checked_add_signed(chrono::Duration::seconds(seconds))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// The stored text form.
    pub fn text(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_rfc3339_parse_to_sortable_text() {
        let date = Instant::parse("2025-03-01", "t").unwrap();
        assert_eq!(date.text(), "2025-03-01T00:00:00.000Z");
        let time = Instant::parse("2025-03-01T09:30:00+01:00", "t").unwrap();
        assert_eq!(time.text(), "2025-03-01T08:30:00.000Z");
        assert!(date.text() < time.text());
        assert_eq!(
            date.plus(Duration { seconds: 86_400 }).text(),
            "2025-03-02T00:00:00.000Z"
        );
    }

    #[test]
    fn anything_else_is_an_error_naming_its_origin() {
        let err = Instant::parse("next tuesday", "--now").unwrap_err();
        assert_eq!(err.what, "--now");
        assert!(err.to_string().contains("next tuesday"));
    }
}
