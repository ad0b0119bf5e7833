//! Unsubscribe tokens: an address and the list in, an opaque URL-safe token out, and back.
//!
//! A token is base64url (no padding) of 28 bytes: an 8-byte recipient id
//! (HMAC-SHA256(secret, "recipient" ‖ address), truncated), a 4-byte list id (SHA-256 of the
//! `List-Id`, truncated), and a 16-byte MAC (HMAC-SHA256(secret, "unsubscribe" ‖ list ‖
//! address), truncated). The address never appears in the URL; whoever holds the secret
//! and the recipient list finds it by the recipient id and proves it with the MAC,
//! compared in constant time. Changing the secret invalidates every token.
//!
//! Confirmation tokens (for sign-ups) have another purpose in their MAC, so neither kind
//! can stand for the other: base64url of an 8-byte sign-up id, an 8-byte expiry (unix
//! seconds) and a 16-byte MAC over "confirm", the list, the id and the expiry.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::audience::Address;
use crate::audience::address::lowercase_key;
use crate::clock::Timestamp;
use crate::encoding::hex;
use crate::settings::{TOKEN_SLOT, UnsubscribeLink};

/// The token that proof copies carry: it names nobody, and the endpoint should ignore it.
pub const PROOF_TOKEN: &str = "proof";

/// The shortest secret accepted, in bytes.
const MIN_SECRET: usize = 16;
const ID_LEN: usize = 8;
const LIST_LEN: usize = 4;
const MAC_LEN: usize = 16;
const TOKEN_LEN: usize = ID_LEN + LIST_LEN + MAC_LEN;
const EXPIRY_LEN: usize = 8;
const CONFIRM_LEN: usize = ID_LEN + EXPIRY_LEN + MAC_LEN;

/// The part of a token that names its recipient without proving anything: candidates are
/// found by it, then checked with the MAC.
pub type RecipientKey = [u8; ID_LEN];

type HmacSha256 = Hmac<Sha256>;

/// Makes and checks the tokens of one list.
#[derive(Clone)]
pub struct Signer {
    keyed: HmacSha256,
    list_id: String,
    list_hash: [u8; LIST_LEN],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Signer")
            .field("list_id", &self.list_id)
            .finish_non_exhaustive()
    }
}

/// Addresses by the recipient key their tokens carry: the candidates a token is checked
/// against. A key is 8 bytes of a MAC, so nearly every key names a single address, which is
/// held without a list of its own (a million readers' index is a third smaller).
#[derive(Debug, Default)]
pub(crate) struct KeyIndex(HashMap<RecipientKey, Named>);

/// The addresses of one key.
#[derive(Debug)]
enum Named {
    One(Address),
    More(Vec<Address>),
}

impl KeyIndex {
    /// An empty index with room for `n` addresses.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(HashMap::with_capacity(n))
    }

    /// Adds `address` under its key, once.
    pub(crate) fn insert(&mut self, signer: &Signer, address: Address) {
        self.insert_at(signer.recipient_key(&address), address);
    }

    fn insert_at(&mut self, key: RecipientKey, address: Address) {
        use std::collections::hash_map::Entry;
        match self.0.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(Named::One(address));
            }
            Entry::Occupied(mut slot) => match slot.get_mut() {
                Named::One(one) if *one == address => {}
                Named::One(one) => {
                    let first = one.clone();
                    slot.insert(Named::More(vec![first, address]));
                }
                Named::More(more) if more.contains(&address) => {}
                Named::More(more) => more.push(address),
            },
        }
    }

    /// The addresses under `key`: none, or the few whose tokens carry it.
    pub(crate) fn get(&self, key: &RecipientKey) -> &[Address] {
        match self.0.get(key) {
            None => &[],
            Some(Named::One(one)) => std::slice::from_ref(one),
            Some(Named::More(more)) => more,
        }
    }
}

/// What a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The recipient's address.
    pub address: Address,
    /// The list (`List-Id`) it unsubscribes from.
    pub list_id: String,
}

impl Signer {
    /// A signer for `list_id` with `secret` (at least 16 bytes).
    pub fn new(secret: &[u8], list_id: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET,
            "the unsubscribe secret is shorter than {MIN_SECRET} bytes; use e.g. `openssl rand -base64 32`"
        );
        let keyed = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        let digest = Sha256::digest(list_id.as_bytes());
        let mut list_hash = [0; LIST_LEN];
        list_hash.copy_from_slice(&digest[..LIST_LEN]);
        Ok(Self {
            keyed,
            list_id: list_id.to_owned(),
            list_hash,
        })
    }

    /// A signer whose secret is in the environment variable `[unsubscribe] secret_env` names.
    pub fn from_env(settings: &UnsubscribeLink, list_id: &str) -> anyhow::Result<Self> {
        let name = &settings.secret_env;
        let secret = std::env::var(name).map_err(|_| {
            anyhow::anyhow!("the environment variable {name} (`[unsubscribe] secret_env`) holds no secret; set it to a random string of 32 bytes or more")
        })?;
        Self::new(secret.as_bytes(), list_id)
    }

    /// A short fingerprint of the secret (a MAC, which reveals nothing of it), frozen with
    /// a dispatch so that a resume under another secret is refused.
    pub fn fingerprint(&self) -> String {
        let mac = self.mac(b"fingerprint", &[]).finalize().into_bytes();
        hex(&mac[..8])
    }

    /// The keyed MAC over `label` and `parts`, each part after a zero byte, not yet finished.
    fn mac(&self, label: &[u8], parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(label);
        for part in parts {
            mac.update(&[0]);
            mac.update(part);
        }
        mac
    }

    /// The keyed MAC of `label` and `parts` under this list's secret, for the other signed
    /// ids made from it (the VERP return path), so that one secret serves them all.
    pub(crate) fn digest(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut all: Vec<&[u8]> = vec![self.list_id.as_bytes()];
        all.extend_from_slice(parts);
        self.mac(label, &all).finalize().into_bytes().into()
    }

    fn recipient_id(&self, key: &str) -> [u8; 32] {
        self.mac(b"recipient", &[key.as_bytes()])
            .finalize()
            .into_bytes()
            .into()
    }

    fn address_mac(&self, key: &str) -> HmacSha256 {
        self.mac(b"unsubscribe", &[self.list_id.as_bytes(), key.as_bytes()])
    }

    /// The token for `address` on this list.
    pub fn token(&self, address: &Address) -> String {
        let key = address.key();
        let mut raw = [0; TOKEN_LEN];
        raw[..ID_LEN].copy_from_slice(&self.recipient_id(&key)[..ID_LEN]);
        raw[ID_LEN..ID_LEN + LIST_LEN].copy_from_slice(&self.list_hash);
        let mac = self.address_mac(&key).finalize().into_bytes();
        raw[ID_LEN + LIST_LEN..].copy_from_slice(&mac[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The key of `address`'s tokens, for an index of candidates (see [`Signer::token_key`]).
    pub fn recipient_key(&self, address: &Address) -> RecipientKey {
        let mut key = [0; ID_LEN];
        key.copy_from_slice(&self.recipient_id(&address.key())[..ID_LEN]);
        key
    }

    /// The recipient key a well-formed token of this list carries; `None` for anything
    /// else. Proves nothing: [`Signer::verify`] the candidates it names.
    pub fn token_key(&self, token: &str) -> Option<RecipientKey> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() != TOKEN_LEN || raw[ID_LEN..ID_LEN + LIST_LEN] != self.list_hash {
            return None;
        }
        raw[..ID_LEN].try_into().ok()
    }

    fn confirm_mac(&self, id: &[u8], expires: &[u8]) -> HmacSha256 {
        self.mac(b"confirm", &[self.list_id.as_bytes(), id, expires])
    }

    /// The confirmation token of sign-up `id` (16 hex digits), valid until `expires`.
    pub fn confirmation_token(&self, id: &str, expires: Timestamp) -> Option<String> {
        let id = u64::from_str_radix(id, 16).ok()?.to_be_bytes();
        let expiry = expires.0.to_be_bytes();
        let mac = self.confirm_mac(&id, &expiry).finalize().into_bytes();
        let mut raw = Vec::with_capacity(CONFIRM_LEN);
        raw.extend_from_slice(&id);
        raw.extend_from_slice(&expiry);
        raw.extend_from_slice(&mac[..MAC_LEN]);
        Some(URL_SAFE_NO_PAD.encode(raw))
    }

    /// The sign-up id a confirmation token names, if it verifies and has not expired at
    /// `now`.
    pub fn verify_confirmation(&self, token: &str, now: Timestamp) -> Option<String> {
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .filter(|r| r.len() == CONFIRM_LEN)?;
        let (id, rest) = raw.split_at(ID_LEN);
        let (expiry, mac) = rest.split_at(EXPIRY_LEN);
        self.confirm_mac(id, expiry)
            .verify_truncated_left(mac)
            .ok()?;
        let expires = i64::from_be_bytes(expiry.try_into().ok()?);
        let id = u64::from_be_bytes(id.try_into().ok()?);
        (now.0 < expires).then(|| format!("{id:016x}"))
    }

    /// Checks `token` and finds the address it names among `candidates` (the recipients
    /// and suppressed addresses). The error says what is wrong, without guessing.
    pub fn verify<'a>(
        &self,
        token: &str,
        candidates: impl Iterator<Item = &'a Address>,
    ) -> Result<Verified, String> {
        if token == PROOF_TOKEN {
            return Err(
                "this is the token of a proof copy: it names nobody and unsubscribes nobody"
                    .to_owned(),
            );
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .filter(|r| r.len() == TOKEN_LEN)
            .ok_or("not a broadsheet unsubscribe token (wrong length or characters)")?;
        if raw[ID_LEN..ID_LEN + LIST_LEN] != self.list_hash {
            return Err(format!(
                "the token belongs to another list than `{}`",
                self.list_id
            ));
        }
        for address in candidates {
            let key = lowercase_key(address.as_str());
            if self.recipient_id(&key)[..ID_LEN] != raw[..ID_LEN] {
                continue;
            }
            let mac = self.address_mac(&key);
            if mac.verify_truncated_left(&raw[ID_LEN + LIST_LEN..]).is_ok() {
                return Ok(Verified {
                    address: address.clone(),
                    list_id: self.list_id.clone(),
                });
            }
        }
        Err("the token does not verify: forged, made with another secret, or for an address no longer listed".to_owned())
    }
}

/// A token as long as every real one (they all are), for weighing a message before any
/// reader's token is made.
pub(crate) fn stand_in_token() -> String {
    URL_SAFE_NO_PAD.encode([0; TOKEN_LEN])
}

/// The unsubscribe URL for `token`.
pub fn url(settings: &UnsubscribeLink, token: &str) -> String {
    settings.url.replacen(TOKEN_SLOT, token, 1)
}

/// The unsubscribe URL for `token` in a message of volume `volume`: the template's
/// `{volume}` slot gets the number, or else a `v=` query parameter is added (before any
/// `#fragment`), so that whatever the link does is tied to the issue that carried it. The
/// RFC 8058 POST goes to this very URL, so one-clicks carry it too.
pub fn volume_url(settings: &UnsubscribeLink, token: &str, volume: u32) -> String {
    volume_url_of(&settings.url, token, volume)
}

/// [`volume_url`] of the URL template `template` (`[unsubscribe] url`).
pub(crate) fn volume_url_of(template: &str, token: &str, volume: u32) -> String {
    let url = template.replacen(TOKEN_SLOT, token, 1);
    if url.contains(VOLUME_SLOT) {
        return url.replacen(VOLUME_SLOT, &volume.to_string(), 1);
    }
    let (head, fragment) = url
        .split_once('#')
        .map_or((url.as_str(), None), |(h, f)| (h, Some(f)));
    let join = if head.contains('?') { '&' } else { '?' };
    let mut out = format!("{head}{join}{VOLUME_PARAM}={volume}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Where a URL template may put the volume's number; without it, `v=` is added.
pub const VOLUME_SLOT: &str = "{volume}";

/// The query parameter that names the volume whose message carried a link.
pub const VOLUME_PARAM: &str = "v";

/// The token in `text`, which is a token or a whole unsubscribe URL made from `settings`
/// (with or without the volume [`volume_url`] adds).
pub fn token_in<'a>(settings: &UnsubscribeLink, text: &'a str) -> &'a str {
    let text = text
        .rsplit_once(['?', '&'])
        .filter(|(_, last)| {
            last.strip_prefix(VOLUME_PARAM)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|v| v.parse::<u32>().is_ok())
        })
        .filter(|_| !settings.url.contains(VOLUME_SLOT))
        .map_or(text, |(rest, _)| rest);
    let template = &settings.url;
    let (before, after) = template.split_once(TOKEN_SLOT).unwrap_or((template, ""));
    text.strip_prefix(before)
        .and_then(|t| t.strip_suffix(after))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str, list: &str) -> Signer {
        Signer::new(secret.as_bytes(), list).unwrap()
    }

    #[test]
    fn a_key_index_finds_each_address_once_and_every_address_of_a_shared_key() {
        let s = signer("0123456789abcdef0123", "scout.eto.tech");
        let a = Address::parse("Ana@Example.org").unwrap();
        let b = Address::parse("wei@example.org").unwrap();
        let mut index = KeyIndex::with_capacity(2);
        index.insert(&s, a.clone());
        index.insert(&s, a.clone());
        index.insert(&s, b.clone());
        assert_eq!(index.get(&s.recipient_key(&a)), std::slice::from_ref(&a));
        assert_eq!(index.get(&s.recipient_key(&b)), std::slice::from_ref(&b));
        // The key is the lowercased address's: the token of either spelling finds it.
        let lower = Address::parse("ana@example.org").unwrap();
        assert_eq!(
            index.get(&s.recipient_key(&lower)),
            std::slice::from_ref(&a)
        );
        assert!(index.get(&[0; ID_LEN]).is_empty());
        // Two addresses whose keys collide (8 bytes of a MAC: it takes about 2^32 readers)
        // are both candidates, each once.
        let key = s.recipient_key(&a);
        index.insert_at(key, b.clone());
        index.insert_at(key, b.clone());
        index.insert_at(key, a.clone());
        assert_eq!(index.get(&key), [a.clone(), b.clone()]);
        let token = s.token(&b);
        assert_eq!(
            s.verify(&token, index.get(&key).iter()).map(|v| v.address),
            Ok(b)
        );
    }

    #[test]
    fn tokens_verify_and_name_their_address() {
        let s = signer("0123456789abcdef0123", "scout.eto.tech");
        let ana = Address::parse("Ana@example.org").unwrap();
        let bo = Address::parse("bo@example.org").unwrap();
        let token = s.token(&ana);
        assert_eq!(token.len(), 38);
        assert!(
            !token.contains("ana")
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            token,
            s.token(&Address::parse("ana@EXAMPLE.org").unwrap()),
            "case-insensitive"
        );
        let found = s.verify(&token, [&bo, &ana].into_iter()).unwrap();
        assert_eq!(found.address, ana);
        assert_eq!(found.list_id, "scout.eto.tech");
    }

    #[test]
    fn forged_or_foreign_tokens_fail() {
        let s = signer("0123456789abcdef0123", "scout.eto.tech");
        let ana = Address::parse("ana@example.org").unwrap();
        let token = s.token(&ana);
        let other_secret = signer("another secret, long enough", "scout.eto.tech");
        assert!(other_secret.verify(&token, [&ana].into_iter()).is_err());
        let other_list = signer("0123456789abcdef0123", "other.example.org");
        assert!(
            other_list
                .verify(&token, [&ana].into_iter())
                .unwrap_err()
                .contains("another list")
        );
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[TOKEN_LEN - 1] ^= 1;
        assert!(
            s.verify(&URL_SAFE_NO_PAD.encode(forged), [&ana].into_iter())
                .is_err()
        );
        assert!(
            s.verify("proof", [&ana].into_iter())
                .unwrap_err()
                .contains("proof")
        );
        assert!(Signer::new(b"short", "x").is_err());
    }

    #[test]
    fn volume_urls_carry_the_volume_and_keep_their_token() {
        let mut settings = UnsubscribeLink {
            url: "https://n.example/u/{token}".to_owned(),
            mailto: None,
            secret_env: "SECRET".to_owned(),
        };
        let url = volume_url(&settings, "TOK", 12);
        assert_eq!(url, "https://n.example/u/TOK?v=12");
        assert_eq!(token_in(&settings, &url), "TOK");
        settings.url = "https://n.example/u?t={token}#x".to_owned();
        assert_eq!(
            volume_url(&settings, "TOK", 3),
            "https://n.example/u?t=TOK&v=3#x"
        );
        settings.url = "https://n.example/{volume}/u/{token}".to_owned();
        let url = volume_url(&settings, "TOK", 7);
        assert_eq!(url, "https://n.example/7/u/TOK");
    }

    #[test]
    fn confirmation_tokens_expire_and_differ_in_purpose() {
        let s = signer("0123456789abcdef0123", "scout.eto.tech");
        let now = Timestamp(1_796_000_000);
        let token = s
            .confirmation_token("00ff00ff00ff00ff", Timestamp(now.0 + 10))
            .unwrap();
        assert_eq!(
            s.verify_confirmation(&token, now).as_deref(),
            Some("00ff00ff00ff00ff")
        );
        assert!(
            s.verify_confirmation(&token, Timestamp(now.0 + 10))
                .is_none(),
            "expired"
        );
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[ID_LEN] ^= 1;
        assert!(
            s.verify_confirmation(&URL_SAFE_NO_PAD.encode(forged), now)
                .is_none()
        );
        let ana = Address::parse("ana@example.org").unwrap();
        let unsubscribe = s.token(&ana);
        assert!(s.verify_confirmation(&unsubscribe, now).is_none());
        assert!(s.verify(&token, [&ana].into_iter()).is_err());
        assert_eq!(s.token_key(&unsubscribe), Some(s.recipient_key(&ana)));
        assert_eq!(s.token_key(&token), None);
    }
}
