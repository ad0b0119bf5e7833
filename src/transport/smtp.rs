//! The SMTP transport: lettre's `AsyncSmtpConnection` on tokio, driven step by step so that
//! every step has our own timeout, each transaction has exactly one recipient, and a failure
//! before the final dot (safe to retry) is told from one after it (ambiguous).
//!
//! We open the TCP stream ourselves to set `TCP_NODELAY` (lettre does not, and Nagle's
//! algorithm then holds each message's final dot for a delayed ACK), wrap implicit TLS
//! ourselves, and let lettre do what it does well: the greeting and EHLO, STARTTLS, AUTH,
//! reply parsing and dot-stuffing. A connection that timed out or broke is dropped, never
//! reused; one that merely got a negative reply is reset with `RSET` and kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Response, Severity};
use tokio::net::TcpStream;

use super::{Delivery, Envelope, SendError, Stage, Transport};
use crate::settings::{self, Security, is_loopback_host};

/// A relay reached over SMTP, with at most one open connection.
pub struct Smtp {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
    connection: Option<AsyncSmtpConnection>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the credentials.
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A failure, and whether the connection can be reset and kept.
type Failure = (SendError, bool);

impl Smtp {
    /// The relay of `[transport]`; the password comes from the variable `password_env` names.
    pub fn from_settings(t: &settings::Transport, hello: &str) -> anyhow::Result<Self> {
        let (Some(host), Some(security)) = (&t.host, &t.security) else {
            anyhow::bail!("`kind = \"smtp\"` needs `host` and `security` in [transport]");
        };
        let security = *security.get_ref();
        let credentials = match (&t.username, &t.password_env) {
            (Some(user), Some(env)) => {
                let name = env.get_ref();
                let password = std::env::var(name).map_err(|_| {
                    anyhow::anyhow!("the environment variable {name} (`password_env`) is not set")
                })?;
                Some(Credentials::new(user.get_ref().clone(), password))
            }
            _ => None,
        };
        Ok(Self {
            host: host.get_ref().clone(),
            port: t.port.unwrap_or(security.default_port()),
            security,
            credentials,
            timeout: Duration::from_secs(*t.timeout_secs.get_ref()),
            hello: ClientId::Domain(hello.to_owned()),
            connection: None,
        })
    }

    /// Refuses, before any connection, what must never happen on the wire.
    fn check_policy(&self) -> Result<(), SendError> {
        let plaintext = self.security == Security::None && !is_loopback_host(&self.host);
        let detail = match (plaintext, self.credentials.is_some()) {
            (true, true) => {
                "credentials would cross an unencrypted connection to a host that is not loopback; use security = \"tls\" or \"starttls\""
            }
            (true, false) => "security = \"none\" is allowed only for a loopback relay",
            _ => return Ok(()),
        };
        Err(SendError::Permanent {
            stage: Stage::Policy,
            detail: detail.to_owned(),
        })
    }

    /// Runs one step under our timeout, classifying lettre's errors.
    async fn step<T>(
        &self,
        stage: Stage,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.timeout, step).await {
            Err(_) => Err((
                SendError::Transient {
                    stage,
                    detail: format!("no answer within {} s", self.timeout.as_secs()),
                },
                false,
            )),
            Ok(Err(e)) if e.is_permanent() => Err((
                SendError::Permanent {
                    stage,
                    detail: e.to_string(),
                },
                e.status().is_some(),
            )),
            Ok(Err(e)) => Err((
                SendError::Transient {
                    stage,
                    detail: e.to_string(),
                },
                e.status().is_some(),
            )),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// Runs one step of opening a connection under our timeout.
    async fn within<T, E: std::fmt::Display>(
        &self,
        what: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.timeout, step).await {
            Ok(result) => result.map_err(|e| transient(Stage::Connect, format!("{what}: {e}"))),
            Err(_) => Err(transient(
                Stage::Connect,
                format!("{what}: no answer within {} s", self.timeout.as_secs()),
            )),
        }
    }

    /// The TCP stream with `TCP_NODELAY`, inside TLS for `security = "tls"`.
    async fn open_stream(&self) -> Result<Box<dyn AsyncTokioStream>, SendError> {
        let address = (self.host.as_str(), self.port);
        let what = format!("connecting to {}", self.describe());
        let tcp = self.within(&what, TcpStream::connect(address)).await?;
        tcp.set_nodelay(true)
            .map_err(|e| transient(Stage::Connect, e.to_string()))?;
        Ok(match self.security {
            Security::Tls => {
                let what = format!("TLS with {}", self.host);
                Box::new(
                    self.within(&what, super::tls::connect(tcp, &self.host))
                        .await?,
                )
            }
            Security::Starttls | Security::None => Box::new(tcp),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let stream = self.open_stream().await?;
        let greeting = AsyncSmtpConnection::connect_with_transport(stream, &self.hello);
        let mut connection = self.step(Stage::Connect, greeting).await.map_err(|f| f.0)?;
        if self.security == Security::Starttls {
            if !connection.can_starttls() {
                let detail = format!(
                    "{} does not offer STARTTLS, which security = \"starttls\" requires",
                    self.host
                );
                return Err(SendError::Permanent {
                    stage: Stage::Connect,
                    detail,
                });
            }
            let parameters = TlsParameters::new_rustls(self.host.clone())
                .map_err(|e| transient(Stage::Connect, e.to_string()))?;
            let upgrade = connection.starttls(parameters, &self.hello);
            self.step(Stage::Connect, upgrade).await.map_err(|f| f.0)?;
        }
        if let Some(credentials) = &self.credentials {
            if self.security == Security::None && !is_loopback_host(&self.host) {
                let detail = "refusing to authenticate over an unencrypted connection".to_owned();
                return Err(SendError::Permanent {
                    stage: Stage::Auth,
                    detail,
                });
            }
            let auth = connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials);
            self.step(Stage::Auth, auth).await.map_err(|f| f.0)?;
        }
        Ok(connection)
    }

    /// MAIL, one RCPT, DATA and the body on an open connection.
    async fn transaction(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Delivery, Failure> {
        let address = |a: &str| {
            a.parse::<lettre::Address>().map_err(|e| {
                (
                    SendError::Permanent {
                        stage: Stage::Policy,
                        detail: format!("`{a}`: {e}"),
                    },
                    true,
                )
            })
        };
        let (from, to) = (address(&envelope.from)?, address(envelope.to.as_str())?);
        let reply = self
            .step(
                Stage::MailFrom,
                connection.command(Mail::new(Some(from), Vec::new())),
            )
            .await?;
        expect(Stage::MailFrom, &reply, Severity::PositiveCompletion)?;
        let reply = self
            .step(Stage::RcptTo, connection.command(Rcpt::new(to, Vec::new())))
            .await?;
        expect(Stage::RcptTo, &reply, Severity::PositiveCompletion)?;
        let reply = self.step(Stage::Data, connection.command(Data)).await?;
        expect(Stage::Data, &reply, Severity::PositiveIntermediate)?;
        self.body(connection, message).await
    }

    /// The body and the final dot; a failure after the whole body was written, before the
    /// reply, is ambiguous.
    async fn body(
        &self,
        connection: &mut AsyncSmtpConnection,
        message: &[u8],
    ) -> Result<Delivery, Failure> {
        // lettre writes the parts, then the final dot, then reads the reply. The iterator
        // is drained just before the dot: from then on a failure is ambiguous.
        let body_sent = AtomicBool::new(false);
        let body = message.strip_suffix(b"\r\n").unwrap_or(message);
        let parts = std::iter::once(body).chain(std::iter::from_fn(|| {
            body_sent.store(true, Ordering::SeqCst);
            None
        }));
        let result = tokio::time::timeout(self.timeout, connection.message_iter(parts)).await;
        let sent = body_sent.load(Ordering::SeqCst);
        match result {
            Ok(Ok(reply)) => {
                expect(Stage::FinalReply, &reply, Severity::PositiveCompletion)?;
                Ok(Delivery {
                    reply: reply_text(&reply),
                })
            }
            // A reply with a code. (lettre also calls a connection closed mid-reply a
            // "response" error, but that one has no code: it falls to the arms below.)
            Ok(Err(e)) if e.status().is_some() && e.is_permanent() => Err((
                SendError::Permanent {
                    stage: Stage::FinalReply,
                    detail: e.to_string(),
                },
                true,
            )),
            Ok(Err(e)) if e.status().is_some() => Err((
                SendError::Transient {
                    stage: Stage::FinalReply,
                    detail: e.to_string(),
                },
                true,
            )),
            Ok(Err(e)) if sent => Err((
                SendError::Ambiguous {
                    detail: e.to_string(),
                },
                false,
            )),
            Err(_) if sent => Err((
                SendError::Ambiguous {
                    detail: format!("no reply within {} s", self.timeout.as_secs()),
                },
                false,
            )),
            Ok(Err(e)) => Err((transient(Stage::Data, e.to_string()), false)),
            Err(_) => Err((
                transient(
                    Stage::Data,
                    format!(
                        "the body could not be sent within {} s",
                        self.timeout.as_secs()
                    ),
                ),
                false,
            )),
        }
    }
}

fn transient(stage: Stage, detail: String) -> SendError {
    SendError::Transient { stage, detail }
}

fn reply_text(reply: &Response) -> String {
    format!(
        "{} {}",
        reply.code(),
        reply.message().collect::<Vec<_>>().join(" ")
    )
}

/// Insists on the reply class a step needs: lettre accepts any positive reply.
fn expect(stage: Stage, reply: &Response, severity: Severity) -> Result<(), Failure> {
    if reply.code().severity == severity {
        return Ok(());
    }
    let detail = format!("unexpected reply {}", reply_text(reply));
    Err((SendError::Permanent { stage, detail }, true))
}

impl Transport for Smtp {
    async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Delivery, SendError> {
        self.check_policy()?;
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let connection = self.connect().await?;
                tracing::debug!(relay = %self.describe(), "connected");
                connection
            }
        };
        match self.transaction(&mut connection, envelope, message).await {
            Ok(delivery) => {
                self.connection = Some(connection);
                Ok(delivery)
            }
            Err((error, resettable)) => {
                if resettable
                    && self
                        .step(Stage::Connect, connection.command(Rset))
                        .await
                        .is_ok()
                {
                    self.connection = Some(connection);
                } else {
                    tracing::debug!(relay = %self.describe(), "connection dropped after: {error}");
                }
                Err(error)
            }
        }
    }

    async fn close(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            let _ = tokio::time::timeout(self.timeout, connection.quit()).await;
        }
    }

    fn describe(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}
