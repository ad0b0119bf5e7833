//! `GET c/VOLUME/PLACE/MAC`: a counted link. A MAC that proves the volume and place, and a
//! target the dispatch recorded for them, answer 302 to that target once the request is
//! counted durably (through the committer, per volume, link and hour); anything else gets
//! the one bad-link page and counts nothing. HEAD and prefetch requests, link scanners'
//! user agents and clients that followed the volume's hidden canary (that day, or later in
//! the same hour) count as `scanner`. A client counts once per link per hour, as a scanner
//! when any of its requests is a machine's: it is known by a hash of its address whose key
//! lives in memory only and changes every day, and nothing about it is stored or logged.

use std::net::SocketAddr;
use std::sync::Arc;

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
    let judged = app.seen.judge(client, volume, link, hour, scanner);
    if !judged.is_empty() {
        let change = Change::Click {
            volume,
            hour,
            judged,
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
