//! The SMTP relay: lettre's `AsyncSmtpConnection` driven one command at a time, so that
//! every step has our own timeout, every reply is classified, and a failure before the body
//! (safe to retry) is told apart from a lost reply after it (ambiguous). We open the TCP
//! stream ourselves to set `TCP_NODELAY` (lettre does not, and Nagle's algorithm then holds
//! the final dot for a delayed ACK), for plain, STARTTLS and implicit TLS connections alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::relay::{ConnectError, Connection, Delivery, Relay, classify};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain, then STARTTLS, which must be offered.
    StartTls,
    /// No encryption: only for a relay on this machine.
    None,
}

/// Where and how to reach the relay.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host name (also the name the certificate must carry).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode; certificates are always verified.
    pub security: Security,
    /// User name and password, if the relay wants them.
    pub credentials: Option<(String, String)>,
    /// The limit on each step: connect, greeting, each command, the body and its reply.
    pub timeout: Duration,
    /// The name we give in EHLO.
    pub hello: String,
}

/// A relay reached over SMTP.
#[derive(Debug, Clone)]
pub struct SmtpRelay {
    endpoint: Arc<Endpoint>,
}

impl SmtpRelay {
    /// A relay at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint: Arc::new(endpoint),
        }
    }
}

/// One open SMTP connection.
pub struct SmtpConnection {
    conn: AsyncSmtpConnection,
    timeout: Duration,
}

/// The result of one command.
enum Step {
    Ok(Response),
    /// A negative reply: code and text.
    Reply(u16, String),
    /// The connection broke or timed out.
    Broken(String),
}

async fn step<F>(limit: Duration, what: &str, command: F) -> Step
where
    F: Future<Output = Result<Response, lettre::transport::smtp::Error>>,
{
    match tokio::time::timeout(limit, command).await {
        Ok(Ok(response)) => Step::Ok(response),
        Ok(Err(error)) => match error.status() {
            // The error's source is the relay's own reply text.
            Some(code) => {
                let reply = std::error::Error::source(&error).map(ToString::to_string);
                Step::Reply(code_number(code), reply.unwrap_or_default())
            }
            None => Step::Broken(format!("{what}: {error}")),
        },
        Err(_) => Step::Broken(format!("{what}: no answer within {} s", limit.as_secs())),
    }
}

fn code_number(code: lettre::transport::smtp::response::Code) -> u16 {
    code.to_string().parse().unwrap_or(0)
}

fn text(response: &Response) -> String {
    response.message().collect::<Vec<_>>().join(" ")
}

impl Relay for SmtpRelay {
    type Connection = SmtpConnection;

    async fn connect(&self) -> Result<SmtpConnection, ConnectError> {
        let ep = &self.endpoint;
        let limit = ep.timeout;
        let transient = |what: &str, e: &dyn std::fmt::Display| {
            ConnectError::Transient(format!("{what} {}:{}: {e}", ep.host, ep.port))
        };
        let tcp = tokio::time::timeout(limit, TcpStream::connect((ep.host.as_str(), ep.port)))
            .await
            .map_err(|_| transient("connecting to", &"timed out"))?
            .map_err(|e| transient("connecting to", &e))?;
        tcp.set_nodelay(true)
            .map_err(|e| transient("configuring", &e))?;
        let stream: Box<dyn AsyncTokioStream> = match ep.security {
            Security::Tls => Box::new(implicit_tls(tcp, &ep.host, limit).await?),
            Security::StartTls | Security::None => Box::new(tcp),
        };
        let hello = ClientId::Domain(ep.hello.clone());
        let greeted = tokio::time::timeout(
            limit,
            AsyncSmtpConnection::connect_with_transport(stream, &hello),
        );
        let mut conn = match greeted.await {
            Err(_) => return Err(transient("no greeting from", &"timed out")),
            Ok(Err(e)) if e.is_permanent() => return Err(ConnectError::Refused(e.to_string())),
            Ok(Err(e)) => return Err(transient("greeting from", &e)),
            Ok(Ok(conn)) => conn,
        };
        if ep.security == Security::StartTls {
            starttls(&mut conn, ep, &hello).await?;
        }
        if let Some((user, password)) = &ep.credentials {
            let credentials = Credentials::new(user.clone(), password.clone());
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            match tokio::time::timeout(limit, conn.auth(&mechanisms, &credentials)).await {
                Err(_) => return Err(transient("authenticating to", &"timed out")),
                Ok(Err(e)) if e.is_transient() => return Err(transient("authenticating to", &e)),
                Ok(Err(e)) => {
                    return Err(ConnectError::Refused(format!("authentication failed: {e}")));
                }
                Ok(Ok(_)) => {}
            }
        }
        Ok(SmtpConnection {
            conn,
            timeout: limit,
        })
    }
}

async fn starttls(
    conn: &mut AsyncSmtpConnection,
    ep: &Endpoint,
    hello: &ClientId,
) -> Result<(), ConnectError> {
    if !conn.can_starttls() {
        return Err(ConnectError::Refused(format!(
            "{}:{} does not offer STARTTLS, which `security = \"starttls\"` requires",
            ep.host, ep.port
        )));
    }
    let parameters = TlsParameters::new(ep.host.clone())
        .map_err(|e| ConnectError::Refused(format!("TLS setup: {e}")))?;
    match tokio::time::timeout(ep.timeout, conn.starttls(parameters, hello)).await {
        Err(_) => Err(ConnectError::Transient("STARTTLS timed out".into())),
        // A certificate that does not verify is a configuration problem, not a passing one.
        Ok(Err(e)) => Err(ConnectError::Refused(format!(
            "STARTTLS with {}: {e}",
            ep.host
        ))),
        Ok(Ok(())) => Ok(()),
    }
}

impl Connection for SmtpConnection {
    async fn send(&mut self, from: &str, to: &str, message: &[u8]) -> (Delivery, bool) {
        let limit = self.timeout;
        let (Ok(sender), Ok(recipient)) = (from.parse(), to.parse()) else {
            let reply = format!("not a valid SMTP address: {from} or {to}");
            return (
                Delivery::Permanent {
                    reply,
                    hard_bounce: true,
                },
                true,
            );
        };
        let commands: [(&str, Box<dyn std::fmt::Display + Send>); 3] = [
            ("MAIL FROM", Box::new(Mail::new(Some(sender), vec![]))),
            ("RCPT TO", Box::new(Rcpt::new(recipient, vec![]))),
            ("DATA", Box::new(Data)),
        ];
        for (what, command) in commands {
            match step(limit, what, self.conn.command(command)).await {
                Step::Ok(_) => {}
                Step::Reply(code, reply) => {
                    // A refused sender is the relay's problem, not this recipient's.
                    let delivery = match classify(code, &reply) {
                        Delivery::Permanent { reply, .. } if what == "MAIL FROM" => {
                            Delivery::Transient {
                                reply,
                                slow_down: false,
                            }
                        }
                        other => other,
                    };
                    return (delivery, self.reset().await);
                }
                Step::Broken(why) => {
                    return (
                        Delivery::Transient {
                            reply: why,
                            slow_down: false,
                        },
                        false,
                    );
                }
            }
        }
        self.body(message, limit).await
    }
}

impl SmtpConnection {
    /// Sends the body and the final dot, and reads the reply.
    async fn body(&mut self, message: &[u8], limit: Duration) -> (Delivery, bool) {
        let written = AtomicBool::new(false);
        let parts = Watched {
            part: Some(message),
            done: &written,
        };
        match step(limit, "message body", self.conn.message_iter(parts)).await {
            Step::Ok(response) if code_number(response.code()) == 250 => {
                (Delivery::Sent(format!("250 {}", text(&response))), true)
            }
            Step::Ok(response) => {
                let reply = format!(
                    "unexpected reply after the final dot: {} {}",
                    response.code(),
                    text(&response)
                );
                (Delivery::Ambiguous(reply), false)
            }
            Step::Reply(code, reply) => (classify(code, &reply), true),
            // The body left in full, and then the reply never came: we cannot know.
            Step::Broken(why) if written.load(Ordering::SeqCst) => {
                (Delivery::Ambiguous(why), false)
            }
            // The final dot never left, so the relay cannot have accepted the message.
            Step::Broken(why) => (
                Delivery::Transient {
                    reply: why,
                    slow_down: false,
                },
                false,
            ),
        }
    }

    /// Ends a failed transaction so the connection can carry the next one.
    async fn reset(&mut self) -> bool {
        matches!(
            step(self.timeout, "RSET", self.conn.command(Rset)).await,
            Step::Ok(_)
        )
    }
}

/// Yields the message once, then records that lettre asked for more: from then on the
/// whole body has been written and only the final dot and the reply remain.
struct Watched<'a> {
    part: Option<&'a [u8]>,
    done: &'a AtomicBool,
}

impl<'a> Iterator for Watched<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let part = self.part.take();
        if part.is_none() {
            self.done.store(true, Ordering::SeqCst);
        }
        part
    }
}

/// A TLS stream from the first byte, for `security = "tls"`, verified against the system's
/// root certificates.
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<TcpStream>);

async fn implicit_tls(
    tcp: TcpStream,
    host: &str,
    limit: Duration,
) -> Result<TlsStream, ConnectError> {
    let refused =
        |e: &dyn std::fmt::Display| ConnectError::Refused(format!("TLS with {host}: {e}"));
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // Certificates the system cannot parse are skipped, as browsers do.
        let _ = roots.add(cert);
    }
    let config = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| refused(&e))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(limit, connector.connect(name, tcp)).await {
        Err(_) => Err(ConnectError::Transient(format!(
            "TLS with {host} timed out"
        ))),
        Ok(Err(e)) => Err(refused(&e)),
        Ok(Ok(stream)) => Ok(TlsStream(stream)),
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
