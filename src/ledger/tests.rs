//! Ledger tests on a real SQLite file in a temp folder.

use super::*;

fn entry(i: usize) -> anyhow::Result<Entry> {
    Ok(Entry {
        address: Address::parse(&format!("reader{i}@example.org")).unwrap(),
        name: i.is_multiple_of(2).then(|| format!("Reader {i}")),
        greeting: i.is_multiple_of(4).then(|| format!("R{i}")),
        variant: "all".to_owned(),
        message_id: format!("<{i}@scout.test>"),
    })
}

fn dispatch(segments: &str, started_at: i64) -> Dispatch {
    Dispatch {
        id: 0,
        volume: 11,
        content_hash: "abc".into(),
        segments: vec![segments.to_owned()],
        settings: "{}".into(),
        started_at,
        finished_at: None,
    }
}

fn started(n: usize) -> (tempfile::TempDir, std::path::PathBuf, Ledger, i64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/ledger.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    let (id, count) = ledger
        .start(&dispatch("subscribers", 1), (0..n).map(entry))
        .unwrap();
    assert_eq!(count, n as u64);
    (dir, path, ledger, id)
}

/// A ledger that froze volumes `volumes` for readers `readers` (see [`entry`]), one
/// dispatch a volume, every row still pending.
fn volumes_sent(
    volumes: std::ops::RangeInclusive<u32>,
    readers: std::ops::RangeInclusive<usize>,
) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("state/ledger.sqlite")).unwrap();
    for volume in volumes {
        let d = Dispatch {
            volume,
            ..dispatch("subscribers", i64::from(volume))
        };
        ledger.start(&d, readers.clone().map(entry)).unwrap();
    }
    (dir, ledger)
}

fn reply(code: u16, text: &str) -> Reply {
    Reply::with_code(code, text)
}

#[test]
fn start_freezes_every_recipient_once_across_dispatches() {
    let (_dir, _path, mut ledger, first) = started(5);
    assert_eq!(ledger.counts(first).unwrap(), vec![(State::Pending, 5)]);
    let dispatches = ledger.dispatches(11).unwrap();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].segments, vec!["subscribers".to_owned()]);
    let (second, count) = ledger
        .start(&dispatch("staff", 2), (5..8).map(entry))
        .unwrap();
    assert_eq!((second > first, count), (true, 3), "a second dispatch");
    assert_eq!(
        ledger.holder(11, "reader6@example.org").unwrap(),
        Some((second, State::Pending))
    );
    assert!(
        ledger
            .start(&dispatch("again", 3), [entry(7), entry(9)])
            .is_err(),
        "nobody is in two dispatches of a volume"
    );
    assert_eq!(ledger.dispatches(11).unwrap().len(), 2, "nothing partial");
    assert_eq!(ledger.holder(11, "reader9@example.org").unwrap(), None);
}

#[test]
fn pages_walk_in_sending_order() {
    let (_dir, _path, ledger, id) = started(25);
    let first = ledger.page(id, &[State::Pending], 0, 10).unwrap();
    let second = ledger.page(id, &[State::Pending], first[9].id, 10).unwrap();
    let third = ledger
        .page(id, &[State::Pending], second[9].id, 10)
        .unwrap();
    assert_eq!((first.len(), second.len(), third.len()), (10, 10, 5));
    assert_eq!(first[0].entry, entry(0).unwrap());
    assert_eq!(third[4].entry, entry(24).unwrap());
}

#[tokio::test]
async fn writer_records_typed_replies_and_history() {
    let (_dir, path, ledger, id) = started(3);
    let rows = ledger.page(id, &[State::Pending], 0, 10).unwrap();
    let (writer, handle) = Writer::start(&path).unwrap();
    handle
        .in_flight(rows[0].id, 10)
        .unwrap()
        .durable()
        .await
        .unwrap();
    let sent = Outcome {
        state: State::Sent,
        reply: reply(250, "2.0.0 Ok: queued"),
        next_attempt_at: None,
        attempts: 1,
    };
    handle.outcome(rows[0].id, 11, sent).unwrap();
    handle
        .in_flight(rows[1].id, 12)
        .unwrap()
        .durable()
        .await
        .unwrap();
    let deferred = Outcome {
        state: State::Deferred,
        reply: reply(451, "4.3.0 try later"),
        next_attempt_at: Some(99),
        attempts: 1,
    };
    handle.outcome(rows[1].id, 13, deferred).unwrap();
    handle
        .in_flight(rows[2].id, 14)
        .unwrap()
        .durable()
        .await
        .unwrap();
    handle.heartbeat(11, 7).await.unwrap();
    handle.checkpoint().await.unwrap();
    drop(handle);
    writer.finish().unwrap();

    let counts = ledger.counts(id).unwrap();
    assert_eq!(
        counts,
        vec![(State::InFlight, 1), (State::Sent, 1), (State::Deferred, 1)]
    );
    let (row, attempts) = ledger.history(11, "reader1@example.org").unwrap().unwrap();
    assert_eq!(
        (row.state, row.attempts, row.next_attempt_at),
        (State::Deferred, 1, Some(99))
    );
    let last = row.reply.unwrap();
    assert_eq!(
        (last.code, last.enhanced.unwrap().to_string()),
        (Some(451), "4.3.0".into())
    );
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].reply.as_ref().unwrap().text, "try later");
    assert_eq!(ledger.heartbeat(11).unwrap(), 7);
    assert_eq!(ledger.heartbeat(12).unwrap(), 0);
}

#[tokio::test]
async fn marks_asked_for_together_share_the_commit_the_first_waiter_asks_for() {
    let (_dir, path, ledger, id) = started(3);
    let rows = ledger.page(id, &[State::Pending], 0, 10).unwrap();
    let (writer, handle) = Writer::start(&path).unwrap();
    let marks: Vec<_> = rows
        .iter()
        .map(|r| handle.in_flight(r.id, 10).unwrap())
        .collect();
    let mut marks = marks.into_iter();
    marks.next().unwrap().durable().await.unwrap();
    // Durable before their senders waited: the first one's commit took them.
    assert_eq!(ledger.counts(id).unwrap(), vec![(State::InFlight, 3)]);
    for mark in marks {
        mark.durable().await.unwrap();
    }
    drop(handle);
    writer.finish().unwrap();
}

#[test]
fn rows_carry_typed_addresses_and_one_that_no_longer_parses_names_the_ledger() {
    let (_dir, _path, ledger, id) = started(2);
    let rows = ledger.in_state(id, State::Pending).unwrap();
    assert_eq!(rows[1].entry.address.domain(), "example.org");
    ledger
        .conn
        .execute(
            "UPDATE recipients SET address = 'reader1 at example.org' WHERE id = ?1",
            [rows[1].id],
        )
        .unwrap();
    let error = ledger.in_state(id, State::Pending).unwrap_err().to_string();
    assert_eq!(
        error,
        "the address `reader1 at example.org` in state/ledger.sqlite contains the character ' '"
    );
    let history = ledger.history(11, "reader1 at example.org");
    assert!(history.unwrap_err().to_string().contains(LEDGER_FILE));
}

#[test]
fn interrupted_in_flight_rows_become_ambiguous_and_requeue_counts_since() {
    let (_dir, _path, mut ledger, id) = started(3);
    ledger
        .conn
        .execute(
            "UPDATE recipients SET state = 'in_flight' WHERE address = 'reader0@example.org'",
            [],
        )
        .unwrap();
    ledger
        .conn
        .execute(
            "UPDATE recipients SET state = 'failed', updated_at = 50 WHERE address = 'reader1@example.org'",
            [],
        )
        .unwrap();
    assert_eq!(ledger.settle_interrupted(id, 5).unwrap(), 1);
    assert_eq!(
        ledger.counts(id).unwrap(),
        vec![
            (State::Pending, 1),
            (State::Failed, 1),
            (State::Ambiguous, 1)
        ]
    );
    assert_eq!(
        ledger.requeue(id, State::Failed, Some(60), 70).unwrap(),
        0,
        "failed before"
    );
    assert_eq!(ledger.requeue(id, State::Failed, Some(50), 70).unwrap(), 1);
    assert_eq!(ledger.requeue(id, State::Ambiguous, None, 71).unwrap(), 1);
    assert_eq!(ledger.counts(id).unwrap(), vec![(State::Pending, 3)]);
}

#[test]
fn a_ledger_of_the_first_format_is_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE dispatches (volume INTEGER PRIMARY KEY, content_hash TEXT NOT NULL,
                segments TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER);
             CREATE TABLE recipients (id INTEGER PRIMARY KEY, volume INTEGER NOT NULL,
                address TEXT NOT NULL, name TEXT, variant TEXT NOT NULL, message_id TEXT NOT NULL,
                state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,
                last_reply TEXT, updated_at INTEGER NOT NULL, UNIQUE (volume, address));
             CREATE INDEX recipients_by_state ON recipients (volume, state, id);
             CREATE TABLE attempts (recipient INTEGER NOT NULL, at INTEGER NOT NULL,
                state TEXT NOT NULL, reply TEXT);
             CREATE INDEX attempts_by_recipient ON attempts (recipient);
             INSERT INTO dispatches VALUES (11, 'h', 'subscribers', 5, NULL);
             INSERT INTO recipients VALUES (1, 11, 'a@example.org', 'Ana', 'all', '<1@x>',
                'failed', 1, NULL, '550 5.1.1 no such user', 6);
             INSERT INTO recipients VALUES (2, 11, 'b@example.org', NULL, 'all', '<2@x>',
                'deferred', 1, 9, 'connecting to relay:25: no answer within 5 s', 6);
             INSERT INTO attempts VALUES (1, 6, 'failed', '550 5.1.1 no such user');",
        )
        .unwrap();
    }
    let ledger = Ledger::open(&path).unwrap();
    let dispatches = ledger.dispatches(11).unwrap();
    assert_eq!(dispatches.len(), 1);
    assert_eq!((dispatches[0].id, dispatches[0].started_at), (11, 5));
    let (row, attempts) = ledger.history(11, "a@example.org").unwrap().unwrap();
    assert!(row.reply.as_ref().unwrap().is_hard_bounce());
    assert_eq!(row.entry.name.as_deref(), Some("Ana"));
    assert_eq!(attempts[0].reply.as_ref().unwrap().code, Some(550));
    let (row, _) = ledger.history(11, "b@example.org").unwrap().unwrap();
    assert_eq!(row.reply.unwrap().code, None, "no reply came");
    drop(ledger);
    let again = Ledger::open(&path).unwrap();
    assert_eq!(
        again.counts(11).unwrap().len(),
        2,
        "opened again: unchanged"
    );
}

#[test]
fn read_only_opening_needs_no_write_access() {
    let (_dir, path, ledger, _id) = started(2);
    ledger.checkpoint(true).unwrap();
    drop(ledger);
    let reader = Ledger::open_read_only(&path).unwrap().expect("it exists");
    assert_eq!(reader.dispatches(11).unwrap().len(), 1);
    assert!(
        Ledger::open_read_only(&path.with_file_name("none.sqlite"))
            .unwrap()
            .is_none()
    );
}

#[cfg(unix)]
#[test]
fn ledger_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path, _ledger, _id) = started(1);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn returns_are_kept_once_and_a_run_of_soft_bounces_ends_at_a_delivery() {
    let (_dir, ledger) = volumes_sent(11..=14, 1..=2);
    ledger
        .conn
        .execute("UPDATE recipients SET state = 'sent'", [])
        .unwrap();
    let soft = |report: &str| Return {
        kind: Returned::Bounce,
        report: report.to_owned(),
        status: Some("4.2.2".to_owned()),
        permanent: false,
        diagnostic: Some("mailbox full".to_owned()),
        at: 5,
        reason: crate::status::Reason::MailboxFull,
        class: crate::status::Class::Soft,
    };
    let ana = "reader1@example.org";
    assert_eq!(ledger.soft_bounce_run(ana, None).unwrap(), Some(0));
    assert_eq!(
        ledger.soft_bounce_run("nobody@example.org", None).unwrap(),
        None
    );
    assert!(ledger.record_return(12, ana, &soft("<r12>")).unwrap());
    assert!(
        !ledger.record_return(12, ana, &soft("<r12>")).unwrap(),
        "a report is kept once"
    );
    assert!(
        !ledger.record_return(15, ana, &soft("<r15>")).unwrap(),
        "no row: nothing kept"
    );
    assert_eq!(ledger.soft_bounce_run(ana, None).unwrap(), Some(1));
    ledger.record_return(14, ana, &soft("<r14>")).unwrap();
    assert_eq!(
        ledger.soft_bounce_run(ana, None).unwrap(),
        Some(1),
        "volume 13 was delivered between 12 and 14"
    );
    ledger.record_return(13, ana, &soft("<r13>")).unwrap();
    assert_eq!(
        ledger.soft_bounce_run(ana, None).unwrap(),
        Some(3),
        "14, 13, 12"
    );
    let returns = ledger.returns(12).unwrap();
    assert_eq!(returns, vec![(Address::parse(ana).unwrap(), soft("<r12>"))]);
    let (row, _) = ledger.history(14, ana).unwrap().unwrap();
    assert_eq!(ledger.returns_of(row.id).unwrap(), vec![soft("<r14>")]);
    let (other, _) = ledger.history(14, "reader2@example.org").unwrap().unwrap();
    assert!(ledger.returns_of(other.id).unwrap().is_empty());
}

#[test]
fn a_version_2_ledger_is_read_as_is_and_gains_returns_when_written() {
    let (_dir, path, ledger, _id) = started(2);
    ledger
        .conn
        .execute_batch("DROP TABLE returns; PRAGMA user_version = 2;")
        .unwrap();
    ledger.checkpoint(true).unwrap();
    drop(ledger);
    let reader = Ledger::open_read_only(&path).unwrap().expect("it exists");
    assert!(
        reader.returns(11).unwrap().is_empty(),
        "no table, no returns"
    );
    drop(reader);
    let writer = Ledger::open(&path).unwrap();
    let r = Return {
        kind: Returned::Complaint,
        report: "<arf@x>".to_owned(),
        status: None,
        permanent: false,
        diagnostic: None,
        at: 1,
        reason: crate::status::Reason::Complaint,
        class: crate::status::Class::Complaint,
    };
    assert!(writer.record_return(11, "reader0@example.org", &r).unwrap());
    assert_eq!(writer.returns(11).unwrap().len(), 1);
}

#[test]
fn a_version_3_ledger_gains_reasons_and_reads_its_old_returns_by_their_words() {
    let (_dir, path, ledger, _id) = started(2);
    ledger
        .conn
        .execute_batch(
            "DROP TABLE returns;
             CREATE TABLE returns (recipient INTEGER NOT NULL, report TEXT NOT NULL,
                 kind TEXT NOT NULL, status TEXT, permanent INTEGER NOT NULL, diagnostic TEXT,
                 at INTEGER NOT NULL, UNIQUE (recipient, report));
             INSERT INTO returns SELECT id, '<old>', 'bounce', '5.1.1', 0,
                 'smtp; 550 5.1.1 <news@example.org>: Sender address rejected', 1
                 FROM recipients WHERE address = 'reader0@example.org';
             PRAGMA user_version = 3;",
        )
        .unwrap();
    ledger.checkpoint(true).unwrap();
    drop(ledger);
    let reader = Ledger::open_read_only(&path).unwrap().expect("it exists");
    let (_, old) = &reader.returns(11).unwrap()[0];
    assert_eq!(
        (old.reason, old.class),
        (
            crate::status::Reason::SenderRefused,
            crate::status::Class::Sender
        ),
        "read again from its words"
    );
    drop(reader);
    let writer = Ledger::open(&path).unwrap();
    assert_eq!(
        writer.returns(11).unwrap().len(),
        1,
        "kept through the migration"
    );
    let stored: String = writer
        .conn
        .query_row("SELECT class FROM returns", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "sender", "classified once, when migrated");
    writer
        .conn
        .execute("UPDATE recipients SET state = 'sent'", [])
        .unwrap();
    assert_eq!(
        writer.soft_bounce_run("reader0@example.org", None).unwrap(),
        Some(0),
        "a refusal of our sender is no soft bounce of the reader's"
    );
}

#[test]
fn lookups_in_a_snapshot_see_the_ledger_as_it_was_when_it_began() {
    let (_dir, path, mut writer, first) = started(2);
    let reader = Ledger::open_read_only(&path).unwrap().unwrap();
    let snapshot = reader.snapshot().unwrap();
    assert_eq!(
        reader.holder(11, "reader1@example.org").unwrap(),
        Some((first, State::Pending))
    );
    let (second, _) = writer
        .start(&dispatch("staff", 2), (2..3).map(entry))
        .unwrap();
    assert_eq!(
        reader.holder(11, "reader2@example.org").unwrap(),
        None,
        "a dispatch frozen after the snapshot began"
    );
    drop(snapshot);
    assert_eq!(
        reader.holder(11, "reader2@example.org").unwrap(),
        Some((second, State::Pending))
    );
}

#[test]
fn a_soft_refusal_during_a_send_counts_in_the_run_and_one_of_ours_is_passed_over() {
    let (_dir, ledger) = volumes_sent(11..=15, 1..=1);
    let settle = |volume: u32, state: &str, reply: Option<Reply>| {
        let (code, status, text) = schema::columns(reply.as_ref());
        ledger
            .conn
            .execute(
                "UPDATE recipients SET state = ?1, reply_code = ?2, reply_status = ?3,
                 reply_text = ?4 WHERE volume = ?5",
                rusqlite::params![state, code, status, text, volume],
            )
            .unwrap();
    };
    let ana = "reader1@example.org";
    let unavailable = || {
        Some(reply(
            550,
            "Requested action not taken: mailbox unavailable",
        ))
    };
    settle(11, "failed", unavailable());
    assert_eq!(ledger.soft_bounce_run(ana, None).unwrap(), Some(1));
    settle(
        12,
        "failed",
        Some(reply(554, "5.7.1 blocked using zen.spamhaus.org")),
    );
    assert_eq!(
        ledger.soft_bounce_run(ana, None).unwrap(),
        Some(1),
        "our IP's refusal says nothing of the reader: neither counted nor a delivery"
    );
    settle(13, "failed", Some(reply(552, "5.2.2 Mailbox full")));
    assert_eq!(
        ledger.soft_bounce_run(ana, None).unwrap(),
        Some(2),
        "13 and 11"
    );
    settle(14, "sent", None);
    assert_eq!(
        ledger.soft_bounce_run(ana, None).unwrap(),
        Some(2),
        "14 was accepted and nothing came back yet: it may still bounce"
    );
    settle(15, "failed", unavailable());
    assert_eq!(
        ledger.soft_bounce_run(ana, None).unwrap(),
        Some(1),
        "14 was delivered between 13 and 15"
    );
}

#[test]
fn the_soft_run_ends_where_the_reader_came_back_from_the_list() {
    let (_dir, ledger) = volumes_sent(11..=14, 1..=1);
    let full = reply(552, "5.2.2 Mailbox full");
    let (code, status, text) = schema::columns(Some(&full));
    ledger
        .conn
        .execute(
            "UPDATE recipients SET state = 'failed', reply_code = ?1, reply_status = ?2,
             reply_text = ?3, updated_at = volume * 1000 + 500",
            rusqlite::params![code, status, text],
        )
        .unwrap();
    let ana = "reader1@example.org";
    assert_eq!(ledger.soft_bounce_run(ana, None).unwrap(), Some(4));
    assert_eq!(
        ledger
            .soft_bounce_run(ana, Some(crate::clock::Timestamp(12)))
            .unwrap(),
        Some(2),
        "back in the second of 12: 14 and 13 count"
    );
    assert_eq!(
        ledger
            .soft_bounce_run(ana, Some(crate::clock::Timestamp(20)))
            .unwrap(),
        Some(0),
        "back after every failure: none counts"
    );
}

#[test]
fn the_soft_run_searches_each_volume_for_the_address_and_scans_no_row() {
    let (_dir, _path, ledger, _id) = started(3);
    let mut stmt = ledger
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", returns::SOFT_RUN))
        .unwrap();
    let plan: Vec<String> = stmt
        .query_map(["reader1@example.org"], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("SEARCH r USING INDEX"), "{plan}");
    assert!(!plan.contains("SCAN r"), "{plan}");
}

#[test]
fn a_version_4_ledger_gains_the_index_that_finds_a_message_id() {
    let (_dir, path, ledger, _id) = started(3);
    ledger
        .conn
        .execute_batch("DROP INDEX recipients_by_message_id; PRAGMA user_version = 4;")
        .unwrap();
    drop(ledger);
    let writer = Ledger::open(&path).unwrap();
    let plan: String = writer
        .conn
        .query_row(
            &format!("EXPLAIN QUERY PLAN {}", lookup::SENT_AS),
            ["<1@scout.test>"],
            |r| r.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("USING INDEX recipients_by_message_id"),
        "{plan}"
    );
    let set = |state: &str| {
        writer
            .conn
            .execute(
                "UPDATE recipients SET state = ?1 WHERE message_id = '<1@scout.test>'",
                [state],
            )
            .unwrap();
        writer.sent_as("<1@scout.test>").unwrap()
    };
    let reader1 = Some((Address::parse("reader1@example.org").unwrap(), 11));
    for (state, found) in [
        ("pending", None),
        ("deferred", None),
        ("failed", None),
        ("suppressed", None),
        ("sent", reader1.clone()),
        ("ambiguous", reader1),
    ] {
        assert_eq!(set(state), found, "a {state} row");
    }
}

#[test]
fn sent_messages_are_counted_in_the_hour_their_rows_were_settled() {
    const HOUR: i64 = 3_600_000;
    let (_dir, _path, ledger, id) = started(7);
    let settled = [
        ("sent", 5 * HOUR),
        ("sent", 6 * HOUR - 1),
        ("sent", 6 * HOUR),
        ("sent", 8 * HOUR + 10),
        // Before 1970 the hour is still the one the moment falls in, as `div_euclid` says.
        ("sent", -1),
        ("failed", 6 * HOUR + 5),
        ("deferred", 7 * HOUR),
    ];
    for (i, (state, at)) in settled.iter().enumerate() {
        ledger
            .conn
            .execute(
                "UPDATE recipients SET state = ?1, updated_at = ?2 WHERE address = ?3",
                params![state, at, format!("reader{i}@example.org")],
            )
            .unwrap();
    }
    let from_rows = {
        let mut hours = std::collections::BTreeMap::new();
        for row in ledger.in_state(id, State::Sent).unwrap() {
            *hours.entry(row.updated_at.div_euclid(HOUR)).or_insert(0u64) += 1;
        }
        hours.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(from_rows, vec![(-1, 1), (5, 2), (6, 1), (8, 1)]);
    assert_eq!(ledger.sent_per_hour(id).unwrap(), from_rows);
}
