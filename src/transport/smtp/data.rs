//! The mail data (RFC 5321 §4.1.1.4): the body, dot-stuffed, then the line holding a single
//! dot that ends it.
//!
//! A relay takes a message only by answering that final dot: it is what "confirms the mail
//! transaction", and the relay accepts responsibility for the message with its 250 to it
//! (§6.1). A connection that closes before the dot leaves nothing behind. So the ledger's
//! rule, every message's in-flight mark durable before the relay can take the message, needs
//! the mark durable before the dot, not before the first byte of the body: the body goes out
//! while the ledger commits the mark, the relay reads it while the disk syncs, and only the
//! final `.` line waits. [`Gated`], the stream lettre writes through, holds that line back
//! until the [`Gate`] opens; a mark that could not be written keeps it back for good, and the
//! connection is dropped with the transaction unfinished.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::response::Severity;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Failure, Smtp, expect, transient};
use crate::transport::{Delivery, Reply, SendError, Stage};

/// The line that ends the mail data.
const END: &[u8] = b".\r\n";

/// The stream lettre writes through: everything passes, except the end of the mail data
/// while the [`Gate`] holds it.
#[derive(Debug)]
pub(super) struct Gated {
    inner: Box<dyn AsyncTokioStream>,
    gate: Gate,
}

/// Our side of a [`Gated`] stream, which lettre owns.
#[derive(Debug, Clone, Default)]
pub(super) struct Gate(Arc<Mutex<Hold>>);

/// What the gate holds back, and what it knows.
#[derive(Debug, Default)]
struct Hold {
    /// Bytes that may still pass before the held end of the data; `None`: nothing is held.
    before: Option<usize>,
    /// Whether the mark is durable, once known.
    durable: Option<bool>,
    /// The write waiting for that answer.
    waiting: Option<Waker>,
    /// Whether any of the end of the data has been handed to the connection.
    released: bool,
}

impl Gated {
    /// `inner` for lettre, and the gate that controls it.
    pub(super) fn new(inner: Box<dyn AsyncTokioStream>) -> (Self, Gate) {
        let gate = Gate::default();
        let gated = Self {
            inner,
            gate: gate.clone(),
        };
        (gated, gate)
    }
}

impl Gate {
    fn hold(&self) -> MutexGuard<'_, Hold> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `message` written is held back at its final `.` line.
    fn arm(&self, message: &[u8]) {
        *self.hold() = Hold {
            before: Some(data_len(message) - END.len()),
            ..Hold::default()
        };
    }

    /// Lets the end of the data go (`durable`), or refuses it for good.
    fn open(&self, durable: bool) {
        let mut hold = self.hold();
        hold.durable = Some(durable);
        if let Some(waiting) = hold.waiting.take() {
            waiting.wake();
        }
    }

    /// Whether the relay may have the end of the data: from then on a failure is ambiguous.
    fn released(&self) -> bool {
        self.hold().released
    }

    /// Whether the whole body is out and the end of the data waits for the mark.
    fn waiting(&self) -> bool {
        let hold = self.hold();
        hold.before == Some(0) && hold.durable.is_none()
    }
}

impl AsyncWrite for Gated {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut hold = self.gate.hold();
        let allowed = match (hold.before, hold.durable) {
            (None, _) => buf.len(),
            (Some(0), None) => {
                hold.waiting = Some(cx.waker().clone());
                drop(hold);
                // Whatever the stream buffered (a TLS record) goes to the relay meanwhile.
                let _ = Pin::new(&mut self.inner).poll_flush(cx);
                return Poll::Pending;
            }
            (Some(0), Some(false)) => {
                return Poll::Ready(Err(io::Error::other(
                    "the message's in-flight mark could not be recorded",
                )));
            }
            (Some(0), Some(true)) => {
                *hold = Hold {
                    released: true,
                    ..Hold::default()
                };
                buf.len()
            }
            (Some(before), _) => before.min(buf.len()),
        };
        drop(hold);
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed]))?;
        if let Some(before) = self.gate.hold().before.as_mut() {
            *before -= written;
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl AsyncRead for Gated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncTokioStream for Gated {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

impl Smtp {
    /// The mail data, its final dot held by `gate` until `durable` says whether the mark is
    /// durable; `None` when it could not be written, and the dot never left.
    pub(super) async fn data(
        &self,
        smtp: &mut AsyncSmtpConnection,
        gate: &Gate,
        message: &[u8],
        durable: impl Future<Output = bool>,
    ) -> Option<Result<Delivery, Failure>> {
        gate.arm(message);
        let durable = async {
            let durable = durable.await;
            gate.open(durable);
            durable
        };
        let (durable, sent) = tokio::join!(durable, self.body(smtp, gate, message));
        durable.then_some(sent)
    }

    /// The body and the final dot; a failure once the dot may have reached the relay, before
    /// its reply, is ambiguous.
    async fn body(
        &self,
        smtp: &mut AsyncSmtpConnection,
        gate: &Gate,
        message: &[u8],
    ) -> Result<Delivery, Failure> {
        let result = match std::str::from_utf8(message) {
            // Our messages are ASCII. lettre's dot-stuffing copies a body a byte at a time,
            // the largest cost of a send; `Stuffed` copies it once, between the dots that
            // begin lines, and it goes out with the final dot as one write.
            Ok(text) => tokio::time::timeout(self.timeout, smtp.command(Stuffed(text))).await,
            // lettre writes the stuffed body, then CRLF and the final dot.
            Err(_) => {
                let body = message.strip_suffix(b"\r\n").unwrap_or(message);
                tokio::time::timeout(self.timeout, smtp.message(body)).await
            }
        };
        let sent = gate.released();
        match result {
            Ok(Ok(reply)) => {
                expect(Stage::FinalReply, &reply, Severity::PositiveCompletion)?;
                Ok(Delivery {
                    reply: Reply::from_response(&reply),
                })
            }
            // A reply with a code. (lettre also calls a connection closed mid-reply a
            // "response" error, but that one has no code: it falls to the arms below.)
            Ok(Err(e)) if e.status().is_some() => {
                let (stage, reply) = (Stage::FinalReply, Reply::from_error(&e));
                let error = if e.is_permanent() {
                    SendError::Permanent { stage, reply }
                } else {
                    SendError::Transient { stage, reply }
                };
                Err((error, true))
            }
            Ok(Err(e)) if sent => Err((
                SendError::Ambiguous {
                    reply: Reply::none(e.to_string()),
                },
                false,
            )),
            Err(_) if sent => Err((
                SendError::Ambiguous {
                    reply: Reply::none(format!("no reply within {} s", self.timeout.as_secs())),
                },
                false,
            )),
            Ok(Err(e)) => Err((transient(Stage::Data, Reply::none(e.to_string())), false)),
            Err(_) => {
                let what = if gate.waiting() {
                    "the ledger did not record the message in flight"
                } else {
                    "the body could not be sent"
                };
                let seconds = self.timeout.as_secs();
                let reply = Reply::none(format!("{what} within {seconds} s; not sent"));
                Err((transient(Stage::Data, reply), false))
            }
        }
    }
}

/// A message as it goes after `DATA` (RFC 5321 §4.5.2): a dot that begins a line doubled,
/// the body ended by CRLF and the final `.` line. lettre writes it as it formats, so the
/// stuffed body is built once, in the buffer lettre sends, between the dots found by
/// `memmem` (a message of ours has a handful of lines that begin with one).
struct Stuffed<'a>(&'a str);

impl std::fmt::Display for Stuffed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.0.strip_suffix("\r\n").unwrap_or(self.0);
        let mut start = 0;
        if body.starts_with('.') {
            f.write_str(".")?;
        }
        for at in line_dots(body.as_bytes()) {
            // Up to and including the CRLF, then the extra dot; `at + 2` is an ASCII
            // boundary, so the slices are whole characters.
            f.write_str(&body[start..at + 2])?;
            f.write_str(".")?;
            start = at + 2;
        }
        f.write_str(&body[start..])?;
        f.write_str("\r\n.\r\n")
    }
}

/// Where a CRLF is followed by a dot, which stuffing doubles.
fn line_dots(body: &[u8]) -> memchr::memmem::FindIter<'_, 'static> {
    memchr::memmem::find_iter(body, b"\r\n.")
}

/// How many bytes `message` takes as mail data, the final `.` line included: as
/// [`Stuffed`] writes it, and as lettre's own stuffing does.
fn data_len(message: &[u8]) -> usize {
    let body = message.strip_suffix(b"\r\n").unwrap_or(message);
    let doubled = usize::from(body.starts_with(b".")) + line_dots(body).count();
    body.len() + doubled + b"\r\n".len() + END.len()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::{Stuffed, data_len};
    use crate::audience::Address;
    use crate::settings::{Security, SmtpRoute};
    use crate::transport::{Envelope, Mark, SendError, Smtp, Stage, Transport as _};

    fn stuffed(message: &str) -> String {
        let data = Stuffed(message).to_string();
        assert_eq!(data.len(), data_len(message.as_bytes()), "{message:?}");
        data
    }

    #[test]
    fn stuffs_dots_that_begin_lines_as_lettre_does() {
        assert_eq!(stuffed(".a\r\nb.\r\n..c\r\n"), "..a\r\nb.\r\n...c\r\n.\r\n");
        assert_eq!(stuffed("x"), "x\r\n.\r\n");
        assert_eq!(stuffed("a\r\n.\r\n"), "a\r\n..\r\n.\r\n");
        assert_eq!(
            stuffed("\r\n.\r\n.x\r\n"),
            "\r\n..\r\n..x\r\n.\r\n",
            "dots on lines one after another, and an empty first line"
        );
        assert_eq!(
            stuffed("a\n.b\r\n"),
            "a\n.b\r\n.\r\n",
            "a bare LF ends no line"
        );
    }

    /// A mark that says what the relay tells it to, once the relay has seen the body, after
    /// a delay.
    struct Told(oneshot::Receiver<bool>, Duration);

    impl Mark for Told {
        fn request(&mut self) {}

        async fn durable(self) -> bool {
            let durable = self.0.await.unwrap_or(false);
            tokio::time::sleep(self.1).await;
            durable
        }
    }

    /// What the relay saw after the body: the final dot, or the connection closed without it.
    #[derive(Debug, PartialEq)]
    enum Ending {
        Dot,
        Closed,
    }

    /// A relay on loopback that reads the whole body (`body` bytes, the final dot apart),
    /// requires the dot to stay away meanwhile, then tells the mark `durable`.
    async fn relay(
        listener: TcpListener,
        body: usize,
        durable: bool,
        mark: oneshot::Sender<bool>,
    ) -> Ending {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufReader::new(stream);
        let mut line = String::new();
        stream
            .get_mut()
            .write_all(b"220 relay.test\r\n")
            .await
            .unwrap();
        stream.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("EHLO "), "{line}");
        let features = b"250-relay.test\r\n250 PIPELINING\r\n";
        stream.get_mut().write_all(features).await.unwrap();
        for command in ["MAIL FROM:", "RCPT TO:", "DATA"] {
            line.clear();
            stream.read_line(&mut line).await.unwrap();
            assert!(line.starts_with(command), "{line}");
        }
        let replies = b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go on\r\n";
        stream.get_mut().write_all(replies).await.unwrap();
        let mut data = vec![0; body];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut data))
            .await
            .expect("the body reaches the relay while the mark is being written")
            .unwrap();
        let mut more = [0; 8];
        let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut more)).await;
        assert!(
            early.is_err(),
            "nothing after the body before the mark is durable: {early:?}"
        );
        mark.send(durable).unwrap();
        let n = stream.read(&mut more).await.unwrap_or(0);
        if n == 0 {
            return Ending::Closed;
        }
        assert_eq!(&more[..n], b".\r\n");
        stream
            .get_mut()
            .write_all(b"250 2.0.0 queued\r\n")
            .await
            .unwrap();
        Ending::Dot
    }

    /// Sends `message` to [`relay`], whose mark says `durable`: what the transport answered
    /// and how the relay saw the data end.
    async fn send(message: &[u8], durable: bool) -> (Result<(), SendError>, Ending) {
        send_with(message, durable, Duration::ZERO, Duration::from_secs(10)).await
    }

    /// [`send`], the mark answering `late` after the relay has seen the body, with `timeout`
    /// for each step.
    async fn send_with(
        message: &[u8],
        durable: bool,
        late: Duration,
        timeout: Duration,
    ) -> (Result<(), SendError>, Ending) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tell, told) = oneshot::channel();
        let relay = tokio::spawn(relay(listener, message.len(), durable, tell));
        let route = SmtpRoute {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            username: None,
            password_env: None,
            timeout,
            ehlo: "client.test".into(),
        };
        let mut smtp = Smtp::new(&route, "client.test").unwrap();
        let envelope = Envelope {
            from: "news@example.org".into(),
            to: Address::parse("reader@example.org").unwrap(),
            message_id: "<1@example.org>".into(),
        };
        let sent = smtp
            .send(&envelope, message, Told(told, late))
            .await
            .map(drop);
        (sent, relay.await.unwrap())
    }

    /// A message of `size` bytes with no line that begins with a dot (so that its data is the
    /// message itself and the final dot), its last line holding `last`.
    fn message(size: usize, last: &[u8]) -> Vec<u8> {
        let mut message = b"Subject: hello\r\n\r\n".to_vec();
        while message.len() < size {
            message.extend_from_slice(b"a line of the body, long enough to fill the message.\r\n");
        }
        message.extend_from_slice(last);
        message.extend_from_slice(b"\r\n");
        message
    }

    #[tokio::test]
    async fn the_body_goes_while_the_mark_is_written_and_the_dot_waits_for_it() {
        // Larger than a socket's first buffer: the body goes out in several writes.
        let message = message(400_000, b"the end.");
        let (sent, ending) = send(&message, true).await;
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(ending, Ending::Dot);
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_waits_for_its_mark_the_same_way() {
        let (sent, ending) = send(&message(2_000, b"caf\xe9"), true).await;
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(ending, Ending::Dot);
    }

    #[tokio::test]
    async fn a_mark_that_cannot_be_written_keeps_the_dot_and_drops_the_connection() {
        for message in [message(100_000, b"end"), message(2_000, b"caf\xe9")] {
            let (sent, ending) = send(&message, false).await;
            let Err(SendError::Transient { stage, reply }) = sent else {
                panic!("not sent, so not ambiguous: {sent:?}");
            };
            assert_eq!(stage, Stage::Data);
            assert!(
                reply.to_string().contains("could not record it in flight"),
                "{reply}"
            );
            assert_eq!(ending, Ending::Closed, "the transaction is left unfinished");
        }
    }

    #[tokio::test]
    async fn a_mark_slower_than_the_timeout_leaves_the_message_unsent() {
        let (late, timeout) = (Duration::from_millis(1_500), Duration::from_secs(1));
        let (sent, ending) = send_with(&message(2_000, b"end"), true, late, timeout).await;
        let Err(SendError::Transient { stage, reply }) = sent else {
            panic!("not sent, so not ambiguous: {sent:?}");
        };
        assert_eq!(stage, Stage::Data);
        let expected = "the ledger did not record the message in flight within 1 s; not sent";
        assert_eq!(reply.to_string(), expected);
        assert_eq!(ending, Ending::Closed);
    }
}
