//! A send at a set hour: `--at "2026-12-10 07:00"` and a time zone in, the instant to send
//! at out, and whether that instant is still to come, due, or too long past to send without
//! asking again (a machine that woke up late must not mail a whole list hours after the
//! newsroom expected it). Time zones are the IANA database's, through jiff.

use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp as Instant, ZonedDateTime};

use super::prepare::{self, Prepared};
use super::{Briefing, Listing, Operator, Request};
use crate::clock::Timestamp;
use crate::message::variant::Variants;
use crate::project::Project;

/// How late a scheduled send may start without asking again.
pub(crate) const GRACE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// When a dispatch is to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// The hour, in its zone.
    pub at: ZonedDateTime,
}

/// Where a schedule stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Still to come, in this many whole seconds (rounded up).
    In(u64),
    /// Due now, or late by less than [`GRACE`].
    Now,
    /// Past by more than [`GRACE`]: this many minutes.
    Late(u64),
}

impl Schedule {
    /// Reads `text` (`2026-12-10 07:00`, seconds optional, `T` or a space between; a
    /// weekday and a time, `Thursday 07:00`, meaning that weekday's next such hour; a time
    /// alone, `07:00`, meaning its next occurrence; or an RFC 3339 instant with its offset)
    /// in the zone named `zone` (an IANA name such as `Europe/Berlin`; the system's zone when
    /// `None`), as of `now`.
    pub(crate) fn parse(text: &str, zone: Option<&str>, now: Instant) -> anyhow::Result<Self> {
        let tz = match zone {
            Some(name) => TimeZone::get(name).map_err(|_| {
                anyhow::anyhow!(
                    "unknown time zone `{name}`: use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`"
                )
            })?,
            None => TimeZone::system(),
        };
        let text = text.trim();
        if let Ok(instant) = text.parse::<Instant>() {
            return Ok(Self {
                at: instant.to_zoned_datetime(tz),
            });
        }
        let today = now.to_zoned_datetime(tz.clone()).date();
        let civil = match text.parse::<DateTime>() {
            Ok(civil) => civil,
            Err(_) => {
                // `Thursday 07:00`: that weekday's next 07:00; `07:00`: the next 07:00.
                let day_and_time = text
                    .split_once(char::is_whitespace)
                    .and_then(|(day, time)| Some((weekday(day)?, time.trim())));
                let (weekday, time) = match day_and_time {
                    Some((day, time)) => (Some(day), time),
                    None => (None, text),
                };
                let time: Time = time.parse().map_err(|_| {
                    let tomorrow = today.tomorrow().unwrap_or(today);
                    anyhow::anyhow!(
                        "`{text}` is not an hour to send at: write a date and a 24-hour time \
                         (`{tomorrow} 07:00`), a weekday and one (`{} 07:00`), or a time alone \
                         (`07:00`, the next one)",
                        tomorrow.strftime("%A")
                    )
                })?;
                let ahead = |day: jiff::civil::Date| -> anyhow::Result<bool> {
                    Ok(day
                        .to_datetime(time)
                        .to_zoned_datetime(tz.clone())?
                        .timestamp()
                        > now)
                };
                let day = match weekday {
                    Some(wd) if today.weekday() == wd && ahead(today)? => today,
                    Some(wd) => today.nth_weekday(1, wd)?,
                    None if ahead(today)? => today,
                    None => today.tomorrow()?,
                };
                day.to_datetime(time)
            }
        };
        Ok(Self {
            at: civil.to_zoned_datetime(tz)?,
        })
    }

    /// Where the schedule stands at `now`.
    pub(crate) fn due(&self, now: Instant) -> Due {
        let at = self.at.timestamp();
        let ahead = at.as_millisecond() - now.as_millisecond();
        if ahead > 0 {
            return Due::In(ahead.unsigned_abs().div_ceil(1000));
        }
        let late = ahead.unsigned_abs() / 1000;
        if late > GRACE.as_secs() {
            Due::Late(late / 60)
        } else {
            Due::Now
        }
    }

    /// The hour as people read it: `2026-12-10 07:00:00 CET (Europe/Berlin)`.
    pub(crate) fn describe(&self) -> String {
        let zone = self.at.time_zone().iana_name().unwrap_or("local time");
        format!("{} ({zone})", self.at.strftime("%Y-%m-%d %H:%M:%S %Z"))
    }
}

/// Before a scheduled dispatch touches `state/`: refuses a schedule too long past, shows
/// the plan as it stands now and has the operator confirm it, then has the operator wait
/// for the hour (the command waits, and may be cancelled), and returns the time then. Only
/// a new dispatch can be scheduled: an unfinished one is resumed by hand.
pub(crate) fn wait(
    project: &Project,
    request: &Request<'_>,
    prepared: &Prepared,
    variants: &mut Variants<'_>,
    operator: &dyn Operator,
    schedule: &Schedule,
) -> anyhow::Result<Timestamp> {
    if let Some(ledger) = prepare::read_ledger(project)? {
        let dispatches = ledger.dispatches(prepared.ready.number())?;
        if let Some(d) = prepare::unfinished(&dispatches) {
            anyhow::bail!(
                "dispatch #{} of this volume is not finished: resume it without --at ({}); nothing sent",
                d.id,
                super::resume_command(request.volume, &d.segments)
            );
        }
    }
    if let Due::Late(minutes) = schedule.due(crate::clock::instant()) {
        operator.late(schedule, minutes)?;
    }
    let plan = prepared.audit(project, request.segments, variants, |audit| {
        audit.plan(Listing::default())
    })?;
    operator.show(&Briefing::New(&plan));
    operator.confirm(&Briefing::New(&plan))?;
    operator.wait(schedule)
}

/// The weekday `word` names, in English, in full or by its first three letters.
fn weekday(word: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday;
    const DAYS: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let word = word.trim_end_matches([',', '.']).to_lowercase();
    DAYS.iter()
        .find(|(name, _)| word.len() >= 3 && name.starts_with(&word))
        .map(|(_, day)| *day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        "2026-12-06T22:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_hour_is_read_in_its_zone() {
        let s = Schedule::parse("2026-12-10 07:00", Some("Europe/Berlin"), now()).unwrap();
        assert_eq!(s.at.timestamp().to_string(), "2026-12-10T06:00:00Z");
        assert!(
            s.describe().starts_with("2026-12-10 07:00:00 CET"),
            "{}",
            s.describe()
        );
        let summer = Schedule::parse("2027-07-01T07:00:30", Some("Europe/Berlin"), now()).unwrap();
        assert_eq!(summer.at.timestamp().to_string(), "2027-07-01T05:00:30Z");
        let utc = Schedule::parse("2026-12-10T07:00:00Z", Some("Asia/Tokyo"), now()).unwrap();
        assert_eq!(utc.at.timestamp().to_string(), "2026-12-10T07:00:00Z");
    }

    #[test]
    fn a_time_alone_is_its_next_occurrence() {
        let later = Schedule::parse("23:30", Some("UTC"), now()).unwrap();
        assert_eq!(later.at.timestamp().to_string(), "2026-12-06T23:30:00Z");
        let tomorrow = Schedule::parse("07:00", Some("UTC"), now()).unwrap();
        assert_eq!(tomorrow.at.timestamp().to_string(), "2026-12-07T07:00:00Z");
    }

    #[test]
    fn a_weekday_and_a_time_is_that_weekdays_next_such_hour() {
        // now() is Sunday 2026-12-06 22:00 UTC.
        let thursday = Schedule::parse("Thursday 07:00", Some("UTC"), now()).unwrap();
        assert_eq!(thursday.at.timestamp().to_string(), "2026-12-10T07:00:00Z");
        let tonight = Schedule::parse("sun 23:00", Some("UTC"), now()).unwrap();
        assert_eq!(tonight.at.timestamp().to_string(), "2026-12-06T23:00:00Z");
        let next_week = Schedule::parse("Sunday 07:00", Some("UTC"), now()).unwrap();
        assert_eq!(next_week.at.timestamp().to_string(), "2026-12-13T07:00:00Z");
        let berlin = Schedule::parse("Thu 07:00", Some("Europe/Berlin"), now()).unwrap();
        assert_eq!(berlin.at.timestamp().to_string(), "2026-12-10T06:00:00Z");
    }

    #[test]
    fn mistakes_are_named() {
        let zone = Schedule::parse("07:00", Some("Europe/Berlln"), now()).unwrap_err();
        assert!(
            zone.to_string()
                .contains("unknown time zone `Europe/Berlln`")
        );
        let hour = Schedule::parse("Thursday at seven", Some("UTC"), now()).unwrap_err();
        assert!(hour.to_string().contains("is not an hour"), "{hour}");
        let pm = Schedule::parse("7pm", Some("UTC"), now()).unwrap_err();
        assert_eq!(
            pm.to_string(),
            "`7pm` is not an hour to send at: write a date and a 24-hour time \
             (`2026-12-07 07:00`), a weekday and one (`Monday 07:00`), or a time alone \
             (`07:00`, the next one)",
            "the examples are the next day"
        );
    }

    #[test]
    fn a_schedule_is_due_within_the_grace_and_late_after_it() {
        let s = Schedule::parse("2026-12-06 22:00:05", Some("UTC"), now()).unwrap();
        assert_eq!(s.due(now()), Due::In(5));
        let at = |secs: i64| {
            now()
                .checked_add(jiff::SignedDuration::from_secs(secs))
                .unwrap()
        };
        assert_eq!(s.due(at(5)), Due::Now);
        assert_eq!(s.due(at(5 + 600)), Due::Now);
        assert_eq!(s.due(at(5 + 3600)), Due::Late(60));
    }
}
