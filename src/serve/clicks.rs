//! `GET c/VOLUME/PLACE/MAC`: a counted link. A MAC that proves the volume and place, and a
//! target the dispatch recorded for them, answer 302 to that target once the request is
//! counted durably (through the committer, per volume, link and hour); anything else gets
//! the one bad-link page and counts nothing. HEAD and prefetch requests, link scanners'
//! user agents and clients that followed the volume's hidden canary count as `scanner`.
//! A client counts once per link per hour: it is known by a hash of its address whose key
//! lives in memory only and changes every day, and nothing about it is stored or logged.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::app::App;
use super::commit::Change;
use super::respond::Failure;
use crate::clicks::CANARY;
use crate::clock::Timestamp;

/// Words in the user agents of link scanners, previewers and tools, not people's browsers.
const SCANNERS: [&str; 22] = [
    "barracuda",
    "mimecast",
    "proofpoint",
    "urldefense",
    "safelinks",
    "symantec",
    "messagelabs",
    "trendmicro",
    "fortinet",
    "forcepoint",
    "sophos",
    "ironport",
    "zscaler",
    "bot",
    "crawler",
    "spider",
    "preview",
    "headless",
    "curl",
    "wget",
    "python",
    "go-http-client",
];

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
    fn judge(
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

/// Whether a request looks like a machine's: HEAD, a prefetch, or a scanner's user agent.
fn machine(method: &Method, headers: &HeaderMap) -> bool {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    let prefetch = ["purpose", "sec-purpose", "x-purpose", "x-moz"]
        .iter()
        .filter_map(|h| text(h))
        .any(|v| v.contains("prefetch") || v.contains("preview"));
    let agent = text("user-agent").unwrap_or_default();
    *method == Method::HEAD
        || prefetch
        || agent.is_empty()
        || SCANNERS.iter().any(|word| agent.contains(word))
}

/// Follows a counted link.
pub(super) async fn follow(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((volume, place, mac)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let verified = crate::clicks::verify(&app.signer, &volume, &place, &mac);
    let (volume, link) = verified.ok_or(Failure::BadLink)?;
    let target = match link == CANARY {
        true => None,
        false => Some(
            app.store()
                .link_target(volume, link)?
                .ok_or(Failure::BadLink)?,
        ),
    };
    let client = super::client::address(peer.ip(), &headers, &app.serve.trusted_proxies);
    let hour = Timestamp::now().0.div_euclid(3600);
    let scanner = machine(&method, &headers);
    if let Some(scanner) = app.seen.judge(client, volume, link, hour, scanner) {
        let change = Change::Click {
            volume,
            link,
            hour,
            scanner,
        };
        app.committer.apply(change).await?;
    }
    Ok(match target {
        Some(target) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, target),
                (header::REFERRER_POLICY, "no-referrer".to_owned()),
            ],
        )
            .into_response(),
        None => (StatusCode::OK, "\n").into_response(),
    })
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

    #[test]
    fn head_prefetch_and_scanner_agents_are_machines() {
        let browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";
        let with = |name: &str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert("user-agent", browser.parse().unwrap());
            h.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
            h
        };
        let plain = with("accept", "text/html");
        assert!(!machine(&Method::GET, &plain));
        assert!(machine(&Method::HEAD, &plain));
        assert!(machine(
            &Method::GET,
            &with("sec-purpose", "prefetch;prerender")
        ));
        assert!(machine(&Method::GET, &with("purpose", "prefetch")));
        assert!(machine(
            &Method::GET,
            &with("user-agent", "Barracuda Sentinel (EE)")
        ));
        assert!(machine(&Method::GET, &HeaderMap::new()), "no user agent");
    }
}
