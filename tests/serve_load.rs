//! The audience store under load through the real binary: many `suppress add` processes and
//! one-click POSTs at once lose nothing; `serve` killed with SIGKILL in the middle of a
//! burst (while a dispatch reads the store) has every answered unsubscribe in the store
//! when it comes back; an unsubscribe posted during a dispatch stops that reader's message.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::Project;
use crate::support::serve::{Serve, one_click_path, readers};

fn suppressed(project: &Project) -> BTreeSet<String> {
    let list = project.ok(&["suppress", "list"]).stdout;
    list.lines()
        .map(|l| l.split_whitespace().next().expect("an address").to_owned())
        .collect()
}

#[test]
fn a_hundred_suppress_processes_and_a_hundred_one_clicks_at_once_lose_nothing() {
    let project = readers(100);
    project.ok(&[
        "suppress",
        "add",
        "earlier@example.org",
        "--reason",
        "complained",
    ]);
    let serve = Serve::start(&project);
    let port = serve.port;
    let mut children: Vec<_> = (0..100)
        .map(|i| {
            project
                .command(&["suppress", "add", &format!("manual{i}@example.org")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start suppress add")
        })
        .collect();
    let posts: Vec<_> = (0..100)
        .map(|i| {
            let client = crate::support::serve::Client { port };
            let path = one_click_path(&format!("reader{i}@example.org"));
            std::thread::spawn(move || client.one_click(&path))
        })
        .collect();
    for post in posts {
        assert_eq!(post.join().expect("a POST thread"), Some(200));
    }
    for child in &mut children {
        assert!(child.wait().expect("wait for suppress").success());
    }
    let list = suppressed(&project);
    assert_eq!(list.len(), 201, "every entry, and the earlier one");
    assert!(list.contains("earlier@example.org"));
    assert!((0..100).all(|i| list.contains(&format!("manual{i}@example.org"))));
    assert!((0..100).all(|i| list.contains(&format!("reader{i}@example.org"))));
}

#[test]
fn every_unsubscribe_answered_200_survives_a_sigkill_mid_burst_beside_a_dispatch() {
    const READERS: usize = 1000;
    const CLIENTS: usize = 50;
    let sink = crate::support::smtp::SmtpSink::start_draining();
    let project = crate::support::dispatching::project(sink.port, READERS, "per_second = 300\n");
    let port = crate::support::free_port();
    let serve = Serve::start_on(&project, port);
    // A dispatch reads the store before every message while the burst writes to it.
    let mut dispatch = crate::support::dispatching::spawn(&project, READERS);
    crate::support::dispatching::wait_for_sends(&mut dispatch, &sink, 1);
    let answered = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (answered, next) = (answered.clone(), next.clone());
            std::thread::spawn(move || {
                let client = crate::support::serve::Client { port };
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= READERS {
                        return;
                    }
                    let path = one_click_path(&crate::support::dispatching::reader(i));
                    if client.one_click(&path) == Some(200) {
                        answered.lock().expect("lock").push(i);
                    }
                }
            })
        })
        .collect();
    let waited = crate::support::preview::eventually(std::time::Duration::from_secs(30), || {
        answered.lock().expect("lock").len() >= READERS / 3
    });
    assert!(waited, "a third of the burst was answered");
    serve.kill();
    for client in clients {
        client.join().expect("a client thread");
    }
    let answered: BTreeSet<usize> = answered.lock().expect("lock").iter().copied().collect();
    assert!(
        answered.len() < READERS,
        "the kill came mid-burst: {}",
        answered.len()
    );
    let _again = Serve::start_on(&project, port);
    assert!(dispatch.wait().expect("wait for the dispatch").success());
    let report = crate::support::dispatching::status(&project);
    let settled = ["sent", "suppressed"].map(|s| report["counts"][s].as_u64().unwrap_or(0));
    assert_eq!(settled[0] + settled[1], READERS as u64, "{report}");
    assert_eq!(
        sink.count() as u64,
        settled[0],
        "the sink got exactly the sent ones"
    );
    let stored = suppressed(&project);
    let lost: Vec<_> = answered
        .iter()
        .filter(|i| !stored.contains(&crate::support::dispatching::reader(**i)))
        .collect();
    assert!(
        lost.is_empty(),
        "answered 200 but not in the store: {lost:?}"
    );
}

#[test]
fn an_unsubscribe_posted_while_a_dispatch_runs_stops_that_readers_message() {
    use crate::support::dispatching::{self, reader, status};
    use crate::support::smtp::SmtpSink;

    const N: usize = 40;
    let sink = SmtpSink::start();
    let project = dispatching::project(sink.port, N, "per_second = 10\n");
    let serve = Serve::start(&project);
    let mut child = dispatching::spawn(&project, N);
    dispatching::wait_for_sends(&mut child, &sink, 5);
    assert_eq!(serve.one_click(&one_click_path(&reader(N - 1))).status, 200);
    assert!(child.wait().expect("wait for dispatch").success());
    let received: BTreeSet<String> = sink
        .captured()
        .iter()
        .flat_map(|c| c.rcpt_args.clone())
        .collect();
    assert_eq!(
        received.len(),
        N - 1,
        "everyone but the reader who unsubscribed"
    );
    assert!(
        !received.iter().any(|r| r.contains(&reader(N - 1))),
        "{received:?}"
    );
    let report = status(&project);
    assert_eq!(report["counts"]["suppressed"].as_u64(), Some(1), "{report}");
}
