//! What `serve` remembers of the clients that follow counted links, in memory only: a hash
//! of each client's address under a key of the day (so no hash outlives its day), which
//! links it was counted for in which hour and how, and whether it followed a volume's
//! hidden canary.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clicks::CANARY;
use crate::clock::Timestamp;

/// Clients' hours remembered (for the once-an-hour rule) before the older hours are forgotten.
const REMEMBERED: usize = 200_000;

/// What the service remembers of clients, in memory only: hashes under a key of the day.
#[derive(Debug)]
pub(super) struct Seen {
    state: Mutex<Day>,
}

/// What one request changes in the counts of its volume and hour.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Judged {
    /// The link to count, and whether as a scanner's; `None` when the client was counted
    /// for it this hour already.
    pub(super) counted: Option<(u32, bool)>,
    /// Links this client was counted for this hour as a reader whose count now moves to
    /// the scanners: the client turned out to be a machine (it followed the canary, or
    /// came back to the link with a HEAD, a prefetch or a scanner's user agent).
    pub(super) moved: Vec<u32>,
}

impl Judged {
    /// Whether the request changes no count.
    pub(super) fn is_empty(&self) -> bool {
        self.counted.is_none() && self.moved.is_empty()
    }
}

#[derive(Debug)]
struct Day {
    day: i64,
    key: RandomState,
    /// For each (client, volume, hour), the links counted and whether as a scanner's.
    counted: HashMap<(u64, u32, i64), HashMap<u32, bool>>,
    /// (client, volume) that followed the volume's canary today.
    canary: HashSet<(u64, u32)>,
}

impl Day {
    fn new(day: i64) -> Self {
        Self {
            day,
            key: RandomState::new(),
            counted: HashMap::new(),
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
    /// What the request of `client` for `link` of `volume` in `hour` changes. A client
    /// counts once per link per hour: as a scanner's when any of its requests for the link
    /// that hour is a machine's (`scanner`), or once it has followed the canary that day. The
    /// canary settles the hour after the fact too, since a scanner that walks a message in
    /// order may reach it last: the links the client was counted for as a reader that hour
    /// move to the scanners.
    pub(super) fn judge(
        &self,
        client: IpAddr,
        volume: u32,
        link: u32,
        hour: i64,
        scanner: bool,
    ) -> Judged {
        let mut day = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if day.day != hour.div_euclid(24) {
            // A new key forgets every client of yesterday: no hash outlives its day.
            *day = Day::new(hour.div_euclid(24));
        }
        if day.counted.len() >= REMEMBERED {
            day.counted.retain(|(_, _, h), _| *h >= hour);
        }
        let who = day.key.hash_one(client);
        if link == CANARY {
            day.canary.insert((who, volume));
        }
        let scanner = scanner || day.canary.contains(&(who, volume));
        let links = day.counted.entry((who, volume, hour)).or_default();
        let mut judged = Judged::default();
        match links.get(&link) {
            None => judged.counted = Some((link, scanner)),
            Some(false) if scanner => judged.moved.push(link),
            Some(_) => return judged,
        }
        links.insert(link, scanner);
        if link == CANARY {
            for (other, was) in links.iter_mut().filter(|(_, was)| !**was) {
                *was = true;
                judged.moved.push(*other);
            }
            judged.moved.sort_unstable();
        }
        judged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(link: u32, scanner: bool) -> Judged {
        Judged {
            counted: Some((link, scanner)),
            moved: Vec::new(),
        }
    }

    fn moved(links: &[u32]) -> Judged {
        Judged {
            counted: None,
            moved: links.to_vec(),
        }
    }

    #[test]
    fn a_client_counts_once_per_link_and_hour_and_the_canary_marks_it() {
        let seen = Seen::default();
        let hour = Timestamp::now().0 / 3600;
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert_eq!(seen.judge(a, 11, 1, hour, false), counted(1, false));
        assert!(
            seen.judge(a, 11, 1, hour, false).is_empty(),
            "again within the hour"
        );
        assert_eq!(
            seen.judge(a, 11, 1, hour + 1, false),
            counted(1, false),
            "the next hour"
        );
        assert_eq!(
            seen.judge(b, 11, CANARY, hour, false),
            counted(CANARY, true)
        );
        assert_eq!(
            seen.judge(b, 11, 1, hour, false),
            counted(1, true),
            "followed the canary"
        );
        assert_eq!(
            seen.judge(b, 12, 1, hour, false),
            counted(1, false),
            "another volume"
        );
    }

    #[test]
    fn a_client_that_reaches_the_canary_last_is_a_scanner_for_the_whole_hour() {
        let seen = Seen::default();
        let hour = Timestamp::now().0 / 3600;
        let (gateway, reader): (IpAddr, IpAddr) =
            ("192.0.2.7".parse().unwrap(), "192.0.2.8".parse().unwrap());
        assert_eq!(
            seen.judge(gateway, 11, 2, hour - 1, false),
            counted(2, false)
        );
        for link in [1, 2, 3] {
            assert_eq!(
                seen.judge(gateway, 11, link, hour, false),
                counted(link, false)
            );
        }
        assert_eq!(seen.judge(reader, 11, 1, hour, false), counted(1, false));
        let canary = seen.judge(gateway, 11, CANARY, hour, false);
        assert_eq!(
            canary,
            Judged {
                counted: Some((CANARY, true)),
                moved: vec![1, 2, 3],
            },
            "this hour's clicks move to the scanners; last hour's and another client's stay"
        );
        assert!(
            seen.judge(gateway, 11, 2, hour, false).is_empty(),
            "counted once, as a scanner"
        );
    }

    #[test]
    fn a_head_and_a_get_from_one_client_count_once_as_a_scanner() {
        let seen = Seen::default();
        let hour = Timestamp::now().0 / 3600;
        let (a, b): (IpAddr, IpAddr) =
            ("192.0.2.9".parse().unwrap(), "192.0.2.10".parse().unwrap());
        assert_eq!(seen.judge(a, 11, 4, hour, true), counted(4, true), "HEAD");
        assert!(seen.judge(a, 11, 4, hour, false).is_empty(), "then GET");
        assert_eq!(seen.judge(b, 11, 4, hour, false), counted(4, false), "GET");
        assert_eq!(seen.judge(b, 11, 4, hour, true), moved(&[4]), "then HEAD");
        assert!(seen.judge(b, 11, 4, hour, false).is_empty());
    }
}
