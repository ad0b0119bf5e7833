//! The classifier on real refusals, as the MTAs and providers that send them document or
//! publish them (addresses and IPs replaced by documentation ones).

use super::*;

/// One row of `replies.tsv`: a reply, and what the classifier must read in it.
struct Case {
    code: Option<u16>,
    status: Option<Status>,
    reason: Reason,
    class: Class,
    source: &'static str,
    text: &'static str,
}

/// The rows of `replies.tsv` (tab-separated; `-` for none; `#` starts a comment).
fn cases() -> Vec<Case> {
    let field = |f: &'static str| (f != "-").then_some(f);
    include_str!("replies.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 6, "{line}");
            Case {
                code: field(f[0]).map(|c| c.parse().expect("a reply code")),
                status: field(f[1]).map(|s| Status::parse(s).expect("a status")),
                reason: Reason::parse(f[2]).expect("a reason"),
                class: Class::parse(f[3]).expect("a class"),
                source: f[4],
                text: field(f[5]).unwrap_or_default(),
            }
        })
        .collect()
}

#[test]
fn every_reason_of_a_refusal_is_read_from_real_replies() {
    let cases = cases();
    for c in &cases {
        let found = classify(c.code, c.status, c.text);
        assert_eq!(
            (found.reason, found.class()),
            (c.reason, c.class),
            "{} ({}): {:?} {:?} {}",
            c.reason,
            c.source,
            c.code,
            c.status,
            c.text
        );
    }
    // Every reason a refusal can have is in the table, from several MTAs where they
    // differ; the others come from the kind of report (complaints, auto-replies,
    // unsubscribe mails).
    let named = [
        Reason::Complaint,
        Reason::NotSpam,
        Reason::Feedback,
        Reason::AutoReply,
        Reason::Unsubscribe,
    ];
    for reason in Reason::ALL.iter().filter(|r| !named.contains(r)) {
        assert!(
            cases.iter().any(|c| c.reason == *reason),
            "{reason} has no case"
        );
    }
}

#[test]
fn refusals_on_our_side_never_suppress_the_reader() {
    // Refusals whose words put the fault on our side, whatever code a server puts on
    // them, even one that says the mailbox is gone.
    let cases = cases();
    let ours: Vec<&Case> = cases
        .iter()
        .filter(|c| {
            c.class == Class::Sender
                && words::strong(&words::fold(c.text)).is_some_and(|r| r.class(true) == c.class)
        })
        .collect();
    assert!(ours.len() >= 25, "{}", ours.len());
    for c in ours {
        for code in [
            None,
            Some("5.1.1"),
            Some("5.0.0"),
            Some("5.2.1"),
            Some("5.1.10"),
        ] {
            for reply in [None, Some(550), Some(554)] {
                let found = classify(reply, code.and_then(Status::parse), c.text);
                assert_ne!(
                    found.class(),
                    Class::Hard,
                    "{}: {code:?} {}",
                    c.reason,
                    c.text
                );
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
