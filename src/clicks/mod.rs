//! Click counts that track no one (`[clicks]`, off by default). When on, every link of a
//! dispatched message's HTML part that leads away from `serve` points at
//! `{public_url}c/VOLUME/PLACE/MAC` instead: the volume, the link's place (1 is the first
//! distinct target of the full volume's first dispatch; a target a later dispatch adds takes
//! the next free place, and a recorded place never changes) and a MAC over both with the
//! unsubscribe secret. Nothing in it names the reader, so every reader gets the same link.
//! `serve` redirects to the target the dispatch recorded from the composed volume (never to
//! anything the request says) and counts per volume, link and hour (see `serve::clicks`).
//! A hidden canary link, place 0, is followed by link scanners only.

mod rewrite;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use rewrite::{Counter, Link, targets};

use crate::unsubscribe::Signer;

/// The place of the canary link, which no person sees.
pub const CANARY: u32 = 0;

/// The bytes of a link's MAC kept in its URL.
const MAC_LEN: usize = 9;

/// The places of a volume's `links` given the places earlier dispatches `recorded`, (place,
/// target) pairs: a target keeps the place it was recorded with, because messages already sent
/// carry it, and a target new to the volume takes the next place after every recorded one.
pub fn places(recorded: &[(u32, String)], links: Vec<Link>) -> Vec<(u32, Link)> {
    let mut next = recorded
        .iter()
        .map(|(place, _)| place + 1)
        .max()
        .unwrap_or(1);
    links
        .into_iter()
        .map(|link| {
            let known = recorded.iter().find(|(_, target)| *target == link.target);
            let place = known.map_or_else(
                || {
                    next += 1;
                    next - 1
                },
                |(place, _)| *place,
            );
            (place, link)
        })
        .collect()
}

/// The MAC of link `place` of `volume`, base64url.
pub fn mac(signer: &Signer, volume: u32, place: u32) -> String {
    let digest = signer.digest(b"click", &[&volume.to_be_bytes(), &place.to_be_bytes()]);
    URL_SAFE_NO_PAD.encode(&digest[..MAC_LEN])
}

/// The path below `public_url` of link `place` of `volume`: `c/011/3/MAC`.
pub fn path(signer: &Signer, volume: u32, place: u32) -> String {
    format!("c/{volume:03}/{place}/{}", mac(signer, volume, place))
}

/// The volume and place a click path's parts name, when its MAC proves them; `None` for
/// anything else (a tampered MAC, a malformed number).
pub fn verify(signer: &Signer, volume: &str, place: &str, given: &str) -> Option<(u32, u32)> {
    let (volume, place) = (volume.parse().ok()?, place.parse().ok()?);
    let expected = mac(signer, volume, place);
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some((volume, place))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_paths_verify_only_as_made() {
        let signer = Signer::new(b"0123456789abcdef0123", "scout.eto.tech").unwrap();
        let made = path(&signer, 11, 3);
        let parts: Vec<&str> = made.split('/').collect();
        assert_eq!(&parts[..3], ["c", "011", "3"]);
        assert_eq!(verify(&signer, "011", "3", parts[3]), Some((11, 3)));
        assert_eq!(
            verify(&signer, "012", "3", parts[3]),
            None,
            "another volume"
        );
        assert_eq!(verify(&signer, "011", "4", parts[3]), None, "another link");
        let mut tampered = parts[3].to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(verify(&signer, "011", "3", &tampered), None);
    }

    #[test]
    fn recorded_targets_keep_their_places_and_new_ones_come_after() {
        let link = |target: &str| Link {
            target: target.to_owned(),
            label: String::new(),
        };
        let first = places(&[], vec![link("https://a/"), link("https://b/")]);
        let numbered: Vec<(u32, &str)> = first.iter().map(|(p, l)| (*p, &*l.target)).collect();
        assert_eq!(numbered, [(1, "https://a/"), (2, "https://b/")]);
        let recorded = [(1, "https://a/".to_owned()), (2, "https://b/".to_owned())];
        let edited = vec![link("https://new/"), link("https://b/"), link("https://c/")];
        let again = places(&recorded, edited);
        let numbered: Vec<(u32, &str)> = again.iter().map(|(p, l)| (*p, &*l.target)).collect();
        assert_eq!(
            numbered,
            [(3, "https://new/"), (2, "https://b/"), (4, "https://c/")]
        );
    }
}
