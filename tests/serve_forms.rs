//! The forms `broadsheet serve` reads, through the real binary: an RFC 8058 one-click POST
//! in each encoding mail clients send (`multipart/form-data` as §3.1 asks, urlencoded,
//! `text/plain`) suppresses its reader, and so does one whose body is malformed; another
//! form with a malformed body is refused with 400 and changes nothing; the pages' own forms
//! are read the same way whatever their encoding.

use crate::support::Project;
use crate::support::serve::{FORM, ONE_CLICK, Serve, one_click_path, readers, token};

/// RFC 8058 §3.1's example body: a quoted boundary, CRLF line ends, no filename.
const RFC_8058: &str = "--XXXXX\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                        One-Click\r\n--XXXXX--\r\n";

/// One `form-data` part named `name` holding `value`, in a body delimited by `b`.
fn part(name: &str, value: &str) -> String {
    format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

/// `suppress list`'s lines.
fn suppressions(project: &Project) -> Vec<String> {
    let list = project.ok(&["suppress", "list"]).stdout;
    list.lines().map(str::to_owned).collect()
}

#[test]
fn one_click_in_every_encoding_clients_send_suppresses_its_reader() {
    let lf_with_filename = "--WebKitFormBoundary7MA4YWxkTrZu0gW\n\
         Content-Disposition: form-data; name=\"List-Unsubscribe\"; filename=\"blob\"\n\
         Content-Type: application/octet-stream\n\nOne-Click\n\
         --WebKitFormBoundary7MA4YWxkTrZu0gW--\n";
    let preamble = "This is a multipart message.\r\n--=_1 2\r\n\
         Content-Disposition: form-data;\r\n\tname=List-Unsubscribe\r\n\r\nOne-Click\r\n--=_1 2--";
    let cases = [
        ("multipart/form-data; boundary=\"XXXXX\"", RFC_8058),
        (
            "multipart/form-data; boundary=WebKitFormBoundary7MA4YWxkTrZu0gW",
            lf_with_filename,
        ),
        ("Multipart/Form-Data; Boundary=\"=_1 2\"", preamble),
        (FORM, ONE_CLICK),
        ("text/plain", ONE_CLICK),
        (
            "text/plain; charset=UTF-8",
            "List-Unsubscribe=One-Click\r\n",
        ),
    ];
    let project = readers(cases.len());
    let serve = Serve::start(&project);
    for (i, (content_type, body)) in cases.iter().enumerate() {
        let reader = format!("reader{i}@example.org");
        let answer = serve.post(&one_click_path(&reader), content_type, &[], body);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "unsubscribed\n"),
            "{content_type}"
        );
        let list = suppressions(&project);
        assert!(
            list.iter()
                .any(|l| l.starts_with(&format!("{reader}  unsubscribed  one-click  "))),
            "{content_type}: {list:?}"
        );
        assert_eq!(list.len(), i + 1, "{list:?}");
    }
}

#[test]
fn a_post_to_a_tokened_link_is_heard_whatever_its_form_says() {
    // RFC 8058 asks for `List-Unsubscribe=One-Click`; clients send it with a line end, in
    // lowercase, after an empty field of the same name, or send no body at all.
    let cases = [
        (Some(FORM), "List-Unsubscribe=One-Click\r\n"),
        (Some(FORM), "list-unsubscribe=one-click"),
        (Some(FORM), "List-Unsubscribe=&List-Unsubscribe=One-Click"),
        (Some(FORM), ""),
        (None, ""),
    ];
    let project = readers(cases.len());
    let serve = Serve::start(&project);
    for (i, (content_type, body)) in cases.iter().enumerate() {
        let reader = format!("reader{i}@example.org");
        let path = one_click_path(&reader);
        let answer = match content_type {
            Some(content_type) => serve.post(&path, content_type, &[], body),
            None => serve.raw(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
                     Content-Length: 0\r\n\r\n",
                    serve.port
                )
                .as_bytes(),
            ),
        };
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "unsubscribed\n"),
            "{content_type:?} {body:?}"
        );
        let list = suppressions(&project);
        assert!(
            list.iter()
                .any(|l| l.starts_with(&format!("{reader}  unsubscribed  one-click  "))),
            "{body:?}: {list:?}"
        );
        assert_eq!(list.len(), i + 1, "{list:?}");
    }
    // The token is what authorizes: a bad one gets the bad-link page whatever the body.
    let mut forged = one_click_path("reader0@example.org");
    let last = forged.pop().expect("a token");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for (content_type, body) in cases.iter().filter_map(|(t, b)| Some((t.as_ref()?, b))) {
        let answer = serve.post(&forged, content_type, &[], body);
        assert_eq!(answer.status, 400, "{body:?}");
        assert!(
            answer.body.contains("This link does not work"),
            "{}",
            answer.body
        );
    }
    assert_eq!(suppressions(&project).len(), cases.len());
}

#[test]
fn a_one_click_with_a_malformed_body_is_heard_where_another_form_is_refused() {
    let one_click = part("List-Unsubscribe", "One-Click");
    let typed = "multipart/form-data; boundary=b";
    let malformed = [
        ("multipart/form-data", format!("{one_click}--b--")),
        ("multipart/form-data; boundary=\"b", format!("{one_click}--b--")),
        (typed, one_click.clone()),
        (typed, format!("{one_click}--b")),
        (typed, format!("{one_click}--bb--")),
        (typed, ONE_CLICK.to_owned()),
        (typed, "--b--\r\n".to_owned()),
        (
            typed,
            "--b\r\nContent-Disposition: form-data\r\n\r\nOne-Click\r\n--b--".to_owned(),
        ),
        (
            typed,
            "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\nOne-Click\r\n--b--"
                .to_owned(),
        ),
        ("text/plain", "\u{ff}List-Unsubscribe".to_owned()),
        ("application/json", r#"{"List-Unsubscribe":"One-Click"}"#.to_owned()),
    ];
    let project = readers(malformed.len() + 1);
    let serve = Serve::start(&project);
    // A mail client's one-click with a broken body is still its reader's request: the
    // token authorizes it, and a reader who asks to leave is heard.
    for (i, (content_type, body)) in malformed.iter().enumerate() {
        let reader = format!("reader{i}@example.org");
        let answer = serve.post(&one_click_path(&reader), content_type, &[], body);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "unsubscribed\n"),
            "{content_type} {body:?}"
        );
        let list = suppressions(&project);
        assert!(
            list.iter()
                .any(|l| l.starts_with(&format!("{reader}  unsubscribed  one-click  "))),
            "{content_type} {body:?}: {list:?}"
        );
    }
    // Every other form is refused, unchanged: the preferences of the last reader.
    let last = malformed.len();
    let reader = format!("reader{last}@example.org");
    let preferences = format!("/preferences/{}", token(&reader));
    let origin = serve.url();
    let from_page = [("Origin", origin.as_str())];
    for (content_type, body) in &malformed {
        let answer = serve.post(&preferences, content_type, &from_page, body);
        let expected = if content_type.starts_with("application/json") {
            415
        } else {
            400
        };
        assert_eq!(answer.status, expected, "{content_type} {body:?}");
        assert!(
            answer.body.contains("This form could not be read"),
            "{}",
            answer.body
        );
    }
    assert_eq!(suppressions(&project).len(), malformed.len());
    let explain = project.ok(&["recipients", "--explain", &reader]).stdout;
    assert!(!explain.contains("suppressed"), "{explain}");
}

#[test]
fn the_pages_forms_are_read_the_same_way_in_any_encoding() {
    let project = readers(2);
    let serve = Serve::start(&project);
    let origin = serve.url();
    let from_page = [("Origin", origin.as_str())];
    let preferences = format!("/preferences/{}", token("reader0@example.org"));
    let topics = format!(
        "{}{}{}--b--\r\n",
        part("topics", "chips"),
        part("topics", "policy"),
        part("action", "save")
    );
    let saved = serve.post(
        &preferences,
        "multipart/form-data; boundary=b",
        &from_page,
        &topics,
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let explain = project
        .ok(&["recipients", "--explain", "reader0@example.org"])
        .stdout;
    assert!(explain.contains("\n  topics: chips, policy\n"), "{explain}");
    let page = one_click_path("reader1@example.org");
    let button = serve.post(&page, "text/plain", &from_page, "confirm=yes\r\n");
    assert_eq!(button.status, 303, "{}", button.body);
    assert_eq!(
        serve.post(&page, "text/plain", &[], "confirm=yes").status,
        303,
        "the page's button needs only its token, whatever the encoding"
    );
    let list = suppressions(&project);
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0].starts_with("reader1@example.org  unsubscribed  page  "),
        "{list:?}"
    );
}
