//! The progress display: drawn only when stderr is a terminal (and not with
//! `--quiet`), so scheduled jobs' logs stay clean. It names the phase the
//! run is in, so a long diff or commit never looks like a hang; while the
//! extract is read it shows the share of its (compressed) bytes read and
//! an ETA when its size is known. Each phase's duration is kept either way,
//! for `--metrics-file`.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rollcall_engine::run::Progress;
use rollcall_engine::vocabulary::Phase;

/// The phases a run went through, with how long each took.
#[derive(Debug, Default)]
struct Timeline {
    /// The phase under way, and since when.
    current: Option<(Phase, Instant)>,
    /// Phases ended, in order.
    done: Vec<(Phase, Duration)>,
    /// When reading began, for the record rate.
    reading_since: Option<Instant>,
    records: u64,
}

/// A phase-labelled progress display, or nothing when stderr is not a terminal.
pub struct Bar {
    bar: Option<ProgressBar>,
    timeline: RefCell<Timeline>,
}

impl Bar {
    /// A display if stderr is a terminal and `--quiet` was not given.
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(style("{spinner} {msg}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Bar {
            bar,
            timeline: RefCell::default(),
        }
    }

    /// Ends the last phase and removes the display from the screen.
    pub fn finish(&self) {
        self.end_phase();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Each phase and how long it took, in order (a phase entered twice,
    /// such as two uploads, appears twice).
    pub fn phases(&self) -> Vec<(Phase, Duration)> {
        self.timeline.borrow().done.clone()
    }

    /// Ends the phase under way: its duration is kept, and on a terminal it
    /// stays on the screen as a line of its own.
    fn end_phase(&self) {
        let mut timeline = self.timeline.borrow_mut();
        let Some((phase, since)) = timeline.current.take() else {
            return;
        };
        let took = since.elapsed();
        timeline.done.push((phase, took));
        if let Some(bar) = &self.bar {
            let detail = if phase == Phase::Reading {
                format!(" ({} records)", thousands(timeline.records))
            } else {
                String::new()
            };
            bar.println(format!("  {:<16} {}{detail}", phase.label(), seconds(took)));
        }
    }

    fn record_rate(&self) -> String {
        let timeline = self.timeline.borrow();
        let secs = timeline
            .reading_since
            .map_or(0.0, |since| since.elapsed().as_secs_f64());
        let rate = if secs > 0.0 {
            timeline.records as f64 / secs
        } else {
            0.0
        };
        format!(
            "{} records, {}/s",
            thousands(timeline.records),
            thousands(rate.round() as u64)
        )
    }
}

impl Progress for Bar {
    fn phase(&self, phase: Phase) {
        self.end_phase();
        {
            let mut timeline = self.timeline.borrow_mut();
            timeline.current = Some((phase, Instant::now()));
            if phase == Phase::Reading {
                timeline.reading_since = Some(Instant::now());
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_style(style("{spinner} {prefix} {msg}"));
            bar.set_prefix(phase.label());
            bar.set_message("");
            bar.set_length(0);
            bar.set_position(0);
            bar.tick();
        }
    }

    fn records(&self, read: u64) {
        self.timeline.borrow_mut().records = read;
        if let Some(bar) = &self.bar {
            bar.set_message(self.record_rate());
        }
    }

    fn bytes(&self, read: u64, total: Option<u64>) {
        let Some(bar) = &self.bar else {
            return;
        };
        match total.filter(|&t| t > 0) {
            Some(total) => {
                if bar.length() != Some(total) {
                    bar.set_style(style(
                        "{spinner} {prefix} {percent:>3}% [{bar:24}] {bytes}/{total_bytes}, ETA {eta} · {msg}",
                    ));
                    bar.set_length(total);
                }
            }
            None => bar.set_style(style("{spinner} {prefix} {bytes} · {msg}")),
        }
        bar.set_position(read);
        bar.set_message(self.record_rate());
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("static template")
        .progress_chars("=> ")
}

/// `14052` as `14,052`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as `0.4s` or `12s`.
fn seconds(took: Duration) -> String {
    let secs = took.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}s", secs.round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_separators_and_durations_one_decimal_under_ten_seconds() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(14_052), "14,052");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(seconds(Duration::from_millis(420)), "0.4s");
        assert_eq!(seconds(Duration::from_millis(12_600)), "13s");
    }

    #[test]
    fn phases_are_timed_in_order_without_a_terminal() {
        let bar = Bar::new(true);
        bar.phase(Phase::Reading);
        bar.records(10);
        bar.phase(Phase::Committing);
        bar.finish();
        let phases: Vec<Phase> = bar.phases().into_iter().map(|(p, _)| p).collect();
        assert_eq!(phases, [Phase::Reading, Phase::Committing]);
    }
}
