//! The mails `serve` sends itself: the sign-up confirmation, its one reminder, and the
//! welcome after a confirmation. Each is written from the layout's `pages/*.txt.hbs`,
//! assembled and signed like every other message (see [`crate::message::outgoing`]), and
//! handed to the configured transport in the background, so that no answer waits on a relay.

use std::sync::Arc;

use serde::Serialize;

use super::app::App;
use super::commit::{Change, Done};
use super::pages::Page;
use crate::audience::Address;
use crate::audience::store::{Pending, SIGNUP_HOURS};
use crate::clock::Timestamp;
use crate::message::notice::Notice;
use crate::message::outgoing::Assembly;
use crate::transport::{Transport as _, Unrecorded};

/// What one mail says, before it is assembled.
struct Mail {
    /// For the logs: `confirmation`, `reminder`, `welcome`.
    kind: &'static str,
    to: Address,
    subject: String,
    text: String,
}

/// The confirmation mail's data: nothing the form's sender typed (the name is unverified
/// until the address's owner confirms), so the mail cannot carry a stranger's words.
#[derive(Serialize)]
struct ConfirmData {
    url: String,
    hours: i64,
    /// Whether this is the reminder of a request that is still pending.
    reminder: bool,
}

/// The welcome mail's data.
#[derive(Serialize)]
struct WelcomeData<'a> {
    /// The newest volume's page in the web archive, when the project publishes one.
    latest: Option<String>,
    /// The reader's preferences page.
    preferences: String,
    /// The name they gave, now that they confirmed owning the address.
    name: Option<&'a str>,
}

/// Mails the confirmation of sign-up `id` (or, with `reminder`, its one reminder), whose link
/// works until the request's life ends. A first confirmation that cannot be sent does not
/// count towards the hourly limit.
pub(super) async fn confirmation(app: Arc<App>, pending: Pending, id: String, reminder: bool) {
    let expires = Timestamp(pending.requested_at.0 + SIGNUP_HOURS * 3600);
    let Some(token) = app.signer.confirmation_token(&id, expires) else {
        return tracing::error!("sign-up id {id} is not 16 hex digits");
    };
    let data = ConfirmData {
        url: format!("{}confirm/{token}", app.serve.public_url.get_ref()),
        hours: (expires.0 - Timestamp::now().0).max(0) / 3600,
        reminder,
    };
    let subject = match reminder {
        false => format!("Confirm your subscription to {}", app.pages.list()),
        true => format!(
            "Reminder: confirm your subscription to {}",
            app.pages.list()
        ),
    };
    let mail = app.pages.text(Page::ConfirmMail, &data).map(|text| Mail {
        kind: if reminder { "reminder" } else { "confirmation" },
        to: pending.address,
        subject,
        text,
    });
    if !send(&app, mail).await
        && !reminder
        && let Err(e) = app.committer.apply(Change::MailFailed(id)).await
    {
        tracing::error!("{e:#}");
    }
}

/// Mails the welcome to a reader who just confirmed.
pub(super) async fn welcome(app: Arc<App>, pending: Pending) {
    let token = app.signer.token(&pending.address);
    let data = WelcomeData {
        latest: app.latest.clone(),
        preferences: format!("{}preferences/{token}", app.serve.public_url.get_ref()),
        name: pending.name.as_deref(),
    };
    let mail = app.pages.text(Page::WelcomeMail, &data).map(|text| Mail {
        kind: "welcome",
        to: pending.address,
        subject: format!("Welcome to {}", app.pages.list()),
        text,
    });
    send(&app, mail).await;
}

/// Sends one reminder to each sign-up pending for `[serve] remind_after_hours`, claimed in
/// the store first so that none gets two; every few minutes while `serve` runs.
pub(super) fn spawn_reminders(app: Arc<App>) {
    let hours = *app.serve.remind_after_hours.get_ref();
    if hours == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            let before = Timestamp(Timestamp::now().0 - hours * 3600);
            let due = app.store().pending_since(before, REMINDER);
            match due {
                Ok(due) => {
                    for (id, pending) in due {
                        remind(&app, id, pending).await;
                    }
                }
                Err(e) => tracing::error!("cannot read the pending sign-ups: {e:#}"),
            }
            tokio::time::sleep(REMINDER_SWEEP).await;
        }
    });
}

/// The kind of the reminder in the store's claimed mails.
const REMINDER: &str = "reminder";

/// How often pending sign-ups are looked at.
const REMINDER_SWEEP: std::time::Duration = std::time::Duration::from_secs(300);

async fn remind(app: &Arc<App>, id: String, pending: Pending) {
    let claim = Change::Claim(pending.address.clone(), REMINDER);
    match app.committer.apply(claim).await {
        Ok(Done::Claimed(true)) => {
            tokio::spawn(confirmation(app.clone(), pending, id, true));
        }
        Ok(_) => {}
        Err(e) => tracing::error!("{e:#}"),
    }
}

/// Assembles, signs and sends `mail`; true when the relay took it.
async fn send(app: &App, mail: anyhow::Result<Mail>) -> bool {
    let mail = match mail {
        Ok(mail) => mail,
        Err(e) => {
            tracing::error!("cannot write a mail: {e:#}");
            return false;
        }
    };
    let now = Timestamp::now();
    let message_id = match crate::message::notice_message_id(&app.identity, mail.kind) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!("{e:#}");
            return false;
        }
    };
    let notice = Notice {
        identity: &app.identity,
        to: &mail.to,
        subject: &mail.subject,
        text: &mail.text,
        date: now,
        message_id: &message_id,
    };
    let assembly = Assembly {
        from: &app.identity.from,
        dkim: app.dkim.as_ref(),
        return_path: None,
    };
    let sealed = assembly.seal(&mail.to, &message_id, notice.build());
    let mut transport = app.transport.lock().await;
    // No ledger: nothing to mark before the body goes.
    let sent = transport
        .send(&sealed.envelope, &sealed.message, Unrecorded)
        .await;
    drop(transport);
    match sent {
        Ok(_) => {
            tracing::info!("{} mail sent", mail.kind);
            true
        }
        Err(e) => {
            // The relay's reply is outside text: escaped and bounded like a webhook's.
            let why = super::logged::logged(&crate::transport::mask_addresses(&e.to_string()));
            tracing::warn!("the {} mail was not sent: {why}", mail.kind);
            false
        }
    }
}
