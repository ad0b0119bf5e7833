//! Logging in (RFC 3501 §6.2.3, §7.2.1; RFC 4616): LOGIN with quoted strings, or with
//! literals for credentials that are not 7-bit; AUTHENTICATE PLAIN where the server
//! disables LOGIN (`LOGINDISABLED`) or offers PLAIN for such credentials. A refusal says
//! what the large providers need: an app password, or (Microsoft) OAuth 2.0, which this
//! client does not speak.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::names::{quotable, quote};
use super::{MAX_SMALL_LITERAL, Refused, Session};

/// What to do when a server that takes OAuth 2.0 refuses the password.
const OAUTH_ONLY: &str = "this server signs in with OAuth 2.0, which broadsheet does not \
    speak: Outlook.com and Microsoft 365 (Exchange Online) take nothing else since Microsoft \
    turned basic authentication off, so their mailboxes cannot be read with a password \
    (an Exchange server of your own takes one if its administrator allows it); forward the \
    bounces to a mailbox that takes a password";

/// What to do when any other server refuses the password.
const APP_PASSWORD: &str = "check `[bounces] username` and the password; Gmail, Yahoo, \
    iCloud, Fastmail and Zoho take an app password made in the account's security settings, \
    not the account's own";

impl Session {
    /// Logs in as `username`, choosing LOGIN or AUTHENTICATE PLAIN from the server's
    /// capabilities; `greeting` tells a Microsoft server in a refusal.
    pub(super) fn login(
        &mut self,
        username: &str,
        password: &str,
        greeting: &str,
    ) -> anyhow::Result<()> {
        // Gmail offers OAuth 2.0 too, and takes app passwords: only Microsoft's greeting,
        // or a server that offers nothing but OAuth, is told apart.
        let microsoft = greeting.contains("Microsoft Exchange");
        let oauth = microsoft || self.can("AUTH=XOAUTH2") || self.can("AUTH=OAUTHBEARER");
        let plain = self.can("AUTH=PLAIN");
        let seven_bit = quotable(username) && quotable(password);
        if self.can("LOGINDISABLED") && !plain {
            let why = if oauth {
                OAUTH_ONLY
            } else {
                "use `security = \"tls\"` or `\"starttls\"`: it may take a password over TLS"
            };
            anyhow::bail!(
                "the IMAP server takes no password here (it advertises LOGINDISABLED and no \
                 AUTHENTICATE PLAIN): {why}"
            );
        }
        // What the server can do once logged in comes with the answer, or is asked again.
        let logindisabled = self.can("LOGINDISABLED");
        let sasl_ir = self.can("SASL-IR");
        self.capabilities.clear();
        let outcome = if plain && (logindisabled || !seven_bit) {
            self.authenticate_plain(username, password, sasl_ir)
        } else if seven_bit {
            self.simple(&format!("LOGIN {} {}", quote(username), quote(password)))
        } else {
            // RFC 3501 §4.3: 8-bit text goes as literals, each sent once the server asks.
            let first = format!("LOGIN {{{}}}", username.len());
            let second = format!("{username} {{{}}}", password.len());
            self.exchange(&[&first, &second, password], MAX_SMALL_LITERAL, |_| Ok(()))
        };
        outcome
            .map_err(|e| match e.downcast::<Refused>() {
                Ok(refused) => {
                    let hint = if microsoft { OAUTH_ONLY } else { APP_PASSWORD };
                    anyhow::anyhow!("{refused}: {hint}")
                }
                Err(other) => other,
            })
            .context("the IMAP login failed")
    }

    /// AUTHENTICATE PLAIN (RFC 4616): the credentials in base64, on the command line where
    /// the server takes an initial response (SASL-IR, RFC 4959), else after its `+`.
    fn authenticate_plain(
        &mut self,
        username: &str,
        password: &str,
        sasl_ir: bool,
    ) -> anyhow::Result<()> {
        let response = STANDARD.encode(format!("\0{username}\0{password}"));
        if sasl_ir {
            self.simple(&format!("AUTHENTICATE PLAIN {response}"))
        } else {
            self.exchange(
                &["AUTHENTICATE PLAIN", &response],
                MAX_SMALL_LITERAL,
                |_| Ok(()),
            )
        }
    }
}
