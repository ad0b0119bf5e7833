//! Calendar dates as volumes write them (TOML local dates), with the little arithmetic
//! the tool needs: ordering, adding days, and formatting for templates.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Builds a date, or `None` when the day does not exist.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_iso(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Self::new(year, month, day)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_unix_days(days: i64) -> Self {
        from_days(days)
    }

    /// The date `n` days later (or earlier, for negative `n`).
    pub fn add_days(self, n: i64) -> Self {
        from_days(to_days(self) + n)
    }

    /// The first day of the month `n` months after this date's (before it, for negative `n`);
    /// the year stops at the ends of its range.
    pub fn month_start(self, n: i64) -> Self {
        let months = (i64::from(self.year) * 12 + i64::from(self.month) - 1).saturating_add(n);
        let years = months.div_euclid(12);
        let year = i32::try_from(years).unwrap_or(if years < 0 { i32::MIN } else { i32::MAX });
        let month = u8::try_from(months.rem_euclid(12) + 1).expect("a month from 1 to 12");
        Self {
            year,
            month,
            day: 1,
        }
    }

    /// The last day of this date's month.
    pub fn month_end(self) -> Self {
        Self {
            day: days_in_month(self.year, self.month),
            ..self
        }
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Self) -> i64 {
        to_days(later) - to_days(self)
    }

    /// Formats with a small strftime subset: `%Y %y %m %d %B %b %A %a %e %%`, and
    /// `%-m %-d` for numbers without zero padding. Unknown directives are an error.
    pub fn format(self, pattern: &str) -> Result<String, String> {
        let mut out = String::with_capacity(pattern.len() + 8);
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let (unpadded, directive) = match chars.next() {
                Some('-') => (true, chars.next()),
                other => (false, other),
            };
            let piece = match (directive, unpadded) {
                (Some('Y'), false) => self.year.to_string(),
                (Some('y'), false) => format!("{:02}", self.year.rem_euclid(100)),
                (Some('m'), false) => format!("{:02}", self.month),
                (Some('d'), false) => format!("{:02}", self.day),
                (Some('m'), true) => self.month.to_string(),
                (Some('d'), true) | (Some('e'), false) => self.day.to_string(),
                (Some('B'), false) => MONTHS[usize::from(self.month) - 1].to_owned(),
                (Some('b'), false) => MONTHS[usize::from(self.month) - 1][..3].to_owned(),
                (Some('A'), false) => self.weekday().to_owned(),
                (Some('a'), false) => self.weekday()[..3].to_owned(),
                (Some('%'), false) => "%".to_owned(),
                _ => return Err(format!("unsupported date format directive in {pattern:?}")),
            };
            out.push_str(&piece);
        }
        Ok(out)
    }

    fn weekday(self) -> &'static str {
        // 1970-01-01 was a Thursday.
        const DAYS: [&str; 7] = [
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
        ];
        DAYS[usize::try_from(to_days(self).rem_euclid(7)).expect("rem_euclid(7) is small")]
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithm: days since 1970-01-01.
fn to_days(date: Date) -> i64 {
    let y = i64::from(date.year) - i64::from(date.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(date.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date {
        year: i32::try_from(year).expect("dates stay within i32 years"),
        month: u8::try_from(month).expect("month is 1..=12"),
        day: u8::try_from(day).expect("day is 1..=31"),
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let datetime = toml::value::Datetime::deserialize(deserializer)?;
        match (datetime.date, datetime.time, datetime.offset) {
            (Some(d), None, None) => Self::new(i32::from(d.year), d.month, d.day)
                .ok_or_else(|| de::Error::custom(format!("{d} is not a valid date"))),
            _ => Err(de::Error::custom(format!(
                "expected a date such as 2024-05-09, found `{datetime}`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        Date::parse_iso(text).unwrap()
    }

    #[test]
    fn day_arithmetic_round_trips_across_years() {
        assert_eq!(d("2024-05-09").add_days(1), d("2024-05-10"));
        assert_eq!(d("2024-02-28").add_days(1), d("2024-02-29"));
        assert_eq!(d("2023-12-31").add_days(1), d("2024-01-01"));
        assert_eq!(d("2024-04-12").days_until(d("2024-05-09")), 27);
        assert_eq!(d("1970-01-01").add_days(-1), d("1969-12-31"));
    }

    #[test]
    fn formats_like_the_seed() {
        assert_eq!(d("2024-04-12").format("%-m/%-d/%y").unwrap(), "4/12/24");
        assert_eq!(d("2024-05-04").format("%m/%d/%y").unwrap(), "05/04/24");
        assert_eq!(
            d("2024-05-09").format("%A %e %B %Y").unwrap(),
            "Thursday 9 May 2024"
        );
        assert!(d("2024-05-09").format("%Q").is_err());
    }

    #[test]
    fn months_start_and_end_across_years_and_leap_days() {
        assert_eq!(d("2027-01-31").month_start(1), d("2027-02-01"));
        assert_eq!(d("2027-12-15").month_start(1), d("2028-01-01"));
        assert_eq!(d("2027-01-15").month_start(-1), d("2026-12-01"));
        assert_eq!(d("2027-02-01").month_end(), d("2027-02-28"));
        assert_eq!(d("2028-02-01").month_end(), d("2028-02-29"));
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Date::parse_iso("2023-02-29").is_none());
        assert!(Date::parse_iso("2024-13-01").is_none());
    }
}
