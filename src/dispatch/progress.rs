//! Progress of a run: a bar with sent, failed, deferred, rate and ETA on a terminal, and a
//! plain line every few seconds when the output is piped.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use super::engine::Counters;

/// How often a plain progress line is printed when not on a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// A running progress display; [`Progress::finish`] stops it.
#[derive(Debug)]
pub(crate) struct Progress {
    task: JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing progress towards `total` messages.
    pub(crate) fn start(counters: Arc<Counters>, total: u64, terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ({per_sec}, ETA {eta})")
                    .expect("the template is valid"),
            );
            bar
        });
        let shown = bar.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let tick = if shown.is_some() {
                Duration::from_millis(200)
            } else {
                PLAIN_EVERY
            };
            loop {
                tokio::time::sleep(tick).await;
                let line = summary(&counters);
                match &shown {
                    Some(bar) => {
                        bar.set_position(settled(&counters));
                        bar.set_message(line);
                    }
                    None => {
                        let rate = settled(&counters) as f64 / started.elapsed().as_secs_f64();
                        eprintln!("{line}, {rate:.0} msg/s");
                    }
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

fn settled(c: &Counters) -> u64 {
    c.sent.load(Ordering::Relaxed)
        + c.failed.load(Ordering::Relaxed)
        + c.ambiguous.load(Ordering::Relaxed)
        + c.suppressed.load(Ordering::Relaxed)
}

/// `sent 10, failed 0, deferred 1, ambiguous 0, suppressed 0`.
pub(crate) fn summary(c: &Counters) -> String {
    format!(
        "sent {}, failed {}, deferred {}, ambiguous {}, suppressed {}",
        c.sent.load(Ordering::Relaxed),
        c.failed.load(Ordering::Relaxed),
        c.deferred.load(Ordering::Relaxed),
        c.ambiguous.load(Ordering::Relaxed),
        c.suppressed.load(Ordering::Relaxed)
    )
}
