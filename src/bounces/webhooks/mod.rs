//! Reports that relays post to `serve` instead of mailing them: Amazon SES events inside
//! SNS messages ([`sns`] checks the message, [`ses`] reads the event) and Postmark's bounce
//! and spam complaint webhooks ([`postmark`]). A payload in, a [`Report`] out, or word that
//! the event changes nothing; the report is then applied like an imported one, through
//! [`super::import::Applier`].

pub(crate) mod postmark;
pub(crate) mod ses;
pub(crate) mod sns;

use super::Report;
use crate::diag::{Diagnostic, Diagnostics};
use crate::project::Project;

/// What a posted event comes to.
#[derive(Debug)]
pub(crate) enum Event {
    /// A report to apply.
    Report(Report),
    /// An event that changes nothing (a delivery, an open, an auto-reply), by its name.
    Ignored(String),
}

/// A Message-ID as the ledger keeps it, `<id>`, however the payload wrote it.
fn message_id(text: &str) -> String {
    let bare = text.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{bare}>")
}

/// The verifier of `[webhooks.ses]`, its certificate read from the project; none without
/// the table. An unreadable file, or one that is not an RSA certificate, is a diagnostic at
/// the `certificate` setting.
pub(crate) fn ses_verifier(project: &Project) -> Result<Option<sns::Verifier>, Diagnostics> {
    let Some(ses) = &project.settings.webhooks.ses else {
        return Ok(None);
    };
    let certificate = &ses.certificate;
    let path = project.root.join(certificate.get_ref());
    let problem = |why: String| {
        Diagnostics::from(
            Diagnostic::error(format!("`certificate` {why}"))
                .at_span(&project.source, certificate.span())
                .note("the SNS signing certificate: the PEM file at the SigningCertURL of a message from the topic"),
        )
    };
    let pem = std::fs::read_to_string(&path)
        .map_err(|e| problem(format!("cannot be read ({}): {e}", path.display())))?;
    let topics = ses
        .topic_arns
        .get_ref()
        .iter()
        .map(|t| t.get_ref().clone())
        .collect();
    sns::Verifier::new(&pem, topics)
        .map(Some)
        .map_err(|why| problem(format!("is not usable: {why}")))
}
