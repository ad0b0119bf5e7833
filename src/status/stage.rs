//! Which SMTP command a refusal answered, as the MTA that reports it says in its words:
//! Postfix's "(in reply to MAIL FROM command)" and "refused to talk to me" (the greeting),
//! Exim's "SMTP error from remote mail server after RCPT TO:<…>", Sendmail's transcript
//! (">>> DATA" then "<<< 550 …"). Text in, a [`Stage`] out.
//!
//! The stage says whom a refusal can be about (RFC 5321 section 3.3): before RCPT TO the
//! server has not been told the recipient, so its refusal of the greeting, EHLO or MAIL FROM
//! is of our client or our sender, never of the reader's address. A refusal of RCPT TO or
//! of the message may be about the reader: its words and codes say. (A refusal after DATA
//! of a recipient the server had accepted stays what its words say: Yahoo answers its
//! documented "This user doesn't have a yahoo.com account" there.)

/// The part of the SMTP session a refusal answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// The greeting, EHLO or HELO, STARTTLS or AUTH: before any sender or recipient.
    Session,
    /// MAIL FROM: our sender address.
    Sender,
    /// RCPT TO: the recipient. Named, like DATA, so that a command that a transcript names
    /// later is not taken for the one refused.
    Recipient,
    /// DATA or the end of the message, once the recipient was accepted.
    Data,
}

/// The stage `folded` (lowercase, single-spaced words; see `words::fold`) names for the
/// refusal, the first one it names; `None` when it names none.
pub(super) fn stage_in(folded: &str) -> Option<Stage> {
    // Postfix, "(in reply to end of DATA command)"; Exim, "after end of data:"; Sendmail,
    // ">>> DATA" (a command of the transcript, the reply on the next line).
    let markers = [
        "in reply to ",
        "server after ",
        "server after pipelined ",
        "mailer after ",
        ">>> ",
    ];
    let named = markers
        .iter()
        .flat_map(|m| folded.match_indices(m).map(move |(at, _)| at + m.len()))
        .filter_map(|at| command(&folded[at..]).map(|stage| (at, stage)));
    let greeting = folded
        .find("refused to talk to me")
        .map(|at| (at, Stage::Session));
    named
        .chain(greeting)
        .min_by_key(|(at, _)| *at)
        .map(|(_, s)| s)
}

/// The stage of the SMTP command `rest` starts with.
fn command(rest: &str) -> Option<Stage> {
    const COMMANDS: [(&str, Stage); 9] = [
        ("mail from", Stage::Sender),
        ("rcpt to", Stage::Recipient),
        ("end of data", Stage::Data),
        ("data", Stage::Data),
        ("ehlo", Stage::Session),
        ("helo", Stage::Session),
        ("starttls", Stage::Session),
        ("auth", Stage::Session),
        ("initial connection", Stage::Session),
    ];
    COMMANDS
        .iter()
        .find(|(name, _)| {
            rest.starts_with(name)
                && rest[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
        })
        .map(|(_, stage)| *stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_is_read_as_postfix_exim_and_sendmail_write_it() {
        for (text, stage) in [
            (
                "host mx.example.org[192.0.2.1] said: 550 unknown user (in reply to end of data command)",
                Some(Stage::Data),
            ),
            (
                "said: 550 5.1.1 <a@b.example>: user unknown (in reply to rcpt to command)",
                Some(Stage::Recipient),
            ),
            (
                "smtp error from remote mail server after mail from:<news@x.example> size=1024: 553 5.1.0 no",
                Some(Stage::Sender),
            ),
            (
                "smtp error from remote mail server after pipelined rcpt to:<a@b.example>: 550 no",
                Some(Stage::Recipient),
            ),
            (
                "smtp error from remote mail server after initial connection: 554 go away",
                Some(Stage::Session),
            ),
            (
                "host mx.example.org[192.0.2.1] refused to talk to me: 421 service not available",
                Some(Stage::Session),
            ),
            (
                "... while talking to mx.example.org.: >>> data <<< 550 unknown user",
                Some(Stage::Data),
            ),
            // Words that only look like a stage.
            ("user unknown after database lookup", None),
            ("try again after data migration", None),
            ("550 5.1.1 user unknown", None),
        ] {
            assert_eq!(stage_in(text), stage, "{text}");
        }
    }
}
