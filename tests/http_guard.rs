//! The guard layer that `serve` and `preview` share, over raw TCP: Host (one, known),
//! origin-form targets only, methods, body size, security headers, Origin on forms, and
//! timeouts that close idle and half-sent connections so they cannot stop either server.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::preview::Preview;
use crate::support::serve::{Serve, parse};

/// Opens `n` connections to `port` that each send `start` and then nothing more.
fn stalled(port: u16, n: usize, start: &str) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.write_all(start.as_bytes()).expect("send the start");
            s
        })
        .collect()
}

/// How many of `streams` the server has closed, waiting up to `limit` for all of them.
fn closed_within(streams: &mut [TcpStream], limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    let mut open: Vec<usize> = (0..streams.len()).collect();
    while !open.is_empty() && Instant::now() < deadline {
        open.retain(|&i| {
            let s = &mut streams[i];
            s.set_read_timeout(Some(Duration::from_millis(1)))
                .expect("timeout");
            let mut buf = [0; 512];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return false,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return true,
                    Err(_) => return false,
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200));
    }
    streams.len() - open.len()
}

fn answer(port: u16, request: &str) -> crate::support::serve::Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).expect("read");
    parse(&bytes)
}

#[test]
fn serve_refuses_foreign_hosts_targets_methods_origins_and_large_bodies() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let port = serve.port;
    let get = |host_lines: &str, target: &str| {
        answer(
            port,
            &format!("GET {target} HTTP/1.1\r\n{host_lines}Connection: close\r\n\r\n"),
        )
        .status
    };
    assert_eq!(
        get("Host: scout.eto.tech\r\n", "/healthz"),
        200,
        "public_url's host"
    );
    assert_eq!(get(&format!("Host: localhost:{port}\r\n"), "/healthz"), 200);
    assert_eq!(get("Host: evil.example\r\n", "/healthz"), 421);
    assert_eq!(
        get("Host: localhost\r\nHost: evil.example\r\n", "/healthz"),
        421,
        "two Hosts"
    );
    assert_eq!(get("", "/healthz"), 421, "no Host");
    assert_eq!(
        get("Host: localhost\r\n", "http://evil.example/healthz"),
        400,
        "absolute form"
    );
    assert_eq!(serve.request("PUT", "/subscribe", &[], "").status, 405);
    let page = serve.get("/subscribe");
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("script"),
        "{csp}"
    );
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(!page.body.contains("<script"), "pages need no JavaScript");
    let form = "email=a%40example.org";
    let foreign = [("Origin", "https://evil.example")];
    assert_eq!(
        serve.request("POST", "/subscribe", &foreign, form).status,
        403
    );
    assert_eq!(
        serve.request("POST", "/subscribe", &[], form).status,
        403,
        "no Origin"
    );
    let referer = format!("http://127.0.0.1:{port}/subscribe");
    let referred = serve.request("POST", "/subscribe", &[("Referer", &referer)], form);
    assert_eq!(referred.status, 303, "a Referer from our own page will do");
    let cross = [("Origin", "null"), ("Sec-Fetch-Site", "cross-site")];
    assert_eq!(
        serve.request("POST", "/subscribe", &cross, form).status,
        403
    );
    let same = [("Origin", "null"), ("Sec-Fetch-Site", "same-origin")];
    assert_eq!(
        serve.request("POST", "/subscribe", &same, form).status,
        303,
        "no-referrer pages"
    );
    let public = [("Origin", "https://scout.eto.tech")];
    assert_eq!(
        serve.request("POST", "/subscribe", &public, form).status,
        303
    );
    let big = format!("email=a%40example.org&name={}", "x".repeat(17 * 1024));
    assert_eq!(serve.form("/subscribe", &big).status, 413);
    let chunked = format!(
        "POST /subscribe HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4400\r\n{}\r\n0\r\n\r\n",
        "x".repeat(0x4400)
    );
    assert_eq!(
        answer(port, &chunked).status,
        413,
        "a chunked body without a length"
    );
}

/// A form POST of `body` to `path` as a browser behind the proxy sends it: `Host` is
/// public_url's, with `headers`.
fn posted(port: u16, path: &str, headers: &str, body: &str) -> crate::support::serve::Answer {
    answer(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: scout.eto.tech\r\n{headers}\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn page_forms_from_browsers_without_fetch_metadata_are_heard() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let token = crate::support::serve::token("ana.lima@example.org");
    let (unsubscribe, preferences) = (
        format!("/unsubscribe/{token}"),
        format!("/preferences/{token}"),
    );
    // Safari before 16.4 and in-app browsers send no Sec-Fetch-Site. Our pages' referrer
    // policy (same-origin) lets them send the page's real Origin with its forms.
    let ours = "Origin: https://scout.eto.tech\r\n";
    let saved = posted(serve.port, &preferences, ours, "topics=chips&action=save");
    assert_eq!(saved.status, 303, "{saved:?}");
    // The preferences form keeps its protection: an opaque or foreign Origin is refused.
    for foreign in ["Origin: null\r\n", "Origin: https://evil.example\r\n"] {
        let refused = posted(serve.port, &preferences, foreign, "action=unsubscribe");
        assert_eq!(refused.status, 403, "{foreign:?}");
    }
    assert_eq!(project.ok(&["suppress", "list"]).stdout, "");
    // The unsubscribe button can only unsubscribe the token's reader: the token is all it
    // needs, whatever the browser says of the page it came from.
    let left = posted(serve.port, &unsubscribe, "Origin: null\r\n", "confirm=yes");
    assert_eq!(
        (left.status, left.header("location")),
        (303, Some(unsubscribe.as_str())),
        "{left:?}"
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("ana.lima@example.org  unsubscribed  page  "),
        "{list}"
    );
}

#[test]
fn serve_takes_its_host_with_the_default_port_or_a_trailing_dot_and_no_other() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let get = |host: &str| {
        answer(
            serve.port,
            &format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .status
    };
    // RFC 9110 §4.2.2 and §7.2: the same origin as `scout.eto.tech`.
    for same in [
        "scout.eto.tech:443",
        "scout.eto.tech.",
        "Scout.Eto.Tech.:443",
        "scout.eto.tech:",
    ] {
        assert_eq!(get(same), 200, "{same}");
    }
    for other in [
        "scout.eto.tech:8443",
        "scout.eto.tech:80",
        "scout.eto.tech..",
        "scout.eto.tech.evil.example",
        "eto.tech",
        "scout.eto.tech:443:443",
    ] {
        assert_eq!(get(other), 421, "{other}");
    }
    let path = crate::support::serve::one_click_path("ana.lima@example.org");
    let one_click = answer(
        serve.port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: scout.eto.tech:443\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\
             Connection: close\r\n\r\nList-Unsubscribe=One-Click"
        ),
    );
    assert_eq!(one_click.status, 200, "{one_click:?}");
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("ana.lima@example.org  unsubscribed  one-click"),
        "{list}"
    );
}

#[test]
fn serve_answers_while_200_clients_idle_or_dribble_and_then_closes_them() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let mut idle = stalled(serve.port, 100, "");
    idle.extend(stalled(
        serve.port,
        100,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\n",
    ));
    let started = Instant::now();
    assert_eq!(serve.get("/healthz").status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let closed = closed_within(&mut idle, Duration::from_secs(20));
    assert_eq!(
        closed, 200,
        "the header-read timeout closes idle and slow clients"
    );
    assert_eq!(serve.get("/healthz").status, 200);
}

#[test]
fn serve_raises_its_open_files_limit_and_keeps_descriptors_for_its_own_files() {
    let project = crate::support::serve::readers(1);
    // A service manager's limits: a soft 128 of a hard 256.
    let serve = Serve::start_with_open_files(&project, 128, 256);
    let proc = format!("/proc/{}", serve.pid());
    let limits = std::fs::read_to_string(format!("{proc}/limits")).expect("read the limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("the open files line");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words[3..5],
        ["256", "256"],
        "raised to the hard limit: {line}"
    );
    // 400 clients each hold a connection open: serve takes them up to its cap, which
    // leaves room under the limit for its own files; the others wait in the backlog.
    let held = stalled(serve.port, 400, "");
    let mut most = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        let open = std::fs::read_dir(format!("{proc}/fd")).expect("list the descriptors");
        most = most.max(open.count());
    }
    assert!((150..=256 - 32).contains(&most), "{most} descriptors open");
    drop(held);
    let path = crate::support::serve::one_click_path("reader0@example.org");
    assert_eq!(serve.one_click(&path).status, 200);
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("reader0@example.org  unsubscribed"),
        "{list}"
    );
}

#[test]
fn serve_refuses_an_address_in_use() {
    let project = with_recipients();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let mut command = project.command(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
    command.env(
        "BROADSHEET_UNSUBSCRIBE_SECRET",
        crate::support::dispatching::SECRET,
    );
    let run = crate::support::Run::from(command.output().expect("run serve"));
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
}

#[test]
fn preview_passes_the_same_guard() {
    let project = Project::sample();
    let preview = Preview::start(&project, "volumes/011.toml");
    let port = preview.port;
    let two = format!(
        "GET / HTTP/1.1\r\nHost: localhost:{port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        preview.raw(&two).0,
        421,
        "two Host headers, localhost first"
    );
    let absolute = format!(
        "GET http://evil.example/ HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(preview.raw(&absolute).0, 400, "an absolute-form target");
    let page = answer(
        port,
        &format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    let mut half_open = stalled(port, 3000, "GET / HTTP/1.1\r\nHost: localhost\r\n");
    assert_eq!(preview.get("/email.txt").0, 200, "still serving");
    assert_eq!(closed_within(&mut half_open, Duration::from_secs(25)), 3000);
}

#[test]
fn serve_limits_signups_per_client_behind_a_trusted_proxy() {
    // The fixture trusts 127.0.0.1, the address these requests come from, as its proxy.
    let project = with_recipients();
    let serve = Serve::start(&project);
    let from = |client: &str, i: usize| {
        let origin = format!("http://127.0.0.1:{}", serve.port);
        let headers = [("Origin", origin.as_str()), ("X-Forwarded-For", client)];
        let body = format!("email=reader{i}%40example.org");
        serve.request("POST", "/subscribe", &headers, &body).status
    };
    let first: Vec<u16> = (0..10)
        .map(|i| from("198.51.100.7, 203.0.113.5", i))
        .collect();
    assert_eq!(first, [303; 10]);
    assert_eq!(from("203.0.113.5", 10), 429, "the eleventh in a minute");
    assert_eq!(from("203.0.113.6", 11), 303, "another client");
    // The same address twice gets one confirmation mail.
    assert_eq!(from("203.0.113.6", 11), 303);
    let mails = crate::support::eventually_files(&project.path("outbox"), ".eml", 11);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mails.len(), 11, "one mail per address");
    assert_eq!(
        crate::support::eventually_files(&project.path("outbox"), ".eml", 11).len(),
        11
    );
}
