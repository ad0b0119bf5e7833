//! The greeting, with one EHLO per session (two with STARTTLS, as RFC 3207 requires).
//!
//! lettre sends EHLO and keeps only the extensions it knows, which leaves out PIPELINING
//! (RFC 2920). Rather than asking again, the stream lettre reads through keeps a copy of
//! what it read during the greeting, and PIPELINING is read from that EHLO reply. For
//! STARTTLS the plaintext part of the session is ours (banner, EHLO, STARTTLS, handshake):
//! lettre's own upgrade would wrap our stream in TLS and leave only ciphertext beneath it.
//! lettre then starts on the TLS stream with the banner replayed to it, and sends the EHLO
//! that RFC 3207 requires after the handshake.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use lettre::transport::smtp::client::AsyncTokioStream;
use lettre::transport::smtp::commands::{Ehlo, Starttls};
use lettre::transport::smtp::response::{Response, Severity};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::io::{BufReader, ReadBuf};
use tokio::net::TcpStream;

use super::{Smtp, transient};
use crate::transport::tls::{self, Tls};
use crate::transport::{Reply, SendError, Stage, Transport as _};

/// How much of the greeting is kept, and the longest reply read before TLS. A relay's EHLO
/// reply is a few hundred bytes; past this, an extension goes unseen (no PIPELINING means
/// one command at a time, which every relay accepts).
const KEPT: usize = 16 * 1024;

/// The stream lettre reads and writes: `replay` first (the banner, when we read it), then
/// `inner`; what lettre reads is copied into `greeting` until that copy is taken.
#[derive(Debug)]
pub(super) struct Recorder {
    inner: Box<dyn AsyncTokioStream>,
    replay: Vec<u8>,
    greeting: Greeting,
}

/// What lettre read of the session so far: the banner and the EHLO reply. Shared with the
/// [`Recorder`], which lettre owns.
#[derive(Debug, Clone)]
pub(super) struct Greeting(Arc<Mutex<Option<Vec<u8>>>>);

impl Recorder {
    /// `inner` for lettre, with `banner` (possibly empty) read first; the greeting's copy.
    pub(super) fn new(inner: Box<dyn AsyncTokioStream>, banner: Vec<u8>) -> (Self, Greeting) {
        let greeting = Greeting(Arc::new(Mutex::new(Some(Vec::new()))));
        let recorder = Self {
            inner,
            replay: banner,
            greeting: greeting.clone(),
        };
        (recorder, greeting)
    }
}

impl Greeting {
    fn keep(&self, bytes: &[u8]) {
        let mut copy = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(copy) = copy.as_mut() {
            let room = KEPT.saturating_sub(copy.len());
            copy.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// The EHLO reply lettre read (the reply after the banner), if it was whole and within
    /// [`KEPT`]; from now on nothing more is copied.
    pub(super) fn ehlo(&self) -> Option<Response> {
        let copy = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let mut banner_end = 0;
        for line in copy.split_inclusive(|&b| b == b'\n') {
            banner_end += line.len();
            // The last line of a reply has no hyphen after its code.
            if line.get(3) != Some(&b'-') {
                let rest = std::str::from_utf8(&copy[banner_end..]).ok()?;
                return rest.parse().ok();
            }
        }
        None
    }
}

/// Whether an EHLO reply offers the extension `keyword` (the first word of a line, in any
/// case).
pub(super) fn offers(ehlo: &Response, keyword: &str) -> bool {
    ehlo.message().any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    })
}

impl Smtp {
    /// The plaintext part of a STARTTLS session (banner, EHLO, STARTTLS), then the TLS
    /// handshake, the certificate verified for the host. Returns the TLS stream and the
    /// banner as it came, for lettre to read.
    pub(super) async fn starttls(&self, tcp: TcpStream) -> Result<(Tls, Vec<u8>), SendError> {
        let mut reader = BufReader::new(tcp);
        let (banner, _) = self.exchange(&mut reader, None).await?;
        let ehlo = Ehlo::new(self.hello.clone()).to_string();
        let (_, features) = self.exchange(&mut reader, Some(ehlo)).await?;
        if !offers(&features, "STARTTLS") {
            // A courtesy: the relay is told why we leave.
            let quit = reader.get_mut().write_all(b"QUIT\r\n");
            let _ = tokio::time::timeout(self.timeout, quit).await;
            let detail = format!(
                "{} does not offer STARTTLS, which security = \"starttls\" requires",
                self.host
            );
            return Err(SendError::Permanent {
                stage: Stage::Connect,
                reply: Reply::none(detail),
            });
        }
        self.exchange(&mut reader, Some(Starttls.to_string()))
            .await?;
        if !reader.buffer().is_empty() {
            // Bytes sent before the handshake but read as if after it would be commands
            // injected outside TLS (RFC 3207 §5, CVE-2011-0411 in other clients).
            let detail = format!("{} sent data after its reply to STARTTLS", self.host);
            return Err(transient(Stage::Connect, Reply::none(detail)));
        }
        let what = format!("TLS with {}", self.host);
        let tls = self
            .within(&what, tls::connect(reader.into_inner(), &self.host))
            .await?;
        Ok((tls, banner))
    }

    /// Sends the command `line` (none: waits for the banner) and reads the reply, which must
    /// be a positive completion; the reply as it came and as parsed.
    async fn exchange(
        &self,
        reader: &mut BufReader<TcpStream>,
        line: Option<String>,
    ) -> Result<(Vec<u8>, Response), SendError> {
        let what = match &line {
            Some(line) => format!("{} to {}", line.trim_end(), self.describe()),
            None => format!("the greeting of {}", self.describe()),
        };
        let step = async {
            if let Some(line) = &line {
                reader.get_mut().write_all(line.as_bytes()).await?;
            }
            read_reply(reader).await
        };
        let (raw, response) = self.within(&what, step).await?;
        let reply = Reply::from_response(&response);
        match response.code().severity {
            Severity::PositiveCompletion => Ok((raw, response)),
            Severity::TransientNegativeCompletion => Err(transient(Stage::Connect, reply)),
            Severity::PositiveIntermediate | Severity::PermanentNegativeCompletion => {
                Err(SendError::Permanent {
                    stage: Stage::Connect,
                    reply,
                })
            }
        }
    }
}

/// Reads one reply, of at most [`KEPT`] bytes: as it came, and as parsed.
async fn read_reply(reader: &mut BufReader<TcpStream>) -> io::Result<(Vec<u8>, Response)> {
    let mut raw = Vec::new();
    loop {
        let start = raw.len();
        let room = (KEPT - start) as u64;
        (&mut *reader)
            .take(room)
            .read_until(b'\n', &mut raw)
            .await?;
        let line = &raw[start..];
        if !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                if raw.len() >= KEPT {
                    "a reply over 16 KiB"
                } else {
                    "the connection closed before a whole reply"
                },
            ));
        }
        if line.get(3) != Some(&b'-') {
            break;
        }
    }
    let response = std::str::from_utf8(&raw)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((raw, response))
}

impl AsyncTokioStream for Recorder {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

impl AsyncRead for Recorder {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let start = buf.filled().len();
        if self.replay.is_empty() {
            ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        } else {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay[..n]);
            self.replay.drain(..n);
        }
        self.greeting.keep(&buf.filled()[start..]);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use lettre::transport::smtp::client::AsyncSmtpConnection;
    use lettre::transport::smtp::extension::ClientId;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    use super::{Greeting, KEPT, Recorder, offers};

    fn greeting(bytes: &[&[u8]]) -> Greeting {
        let greeting = Greeting(std::sync::Arc::default());
        *greeting.0.lock().unwrap() = Some(Vec::new());
        for chunk in bytes {
            greeting.keep(chunk);
        }
        greeting
    }

    fn pipelining(bytes: &[&[u8]]) -> Option<bool> {
        greeting(bytes)
            .ehlo()
            .map(|ehlo| offers(&ehlo, "PIPELINING"))
    }

    #[test]
    fn pipelining_is_read_from_the_reply_after_the_banner() {
        let banner: &[u8] = b"220-mx.example ESMTP\r\n220 PIPELINING is no extension here\r\n";
        assert_eq!(
            pipelining(&[
                banner,
                b"250-mx.example\r\n250-pipelining\r\n250 8BITMIME\r\n"
            ]),
            Some(true),
            "in any case"
        );
        assert_eq!(
            pipelining(&[b"220 mx\r\n250-mx\r\n250-PIPE", b"LINING\r\n250 DSN\r\n"]),
            Some(true),
            "across reads"
        );
        assert_eq!(
            pipelining(&[banner, b"250-mx.example\r\n250-XPIPELINING\r\n250 SIZE\r\n"]),
            Some(false)
        );
        assert_eq!(pipelining(&[banner]), None, "no EHLO reply");
        assert_eq!(
            pipelining(&[b"220 mx\r\n250-mx\r\n250-PIPELINING\r\n"]),
            None,
            "an unfinished reply"
        );
    }

    #[test]
    fn the_copy_is_bounded_and_taken_once() {
        let long = format!("250-{}\r\n", "X".repeat(900)).repeat(KEPT / 900 + 1);
        let copy = greeting(&[b"220 mx\r\n", long.as_bytes(), b"250 PIPELINING\r\n"]);
        assert_eq!(copy.0.lock().unwrap().as_ref().map(Vec::len), Some(KEPT));
        assert!(copy.ehlo().is_none(), "cut short: no pipelining");
        let copy = greeting(&[b"220 mx\r\n250 PIPELINING\r\n"]);
        assert!(copy.ehlo().is_some());
        copy.keep(b"more");
        assert!(copy.ehlo().is_none() && copy.0.lock().unwrap().is_none());
    }

    /// lettre reads the replayed banner, then the relay's EHLO reply, through the recorder.
    #[tokio::test]
    async fn lettre_reads_a_replayed_banner_then_the_relay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let relay = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            let mut ehlo = String::new();
            stream.read_line(&mut ehlo).await.unwrap();
            let reply = b"250-relay.test\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n";
            stream.get_mut().write_all(reply).await.unwrap();
            ehlo
        });
        let tcp = TcpStream::connect(address).await.unwrap();
        let (recorder, greeting) = Recorder::new(Box::new(tcp), b"220 relay.test\r\n".to_vec());
        let hello = ClientId::Domain("client.test".into());
        AsyncSmtpConnection::connect_with_transport(Box::new(recorder), &hello)
            .await
            .unwrap();
        assert_eq!(relay.await.unwrap(), "EHLO client.test\r\n");
        let ehlo = greeting.ehlo().unwrap();
        assert!(offers(&ehlo, "pipelining") && offers(&ehlo, "AUTH"));
    }
}
