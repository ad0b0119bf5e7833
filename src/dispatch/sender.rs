//! Refusals that are our side's problem, not the readers': the failures and deferrals of
//! class `sender` during the SMTP transaction, and the bounces of that class reported
//! afterwards, in; one warning per recipient domain out, with what to check. They never
//! count as the readers' bounces, but a newsroom must hear of them: a blocklisted IP or a
//! broken DMARC record stops every volume at that domain. A reply about the session rather
//! than the recipient (421, the relay closing the channel, RFC 5321 §3.8; X.5.3, too many
//! recipients) is the relay's own: it is one warning naming the relay, not one per domain.

use std::collections::BTreeMap;

use crate::audience::Address;
use crate::ledger::{Return, Returned};
use crate::status::{Class, Reason, Status};

/// Refusals during the transaction with one reply code, enhanced code, reason and class,
/// at one domain, as the report groups them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Refusals<'a> {
    /// The recipients' domain.
    pub domain: &'a str,
    /// The reply code, when a reply came.
    pub code: Option<u16>,
    /// The enhanced status code, when the reply had one.
    pub status: Option<&'a str>,
    /// Why, by the classifier.
    pub reason: Reason,
    /// What it means for the readers.
    pub class: Class,
    /// How many.
    pub count: usize,
}

/// The warnings for the `refusals` during the transaction, through `relays` (those the
/// dispatches went through, `host:port`), and the volume's `returns`.
pub(super) fn warnings<'a>(
    refusals: impl IntoIterator<Item = Refusals<'a>>,
    relays: &[String],
    returns: &[(Address, Return)],
) -> Vec<String> {
    let relay = match relays {
        [] => "the relay".to_owned(),
        _ => format!("the relay {}", relays.join(", ")),
    };
    let mut by_domain: BTreeMap<&str, BTreeMap<Reason, usize>> = BTreeMap::new();
    for g in refusals.into_iter().filter(|g| g.class == Class::Sender) {
        let status = g.status.and_then(Status::parse);
        let who = if about_the_session(g.code, status) {
            relay.as_str()
        } else {
            g.domain
        };
        *by_domain
            .entry(who)
            .or_default()
            .entry(g.reason)
            .or_default() += g.count;
    }
    let reported = returns
        .iter()
        .filter(|(_, r)| r.kind == Returned::Bounce && r.class == Class::Sender);
    for (address, r) in reported {
        *by_domain
            .entry(address.domain())
            .or_default()
            .entry(r.reason)
            .or_default() += 1;
    }
    by_domain
        .into_iter()
        .map(|(domain, reasons)| warning(domain, &reasons))
        .collect()
}

/// Whether a reply speaks of the SMTP session rather than its recipient: 421, the server
/// closing the channel (RFC 5321 §3.8), or X.5.3, too many recipients (RFC 3463).
fn about_the_session(code: Option<u16>, status: Option<Status>) -> bool {
    code == Some(421) || status.is_some_and(|s| s.subject == 5 && s.detail == 3)
}

fn warning(domain: &str, reasons: &BTreeMap<Reason, usize>) -> String {
    let total: usize = reasons.values().sum();
    let mut ranked: Vec<(&Reason, &usize)> = reasons.iter().collect();
    ranked.sort_by_key(|(_, n)| std::cmp::Reverse(**n));
    let listed: Vec<String> = ranked.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let hint = ranked.first().map_or("", |(r, _)| hint(**r));
    format!(
        "{domain} refused {total} message(s) for reasons on our side ({}): a sender problem, \
         not the readers' bounces; {hint}",
        listed.join(", ")
    )
}

/// What to check for a sender problem of this reason.
fn hint(reason: Reason) -> &'static str {
    match reason {
        Reason::Blocked => "check the sending IP's and domain's reputation and blocklist entries",
        Reason::Authentication => "check SPF, DKIM and DMARC for the sending domain",
        Reason::ContentRejected | Reason::Virus => {
            "check the volume's content and links for what a spam filter dislikes"
        }
        Reason::SenderRefused => {
            "check that the envelope sender exists and that its domain resolves"
        }
        Reason::RelayDenied => "the server will not relay for us: check the relay settings",
        Reason::RateLimited => {
            "send more slowly (`[limits] per_second`, `per_hour`, `connections`)"
        }
        Reason::MessageTooLarge => "make the message smaller (images, attachments)",
        _ => "read the replies with `status --json`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group<'a>(
        domain: &'a str,
        code: u16,
        status: &'a str,
        reason: Reason,
        class: Class,
    ) -> Refusals<'a> {
        Refusals {
            domain,
            code: Some(code),
            status: Some(status),
            reason,
            class,
            count: 0,
        }
    }

    #[test]
    fn sender_refusals_are_one_warning_per_domain_with_their_reasons() {
        let failures = [
            Refusals {
                count: 10,
                ..group("gmail.com", 554, "5.7.1", Reason::Blocked, Class::Sender)
            },
            Refusals {
                count: 3,
                ..group("gmail.com", 550, "5.1.1", Reason::UserUnknown, Class::Hard)
            },
            Refusals {
                count: 2,
                ..group(
                    "yahoo.com",
                    550,
                    "5.7.26",
                    Reason::Authentication,
                    Class::Sender,
                )
            },
        ];
        let reported = Return {
            kind: Returned::Bounce,
            report: "<r@x>".to_owned(),
            status: Some("5.7.26".to_owned()),
            permanent: false,
            diagnostic: None,
            at: 0,
            reason: Reason::Authentication,
            class: Class::Sender,
        };
        let returns = [(Address::parse("ana@gmail.com").unwrap(), reported)];
        let found = warnings(failures, &[], &returns);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with(
                "gmail.com refused 11 message(s) for reasons on our side (blocked 10, authentication 1)"
            ),
            "{}",
            found[0]
        );
        assert!(found[0].ends_with("reputation and blocklist entries"));
        assert!(found[1].contains("SPF, DKIM and DMARC"));
        assert!(
            warnings(failures[1..2].iter().copied(), &[], &[]).is_empty(),
            "a hard bounce is the reader's"
        );
    }

    #[test]
    fn replies_about_the_session_are_one_warning_naming_the_relay() {
        let relay = ["smtp.example.net:587".to_owned()];
        let failures: Vec<Refusals<'_>> = ["a.example", "b.example", "c.example"]
            .into_iter()
            .flat_map(|domain| {
                [
                    Refusals {
                        count: 2,
                        ..group(domain, 421, "4.7.28", Reason::Blocked, Class::Sender)
                    },
                    Refusals {
                        count: 1,
                        ..group(domain, 452, "4.5.3", Reason::RateLimited, Class::Sender)
                    },
                ]
            })
            .collect();
        let found = warnings(failures, &relay, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "the relay smtp.example.net:587 refused 9 message(s) for reasons on our side \
                 (blocked 6, rate-limited 3)"
            ),
            "{}",
            found[0]
        );
    }
}
