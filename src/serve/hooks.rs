//! What the webhooks accept, as the service holds it: the SNS verifier of `[webhooks.ses]`
//! and Postmark's basic-auth credentials, each when configured.

use axum::http::HeaderValue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::bounces::webhooks::sns::Verifier;
use crate::settings::PostmarkWebhook;

/// What the webhooks accept: the SNS verifier and Postmark's credentials, each when
/// configured.
#[derive(Debug)]
pub(super) struct Hooks {
    pub(super) ses: Option<Verifier>,
    pub(super) postmark: Option<Credentials>,
}

/// Postmark's basic-auth credentials, kept only as a MAC so that they compare in constant
/// time (and never show in a debug print).
pub(super) struct Credentials {
    expected: [u8; 32],
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Credentials {
    /// The credentials of `settings`, the password read from its environment variable.
    pub(super) fn from_env(settings: &PostmarkWebhook) -> anyhow::Result<Self> {
        let name = settings.password_env.get_ref();
        let password = std::env::var(name).ok().filter(|p| !p.is_empty());
        let password = password.ok_or_else(|| {
            anyhow::anyhow!(
                "the environment variable {name} (`[webhooks.postmark] password_env`) is not set: \
                 it holds the password of Postmark's webhook URL"
            )
        })?;
        let pair = format!("{}:{password}", settings.username.get_ref());
        Ok(Self {
            expected: mac(pair.as_bytes()).finalize().into_bytes().into(),
        })
    }

    /// Whether `authorization` is `Basic` with these credentials.
    pub(super) fn admit(&self, authorization: Option<&HeaderValue>) -> bool {
        let given = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok());
        given.is_some_and(|pair| mac(&pair).verify_slice(&self.expected).is_ok())
    }
}

fn mac(pair: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(b"broadsheet webhook basic auth")
        .expect("HMAC takes a key of any length");
    mac.update(pair);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_admits_only_the_configured_pair() {
        let settings: PostmarkWebhook =
            toml::from_str("username = \"postmark\"\npassword_env = \"BROADSHEET_TEST_PM\"\n")
                .unwrap();
        let credentials = Credentials {
            expected: mac(b"postmark:s3cret").finalize().into_bytes().into(),
        };
        assert!(
            Credentials::from_env(&settings).is_err(),
            "the variable is not set"
        );
        let header = |text: &str| HeaderValue::from_str(text).unwrap();
        let basic = |pair: &str| header(&format!("Basic {}", STANDARD.encode(pair)));
        assert!(credentials.admit(Some(&basic("postmark:s3cret"))));
        assert!(credentials.admit(Some(&header(&format!(
            "basic {}",
            STANDARD.encode("postmark:s3cret")
        )))));
        for wrong in ["postmark:s3cre", "postmark:s3cret ", "other:s3cret", ""] {
            assert!(!credentials.admit(Some(&basic(wrong))), "{wrong:?}");
        }
        assert!(!credentials.admit(Some(&header("Bearer postmark:s3cret"))));
        assert!(!credentials.admit(Some(&header("Basic not-base64!"))));
        assert!(!credentials.admit(None));
        assert_eq!(format!("{credentials:?}"), "Credentials(***)");
    }
}
