//! The VERP return path: a volume, a recipient and the base address (`bounces@eto.tech`) in,
//! the envelope sender `bounces+TOKEN@eto.tech` out; and a returned local part back to the
//! volume and the recipient's tag. The same tokens, made for another [`Purpose`], tie a mail
//! to the `mailto:` unsubscribe address to the reader whose message offered it.
//!
//! TOKEN is lowercase base32 (RFC 4648 alphabet, no padding) of 16 bytes: the volume
//! (4 bytes, big-endian) and a 12-byte tag, HMAC-SHA256(unsubscribe secret, "verp" ‖ list ‖
//! volume ‖ address) truncated. Lowercase because relays may lowercase local parts; 26
//! characters so that the local part stays within SMTP's 64 octets. The tag is both the
//! recipient's id and the proof: only the secret's holder can make the tag of an address,
//! so a forged report cannot suppress someone, and whoever holds the secret and the volume's
//! recipients (the ledger) finds the address by computing the tags of those recipients.

use crate::audience::Address;
use crate::unsubscribe::Signer;

/// What a token is for: the MAC covers it, so a token made for one purpose never stands
/// for another (a bounce address cannot unsubscribe anyone, nor the reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The envelope sender of a volume's message: bounces come back to it.
    ReturnPath,
    /// The subject of the `mailto:` unsubscribe link: a mail that carries it asks to leave.
    Mailto,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::ReturnPath => b"verp",
            Self::Mailto => b"mailto",
        }
    }
}

/// The bytes of a recipient's tag.
pub const TAG_LEN: usize = 12;
const RAW_LEN: usize = 4 + TAG_LEN;
/// The characters of a token: 16 bytes in base32.
pub const TOKEN_CHARS: usize = 26;
// The settings refuse a bounce address whose local part leaves no room for `+TOKEN`.
const _: () = assert!(crate::settings::MAX_BOUNCE_LOCAL == 64 - 1 - TOKEN_CHARS);
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// What a return path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The volume the message carried.
    pub volume: u32,
    /// The recipient's tag; [`tag`] of the right address gives it.
    pub tag: [u8; TAG_LEN],
}

/// The tag of `to` for `volume` and `purpose`.
pub fn tag(signer: &Signer, purpose: Purpose, volume: u32, to: &Address) -> [u8; TAG_LEN] {
    let key = to.key();
    let digest = signer.digest(purpose.label(), &[&volume.to_be_bytes(), key.as_bytes()]);
    let mut tag = [0; TAG_LEN];
    tag.copy_from_slice(&digest[..TAG_LEN]);
    tag
}

/// The envelope sender of `volume`'s message to `to`, given the base address `bounce`
/// (`[sender] bounce`, checked to hold one `@` and no `+`).
pub fn envelope_sender(bounce: &str, signer: &Signer, volume: u32, to: &Address) -> String {
    let (local, domain) = bounce.rsplit_once('@').unwrap_or((bounce, ""));
    let token = token(signer, Purpose::ReturnPath, volume, to);
    format!("{local}+{token}@{domain}")
}

/// The token (lowercase base32, [`TOKEN_CHARS`] long) of `to` for `volume` and `purpose`.
pub fn token(signer: &Signer, purpose: Purpose, volume: u32, to: &Address) -> String {
    let mut raw = [0; RAW_LEN];
    raw[..4].copy_from_slice(&volume.to_be_bytes());
    raw[4..].copy_from_slice(&tag(signer, purpose, volume, to));
    encode(&raw)
}

/// Whether `address` is `base` itself or `base` with a `+TAG` (any case): a mail to our
/// bounce or unsubscribe address, whatever token it carries.
pub fn is_ours(address: &str, base: &str) -> bool {
    let (Some((local, domain)), Some((base_local, base_domain))) =
        (address.rsplit_once('@'), base.rsplit_once('@'))
    else {
        return false;
    };
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    local.eq_ignore_ascii_case(base_local) && domain.eq_ignore_ascii_case(base_domain)
}

/// The tokens among the words of `text` (a subject such as `unsubscribe TOKEN`), with its
/// `%XX` escapes decoded first: some mail clients leave the `mailto:` link's subject as the
/// link wrote it (`unsubscribe%20TOKEN`).
pub fn tokens_in(text: &str) -> Vec<Token> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|word| decode_token(&word.to_ascii_lowercase()))
        .collect()
}

/// The token in a returned address or local part (`bounces+TOKEN@…`, any case), if it holds
/// one. Whether the tag is genuine is known only by matching it against recipients.
pub fn decode(address: &str) -> Option<Token> {
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    let (_, token) = local.rsplit_once('+')?;
    decode_token(&token.to_ascii_lowercase())
}

fn decode_token(token: &str) -> Option<Token> {
    let raw = decode_base32(token)?;
    let mut tag = [0; TAG_LEN];
    tag.copy_from_slice(&raw[4..]);
    Some(Token {
        volume: u32::from_be_bytes(raw[..4].try_into().expect("four bytes")),
        tag,
    })
}

fn encode(raw: &[u8; RAW_LEN]) -> String {
    let mut out = String::with_capacity(TOKEN_CHARS);
    let (mut buffer, mut bits) = (0u32, 0);
    for &byte in raw {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn decode_base32(token: &str) -> Option<[u8; RAW_LEN]> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let mut raw = [0; RAW_LEN];
    let (mut buffer, mut bits, mut at) = (0u32, 0, 0);
    for c in token.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *raw.get_mut(at)? = (buffer >> bits) as u8;
            at += 1;
        }
    }
    // The last character's spare bits must be zero, so that each token has one spelling.
    (at == RAW_LEN && buffer & ((1 << bits) - 1) == 0).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(b"0123456789abcdef0123", "scout.eto.tech").unwrap()
    }

    #[test]
    fn return_paths_round_trip_through_a_lowercasing_relay() {
        let ana = Address::parse("Ana.Lopez@Example.org").unwrap();
        let sender = envelope_sender("bounces@eto.tech", &signer(), 11, &ana);
        let (local, domain) = sender.rsplit_once('@').unwrap();
        assert_eq!(domain, "eto.tech");
        assert!(
            local.len() <= 64 && local.starts_with("bounces+"),
            "{sender}"
        );
        assert!(
            !sender.to_lowercase().contains("ana"),
            "no address in it: {sender}"
        );
        let token = decode(&sender.to_uppercase()).expect("a token");
        assert_eq!(token.volume, 11);
        let verp = Purpose::ReturnPath;
        assert_eq!(token.tag, tag(&signer(), verp, 11, &ana));
        let bo = Address::parse("bo@example.org").unwrap();
        assert_ne!(token.tag, tag(&signer(), verp, 11, &bo));
        assert_ne!(
            token.tag,
            tag(&signer(), verp, 12, &ana),
            "bound to the volume"
        );
        assert_ne!(
            token.tag,
            tag(&signer(), Purpose::Mailto, 11, &ana),
            "bound to the purpose"
        );
    }

    #[test]
    fn mailto_tokens_are_found_in_a_subject_and_addresses_by_their_base() {
        let ana = Address::parse("ana@example.org").unwrap();
        let made = token(&signer(), Purpose::Mailto, 12, &ana);
        let found = tokens_in(&format!("Re: Unsubscribe {}", made.to_uppercase()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].volume, 12);
        assert_eq!(found[0].tag, tag(&signer(), Purpose::Mailto, 12, &ana));
        assert!(tokens_in("unsubscribe me please").is_empty());
        for undecoded in [
            format!("unsubscribe%20{made}"),
            format!("Re:%20unsubscribe%20{made}%0D%0A"),
            format!("unsubscribe%2B{made}"),
        ] {
            assert_eq!(tokens_in(&undecoded), found, "{undecoded}");
        }
        assert!(is_ours("Unsubscribe+x@ETO.tech", "unsubscribe@eto.tech"));
        assert!(is_ours("unsubscribe@eto.tech", "unsubscribe@eto.tech"));
        assert!(!is_ours(
            "unsubscribe@other.example",
            "unsubscribe@eto.tech"
        ));
        assert!(!is_ours("unsubscriber@eto.tech", "unsubscribe@eto.tech"));
    }

    #[test]
    fn other_addresses_hold_no_token() {
        for address in [
            "bounces@eto.tech",
            "ana+news@example.org",
            "bounces+aaaa@eto.tech",
            "bounces+aaaaaaaaaaaaaaaaaaaaaaaaa1@eto.tech",
            // 26 characters whose spare bits are not zero.
            "bounces+aaaaaaaaaaaaaaaaaaaaaaaaab@eto.tech",
        ] {
            assert_eq!(decode(address), None, "{address}");
        }
    }
}
