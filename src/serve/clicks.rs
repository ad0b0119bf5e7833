//! `GET c/VOLUME/PLACE/MAC`: a counted link. A MAC that proves the volume and place, and a
//! target the dispatch recorded for them, answer 302 to that target once the request is
//! counted durably (through the committer, per volume, link and hour); anything else gets
//! the one bad-link page and counts nothing. HEAD and prefetch requests, user agents that
//! are not a browser's (or are a known scanner's) and clients that followed the volume's
//! hidden canary (that day, or later in the same hour) count as `scanner`. A client counts
//! once per link per hour, as a scanner when any of its requests is a machine's: it is
//! known by a hash of its address whose key lives in memory only and changes every day, and
//! nothing about it is stored or logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::app::App;
use super::commit::Change;
use super::respond::{Failure, LinkPath};
use crate::clicks::CANARY;
use crate::clock::Timestamp;

/// Words in the user agents of link scanners, previewers and bots that pose as a browser
/// (mail gateways, Googlebot's `Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko;
/// compatible; Googlebot/2.1; +http://www.google.com/bot.html)`, Gmail's image proxy):
/// vendors' names, and the words and the `+http` contact link crawlers put in theirs.
const SCANNERS: [&str; 20] = [
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
    "imageproxy",
    "+http",
];

/// The engines every browser in use names in its user agent after `Mozilla/5.0 (...)`:
/// Blink and WebKit (`AppleWebKit/`, with `like Gecko`), Gecko (`Gecko/`), and Trident.
const ENGINES: [&str; 4] = ["applewebkit/", "gecko/", "like gecko", "trident/"];

/// Whether a (lowercased) user agent looks like a person's browser: browsers, and the
/// in-app views of mail and social apps, send `Mozilla/5.0 (platform) engine ...`. HTTP
/// libraries (`okhttp/4.9.3`, `Java/1.8`, `python-requests/2.31`), link-preview fetchers
/// (`facebookexternalhit/1.1`, `WhatsApp/2.23`) and Office's link probe (`Microsoft Office
/// Existence Discovery`, `Mozilla/4.0 (compatible; ms-office; MSOffice 16)`) do not.
fn browser(agent: &str) -> bool {
    agent.starts_with("mozilla/5.0 (")
        && ENGINES.iter().any(|engine| agent.contains(engine))
        && !SCANNERS.iter().any(|word| agent.contains(word))
}

/// Whether a request looks like a machine's: HEAD, a prefetch, or a user agent that is not
/// a browser's.
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
    *method == Method::HEAD || prefetch || !browser(&agent)
}

/// Follows a counted link.
pub(super) async fn follow(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    LinkPath((volume, place, mac)): LinkPath<(String, String, String)>,
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
        let browser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
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

    #[test]
    fn only_browsers_user_agents_are_peoples() {
        let people = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.0]",
            "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko",
        ];
        let machines = [
            "Java/1.8.0_281",
            "Apache-HttpClient/4.5.13 (Java/11.0.12)",
            "okhttp/4.9.3",
            "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
            "axios/1.6.2",
            "libwww-perl/6.67",
            "python-requests/2.31.0",
            "curl/8.5.0",
            "Go-http-client/2.0",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "WhatsApp/2.23.20.0 A",
            "TelegramBot (like TwitterBot)",
            "Microsoft Office Existence Discovery",
            "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.69 Safari/537.36",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0",
        ];
        for agent in people {
            assert!(browser(&agent.to_ascii_lowercase()), "{agent}");
        }
        for agent in machines {
            assert!(!browser(&agent.to_ascii_lowercase()), "{agent}");
        }
    }
}
