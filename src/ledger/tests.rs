//! Ledger tests on a real SQLite file in a temp folder.

use super::*;

fn entry(i: usize) -> Entry {
    Entry {
        address: format!("reader{i}@example.org"),
        name: i.is_multiple_of(2).then(|| format!("Reader {i}")),
        variant: "all".to_owned(),
        message_id: format!("<{i}@scout.test>"),
    }
}

fn started(n: usize) -> (tempfile::TempDir, std::path::PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/ledger.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    let dispatch = Dispatch {
        content_hash: "abc".into(),
        segments: "subscribers".into(),
        started_at: 1,
        finished_at: None,
    };
    assert_eq!(
        ledger.start(11, &dispatch, (0..n).map(entry)).unwrap(),
        n as u64
    );
    (dir, path, ledger)
}

#[test]
fn start_freezes_every_recipient_once() {
    let (_dir, _path, mut ledger) = started(5);
    assert_eq!(ledger.counts(11).unwrap(), vec![(State::Pending, 5)]);
    assert_eq!(ledger.dispatch(11).unwrap().unwrap().content_hash, "abc");
    let again = Dispatch {
        content_hash: "other".into(),
        segments: String::new(),
        started_at: 2,
        finished_at: None,
    };
    assert!(
        ledger.start(11, &again, [entry(9)]).is_err(),
        "one dispatch per volume"
    );
    assert_eq!(
        ledger.counts(11).unwrap(),
        vec![(State::Pending, 5)],
        "nothing partial"
    );
}

#[test]
fn pages_walk_in_sending_order() {
    let (_dir, _path, ledger) = started(25);
    let first = ledger.page(11, &[State::Pending], 0, 10).unwrap();
    let second = ledger.page(11, &[State::Pending], first[9].id, 10).unwrap();
    let third = ledger
        .page(11, &[State::Pending], second[9].id, 10)
        .unwrap();
    assert_eq!((first.len(), second.len(), third.len()), (10, 10, 5));
    assert_eq!(first[0].entry, entry(0));
    assert_eq!(third[4].entry, entry(24));
}

#[tokio::test]
async fn writer_records_states_and_history() {
    let (_dir, path, ledger) = started(3);
    let rows = ledger.page(11, &[State::Pending], 0, 10).unwrap();
    let (writer, handle) = Writer::start(&path).unwrap();
    handle.in_flight(rows[0].id, 10).await.unwrap();
    let sent = Outcome {
        state: State::Sent,
        reply: "250 2.0.0 Ok: queued",
        next_attempt_at: None,
        attempts: 1,
    };
    handle.outcome(rows[0].id, 11, sent).unwrap();
    handle.in_flight(rows[1].id, 12).await.unwrap();
    let deferred = Outcome {
        state: State::Deferred,
        reply: "451 4.3.0 try later",
        next_attempt_at: Some(99),
        attempts: 1,
    };
    handle.outcome(rows[1].id, 13, deferred).unwrap();
    handle.in_flight(rows[2].id, 14).await.unwrap();
    handle.flush().await.unwrap();
    drop(handle);
    writer.finish().unwrap();

    let counts = ledger.counts(11).unwrap();
    assert_eq!(
        counts,
        vec![(State::InFlight, 1), (State::Sent, 1), (State::Deferred, 1)]
    );
    let (row, attempts) = ledger.history(11, "reader1@example.org").unwrap().unwrap();
    assert_eq!(
        (row.state, row.attempts, row.next_attempt_at),
        (State::Deferred, 1, Some(99))
    );
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].reply.as_deref(), Some("451 4.3.0 try later"));
}

#[test]
fn interrupted_in_flight_rows_become_ambiguous() {
    let (_dir, _path, mut ledger) = started(2);
    ledger
        .conn
        .execute(
            "UPDATE recipients SET state = 'in_flight' WHERE address = 'reader0@example.org'",
            [],
        )
        .unwrap();
    assert_eq!(ledger.settle_interrupted(11, 5).unwrap(), 1);
    assert_eq!(
        ledger.counts(11).unwrap(),
        vec![(State::Pending, 1), (State::Ambiguous, 1)]
    );
    assert_eq!(ledger.requeue(11, State::Ambiguous, 6).unwrap(), 1);
    assert_eq!(ledger.counts(11).unwrap(), vec![(State::Pending, 2)]);
}

#[cfg(unix)]
#[test]
fn ledger_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path, _ledger) = started(1);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
