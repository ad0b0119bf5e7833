//! Engine logic against a scripted in-memory relay and a real ledger file. (The same engine
//! against real SMTP servers is tested in `tests/dispatch.rs`.)

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::ledger::{Dispatch, Writer};

/// Replies by address, in order; `Sent` once a script runs out.
#[derive(Default)]
struct Script {
    replies: Mutex<HashMap<String, Vec<Delivery>>>,
    sends: Mutex<Vec<String>>,
    refuse: Option<String>,
    stop_after: Option<(usize, watch::Sender<bool>)>,
}

/// A connection to the scripted relay.
struct Fake(Arc<Script>);

/// The relay side, sharing the script with the test.
struct Shared(Arc<Script>);

impl Relay for Shared {
    type Connection = Fake;
    async fn connect(&self) -> Result<Fake, ConnectError> {
        match &self.0.refuse {
            Some(why) => Err(ConnectError::Refused(why.clone())),
            None => Ok(Fake(self.0.clone())),
        }
    }
}

impl Connection for Fake {
    async fn send(&mut self, _from: &str, to: &str, _message: &[u8]) -> (Delivery, bool) {
        let script = &self.0;
        let count = {
            let mut sends = script.sends.lock().unwrap();
            sends.push(to.to_owned());
            sends.len()
        };
        if let Some((n, stop)) = &script.stop_after
            && count >= *n
        {
            let _ = stop.send(true);
        }
        let mut replies = script.replies.lock().unwrap();
        let next = replies
            .get_mut(to)
            .filter(|q| !q.is_empty())
            .map(|q| q.remove(0));
        let delivery = next.unwrap_or_else(|| Delivery::Sent("250 ok".into()));
        let reusable = !matches!(delivery, Delivery::Ambiguous(_));
        (delivery, reusable)
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
        content_hash: "h".into(),
        segments: "s".into(),
        started_at: 0,
        finished_at: None,
    };
    let entries = (0..n).map(|i| Entry {
        address: address(i),
        name: None,
        variant: "all".into(),
        message_id: format!("<{i}@x>"),
    });
    ledger.start(1, &dispatch, entries).unwrap();
    let (writer, handle) = Writer::start(&path).unwrap();
    let script = Arc::new(script);
    let engine = Engine {
        relay: Arc::new(Shared(script.clone())),
        ledger: path,
        volume: 1,
        from: "news@example.org".into(),
        build: Arc::new(|e: &Entry| Ok(e.address.clone().into_bytes())),
        tuning: Tuning {
            connections: 3,
            max_attempts: 3,
            retry_base: Duration::from_millis(5),
            retry_cap: Duration::from_millis(20),
        },
        limiter: Arc::new(RateLimiter::new(None, None)),
        breaker: Arc::new(Breaker::new(5)),
        stop,
        counters: Arc::new(Counters::default()),
        writer: handle,
    };
    let end = engine.run().await.unwrap();
    writer.finish().unwrap();
    (end, ledger, script, dir)
}

fn counts(ledger: &Ledger) -> HashMap<State, i64> {
    ledger.counts(1).unwrap().into_iter().collect()
}

#[tokio::test]
async fn everyone_is_sent_exactly_once() {
    let (_stop, stop) = watch::channel(false);
    let (end, ledger, script, _dir) = run(50, Script::default(), stop).await;
    assert_eq!(end, End::Finished);
    assert_eq!(counts(&ledger), HashMap::from([(State::Sent, 50)]));
    let mut sends = script.sends.lock().unwrap().clone();
    sends.sort();
    sends.dedup();
    assert_eq!(sends.len(), 50);
}

#[tokio::test]
async fn transient_failures_are_retried_then_counted() {
    let transient = || Delivery::Transient {
        reply: "451 4.3.0 later".into(),
        slow_down: false,
    };
    let script = Script::default();
    script.replies.lock().unwrap().extend([
        (address(1), vec![transient(), transient()]),
        (address(2), vec![transient(), transient(), transient()]),
        (
            address(3),
            vec![Delivery::Permanent {
                reply: "550 5.1.1 no".into(),
                hard_bounce: true,
            }],
        ),
        (
            address(4),
            vec![Delivery::Ambiguous(
                "connection lost after the final dot".into(),
            )],
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
    let sends = script.sends.lock().unwrap().len() as i64;
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
    assert_eq!(end, End::Tripped("535 5.7.8 authentication failed".into()));
    assert!(script.sends.lock().unwrap().is_empty());
    assert_eq!(counts(&ledger), HashMap::from([(State::Pending, 20)]));
}
