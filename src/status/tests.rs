//! The classifier on real refusals, as the MTAs and providers that send them document or
//! publish them (addresses and IPs replaced by documentation ones).

use super::*;

/// (reply code, enhanced status as given separately, the server's words, reason, class).
type Case = (
    Option<u16>,
    Option<&'static str>,
    &'static str,
    Reason,
    Class,
);

const CASES: &[Case] = &[
    // user-unknown
    (
        Some(550),
        Some("5.1.1"),
        "<ana@example.org>: Recipient address rejected: User unknown in local recipient table",
        Reason::UserUnknown,
        Class::Hard,
    ), // Postfix
    (
        None,
        None,
        "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser",
        Reason::UserUnknown,
        Class::Hard,
    ), // Gmail
    (
        Some(550),
        None,
        "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        Reason::UserUnknown,
        Class::Hard,
    ), // Microsoft 365
    (
        None,
        Some("5.1.1"),
        "smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
        Reason::UserUnknown,
        Class::Hard,
    ), // Exchange
    (
        Some(550),
        Some("5.4.1"),
        "Recipient address rejected: Access denied. AS(201806281) [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]",
        Reason::UserUnknown,
        Class::Hard,
    ), // Microsoft 365 directory-based edge blocking
    (
        None,
        Some("5.0.0"),
        "smtp; 554 delivery error: dd This user doesn't have a yahoo.com account (ana@yahoo.com) [0] - mta1.mail.bf1.yahoo.com",
        Reason::UserUnknown,
        Class::Hard,
    ), // Yahoo
    (
        Some(550),
        None,
        "Requested action not taken: mailbox unavailable",
        Reason::UserUnknown,
        Class::Hard,
    ), // Outlook.com, RFC 5321's own words
    (
        None,
        Some("5.0.0"),
        "smtp; 550 sorry, no mailbox here by that name. (#5.7.17)",
        Reason::UserUnknown,
        Class::Hard,
    ), // qmail / vpopmail
    (
        Some(550),
        None,
        "5.1.1 <ana@example.org>... User unknown",
        Reason::UserUnknown,
        Class::Hard,
    ), // Sendmail
    (
        None,
        Some("5.1.1"),
        "X-Notes; User ana (ana@example.com) not listed in Domino Directory",
        Reason::UserUnknown,
        Class::Hard,
    ), // Lotus Domino
    (
        Some(550),
        None,
        "5.1.1 <ana@icloud.com>: user does not exist",
        Reason::UserUnknown,
        Class::Hard,
    ), // iCloud
    (
        Some(550),
        None,
        "5.1.1 User does not exist - <ana@zoho.com>",
        Reason::UserUnknown,
        Class::Hard,
    ), // Zoho
    (None, None, "User unknown", Reason::UserUnknown, Class::Hard), // no status at all
    (
        None,
        Some("5.4.4"),
        "user unknown",
        Reason::UserUnknown,
        Class::Hard,
    ), // a generic status with clear words
    (
        Some(450),
        Some("4.1.1"),
        "<ana@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
        Reason::UserUnknown,
        Class::Soft,
    ), // Postfix, soft_bounce
    // host-unknown
    (
        None,
        Some("5.4.4"),
        "X-Postfix; Host or domain name not found. Name service error for name=example.invalid type=A: Host not found",
        Reason::HostUnknown,
        Class::Hard,
    ), // Postfix
    (
        None,
        Some("5.1.2"),
        "DNS Error: DNS type 'mx' lookup of example.invalid responded with code NXDOMAIN Domain name not found",
        Reason::HostUnknown,
        Class::Hard,
    ), // Gmail
    (
        Some(556),
        Some("5.1.10"),
        "Recipient address has null MX",
        Reason::HostUnknown,
        Class::Hard,
    ), // RFC 7505
    (
        None,
        Some("4.4.3"),
        "Host or domain name not found. Name service error for name=example.org type=MX: Host not found, try again",
        Reason::HostUnknown,
        Class::Soft,
    ), // Postfix, temporary
    (
        Some(550),
        None,
        "Unrouteable address",
        Reason::HostUnknown,
        Class::Hard,
    ), // Exim
    // mailbox-disabled
    (
        Some(550),
        Some("5.2.1"),
        "The email account that you tried to reach is disabled. Learn more at https://support.google.com/mail/?p=DisabledUser",
        Reason::MailboxDisabled,
        Class::Hard,
    ), // Gmail
    (
        Some(550),
        Some("5.2.1"),
        "Mailbox disabled, not accepting messages",
        Reason::MailboxDisabled,
        Class::Hard,
    ), // RFC 3463's words
    (
        Some(554),
        None,
        "delivery error: dd Sorry your message to ana@yahoo.com cannot be delivered. This account has been disabled or discontinued [#102]. - mta1.mail.gq1.yahoo.com",
        Reason::MailboxDisabled,
        Class::Hard,
    ), // Yahoo
    (
        Some(551),
        None,
        "User not local; please try <ana@example.net>",
        Reason::MailboxDisabled,
        Class::Hard,
    ), // RFC 5321
    // mailbox-full
    (
        Some(452),
        Some("4.2.2"),
        "The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp",
        Reason::MailboxFull,
        Class::Soft,
    ), // Gmail
    (
        Some(450),
        Some("4.2.1"),
        "The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.",
        Reason::MailboxFull,
        Class::Soft,
    ), // Gmail
    (
        Some(550),
        Some("5.2.1"),
        "<ana@example.org>: Mailbox full",
        Reason::MailboxFull,
        Class::Soft,
    ), // 5.2.1 decided by the words
    (
        None,
        Some("5.2.2"),
        "X-Postfix; maildir delivery failed: Sorry, the user's maildir has overdrawn his diskspace quota, please try again later.",
        Reason::MailboxFull,
        Class::Soft,
    ), // Postfix + vpopmail
    (
        Some(554),
        Some("5.2.2"),
        "mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException",
        Reason::MailboxFull,
        Class::Soft,
    ), // Exchange
    (
        None,
        None,
        "user over quota. (#5.1.1)",
        Reason::MailboxFull,
        Class::Soft,
    ), // qmail-toaster
    // message-too-large
    (
        Some(552),
        Some("5.3.4"),
        "Message size exceeds fixed limit",
        Reason::MessageTooLarge,
        Class::Sender,
    ), // Postfix
    (
        Some(552),
        Some("5.2.3"),
        "Your message exceeded Google's message size limits.",
        Reason::MessageTooLarge,
        Class::Sender,
    ), // Gmail
    // rate-limited
    (
        Some(454),
        None,
        "Throttling failure: Maximum sending rate exceeded.",
        Reason::RateLimited,
        Class::Sender,
    ), // Amazon SES
    (
        Some(421),
        Some("4.7.0"),
        "Too many concurrent SMTP connections from this IP address; please try again later.",
        Reason::RateLimited,
        Class::Sender,
    ), // Microsoft
    (
        Some(452),
        Some("4.5.3"),
        "Too many recipients",
        Reason::RateLimited,
        Class::Sender,
    ), // Exchange
    // content-rejected
    (
        Some(550),
        Some("5.7.1"),
        "[192.0.2.1] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.",
        Reason::ContentRejected,
        Class::Sender,
    ), // Gmail
    (
        Some(554),
        Some("5.7.0"),
        "Reject, id=00832-01 - SPAM",
        Reason::ContentRejected,
        Class::Sender,
    ), // amavisd-new
    (
        Some(554),
        None,
        "5.7.1 Message content rejected, UBE, id=12345-01",
        Reason::ContentRejected,
        Class::Sender,
    ), // amavisd-new
    // virus
    (
        Some(554),
        Some("5.7.1"),
        "Virus found in message",
        Reason::Virus,
        Class::Sender,
    ),
    // blocked
    (
        Some(554),
        Some("5.7.1"),
        "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1",
        Reason::Blocked,
        Class::Sender,
    ), // Postfix + Spamhaus
    (
        Some(550),
        Some("5.7.606"),
        "Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/ and follow the directions.",
        Reason::Blocked,
        Class::Sender,
    ), // Microsoft 365
    (
        Some(550),
        Some("5.7.1"),
        "Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
        Reason::Blocked,
        Class::Sender,
    ), // Outlook.com
    (
        Some(553),
        Some("5.7.2"),
        "[BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
        Reason::Blocked,
        Class::Sender,
    ), // Yahoo
    (
        Some(421),
        Some("4.7.0"),
        "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        Reason::Blocked,
        Class::Sender,
    ), // Yahoo
    (
        Some(421),
        Some("4.7.0"),
        "[192.0.2.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address.",
        Reason::Blocked,
        Class::Sender,
    ), // Gmail
    (
        None,
        Some("5.0.0"),
        "smtp; 521-192.0.2.1 blocked by sbc:blacklist.mailrelay.att.net.",
        Reason::Blocked,
        Class::Sender,
    ), // AT&T
    // authentication
    (
        Some(550),
        Some("5.7.26"),
        "This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM.",
        Reason::Authentication,
        Class::Sender,
    ), // Gmail
    (
        Some(550),
        Some("5.7.1"),
        "Email rejected per DMARC policy for example.org",
        Reason::Authentication,
        Class::Sender,
    ),
    (
        Some(550),
        Some("5.7.509"),
        "Access denied, sending domain example.org does not pass DMARC verification and has a DMARC policy of reject.",
        Reason::Authentication,
        Class::Sender,
    ), // Microsoft 365
    (
        Some(550),
        Some("5.7.23"),
        "The message was rejected because of Sender Policy Framework violation",
        Reason::Authentication,
        Class::Sender,
    ), // RFC 7372's words
    // sender-refused
    (
        Some(553),
        Some("5.1.8"),
        "<news@example.org>: Sender address rejected: Domain not found",
        Reason::SenderRefused,
        Class::Sender,
    ), // Postfix
    (
        Some(550),
        Some("5.1.1"),
        "<news@example.org>: Sender address rejected: User unknown in local recipient table",
        Reason::SenderRefused,
        Class::Sender,
    ), // a 5.1.1 about the sender
    (
        Some(550),
        None,
        "550-Verification failed for <news@example.org> 550-Unrouteable address 550 Sender verify failed",
        Reason::SenderRefused,
        Class::Sender,
    ), // Exim
    (
        Some(554),
        None,
        "Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: news@example.org",
        Reason::SenderRefused,
        Class::Sender,
    ), // Amazon SES
    (
        Some(553),
        Some("5.1.7"),
        "The sender address is malformed",
        Reason::SenderRefused,
        Class::Sender,
    ),
    // relay-denied
    (
        Some(554),
        Some("5.7.1"),
        "<ana@example.net>: Relay access denied",
        Reason::RelayDenied,
        Class::Sender,
    ), // Postfix
    (
        Some(550),
        Some("5.7.1"),
        "<ana@example.net>... Relaying denied",
        Reason::RelayDenied,
        Class::Sender,
    ), // Sendmail
    (
        Some(553),
        None,
        "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
        Reason::RelayDenied,
        Class::Sender,
    ), // qmail
    // policy
    (
        Some(550),
        Some("5.7.1"),
        "RESOLVER.RST.AuthRequired; authentication required",
        Reason::Policy,
        Class::Sender,
    ), // Exchange, a restricted group
    (
        Some(554),
        Some("5.7.1"),
        "Message rejected due to local policy",
        Reason::Policy,
        Class::Sender,
    ),
    // expired
    (
        Some(550),
        Some("4.4.7"),
        "QUEUE.Expired; message expired",
        Reason::Expired,
        Class::Soft,
    ), // Exchange
    (
        None,
        None,
        "retry timeout exceeded",
        Reason::Expired,
        Class::Soft,
    ), // Exim
    (
        None,
        Some("4.4.7"),
        "delivery temporarily suspended: connect to mx.example.org[192.0.2.1]:25: Connection timed out",
        Reason::Expired,
        Class::Soft,
    ), // Postfix
    // network
    (
        None,
        Some("4.4.1"),
        "connect to mx.example.org[192.0.2.1]:25: Connection refused",
        Reason::Network,
        Class::Soft,
    ), // Postfix
    (
        None,
        Some("5.4.6"),
        "mail for example.org loops back to myself",
        Reason::Network,
        Class::Soft,
    ), // Postfix
    (
        None,
        Some("5.0.0"),
        "X-Postfix; mail for mail.example.org loops back to myself",
        Reason::Network,
        Class::Soft,
    ), // Postfix, older
    // system
    (
        Some(452),
        Some("4.3.1"),
        "Insufficient system storage",
        Reason::System,
        Class::Soft,
    ), // Postfix
    (
        Some(451),
        Some("4.3.0"),
        "Error: queue file write error",
        Reason::System,
        Class::Soft,
    ), // Postfix
    // unknown
    (
        Some(550),
        Some("5.0.0"),
        "Delivery failed",
        Reason::Unknown,
        Class::Soft,
    ),
    (None, None, "", Reason::Unknown, Class::Soft),
];

#[test]
fn every_reason_of_a_refusal_is_read_from_real_replies() {
    for &(code, status, text, reason, class) in CASES {
        let found = classify(code, status.and_then(Status::parse), text);
        assert_eq!(
            (found.reason, found.class()),
            (reason, class),
            "{code:?} {status:?} {text}"
        );
    }
    // Every reason a refusal can have is in the table above; the others come from the
    // kind of report (complaints, auto-replies, unsubscribe mails).
    let named = [
        Reason::Complaint,
        Reason::NotSpam,
        Reason::Feedback,
        Reason::AutoReply,
        Reason::Unsubscribe,
    ];
    for reason in Reason::ALL.iter().filter(|r| !named.contains(r)) {
        assert!(CASES.iter().any(|c| c.3 == *reason), "{reason} has no case");
    }
}

#[test]
fn refusals_on_our_side_never_suppress_the_reader() {
    // Refusals whose words put the fault on our side, whatever code a server puts on
    // them, even one that says the mailbox is gone.
    let sender_side = CASES
        .iter()
        .filter(|c| c.4 == Class::Sender && words::strong(&words::fold(c.2)).is_some());
    assert!(sender_side.clone().count() >= 25);
    for &(_, _, text, reason, _) in sender_side {
        for code in [
            None,
            Some("5.1.1"),
            Some("5.0.0"),
            Some("5.2.1"),
            Some("5.1.10"),
        ] {
            for reply in [None, Some(550), Some(554)] {
                let found = classify(reply, code.and_then(Status::parse), text);
                assert_ne!(found.class(), Class::Hard, "{reason}: {code:?} {text}");
            }
        }
    }
}

#[test]
fn each_word_and_class_reads_back() {
    for reason in Reason::ALL {
        assert_eq!(Reason::parse(reason.as_str()), Some(reason));
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, format!("\"{reason}\""), "serde is kebab-case");
        for permanent in [true, false] {
            let class = reason.class(permanent);
            assert_eq!(Class::parse(class.as_str()), Some(class));
        }
    }
    assert_eq!(Reason::parse("gone"), None);
}

#[test]
fn codes_are_found_in_text_at_word_boundaries() {
    let find = |t: &str| Status::find_in(t).map(|s| s.to_string());
    assert_eq!(
        find("smtp; 550 5.1.1 <a@b>: no such user").as_deref(),
        Some("5.1.1")
    );
    assert_eq!(find("#5.2.2 mailbox full").as_deref(), Some("5.2.2"));
    assert_eq!(find("550 5.1.10 RESOLVER").as_deref(), Some("5.1.10"));
    assert_eq!(find("version 15.1.1 and 1.2.3.4 and 5.1"), None);
    assert_eq!(Status::parse("5.1"), None);
    assert_eq!(Status::parse("3.1.1"), None);
    assert_eq!(reply_code_in("host said: 550-5.1.1 The email"), Some(550));
    assert_eq!(reply_code_in("id 123 then 421 closing"), Some(421));
    assert_eq!(reply_code_in("no code here 200"), None);
}

#[test]
fn folding_drops_repeated_codes_and_spacing() {
    assert_eq!(
        words::fold(
            "550-5.1.1 The email account that you tried to reach does\n 550-5.1.1   not exist"
        ),
        "the email account that you tried to reach does not exist"
    );
    assert_eq!(words::fold("(#5.7.17) [TS01]"), "[ts01]");
}
