//! The outbox transport: each message written as `NAME.eml` with its envelope beside it as
//! `NAME.envelope.json`, in a private folder (0700, files 0600). No server needed: proofs
//! and dry runs can be opened in any mail client.

use std::path::PathBuf;

use super::{Delivery, Envelope, Mark, Reply, SendError, Stage, Transport};
use crate::diag::display_path;

/// Writes messages to a folder.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// The outbox folder `dir` (`[transport] dir` in the project, `outbox/` by default).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn write(&self, envelope: &Envelope, message: &str) -> anyhow::Result<PathBuf> {
        // The Message-ID's hash names the files: unique per message, no address in the name.
        let stem = envelope
            .message_id
            .trim_start_matches('<')
            .split('@')
            .next()
            .unwrap_or("message");
        let eml = self.dir.join(format!("{stem}.eml"));
        crate::private::write(&eml, message.as_bytes())?;
        let json = serde_json::json!({
            "mail_from": envelope.from,
            "rcpt_to": [envelope.to.as_str()],
            "message_id": envelope.message_id,
        });
        let meta = self.dir.join(format!("{stem}.envelope.json"));
        crate::private::write(&meta, format!("{json:#}\n").as_bytes())?;
        Ok(eml)
    }
}

impl Transport for Outbox {
    async fn send(
        &mut self,
        envelope: &Envelope,
        message: &str,
        mark: impl Mark,
    ) -> Result<Delivery, SendError> {
        if !mark.durable().await {
            return Err(super::held(Stage::Outbox));
        }
        match self.write(envelope, message) {
            Ok(path) => Ok(Delivery {
                reply: Reply::none(format!("written to {}", display_path(&path))),
            }),
            Err(e) => Err(SendError::Transient {
                stage: Stage::Outbox,
                reply: Reply::none(format!("{e:#}")),
            }),
        }
    }

    async fn close(&mut self) {}

    fn describe(&self) -> String {
        format!("{}/", display_path(&self.dir))
    }
}
