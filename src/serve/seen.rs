//! What `serve` remembers of the clients that follow counted links, in memory only: a hash
//! of each client's address under a key of the day (so no hash outlives its day), which
//! links it was counted for in which hour, and whether it followed a volume's hidden canary.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clicks::CANARY;
use crate::clock::Timestamp;

/// Clients remembered (for the once-an-hour rule) before the older hours are forgotten.
const REMEMBERED: usize = 200_000;

/// What the service remembers of clients, in memory only: hashes under a key of the day.
#[derive(Debug)]
pub(super) struct Seen {
    state: Mutex<Day>,
}

#[derive(Debug)]
struct Day {
    day: i64,
    key: RandomState,
    /// (client, volume, link, hour, scanner) already counted.
    counted: HashSet<(u64, u32, u32, i64, bool)>,
    /// (client, volume) that followed the volume's canary today.
    canary: HashSet<(u64, u32)>,
}

impl Day {
    fn new(day: i64) -> Self {
        Self {
            day,
            key: RandomState::new(),
            counted: HashSet::new(),
            canary: HashSet::new(),
        }
    }
}

impl Default for Seen {
    fn default() -> Self {
        Self {
            state: Mutex::new(Day::new(Timestamp::now().0 / 86_400)),
        }
    }
}

impl Seen {
    /// Whether the request of `client` for `link` of `volume` in `hour` should be counted,
    /// and whether as a scanner's (`scanner` already, or a client that followed the
    /// canary). The canary itself marks the client.
    pub(super) fn judge(
        &self,
        client: IpAddr,
        volume: u32,
        link: u32,
        hour: i64,
        scanner: bool,
    ) -> Option<bool> {
        let mut day = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if day.day != hour.div_euclid(24) {
            // A new key forgets every client of yesterday: no hash outlives its day.
            *day = Day::new(hour.div_euclid(24));
        }
        if day.counted.len() >= REMEMBERED {
            day.counted.retain(|(_, _, _, h, _)| *h >= hour);
        }
        let who = day.key.hash_one(client);
        if link == CANARY {
            day.canary.insert((who, volume));
        }
        let scanner = scanner || link == CANARY || day.canary.contains(&(who, volume));
        day.counted
            .insert((who, volume, link, hour, scanner))
            .then_some(scanner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_counts_once_per_link_and_hour_and_the_canary_marks_it() {
        let seen = Seen::default();
        let hour = Timestamp::now().0 / 3600;
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert_eq!(seen.judge(a, 11, 1, hour, false), Some(false));
        assert_eq!(
            seen.judge(a, 11, 1, hour, false),
            None,
            "again within the hour"
        );
        assert_eq!(
            seen.judge(a, 11, 1, hour + 1, false),
            Some(false),
            "the next hour"
        );
        assert_eq!(seen.judge(b, 11, CANARY, hour, false), Some(true));
        assert_eq!(
            seen.judge(b, 11, 1, hour, false),
            Some(true),
            "followed the canary"
        );
        assert_eq!(
            seen.judge(b, 12, 1, hour, false),
            Some(false),
            "another volume"
        );
    }
}
