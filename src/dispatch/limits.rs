//! What keeps a dispatch polite and safe: a rate limit shared by every connection (per
//! second and per hour, sliding windows; within a second, sends are spread evenly, so that
//! network jitter never puts more than `per_second` in one of the relay's sliding seconds,
//! as a burst at each second's start would), slowing down when the relay says so (421, 4.7.x),
//! retry delays with exponential backoff and jitter, and a circuit breaker that stops the
//! run, resumable, when the relay keeps failing.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const HOUR_SECONDS: usize = 3600;
/// How long a slow-down after a 421 or 4.7.x lasts.
const SLOW_FOR: Duration = Duration::from_secs(60);

/// A sliding-window rate limit over all connections.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    per_second: Option<u32>,
    per_hour: Option<u32>,
    /// Send times within the last second.
    recent: VecDeque<Instant>,
    /// Sends per second over the last hour, a ring indexed by seconds since `origin`.
    hour: Vec<u32>,
    hour_total: u64,
    origin: Instant,
    last_second: u64,
    paused_until: Option<Instant>,
    slow_until: Option<Instant>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` and `per_hour` sends (`None`: no limit).
    pub(crate) fn new(per_second: Option<u32>, per_hour: Option<u32>) -> Self {
        Self {
            window: Mutex::new(Window {
                per_second,
                per_hour,
                recent: VecDeque::new(),
                hour: vec![0; HOUR_SECONDS],
                hour_total: 0,
                origin: Instant::now(),
                last_second: 0,
                paused_until: None,
                slow_until: None,
            }),
        }
    }

    /// Waits until one more message may be sent, and counts it.
    pub(crate) async fn acquire(&self) {
        loop {
            let wait = self.lock().try_take(Instant::now());
            match wait {
                None => return,
                Some(delay) => tokio::time::sleep(delay).await,
            }
        }
    }

    /// The relay asked us to slow down: pause every sender for `pause`, then send at half
    /// the per-second rate for a minute.
    pub(crate) fn slow_down(&self, pause: Duration) {
        let now = Instant::now();
        let mut window = self.lock();
        window.paused_until = Some(
            window
                .paused_until
                .map_or(now + pause, |p| p.max(now + pause)),
        );
        window.slow_until = Some(now + pause + SLOW_FOR);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // A panic while holding this lock cannot leave the window inconsistent enough to matter.
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Window {
    /// Takes a send slot now, or says how long to wait for one.
    fn try_take(&mut self, now: Instant) -> Option<Duration> {
        if let Some(until) = self.paused_until.filter(|&u| u > now) {
            return Some(until - now);
        }
        while self
            .recent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= SECOND)
        {
            self.recent.pop_front();
        }
        if let Some(limit) = self.effective_per_second(now) {
            if self.recent.len() >= limit as usize {
                let oldest = *self
                    .recent
                    .front()
                    .expect("a full window has an oldest send");
                return Some(SECOND - now.duration_since(oldest));
            }
            // One send per 1/limit of a second at most.
            let spacing = SECOND / limit.max(1);
            if let Some(&last) = self.recent.back()
                && now.duration_since(last) < spacing
            {
                return Some(spacing - now.duration_since(last));
            }
        }
        let second = self.advance_hour(now);
        if let Some(limit) = self.per_hour
            && self.hour_total >= u64::from(limit)
        {
            return Some(self.hour_wait(second, now));
        }
        self.recent.push_back(now);
        self.hour[(second % HOUR_SECONDS as u64) as usize] += 1;
        self.hour_total += 1;
        None
    }

    fn effective_per_second(&self, now: Instant) -> Option<u32> {
        let slowed = self.slow_until.is_some_and(|u| u > now);
        self.per_second
            .map(|r| if slowed { (r / 2).max(1) } else { r })
    }

    /// Forgets the seconds that left the hour window; returns the current second.
    fn advance_hour(&mut self, now: Instant) -> u64 {
        let second = now.duration_since(self.origin).as_secs();
        let expired = (second - self.last_second).min(HOUR_SECONDS as u64);
        for s in (second - expired + 1)..=second {
            let slot = &mut self.hour[(s % HOUR_SECONDS as u64) as usize];
            self.hour_total -= u64::from(*slot);
            *slot = 0;
        }
        if expired > 0 {
            self.last_second = second;
        }
        second
    }

    /// Time until the oldest second with sends leaves the hour window.
    fn hour_wait(&self, second: u64, now: Instant) -> Duration {
        let oldest = (0..HOUR_SECONDS as u64)
            .map(|back| second.saturating_sub(HOUR_SECONDS as u64 - 1 - back))
            .find(|&s| self.hour[(s % HOUR_SECONDS as u64) as usize] > 0)
            .unwrap_or(second);
        let frees_at = self.origin + Duration::from_secs(oldest + HOUR_SECONDS as u64);
        frees_at
            .saturating_duration_since(now)
            .max(Duration::from_millis(10))
    }
}

/// The delay before retry `attempt` (1 for the first retry): `base` doubled per attempt,
/// at most `cap`, with jitter so that deferred messages do not all return at once.
pub(crate) fn retry_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let full = exponential.min(cap);
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// Stops the run after too many transient failures in a row, or at once on an
/// authentication failure: the relay is down or refusing us, and hammering it helps nobody.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    state: Mutex<(u32, Option<String>)>,
}

impl Breaker {
    /// A breaker that trips after `threshold` consecutive transient failures.
    pub(crate) fn new(threshold: u32) -> Self {
        Self {
            threshold: threshold.max(1),
            state: Mutex::new((0, None)),
        }
    }

    /// A message went through: the run of failures is over.
    pub(crate) fn success(&self) {
        self.lock().0 = 0;
    }

    /// A transient failure; trips the breaker when there were too many in a row.
    pub(crate) fn transient(&self, what: &str) {
        let mut state = self.lock();
        state.0 += 1;
        if state.0 >= self.threshold && state.1.is_none() {
            state.1 = Some(format!(
                "{} transient failures in a row, the last: {what}",
                state.0
            ));
        }
    }

    /// Trips the breaker now (authentication failure and the like).
    pub(crate) fn trip(&self, why: &str) {
        self.lock().1.get_or_insert_with(|| why.to_owned());
    }

    /// Why the breaker tripped, if it did.
    pub(crate) fn tripped(&self) -> Option<String> {
        self.lock().1.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u32, Option<String>)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn per_second_limit_spreads_sends() {
        let limiter = RateLimiter::new(Some(10), None);
        let start = Instant::now();
        for _ in 0..35 {
            limiter.acquire().await;
        }
        // 34 gaps of a tenth of a second.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(3400) && elapsed < Duration::from_millis(3500),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sends_are_spread_evenly_within_each_second() {
        let limiter = RateLimiter::new(Some(20), None);
        let mut times = Vec::new();
        for _ in 0..100 {
            limiter.acquire().await;
            times.push(Instant::now());
        }
        // No burst: a relay whose clock sees them a few milliseconds apart from ours still
        // counts no more than 20 in any second.
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_millis(50), "{gap:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn per_hour_limit_waits_for_the_window() {
        let limiter = RateLimiter::new(None, Some(5));
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() < SECOND);
        limiter.acquire().await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(3600) && elapsed < Duration::from_secs(3602),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_down_pauses_then_halves() {
        let limiter = RateLimiter::new(Some(10), None);
        limiter.slow_down(Duration::from_secs(5));
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        // Paused 5 s, then 5 per second: the 10th send is 9 fifths of a second after the
        // first.
        assert!(
            elapsed >= Duration::from_millis(6800) && elapsed < Duration::from_millis(6900),
            "{elapsed:?}"
        );
    }

    #[test]
    fn retry_delays_grow_and_stay_bounded() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for attempt in 1..30 {
            let d = retry_delay(attempt, base, cap);
            let full = base.saturating_mul(1 << (attempt - 1).min(20)).min(cap);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn breaker_trips_on_a_run_of_failures_or_at_once() {
        let breaker = Breaker::new(3);
        breaker.transient("451");
        breaker.transient("451");
        breaker.success();
        breaker.transient("451");
        breaker.transient("451");
        assert_eq!(breaker.tripped(), None);
        breaker.transient("421 closing");
        assert!(breaker.tripped().unwrap().contains("3 transient failures"));
        let auth = Breaker::new(10);
        auth.trip("535 authentication failed");
        assert_eq!(auth.tripped().as_deref(), Some("535 authentication failed"));
    }
}
