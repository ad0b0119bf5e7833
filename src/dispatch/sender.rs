//! Refusals that are our side's problem, not the readers': the failures and deferrals of
//! class `sender` during the SMTP transaction, and the bounces of that class reported
//! afterwards, in; one warning per recipient domain out, with what to check. They never
//! count as the readers' bounces, but a newsroom must hear of them: a blocklisted IP or a
//! broken DMARC record stops every volume at that domain.

use std::collections::BTreeMap;

use crate::audience::Address;
use crate::ledger::{Return, Returned};
use crate::status::{Class, Reason};

/// The warnings for the refusals during the transaction (domain, reason, class and count,
/// as the report groups them) and the volume's `returns`.
pub(super) fn warnings<'a>(
    refusals: impl IntoIterator<Item = (&'a str, Reason, Class, usize)>,
    returns: &[(Address, Return)],
) -> Vec<String> {
    let mut by_domain: BTreeMap<&str, BTreeMap<Reason, usize>> = BTreeMap::new();
    for (domain, reason, class, count) in refusals {
        if class == Class::Sender {
            *by_domain
                .entry(domain)
                .or_default()
                .entry(reason)
                .or_default() += count;
        }
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

    #[test]
    fn sender_refusals_are_one_warning_per_domain_with_their_reasons() {
        let failures = [
            ("gmail.com", Reason::Blocked, Class::Sender, 10),
            ("gmail.com", Reason::UserUnknown, Class::Hard, 3),
            ("yahoo.com", Reason::Authentication, Class::Sender, 2),
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
        let found = warnings(failures, &returns);
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
            warnings(failures[1..2].iter().copied(), &[]).is_empty(),
            "a hard bounce is the reader's"
        );
    }
}
