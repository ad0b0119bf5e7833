//! Engine logic against a scripted in-memory transport and a real ledger file. (The same
//! engine against real SMTP servers is tested in `tests/dispatch_faults.rs`.)

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::audience::Address;
use crate::ledger::{Dispatch, Entry, Writer};
use crate::settings::RelayLimits;
use crate::transport::{Delivery, Envelope, SendError, Stage};

type Answer = Result<Delivery, SendError>;

/// Replies by address, in order; accepted once a script runs out.
#[derive(Default)]
struct Script {
    replies: Mutex<HashMap<String, Vec<Answer>>>,
    sends: Mutex<Vec<String>>,
    refuse: Option<String>,
    stop_after: Option<(usize, watch::Sender<bool>)>,
    /// Messages built on the pool, as a signed run's are.
    pooled: bool,
}

/// A transport that answers from the script.
struct Fake(Arc<Script>);

impl Transport for Fake {
    async fn send(&mut self, envelope: &Envelope, message: &str, mark: impl Mark) -> Answer {
        assert_eq!(
            message,
            envelope.to.as_str(),
            "each row gets its own message"
        );
        let script = &self.0;
        if let Some(why) = &script.refuse {
            return Err(SendError::Permanent {
                stage: Stage::Auth,
                reply: Reply::with_code(535, why),
            });
        }
        assert!(mark.durable().await, "the in-flight mark is recorded");
        let to = envelope.to.as_str().to_owned();
        let count = {
            let mut sends = script.sends.lock().unwrap();
            sends.push(to.clone());
            sends.len()
        };
        if let Some((n, stop)) = &script.stop_after
            && count >= *n
        {
            let _ = stop.send(true);
        }
        let mut replies = script.replies.lock().unwrap();
        let next = replies
            .get_mut(&to)
            .filter(|q| !q.is_empty())
            .map(|q| q.remove(0));
        next.unwrap_or_else(|| {
            Ok(Delivery {
                reply: Reply::with_code(250, "ok"),
            })
        })
    }

    async fn close(&mut self) {}

    fn describe(&self) -> String {
        "script".into()
    }
}

fn address(i: usize) -> String {
    format!("r{i}@example.org")
}

async fn run(
    n: usize,
    script: Script,
    stop: watch::Receiver<bool>,
) -> (End, Ledger, Arc<Script>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    let dispatch = Dispatch {
        id: 0,
        volume: 1,
        content_hash: "h".into(),
        segments: vec!["s".into()],
        settings: "{}".into(),
        started_at: 0,
        finished_at: None,
    };
    let entries = (0..n).map(|i| {
        Ok(Entry {
            address: Address::parse(&address(i)).unwrap(),
            name: None,
            greeting: None,
            variant: "all".into(),
            message_id: format!("<{i}@x>"),
        })
    });
    let (id, _) = ledger.start(&dispatch, entries).unwrap();
    assert_eq!(id, 1);
    let (writer, handle) = Writer::start(&path).unwrap();
    let script = Arc::new(script);
    let transports = script.clone();
    let engine = Engine {
        transports: Arc::new(move || Ok(Fake(transports.clone()))),
        ledger: path,
        dispatch: 1,
        builder: Builder::new(
            Arc::new(|e: &Entry| {
                let envelope = Envelope {
                    from: "news@example.org".into(),
                    to: e.address.clone(),
                    message_id: e.message_id.clone(),
                };
                Ok((envelope, e.address.to_string()))
            }),
            script.pooled,
        )
        .unwrap(),
        gate: Gate::new(dir.path().to_path_buf()),
        tuning: Tuning {
            connections: 3,
            max_attempts: 3,
            retry_base: Duration::from_millis(5),
            retry_cap: Duration::from_millis(20),
        },
        limiter: Arc::new(RateLimiter::new(None, None)),
        breaker: Arc::new(Breaker::new(5)),
        guard: Arc::new(RelayGuard::new(
            RelayLimits {
                same_reply: 10,
                policy_refusals: 3,
                failure_percent: 50,
            },
            false,
        )),
        stop,
        counters: Arc::new(Counters::default()),
        writer: handle,
    };
    let end = engine.run().await;
    writer.finish().unwrap();
    (end, ledger, script, dir)
}

fn counts(ledger: &Ledger) -> HashMap<State, u64> {
    ledger.counts(1).unwrap().into_iter().collect()
}

/// Runs `recipients` through the engine, messages built inline or on the pool, and checks
/// that each was sent once and is recorded sent.
async fn sent_exactly_once(recipients: usize, pooled: bool) {
    let (_stop, stop) = watch::channel(false);
    let script = Script {
        pooled,
        ..Script::default()
    };
    let (end, ledger, script, _dir) = run(recipients, script, stop).await;
    assert_eq!(end, End::Finished);
    assert_eq!(
        counts(&ledger),
        HashMap::from([(State::Sent, recipients as u64)])
    );
    let mut sends = script.sends.lock().unwrap().clone();
    sends.sort();
    sends.dedup();
    assert_eq!(sends.len(), recipients);
}

#[tokio::test]
async fn everyone_is_sent_exactly_once() {
    sent_exactly_once(50, false).await;
}

#[tokio::test]
async fn messages_built_on_the_pool_reach_everyone_exactly_once() {
    sent_exactly_once(200, true).await;
}

#[tokio::test]
async fn a_stop_leaves_the_row_built_ahead_pending() {
    let (stop_sender, stop) = watch::channel(false);
    let script = Script {
        stop_after: Some((10, stop_sender)),
        pooled: true,
        ..Script::default()
    };
    let (end, ledger, script, _dir) = run(200, script, stop).await;
    assert_eq!(end, End::Interrupted);
    let sends = script.sends.lock().unwrap().len() as u64;
    let counts = counts(&ledger);
    assert_eq!(counts.get(&State::Sent).copied(), Some(sends));
    assert_eq!(counts.get(&State::Pending).copied(), Some(200 - sends));
}

#[tokio::test]
async fn transient_failures_are_retried_then_counted() {
    let transient = || -> Answer {
        Err(SendError::Transient {
            stage: Stage::RcptTo,
            reply: Reply::with_code(451, "4.3.0 later"),
        })
    };
    let script = Script::default();
    script.replies.lock().unwrap().extend([
        (address(1), vec![transient(), transient()]),
        (address(2), vec![transient(), transient(), transient()]),
        (
            address(3),
            vec![Err(SendError::Permanent {
                stage: Stage::RcptTo,
                reply: Reply::with_code(550, "5.1.1 no"),
            })],
        ),
        (
            address(4),
            vec![Err(SendError::Ambiguous {
                reply: Reply::none("connection lost after the final dot"),
            })],
        ),
    ]);
    let (_stop, stop) = watch::channel(false);
    let (end, ledger, script, _dir) = run(6, script, stop).await;
    assert_eq!(end, End::Finished);
    // r0, r1 (after two retries) and r5 sent; r2 still deferred after its 3 attempts.
    assert_eq!(
        counts(&ledger),
        HashMap::from([
            (State::Sent, 3),
            (State::Deferred, 1),
            (State::Failed, 1),
            (State::Ambiguous, 1)
        ])
    );
    let (row, attempts) = ledger.history(1, &address(1)).unwrap().unwrap();
    assert_eq!(
        (row.state, row.attempts, attempts.len()),
        (State::Sent, 3, 3)
    );
    let (row, _) = ledger.history(1, &address(2)).unwrap().unwrap();
    assert_eq!(
        (row.state, row.attempts),
        (State::Deferred, 3),
        "bounded: 3 attempts"
    );
    let sends = script.sends.lock().unwrap();
    assert_eq!(
        sends.iter().filter(|a| **a == address(3)).count(),
        1,
        "5xx never retried"
    );
    assert_eq!(
        sends.iter().filter(|a| **a == address(4)).count(),
        1,
        "ambiguous never resent"
    );
}

#[tokio::test]
async fn a_stop_request_ends_the_run_between_messages() {
    let (stop_sender, stop) = watch::channel(false);
    let script = Script {
        stop_after: Some((10, stop_sender)),
        ..Script::default()
    };
    let (end, ledger, script, _dir) = run(200, script, stop).await;
    assert_eq!(end, End::Interrupted);
    let sent = counts(&ledger).get(&State::Sent).copied().unwrap_or(0);
    let sends = script.sends.lock().unwrap().len() as u64;
    assert_eq!(sent, sends, "every message handed over was recorded");
    assert!(sends < 20, "stopped promptly: {sends}");
    assert_eq!(
        counts(&ledger).get(&State::Pending).copied().unwrap_or(0),
        200 - sent
    );
}

#[tokio::test]
async fn refused_credentials_trip_the_breaker_and_send_nothing() {
    let script = Script {
        refuse: Some("535 5.7.8 authentication failed".into()),
        ..Script::default()
    };
    let (_stop, stop) = watch::channel(false);
    let (end, ledger, script, _dir) = run(20, script, stop).await;
    let End::Tripped(why) = end else {
        panic!("expected a trip, got {end:?}")
    };
    assert!(why.contains("535 5.7.8 authentication failed"), "{why}");
    assert!(script.sends.lock().unwrap().is_empty());
    assert_eq!(
        counts(&ledger),
        HashMap::from([(State::Pending, 20)]),
        "all left for the resumed run"
    );
}
