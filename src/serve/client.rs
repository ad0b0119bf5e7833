//! Who is asking: the client's address (the peer, or behind a trusted proxy the last
//! `X-Forwarded-For` hop it did not add), and a per-client limit on sign-up requests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Sign-up requests a client may make per window.
const PER_WINDOW: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// Clients remembered before old windows are forgotten.
const REMEMBERED: usize = 10_000;

/// The client of a request from `peer` with `headers`, believing `X-Forwarded-For` only
/// from `trusted` proxies: the last hop that is not one of them.
pub(super) fn address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
}

/// Counts requests per client in fixed one-minute windows.
#[derive(Debug, Default)]
pub(super) struct Limiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    /// True when `client` may make another request now (and counts it).
    pub(super) fn allow(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= REMEMBERED {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        *count += 1;
        *count <= PER_WINDOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.0.0.2".parse().unwrap(),
        );
        let client = address(proxy, &headers, &[proxy]);
        assert_eq!(client, "198.51.100.7".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(address(stranger, &headers, &[proxy]), stranger);
    }

    #[test]
    fn eleven_requests_a_minute_are_one_too_many() {
        let limiter = Limiter::default();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..10).all(|_| limiter.allow(client)));
        assert!(!limiter.allow(client));
        assert!(limiter.allow("192.0.2.2".parse().unwrap()));
    }
}
