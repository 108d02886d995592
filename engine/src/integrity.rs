//! The integrity gate: thresholds evaluated on a run's complete change set
//! before it is committed, so a truncated or empty extract is refused
//! instead of being read as "everyone left".

use rollcall_model::{Integrity, Limit};

use crate::vocabulary::{Check, GateVerdict, Summary};

/// What the gate compares against besides the run's own counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Baseline {
    /// Valid records of the last applied extract, if any.
    pub previous_valid: Option<u64>,
    /// Records present in the store before the run.
    pub present_before: u64,
}

/// Evaluates a pipeline's thresholds.
pub struct Gate<'a> {
    integrity: &'a Integrity,
}

impl<'a> Gate<'a> {
    /// A gate for these thresholds.
    pub fn new(integrity: &'a Integrity) -> Self {
        Gate { integrity }
    }

    /// Evaluates every threshold on a complete change set.
    pub fn evaluate(&self, summary: &Summary, baseline: Baseline) -> GateVerdict {
        let mut checks = Vec::new();
        if let Some(ratio) = &self.integrity.min_ratio {
            checks.push(min_ratio(
                ratio.value,
                summary.valid,
                baseline.previous_valid,
            ));
        }
        if let Some(limit) = &self.integrity.max_removed {
            checks.push(at_most(
                "max-removed",
                limit.value,
                summary.removed,
                baseline.present_before,
                "removed",
                "present before",
            ));
        }
        if let Some(limit) = &self.integrity.max_invalid {
            checks.push(at_most(
                "max-invalid",
                limit.value,
                summary.invalid,
                summary.read,
                "invalid",
                "read",
            ));
        }
        if let Some(min) = &self.integrity.min_records {
            let passed = summary.valid >= min.value;
            checks.push(Check {
                name: "min-records".into(),
                limit: min.value as f64,
                actual: Some(summary.valid as f64),
                detail: format!(
                    "{} valid records, at least {} required",
                    summary.valid, min.value
                ),
                passed,
            });
        }
        if summary.valid == 0 && summary.read > 0 {
            checks.push(no_valid_records(summary, baseline.present_before));
        }
        GateVerdict {
            passed: checks.iter().all(|c| c.passed),
            checks,
        }
    }
}

/// Built in, whatever the pipeline declares: an extract whose records are
/// all invalid or all filtered out would remove every present record, which
/// is far likelier a broken extract (a changed export format, a wrong
/// filter) than everyone leaving at once. An extract with no records at all
/// is refused before the gate (`RunError::EmptyExtract`). Evaluated only when
/// no record is valid, so ordinary runs do not list it.
fn no_valid_records(summary: &Summary, present_before: u64) -> Check {
    let detail = if present_before == 0 {
        format!(
            "none of the {} records read is valid, and none was present before",
            summary.read
        )
    } else {
        format!(
            "none of the {} records read is valid ({} invalid, {} filtered): applying it would remove all {present_before} present records",
            summary.read, summary.invalid, summary.filtered
        )
    };
    Check {
        name: "no-valid-records".into(),
        limit: 1.0,
        actual: Some(0.0),
        detail,
        passed: present_before == 0,
    }
}

fn min_ratio(limit: f64, valid: u64, previous: Option<u64>) -> Check {
    match previous {
        Some(previous) if previous > 0 => {
            let actual = valid as f64 / previous as f64;
            Check {
                name: "min-ratio".into(),
                limit,
                actual: Some(round4(actual)),
                detail: format!(
                    "{valid} valid records is {:.1}% of the last applied extract's {previous} (at least {:.1}% required)",
                    actual * 100.0,
                    limit * 100.0
                ),
                passed: actual + f64::EPSILON >= limit,
            }
        }
        _ => Check {
            name: "min-ratio".into(),
            limit,
            actual: None,
            detail: "no previous applied extract to compare with".into(),
            passed: true,
        },
    }
}

fn at_most(name: &str, limit: Limit, actual: u64, base: u64, what: &str, of: &str) -> Check {
    let (allowed, stated) = match limit {
        Limit::Count(n) => (n as f64, format!("at most {n}")),
        Limit::Percent(p) => {
            let allowed = (base as f64 * p / 100.0).floor();
            (allowed, format!("at most {p}% of {base} {of} = {allowed}"))
        }
    };
    Check {
        name: name.into(),
        limit: allowed,
        actual: Some(actual as f64),
        detail: format!("{actual} {what}, {stated}"),
        passed: actual as f64 <= allowed,
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use rollcall_model::{Span, Spanned};

    use super::*;

    fn summary(valid: u64, removed: u64, invalid: u64) -> Summary {
        Summary {
            read: valid + invalid,
            valid,
            invalid,
            removed,
            ..Summary::default()
        }
    }

    fn spanned<T>(value: T) -> Option<Spanned<T>> {
        Some(Spanned::new(value, Span::default()))
    }

    #[test]
    fn min_ratio_refuses_an_extract_under_95_percent_of_the_last() {
        let integrity = Integrity {
            min_ratio: spanned(0.95),
            ..Integrity::default()
        };
        let baseline = Baseline {
            previous_valid: Some(200),
            present_before: 200,
        };
        let verdict = Gate::new(&integrity).evaluate(&summary(180, 20, 0), baseline);
        assert!(!verdict.passed);
        assert_eq!(verdict.checks[0].actual, Some(0.9));
        let verdict = Gate::new(&integrity).evaluate(&summary(190, 10, 0), baseline);
        assert!(verdict.passed, "exactly 95% passes");
    }

    #[test]
    fn min_ratio_passes_the_first_extract_without_a_figure() {
        let integrity = Integrity {
            min_ratio: spanned(0.95),
            ..Integrity::default()
        };
        let verdict = Gate::new(&integrity).evaluate(&summary(10, 0, 0), Baseline::default());
        assert!(verdict.passed);
        assert_eq!(verdict.checks[0].actual, None);
    }

    #[test]
    fn percent_limits_are_taken_of_their_base() {
        let integrity = Integrity {
            max_removed: spanned(Limit::Percent(2.0)),
            max_invalid: spanned(Limit::Count(1)),
            ..Integrity::default()
        };
        let baseline = Baseline {
            previous_valid: Some(500),
            present_before: 500,
        };
        let verdict = Gate::new(&integrity).evaluate(&summary(490, 11, 2), baseline);
        let removed = &verdict.checks[0];
        assert_eq!(
            (removed.limit, removed.actual, removed.passed),
            (10.0, Some(11.0), false)
        );
        let invalid = &verdict.checks[1];
        assert_eq!(
            (invalid.limit, invalid.actual, invalid.passed),
            (1.0, Some(2.0), false)
        );
        assert_eq!(verdict.failures().count(), 2);
    }

    #[test]
    fn an_extract_without_one_valid_record_is_refused_whenever_records_are_present() {
        let none = Integrity::default();
        let baseline = Baseline {
            previous_valid: Some(200),
            present_before: 200,
        };
        let all_invalid = Gate::new(&none).evaluate(&summary(0, 200, 5), baseline);
        assert!(!all_invalid.passed, "no threshold declared, still refused");
        assert_eq!(all_invalid.checks[0].name, "no-valid-records");
        let all_filtered = Summary {
            read: 7,
            filtered: 7,
            removed: 200,
            ..Summary::default()
        };
        assert!(!Gate::new(&none).evaluate(&all_filtered, baseline).passed);
        let first_run = Gate::new(&none).evaluate(&summary(0, 0, 5), Baseline::default());
        assert!(first_run.passed, "nothing present, nothing to remove");
        let nothing_read = Gate::new(&none).evaluate(&summary(0, 200, 0), baseline);
        assert!(
            nothing_read.checks.is_empty(),
            "an empty extract is the run's own error"
        );
        let normal = Gate::new(&none).evaluate(&summary(190, 10, 0), baseline);
        assert!(normal.checks.is_empty(), "not listed on ordinary runs");
    }

    #[test]
    fn min_records_counts_valid_records() {
        let integrity = Integrity {
            min_records: spanned(1),
            ..Integrity::default()
        };
        let verdict = Gate::new(&integrity).evaluate(&summary(0, 0, 3), Baseline::default());
        assert!(!verdict.passed);
    }
}
