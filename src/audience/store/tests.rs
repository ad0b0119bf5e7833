//! The store on a temporary project: suppressions and their sources, references that make
//! re-imports no-ops, sign-up and confirmation, the CSV migration, and concurrent writers.

use super::*;
use crate::audience::{Address, Reason};
use crate::clock::Timestamp;

fn ana() -> Address {
    Address::parse("Ana@Example.org").unwrap()
}

const NOW: Timestamp = Timestamp(1_796_000_000);

#[test]
fn suppressions_keep_reason_source_and_reference() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let add = |store: &mut Store, reason, source, reference| {
        store
            .write(|tx| tx.suppress(&ana(), reason, source, reference, NOW))
            .unwrap()
    };
    assert_eq!(
        add(&mut store, Reason::Unsubscribed, Source::OneClick, None),
        Suppressed::Added
    );
    let again = add(&mut store, Reason::Unsubscribed, Source::OneClick, None);
    assert_eq!(again, Suppressed::Kept(Reason::Unsubscribed));
    let bounce = add(
        &mut store,
        Reason::Bounced,
        Source::Bounce,
        Some("<r1@relay>"),
    );
    assert_eq!(bounce, Suppressed::Replaced(Reason::Unsubscribed));
    let lower = add(&mut store, Reason::Unsubscribed, Source::Page, None);
    assert_eq!(lower, Suppressed::Kept(Reason::Bounced));
    let found = store
        .suppression(&Address::parse("ana@EXAMPLE.org").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.reason, found.source),
        (Reason::Bounced, Source::Bounce)
    );
    assert_eq!(found.reference.as_deref(), Some("<r1@relay>"));
    // Resubscribing lifts only an unsubscribe; a bounce stays.
    let lifted = store
        .write(|tx| tx.unsuppress(&ana(), Some(Reason::Unsubscribed), Source::Page, NOW))
        .unwrap();
    assert!(lifted.is_none());
    store
        .write(|tx| tx.unsuppress(&ana(), None, Source::Suppress, NOW))
        .unwrap()
        .unwrap();
    // The same report imported again changes nothing, even after a removal.
    let replay = add(
        &mut store,
        Reason::Bounced,
        Source::Bounce,
        Some("<r1@relay>"),
    );
    assert_eq!(replay, Suppressed::Kept(Reason::Bounced));
    assert!(store.suppression(&ana()).unwrap().is_none());
    let history = store.history(&ana()).unwrap();
    let changes: Vec<&str> = history.iter().map(|e| e.change.as_str()).collect();
    assert_eq!(
        changes,
        [
            "suppressed (unsubscribed)",
            "suppressed (bounced)",
            "no longer suppressed (was bounced)"
        ]
    );
    let tamper = store.conn.execute("DELETE FROM events", []);
    assert!(tamper.is_err(), "the history is append-only");
}

#[test]
fn a_confirmed_signup_joins_with_its_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let pending = Pending {
        address: ana(),
        name: Some("Ana".to_owned()),
        topics: vec!["chips".to_owned()],
        segment: "subscribers".to_owned(),
        requested_at: NOW,
    };
    let first = store.write(|tx| tx.request_signup(&pending, NOW)).unwrap();
    assert!(first.mail);
    let later = Timestamp(NOW.0 + 60);
    let second = store
        .write(|tx| tx.request_signup(&pending, later))
        .unwrap();
    assert_eq!(
        (second.id.as_str(), second.mail),
        (first.id.as_str(), false)
    );
    assert!(store.snapshot().unwrap().readers.is_empty());
    let hour = Timestamp(later.0 + 3600);
    assert!(
        store
            .write(|tx| tx.request_signup(&pending, hour))
            .unwrap()
            .mail
    );
    let confirmed = store.write(|tx| tx.confirm(&first.id, hour)).unwrap();
    assert_eq!(confirmed.unwrap().address, ana());
    assert!(
        store
            .write(|tx| tx.confirm(&first.id, hour))
            .unwrap()
            .is_none()
    );
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.readers.len(), 1);
    assert_eq!(snapshot.readers[0].segment, "subscribers");
    assert_eq!(snapshot.topics[0].topics, ["chips"]);
}

#[test]
fn the_old_csv_moves_in_once_and_read_only_opens_work() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let csv = "email,reason,since\nbo@example.org,complained,2024-05-09\n";
    std::fs::write(state.join("suppressions.csv"), csv).unwrap();
    assert!(Store::open_read_only(dir.path()).unwrap().is_none());
    let before = Snapshot::load(dir.path()).unwrap();
    assert_eq!(before.suppressions.iter().count(), 1, "read from the CSV");
    drop(Store::open(dir.path()).unwrap());
    assert!(!state.join("suppressions.csv").exists());
    drop(Store::open(dir.path()).unwrap());
    let store = Store::open_read_only(dir.path()).unwrap().unwrap();
    let bo = store
        .suppression(&Address::parse("bo@example.org").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (bo.reason, bo.source),
        (Reason::Complained, Source::Migration)
    );
    assert_eq!(bo.since.to_string(), "2024-05-09");
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let root = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut store = Store::open(&root).unwrap();
                for i in 0..25 {
                    let a = Address::parse(&format!("r{t}-{i}@example.org")).unwrap();
                    store
                        .write(|tx| tx.suppress(&a, Reason::Unsubscribed, Source::Page, None, NOW))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open_read_only(dir.path()).unwrap().unwrap();
    assert_eq!(store.snapshot().unwrap().suppressions.iter().count(), 200);
}

#[test]
fn a_pending_signup_keeps_its_first_request_until_it_goes_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let asked = |name: &str, topic: &str, at: i64| Pending {
        address: ana(),
        name: Some(name.to_owned()),
        topics: vec![topic.to_owned()],
        segment: "subscribers".to_owned(),
        requested_at: Timestamp(at),
    };
    let first = asked("Ana", "chips", NOW.0);
    let id = store.write(|tx| tx.request_signup(&first, NOW)).unwrap().id;
    let hour = NOW.0 + 3600;
    let again = store
        .write(|tx| tx.request_signup(&asked("Someone else", "ai", hour), Timestamp(hour)))
        .unwrap();
    assert_eq!((again.id.as_str(), again.mail), (id.as_str(), true));
    assert_eq!(
        store.signup(&id).unwrap(),
        Some(first),
        "the first request is kept"
    );
    let stale = NOW.0 + SIGNUP_HOURS * 3600;
    let late = asked("Ana Lima", "ai", stale);
    store
        .write(|tx| tx.request_signup(&late, Timestamp(stale)))
        .unwrap();
    assert_eq!(
        store.signup(&id).unwrap(),
        Some(late),
        "a stale one is replaced"
    );
}

#[test]
fn a_store_made_before_suppressions_kept_their_report_reason_gains_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store
        .write(|tx| tx.suppress(&ana(), Reason::Bounced, Source::Bounce, None, NOW))
        .unwrap();
    store
        .conn
        .execute_batch("ALTER TABLE suppressions DROP COLUMN detail")
        .unwrap();
    drop(store);
    let old = Store::open_read_only(dir.path()).unwrap().expect("a store");
    let found = old.suppression(&ana()).unwrap().expect("suppressed");
    assert_eq!((found.reason, found.detail), (Reason::Bounced, None));
    drop(old);
    let mut store = Store::open(dir.path()).unwrap();
    let gone = crate::status::Reason::UserUnknown;
    let bob = Address::parse("bob@example.org").unwrap();
    store
        .write(|tx| tx.suppress_for(&bob, Reason::Bounced, Some(gone), Source::Bounce, None, NOW))
        .unwrap();
    assert_eq!(store.suppression(&bob).unwrap().unwrap().detail, Some(gone));
    let history = store.history(&bob).unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.change == "suppressed (bounced: user-unknown)"),
        "{history:?}"
    );
}

#[test]
fn unsubscribes_are_counted_by_the_volume_and_channel_that_brought_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let reader = |n: u32| Address::parse(&format!("r{n}@example.org")).unwrap();
    let channels = [
        (Source::OneClick, Some(12)),
        (Source::Page, Some(12)),
        (Source::Page, Some(12)),
        (Source::Preferences, Some(12)),
        (Source::Mailto, Some(11)),
        (Source::OneClick, None),
    ];
    for (n, (source, volume)) in (0..).zip(channels) {
        store
            .write(|tx| {
                tx.from_volume(volume, |tx| {
                    tx.suppress(&reader(n), Reason::Unsubscribed, source, None, NOW)
                })
            })
            .unwrap();
    }
    // A topic change through volume 12 is tied to it but is no unsubscribe.
    store
        .write(|tx| {
            tx.from_volume(Some(12), |tx| {
                tx.set_topics(&reader(9), &[], Source::Preferences, NOW)
            })
        })
        .unwrap();
    let everyone = |_: &str| Ok(true);
    let twelve = store.unsubscribes(12, &everyone).unwrap();
    let expected = Unsubscribes {
        one_click: 1,
        page: 2,
        preferences: 1,
        mailto: 0,
    };
    assert_eq!(twelve, expected);
    assert_eq!(twelve.total(), 4);
    assert_eq!(store.unsubscribes(11, &everyone).unwrap().mailto, 1);
    assert_eq!(
        store.unsubscribes(13, &everyone).unwrap(),
        Unsubscribes::default()
    );
    // A link names its volume in the clear: the count keeps only the readers it went to.
    let asked = std::cell::RefCell::new(Vec::new());
    let not_r1 = |address: &str| {
        asked.borrow_mut().push(address.to_owned());
        Ok(address != reader(1).as_str())
    };
    let twelve = store.unsubscribes(12, &not_r1).unwrap();
    assert_eq!(twelve.page, 1, "{twelve:?}");
    assert_eq!(twelve.total(), 3);
    let mut asked = asked.into_inner();
    asked.sort();
    assert_eq!(
        asked,
        [
            "r0@example.org",
            "r1@example.org",
            "r2@example.org",
            "r3@example.org"
        ],
        "each unsubscribe tied to volume 12 is checked, by its address"
    );
}
