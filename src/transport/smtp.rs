//! The SMTP transport: lettre's `AsyncSmtpConnection` on tokio, driven step by step so that
//! every step has our own timeout, each transaction has exactly one recipient, and a failure
//! before the final dot (safe to retry) is told from one after it (ambiguous).
//!
//! We open the TCP stream ourselves to set `TCP_NODELAY` (lettre does not, and Nagle's
//! algorithm then holds each message's final dot for a delayed ACK), wrap implicit TLS
//! ourselves, do STARTTLS's plaintext part ourselves (`greeting`), and let lettre do what it
//! does well: the greeting and EHLO, AUTH, reply parsing and dot-stuffing. A session sends
//! EHLO once, twice with STARTTLS (before and after TLS, as RFC 3207 requires). A connection that timed out or broke is dropped, never
//! reused; one that merely got a negative reply is reset with `RSET` and kept.
//!
//! The envelope commands (`MAIL`, `RCPT`, `DATA`) go out while the ledger commits the
//! message's in-flight mark, pipelined in one write where the relay offers PIPELINING
//! (RFC 2920); the body waits for the mark to be durable (`data`). A certificate that does
//! not verify is a permanent refusal, like a refused login: retrying cannot fix it.

mod data;
mod greeting;

use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::{Response, Severity};
use tokio::net::TcpStream;

use self::greeting::Recorder;
use super::{Delivery, Envelope, Mark, Reply, SendError, Stage, Transport};
use crate::settings::{Security, SmtpRoute, is_loopback_host};

/// A relay reached over SMTP, with at most one open connection.
pub struct Smtp {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    timeout: Duration,
    /// How long the reply to the final dot may take (the relay may scan the message).
    final_reply_timeout: Duration,
    hello: ClientId,
    connection: Option<Connection>,
}

/// An open session and whether the relay pipelines commands.
struct Connection {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
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
    /// The relay of `route`, greeting it as `hello`; the password comes from the variable
    /// `password_env` names.
    pub fn new(route: &SmtpRoute, hello: &str) -> anyhow::Result<Self> {
        let credentials = match (&route.username, &route.password_env) {
            (Some(user), Some(name)) => {
                let password = std::env::var(name).map_err(|_| {
                    anyhow::anyhow!("the environment variable {name} (`password_env`) is not set")
                })?;
                Some(Credentials::new(user.clone(), password))
            }
            _ => None,
        };
        Ok(Self {
            host: route.host.clone(),
            port: route.port,
            security: route.security,
            credentials,
            timeout: route.timeout,
            final_reply_timeout: route.final_reply_timeout,
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
            reply: Reply::none(detail),
        })
    }

    /// Runs one step under our timeout, classifying lettre's errors.
    async fn step<T>(
        &self,
        stage: Stage,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.timeout, step).await {
            Err(_) => Err((transient(stage, self.no_answer()), false)),
            Ok(Err(e)) => {
                let resettable = e.status().is_some();
                let reply = Reply::from_error(&e);
                let error = if e.is_permanent() || tls_refused(&e).is_some() {
                    SendError::Permanent { stage, reply }
                } else {
                    SendError::Transient { stage, reply }
                };
                Err((error, resettable))
            }
            Ok(Ok(value)) => Ok(value),
        }
    }

    fn no_answer(&self) -> Reply {
        Reply::none(format!("no answer within {} s", self.timeout.as_secs()))
    }

    /// Runs one step of opening a connection under our timeout.
    async fn within<T>(
        &self,
        what: &str,
        step: impl Future<Output = std::io::Result<T>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.timeout, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(match tls_refused(&e) {
                Some(why) => SendError::Permanent {
                    stage: Stage::Connect,
                    reply: Reply::none(format!("{what}: {e}: {why}")),
                },
                None => transient(Stage::Connect, Reply::none(format!("{what}: {e}"))),
            }),
            Err(_) => Err(transient(Stage::Connect, self.no_answer().context(what))),
        }
    }

    /// The TCP stream with `TCP_NODELAY`, inside TLS for `security = "tls"`, and for
    /// `"starttls"` inside TLS after the plaintext part of the session, with the banner
    /// read then (empty otherwise).
    async fn open_stream(&self) -> Result<(Box<dyn AsyncTokioStream>, Vec<u8>), SendError> {
        let address = (self.host.as_str(), self.port);
        let what = format!("connecting to {}", self.describe());
        let tcp = self.within(&what, TcpStream::connect(address)).await?;
        tcp.set_nodelay(true)
            .map_err(|e| transient(Stage::Connect, Reply::none(e.to_string())))?;
        Ok(match self.security {
            Security::Tls => {
                let what = format!("TLS with {}", self.host);
                let tls = self.within(&what, super::tls::connect(tcp, &self.host));
                (Box::new(tls.await?), Vec::new())
            }
            Security::Starttls => {
                let (tls, banner) = self.starttls(tcp).await?;
                (Box::new(tls), banner)
            }
            Security::None => (Box::new(tcp), Vec::new()),
        })
    }

    /// A session ready for mail: greeted with one EHLO (after TLS for STARTTLS), logged in.
    async fn connect(&self) -> Result<Connection, SendError> {
        let (stream, banner) = self.open_stream().await?;
        let (stream, greeting) = Recorder::new(stream, banner);
        let hello = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello);
        let mut smtp = self.step(Stage::Connect, hello).await.map_err(|f| f.0)?;
        // lettre keeps no record of PIPELINING: it is read from the EHLO reply lettre read.
        let pipelining = greeting
            .ehlo()
            .is_some_and(|ehlo| greeting::offers(&ehlo, "PIPELINING"));
        if let Some(credentials) = &self.credentials {
            if self.security == Security::None && !is_loopback_host(&self.host) {
                return Err(SendError::Permanent {
                    stage: Stage::Auth,
                    reply: Reply::none("refusing to authenticate over an unencrypted connection"),
                });
            }
            let auth = smtp.auth(&[Mechanism::Plain, Mechanism::Login], credentials);
            self.step(Stage::Auth, auth).await.map_err(|f| f.0)?;
        }
        Ok(Connection { smtp, pipelining })
    }

    /// MAIL, one RCPT and DATA while the mark is written, then the body once it is durable.
    async fn transaction(
        &self,
        connection: &mut Connection,
        envelope: &Envelope,
        message: &str,
        mut mark: impl Mark,
    ) -> Result<Delivery, Failure> {
        let address = |a: &str| {
            a.parse::<lettre::Address>().map_err(|e| {
                let reply = Reply::none(format!("`{a}`: {e}"));
                let stage = Stage::Policy;
                (SendError::Permanent { stage, reply }, true)
            })
        };
        let (from, to) = (address(&envelope.from)?, address(envelope.to.as_str())?);
        let pipelining = connection.pipelining;
        mark.request();
        self.envelope(&mut connection.smtp, pipelining, from, to)
            .await?;
        if !mark.durable().await {
            // The relay waits for the body after its 354: only a dropped connection makes
            // it forget the transaction.
            return Err((super::held(Stage::Data), false));
        }
        self.body(&mut connection.smtp, message).await
    }

    /// The envelope commands up to the relay's 354, in one write when it pipelines.
    async fn envelope(
        &self,
        smtp: &mut AsyncSmtpConnection,
        pipelining: bool,
        from: lettre::Address,
        to: lettre::Address,
    ) -> Result<(), Failure> {
        let (mail, rcpt) = (Mail::new(Some(from), Vec::new()), Rcpt::new(to, Vec::new()));
        if !pipelining {
            let reply = self.step(Stage::MailFrom, smtp.command(mail)).await?;
            expect(Stage::MailFrom, &reply, Severity::PositiveCompletion)?;
            let reply = self.step(Stage::RcptTo, smtp.command(rcpt)).await?;
            expect(Stage::RcptTo, &reply, Severity::PositiveCompletion)?;
            let reply = self.step(Stage::Data, smtp.command(Data)).await?;
            return expect(Stage::Data, &reply, Severity::PositiveIntermediate);
        }
        // Every reply of the group is read, even after a refusal, to keep the session in
        // step; the first refusal is the answer.
        let group = format!("{mail}{rcpt}{Data}");
        let replies = [
            (
                Stage::MailFrom,
                self.step(Stage::MailFrom, smtp.command(group)).await,
            ),
            (
                Stage::RcptTo,
                self.step(Stage::RcptTo, smtp.read_response()).await,
            ),
            (
                Stage::Data,
                self.step(Stage::Data, smtp.read_response()).await,
            ),
        ];
        let (mut first, mut in_data) = (None, false);
        for (stage, reply) in replies {
            let wanted = if stage == Stage::Data {
                Severity::PositiveIntermediate
            } else {
                Severity::PositiveCompletion
            };
            let result = reply.and_then(|r| expect(stage, &r, wanted));
            let broken = matches!(result, Err((_, false)));
            in_data = stage == Stage::Data && result.is_ok();
            if first.is_none()
                && let Err(failure) = result
            {
                first = Some(failure);
            }
            if broken {
                break;
            }
        }
        match first {
            None => Ok(()),
            // A 354 after a refusal leaves the relay waiting for a body: drop the session.
            Some((error, _)) if in_data => Err((error, false)),
            Some(failure) => Err(failure),
        }
    }
}

fn transient(stage: Stage, reply: Reply) -> SendError {
    SendError::Transient { stage, reply }
}

/// What is wrong, in words a user can act on, when an error is a TLS failure that no retry
/// mends: a certificate that does not verify (unknown issuer, wrong name, expired), or a
/// relay that does not speak TLS at all on this port (its plain-text greeting reads as a
/// corrupt TLS record). lettre and tokio-rustls both wrap rustls' error in an I/O error.
fn tls_refused(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use tokio_rustls::rustls::Error as Rustls;
    let mut next = Some(error);
    while let Some(e) = next {
        let rustls = e.downcast_ref::<Rustls>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<Rustls>())
        });
        match rustls {
            Some(Rustls::InvalidCertificate(_) | Rustls::NoCertificatesPresented) => {
                return Some(
                    "the relay's certificate does not verify (self-signed, expired, or issued \
                     for another name): set `host` to the name on its certificate, or use a \
                     relay whose certificate a public authority issued",
                );
            }
            Some(Rustls::InvalidMessage(_)) => {
                return Some(
                    "this port does not speak TLS (the relay answered in plain text): \
                     `security = \"tls\"` is for port 465; on 587 or 25 use \
                     `security = \"starttls\"`",
                );
            }
            _ => {}
        }
        next = e.source();
    }
    None
}

/// Insists on the reply class a step needs: lettre accepts any positive reply.
fn expect(stage: Stage, reply: &Response, severity: Severity) -> Result<(), Failure> {
    if reply.code().severity == severity {
        return Ok(());
    }
    let reply = Reply::from_response(reply);
    Err((SendError::Permanent { stage, reply }, true))
}

impl Transport for Smtp {
    async fn send(
        &mut self,
        envelope: &Envelope,
        message: &str,
        mark: impl Mark,
    ) -> Result<Delivery, SendError> {
        self.check_policy()?;
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let connection = self.connect().await?;
                tracing::debug!(relay = %self.describe(), "connected");
                connection
            }
        };
        match self
            .transaction(&mut connection, envelope, message, mark)
            .await
        {
            Ok(delivery) => {
                self.connection = Some(connection);
                Ok(delivery)
            }
            Err((error, resettable)) => {
                if resettable
                    && self
                        .step(Stage::Connect, connection.smtp.command(Rset))
                        .await
                        .is_ok()
                {
                    self.connection = Some(connection);
                } else {
                    let why = super::mask_addresses(&error.to_string());
                    tracing::debug!(relay = %self.describe(), "connection dropped after: {why}");
                }
                Err(error)
            }
        }
    }

    async fn close(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            let _ = tokio::time::timeout(self.timeout, connection.smtp.quit()).await;
        }
    }

    fn describe(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}
