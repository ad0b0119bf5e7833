//! Time as the tool sees it: a [`Timestamp`] taken once at the edge (the command) and passed
//! in, so that message dates and suppression dates are exact in tests. The one place that
//! reads the system's clock (`clippy.toml` refuses `SystemTime::now` elsewhere): in seconds
//! ([`Timestamp::now`]), in milliseconds for the ledger ([`now_ms`]), and as an instant for
//! time-zone arithmetic ([`instant`]).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::date::Date;

/// Seconds since 1970-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// The system clock's time since the Unix epoch (zero before it).
#[allow(clippy::disallowed_methods)]
fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, as the ledger records times.
pub fn now_ms() -> i64 {
    i64::try_from(since_epoch().as_millis()).unwrap_or(i64::MAX)
}

/// Now, as an instant for calendars and time zones (`dispatch --at`).
pub fn instant() -> jiff::Timestamp {
    let since = since_epoch();
    let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    jiff::Timestamp::new(seconds, i32::try_from(since.subsec_nanos()).unwrap_or(0))
        .unwrap_or(jiff::Timestamp::MAX)
}

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Self {
        Self(i64::try_from(since_epoch().as_secs()).unwrap_or(i64::MAX))
    }

    /// The UTC calendar date.
    pub fn date(self) -> Date {
        Date::from_unix_days(self.0.div_euclid(86_400))
    }

    /// The RFC 5322 form for a `Date:` header, in UTC: `Tue, 05 May 2026 09:30:00 +0000`.
    pub fn rfc5322(self) -> String {
        let secs = self.0.rem_euclid(86_400);
        let day = self
            .date()
            .format("%a, %d %b %Y")
            .expect("a fixed, valid date pattern");
        format!(
            "{day} {:02}:{:02}:{:02} +0000",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// Unix milliseconds, as the ledger records them, as `2026-11-28 20:59:07 UTC`.
pub fn utc(ms: i64) -> String {
    let t = Timestamp(ms.div_euclid(1000));
    let secs = t.0.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        t.date(),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{Timestamp, utc};

    #[test]
    fn formats_ledger_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_715_250_645_123), "2024-05-09 10:30:45 UTC");
    }

    #[test]
    fn formats_mail_dates() {
        assert_eq!(Timestamp(0).rfc5322(), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            Timestamp(1_715_250_645).rfc5322(),
            "Thu, 09 May 2024 10:30:45 +0000"
        );
        assert_eq!(Timestamp(1_715_250_645).date().to_string(), "2024-05-09");
    }
}
