//! The mail data (RFC 5321 §4.1.1.4): the body, dot-stuffed, then the line holding a single
//! dot that ends it, sent once the message's in-flight mark is durable.

use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::response::Severity;

use super::{Failure, Smtp, expect};
use crate::transport::{Delivery, Reply, SendError, Stage};

/// Room for the dots a body's lines may need, beside the final dot's 5 bytes: a message of
/// ours has a handful of lines that begin with one.
const STUFFING_ROOM: usize = 64;

impl Smtp {
    /// The body and the final dot, in one write. Once that write has begun a failure cannot
    /// tell which bytes arrived, so any failure before the reply is ambiguous.
    pub(super) async fn body(
        &self,
        connection: &mut AsyncSmtpConnection,
        message: &str,
    ) -> Result<Delivery, Failure> {
        // lettre's own `message` dot-stuffs a copy a byte at a time. The data is stuffed
        // here, once, and `command` copies a `&str` into one allocation of its size.
        let data = stuffed(message);
        let wait = self.final_reply_timeout;
        let result = tokio::time::timeout(wait, connection.command(data.as_str())).await;
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
            Ok(Err(e)) => Err((
                SendError::Ambiguous {
                    reply: Reply::none(e.to_string()),
                },
                false,
            )),
            Err(_) => Err((
                SendError::Ambiguous {
                    reply: Reply::none(format!("no reply within {} s", wait.as_secs())),
                },
                false,
            )),
        }
    }
}

/// `message` as it goes after `DATA` (RFC 5321 §4.5.2): a dot that begins a line doubled,
/// the body ended by CRLF and the final `.` line. The body is copied once, in runs between
/// the dots that begin lines (found by `memmem`), into a buffer of its size.
fn stuffed(message: &str) -> String {
    let body = message.strip_suffix("\r\n").unwrap_or(message);
    let mut out = String::with_capacity(body.len() + "\r\n.\r\n".len() + STUFFING_ROOM);
    if body.starts_with('.') {
        out.push('.');
    }
    let mut start = 0;
    for at in memchr::memmem::find_iter(body.as_bytes(), b"\r\n.") {
        // Up to and including the CRLF, then the extra dot; `at + 2` is an ASCII
        // boundary, so the slices are whole characters.
        out.push_str(&body[start..at + 2]);
        out.push('.');
        start = at + 2;
    }
    out.push_str(&body[start..]);
    out.push_str("\r\n.\r\n");
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::stuffed;
    use crate::audience::Address;
    use crate::settings::{Security, SmtpRoute};
    use crate::transport::{Envelope, Mark, SendError, Smtp, Stage, Transport as _};

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

    /// A mark that says what the relay tells it to.
    struct Told(oneshot::Receiver<bool>);

    impl Mark for Told {
        fn request(&mut self) {}

        async fn durable(self) -> bool {
            self.0.await.unwrap_or(false)
        }
    }

    /// What the relay saw after its 354: the whole body and the final dot, or the connection
    /// closed with nothing.
    #[derive(Debug, PartialEq)]
    enum Ending {
        Dot,
        Closed,
    }

    /// A relay on loopback that, after its 354, requires silence while it holds the mark
    /// back, then tells the mark `durable` and reads what comes: the body, `body` bytes, and
    /// the final dot, or nothing.
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
        let mut first = [0; 1];
        let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut first)).await;
        assert!(
            early.is_err(),
            "no byte of the body before the mark is durable: {early:?}"
        );
        mark.send(durable).unwrap();
        if !durable {
            let mut data = Vec::new();
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut data))
                .await
                .expect("the connection is dropped")
                .unwrap();
            assert!(
                data.is_empty(),
                "nothing after the 354: {} bytes",
                data.len()
            );
            return Ending::Closed;
        }
        let mut data = vec![0; body + b".\r\n".len()];
        stream.read_exact(&mut data).await.unwrap();
        assert!(data.ends_with(b"\r\n.\r\n"));
        stream
            .get_mut()
            .write_all(b"250 2.0.0 queued\r\n")
            .await
            .unwrap();
        Ending::Dot
    }

    /// Sends `message` to [`relay`], whose mark says `durable`: what the transport answered
    /// and what the relay saw.
    async fn send(message: &str, durable: bool) -> (Result<(), SendError>, Ending) {
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
            timeout: Duration::from_secs(10),
            final_reply_timeout: Duration::from_secs(10),
            ehlo: "client.test".into(),
        };
        let mut smtp = Smtp::new(&route, "client.test").unwrap();
        let envelope = Envelope {
            from: "news@example.org".into(),
            to: Address::parse("reader@example.org").unwrap(),
            message_id: "<1@example.org>".into(),
        };
        let sent = smtp.send(&envelope, message, Told(told)).await.map(drop);
        (sent, relay.await.unwrap())
    }

    /// A message of about `size` bytes with no line that begins with a dot (so that its data
    /// is the message itself and the final dot), its last line holding `last`.
    fn message(size: usize, last: &str) -> String {
        let mut message = "Subject: hello\r\n\r\n".to_owned();
        while message.len() < size {
            message.push_str("a line of the body, long enough to fill the message.\r\n");
        }
        message.push_str(last);
        message.push_str("\r\n");
        message
    }

    #[tokio::test]
    async fn the_body_waits_for_its_mark_to_be_durable() {
        // Larger than a socket's first buffer: the body goes out in several writes.
        for message in [message(400_000, "the end."), message(2_000, "café")] {
            let (sent, ending) = send(&message, true).await;
            assert!(sent.is_ok(), "{sent:?}");
            assert_eq!(ending, Ending::Dot);
        }
    }

    #[tokio::test]
    async fn a_mark_that_cannot_be_written_sends_nothing_and_drops_the_connection() {
        let (sent, ending) = send(&message(2_000, "end"), false).await;
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
