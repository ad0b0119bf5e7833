//! The dispatch engine and the SMTP relay against a misbehaving SMTP server on loopback:
//! each fault ends with the ledger outcome it should.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broadsheet::audience::Address;
use broadsheet::diag::SourceFile;
use broadsheet::dispatch::engine::{Counters, End, Engine, Tuning};
use broadsheet::dispatch::limits::{Breaker, RateLimiter};
use broadsheet::ledger::{Dispatch, Entry, Ledger, State, Writer};
use broadsheet::transport::{Envelope, Smtp};
use tokio::sync::watch;

use crate::support::fault_smtp::{Act, FaultServer, Script};

fn address(i: usize) -> String {
    format!("reader{i}@example.org")
}

struct Outcome {
    end: End,
    ledger: Ledger,
    _dir: tempfile::TempDir,
}

impl Outcome {
    fn state(&self, i: usize) -> (State, u32) {
        let (row, _) = self.ledger.history(1, &address(i)).unwrap().expect("a row");
        (row.state, row.attempts)
    }

    fn count(&self, state: State) -> i64 {
        self.ledger
            .counts(1)
            .unwrap()
            .into_iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| n)
    }
}

/// The project's SMTP transport as `broadsheet.toml` would configure it for a relay on
/// loopback; with `credentials`, it logs in (the password is read from `PATH`, a variable
/// every process has: the fault server accepts or refuses any password).
fn transport(port: u16, credentials: bool) -> Smtp {
    let login = if credentials {
        "username = \"news\"\npassword_env = \"PATH\"\n"
    } else {
        ""
    };
    let text = format!(
        "[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_secs = 2\n{login}"
    );
    let source = SourceFile::new(std::path::Path::new("broadsheet.toml"), text);
    let settings = broadsheet::settings::parse(&source).expect("valid settings");
    Smtp::from_settings(&settings.transport, "client.example.org").expect("a transport")
}

/// Dispatches to `n` recipients through the fault server; bounded by a generous outer limit
/// so that a hang fails the test instead of stalling it.
fn dispatch(server: &FaultServer, n: usize, credentials: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    let dispatch = Dispatch {
        content_hash: "h".into(),
        segments: "all".into(),
        started_at: 0,
        finished_at: None,
    };
    let entries = (0..n).map(|i| Entry {
        address: address(i),
        name: None,
        variant: "all".into(),
        message_id: format!("<{i}@news.example.org>"),
    });
    ledger.start(1, &dispatch, entries).unwrap();
    let port = server.port;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let end = runtime.block_on(async {
        let (writer, handle) = Writer::start(&path).unwrap();
        let (_stop, stop) = watch::channel(false);
        let engine = Engine {
            transports: Arc::new(move || Ok(transport(port, credentials))),
            ledger: path.clone(),
            volume: 1,
            build: Arc::new(|e: &Entry| {
                let envelope = Envelope {
                    from: "news@example.org".into(),
                    to: Address::parse(&e.address).map_err(anyhow::Error::msg)?,
                    message_id: e.message_id.clone(),
                };
                let body = format!(
                    "Message-ID: {}\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n",
                    e.message_id
                );
                Ok((envelope, body.into_bytes()))
            }),
            tuning: Tuning {
                connections: 2,
                max_attempts: 4,
                retry_base: Duration::from_millis(50),
                retry_cap: Duration::from_millis(400),
            },
            limiter: Arc::new(RateLimiter::new(None, None)),
            breaker: Arc::new(Breaker::new(5)),
            stop,
            counters: Arc::new(Counters::default()),
            writer: handle,
        };
        let end = tokio::time::timeout(Duration::from_secs(60), engine.run())
            .await
            .expect("the run ends within its bounds")
            .unwrap();
        writer.finish().unwrap();
        end
    });
    Outcome {
        end,
        ledger,
        _dir: dir,
    }
}

/// Counts how often each recipient reached a point, to misbehave the first `k` times.
#[derive(Default)]
struct Seen(Mutex<HashMap<String, usize>>);

impl Seen {
    fn nth(&self, rcpt: &str) -> usize {
        let mut seen = self.0.lock().unwrap();
        let n = seen.entry(rcpt.to_owned()).or_default();
        *n += 1;
        *n
    }
}

#[test]
fn a_clean_run_delivers_everyone_once_with_dot_stuffing() {
    struct Clean;
    impl Script for Clean {}
    let server = FaultServer::start(Clean);
    let outcome = dispatch(&server, 30, false);
    assert_eq!(outcome.end, End::Finished);
    assert_eq!(outcome.count(State::Sent), 30);
    let mut got = server.accepted_recipients();
    got.sort();
    let mut want: Vec<String> = (0..30).map(address).collect();
    want.sort();
    assert_eq!(got, want);
    let log = server.log.lock().unwrap();
    assert!(
        log.rcpts_per_transaction.iter().all(|&n| n == 1),
        "one RCPT per transaction"
    );
    assert!(
        log.accepted[0]
            .1
            .windows(13)
            .any(|w| w == b"\r\n.leading do"),
        "dot-stuffing undone"
    );
    assert!(
        log.connections <= 2,
        "connections are reused: {}",
        log.connections
    );
}

#[test]
fn transient_rcpt_replies_are_retried_until_delivered() {
    #[derive(Default)]
    struct TwiceLater(Seen);
    impl Script for TwiceLater {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == address(1) && self.0.nth(rcpt) <= 2 {
                Act::Reply("451 4.3.0 mailbox busy, try later".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(TwiceLater::default());
    let outcome = dispatch(&server, 5, false);
    assert_eq!(outcome.end, End::Finished);
    assert_eq!(outcome.state(1), (State::Sent, 3));
    let (_, history) = outcome.ledger.history(1, &address(1)).unwrap().unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|a| a.state == State::Deferred)
            .count(),
        2
    );
    assert!(
        history[0]
            .reply
            .as_deref()
            .unwrap()
            .starts_with("451 4.3.0")
    );
    assert_eq!(
        server
            .accepted_recipients()
            .iter()
            .filter(|r| **r == address(1))
            .count(),
        1
    );
}

#[test]
fn permanent_rcpt_replies_fail_without_retry() {
    #[derive(Default)]
    struct NoSuchUser(Seen);
    impl Script for NoSuchUser {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == address(2) {
                self.0.nth(rcpt);
                Act::Reply("550 5.1.1 no such user".into())
            } else {
                Act::Normal
            }
        }
    }
    let script = Arc::new(NoSuchUser::default());
    let server = FaultServer::start(script.clone());
    let outcome = dispatch(&server, 5, false);
    assert_eq!(outcome.state(2), (State::Failed, 1));
    assert_eq!(
        script.0.0.lock().unwrap()[&address(2)],
        1,
        "RCPT tried once"
    );
    assert_eq!(
        outcome.count(State::Sent),
        4,
        "the connection carried on after the 550"
    );
}

#[test]
fn a_connection_dropped_after_rcpt_is_retried_once() {
    #[derive(Default)]
    struct DropOnce(Seen);
    impl Script for DropOnce {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == address(3) && self.0.nth(rcpt) == 1 {
                Act::Drop
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(DropOnce::default());
    let outcome = dispatch(&server, 6, false);
    assert_eq!(outcome.state(3), (State::Sent, 2));
    assert_eq!(
        server
            .accepted_recipients()
            .iter()
            .filter(|r| **r == address(3))
            .count(),
        1
    );
    assert_eq!(outcome.count(State::Sent), 6);
}

#[test]
fn a_connection_dropped_after_the_final_dot_is_ambiguous() {
    struct DropAfterDot;
    impl Script for DropAfterDot {
        fn after_dot(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == address(4) {
                Act::Drop
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(DropAfterDot);
    let outcome = dispatch(&server, 6, false);
    assert_eq!(
        outcome.state(4),
        (State::Ambiguous, 1),
        "never resent automatically"
    );
    assert_eq!(outcome.count(State::Sent), 5);
}

#[test]
fn a_server_that_never_greets_times_out_and_trips_the_breaker() {
    struct Silent;
    impl Script for Silent {
        fn greet(&self, _connection: usize) -> Act {
            Act::Stall
        }
    }
    let server = FaultServer::start(Silent);
    let outcome = dispatch(&server, 3, false);
    let End::Tripped(why) = &outcome.end else {
        panic!("expected a trip, got {:?}", outcome.end)
    };
    assert!(why.contains("no answer within 2 s"), "{why}");
    assert_eq!(outcome.count(State::Sent), 0);
}

#[test]
fn a_stall_mid_data_times_out() {
    struct StallBody;
    impl Script for StallBody {
        fn body(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == address(0) {
                Act::Stall
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(StallBody);
    let outcome = dispatch(&server, 3, false);
    // The small body fits the socket's buffers: it was written in full, so the lost reply
    // makes the message ambiguous, and the run goes on without it.
    assert_eq!(outcome.state(0), (State::Ambiguous, 1));
    assert_eq!(outcome.count(State::Sent), 2);
}

#[test]
fn a_421_mid_session_reconnects_and_delivers() {
    #[derive(Default)]
    struct Closing(Seen);
    impl Script for Closing {
        fn after_dot(&self, n: usize, rcpt: &str) -> Act {
            if n == 3 && self.0.nth(rcpt) == 1 {
                Act::Reply("421 4.3.2 service shutting down".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(Closing::default());
    let outcome = dispatch(&server, 8, false);
    assert_eq!(outcome.end, End::Finished);
    assert_eq!(outcome.count(State::Sent), 8);
    assert!(
        server.log.lock().unwrap().connections >= 2,
        "reconnected after the 421"
    );
    let mut got = server.accepted_recipients();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 8, "nobody twice");
}

#[test]
fn an_authentication_failure_stops_the_run_resumably() {
    struct BadPassword;
    impl Script for BadPassword {
        fn auth(&self) -> Act {
            Act::Reply("535 5.7.8 authentication credentials invalid".into())
        }
    }
    let server = FaultServer::start(BadPassword);
    let outcome = dispatch(&server, 4, true);
    let End::Tripped(why) = &outcome.end else {
        panic!("expected a trip, got {:?}", outcome.end)
    };
    assert!(why.contains("535"), "{why}");
    assert_eq!(
        outcome.count(State::Pending),
        4,
        "nothing consumed: a rerun resumes"
    );
}
