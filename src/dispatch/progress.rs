//! Progress of a run: a bar with sent, failed, deferred, rate and ETA on a terminal, and a
//! plain line every few seconds when the output is piped. The rate is the relay's: messages
//! it accepted over the last few seconds, in whole messages a second, never above the
//! configured `per_second` limit (a window's edges would otherwise show more than the relay
//! can have received).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Lines;
use super::engine::Counters;

/// How often the counters are sampled and the bar redrawn.
const TICK: Duration = Duration::from_millis(200);

/// How often a plain progress line is printed when not on a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// The window the rate is measured over: many ticks, so that it always holds samples.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// A running progress display; [`Progress::finish`] stops it.
#[derive(Debug)]
pub(crate) struct Progress {
    task: JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing progress towards `total` messages, sent at most `per_second` a second
    /// when the settings limit it.
    pub(crate) fn start(
        counters: Arc<Counters>,
        total: u64,
        per_second: Option<u32>,
        terminal: bool,
        lines: Lines,
    ) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} (ETA {eta})")
                    .expect("the template is valid"),
            );
            bar
        });
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut rate = Rate::new(per_second);
            let mut printed = Instant::now();
            loop {
                tokio::time::sleep(TICK).await;
                let now = Instant::now();
                let per_second = rate.sample(now, counters.sent.load(Ordering::Relaxed));
                let line = || format!("{}, {per_second} msg/s", summary(&counters));
                match &shown {
                    Some(bar) => {
                        bar.set_position(settled(&counters));
                        bar.set_message(line());
                    }
                    None if now.duration_since(printed) >= PLAIN_EVERY => {
                        printed = now;
                        lines(&line());
                    }
                    None => {}
                }
            }
        });
        Self { task, bar }
    }

    /// Stops the display.
    pub(crate) fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The rate at which the relay accepts messages, over the last [`RATE_WINDOW`].
#[derive(Debug)]
struct Rate {
    samples: std::collections::VecDeque<(Instant, u64)>,
    limit: Option<u32>,
}

impl Rate {
    fn new(limit: Option<u32>) -> Self {
        Self {
            samples: std::collections::VecDeque::new(),
            limit,
        }
    }

    /// Adds the count of accepted messages at `now`; the whole messages a second since the
    /// oldest sample within the window.
    fn sample(&mut self, now: Instant, accepted: u64) -> u64 {
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        let rate = match self.samples.front() {
            Some((at, before)) if now > *at => {
                let seconds = now.duration_since(*at).as_secs_f64();
                (accepted.saturating_sub(*before) as f64 / seconds).round() as u64
            }
            _ => 0,
        };
        self.samples.push_back((now, accepted));
        self.limit.map_or(rate, |l| rate.min(u64::from(l)))
    }
}

fn settled(c: &Counters) -> u64 {
    c.sent.load(Ordering::Relaxed)
        + c.failed.load(Ordering::Relaxed)
        + c.ambiguous.load(Ordering::Relaxed)
        + c.suppressed.load(Ordering::Relaxed)
}

/// `this run's attempts: sent 10, failed 0, deferred 1, ...`: what each transaction of
/// the run ended with, a message deferred and retried counting each time (the dispatch's
/// messages by state follow it, from the ledger).
pub(crate) fn summary(c: &Counters) -> String {
    format!(
        "this run's attempts: sent {}, failed {}, deferred {}, ambiguous {}, suppressed {}",
        c.sent.load(Ordering::Relaxed),
        c.failed.load(Ordering::Relaxed),
        c.deferred.load(Ordering::Relaxed),
        c.ambiguous.load(Ordering::Relaxed),
        c.suppressed.load(Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_whole_windowed_and_never_above_the_limit() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut rate = Rate::new(None);
        assert_eq!(rate.sample(at(0), 0), 0, "nothing to compare with yet");
        assert_eq!(rate.sample(at(1000), 150), 150);
        assert_eq!(rate.sample(at(2000), 301), 151, "rounded to whole messages");
        // A burst after a pause: only the window counts, not the run's average.
        assert_eq!(rate.sample(at(9000), 301), 0);
        assert_eq!(rate.sample(at(10_000), 501), 200);
        let mut limited = Rate::new(Some(150));
        limited.sample(at(0), 0);
        assert_eq!(
            limited.sample(at(200), 40),
            150,
            "a window's edge shows no more than the relay can have received"
        );
    }

    #[test]
    fn the_summary_says_it_counts_attempts() {
        // One message deferred twice, then sent.
        let counters = Counters::default();
        counters.deferred.fetch_add(2, Ordering::Relaxed);
        counters.sent.fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            summary(&counters),
            "this run's attempts: sent 1, failed 0, deferred 2, ambiguous 0, suppressed 0"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn piped_progress_lines_show_the_rate_they_measured() {
        let counters = Arc::new(Counters::default());
        let (shown, seen) = std::sync::mpsc::channel();
        let lines: Lines = Arc::new(move |line: &str| shown.send(line.to_owned()).unwrap());
        let progress = Progress::start(counters.clone(), 10_000, None, false, lines);
        // 12 seconds at 100 messages a second, 20 in each fifth of a second.
        for _ in 0..60 {
            counters.sent.fetch_add(20, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        progress.finish();
        let printed: Vec<String> = seen.try_iter().collect();
        assert_eq!(printed.len(), 2, "a line every 5 seconds: {printed:?}");
        for line in &printed {
            assert!(line.ends_with(", 100 msg/s"), "{line}");
        }
    }
}
