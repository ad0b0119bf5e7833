//! DKIM's "relaxed" canonicalization (RFC 6376 §3.4.2, §3.4.4): a message's header fields
//! and body in, the bytes that are hashed out. Relaxed, not simple, because relays refold
//! headers and re-wrap whitespace; a signature that breaks on that proves nothing.

/// One header field as it stands in the message: its name and its raw value (everything
/// after the colon, folding included, without the final CRLF).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a [u8],
}

/// Splits `message` into its header fields and its body (after the blank line). `None` when
/// there is no blank line or a field has no colon: we only sign messages we built.
pub(crate) fn split(message: &[u8]) -> Option<(Vec<Field<'_>>, &[u8])> {
    let end = message.windows(4).position(|w| w == b"\r\n\r\n")?;
    let (head, body) = (&message[..end + 2], &message[end + 4..]);
    let mut fields = Vec::new();
    let mut start = 0;
    while start < head.len() {
        let mut stop = start;
        // A field ends at a CRLF not followed by whitespace (a fold continues it).
        loop {
            let at = stop + head[stop..].windows(2).position(|w| w == b"\r\n")?;
            stop = at + 2;
            if !matches!(head.get(stop), Some(b' ' | b'\t')) {
                break;
            }
        }
        let line = &head[start..stop - 2];
        let colon = line.iter().position(|&b| b == b':')?;
        let name = std::str::from_utf8(&line[..colon]).ok()?;
        fields.push(Field {
            name: name.trim_end(),
            value: &line[colon + 1..],
        });
        start = stop;
    }
    Some((fields, body))
}

/// `name:value` in relaxed form: the name lowercased, the value unfolded, every run of
/// whitespace one space, none at either end. Ends with CRLF when `crlf`.
pub(crate) fn header(out: &mut Vec<u8>, field: &Field<'_>, crlf: bool) {
    out.extend(field.name.bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b':');
    let value: Vec<u8> = field
        .value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let mut words = value
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.extend_from_slice(first);
        for word in words {
            out.push(b' ');
            out.extend_from_slice(word);
        }
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
}

/// Feeds the relaxed form of `body` to `sink`: each line's runs of whitespace one space,
/// none at its end, and no empty lines at the end of the body. Lines already in that form
/// (nearly all of a message we built: quoted-printable and base64 lines end in neither
/// space nor tab) go to `sink` as they stand, many at a time; only the others are copied.
pub(crate) fn body(body: &[u8], sink: &mut impl FnMut(&[u8])) {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let mut blank_lines = 0;
    // A run of lines of `body` that are canonical as they stand, CRLF included.
    let mut run = 0..0;
    let flush = |run: &mut std::ops::Range<usize>, sink: &mut dyn FnMut(&[u8])| {
        if run.start < run.end {
            sink(&body[run.clone()]);
        }
        *run = run.end..run.end;
    };
    let mut copy = Vec::new();
    let lines = body.strip_suffix(b"\r\n").unwrap_or(body);
    let mut at = 0;
    let ends = memchr::memchr_iter(b'\n', lines).chain([lines.len()]);
    for end in ends {
        let raw = &lines[at..end];
        let next = end + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(is_space) {
            blank_lines += 1;
            at = next;
            continue;
        }
        if blank_lines > 0 {
            flush(&mut run, sink);
            for _ in 0..blank_lines {
                sink(b"\r\n");
            }
            blank_lines = 0;
        }
        // Canonical as it stands: ends with CRLF, and every whitespace is one space
        // followed by something else.
        let verbatim = raw.len() > line.len()
            && next <= body.len()
            && memchr::memchr2_iter(b' ', b'\t', line)
                .all(|i| line[i] == b' ' && line.get(i + 1).is_some_and(|b| !is_space(b)));
        if verbatim {
            if run.end != at {
                flush(&mut run, sink);
                run = at..at;
            }
            run.end = next;
        } else {
            flush(&mut run, sink);
            copy.clear();
            let mut space = false;
            for &b in line {
                if is_space(&b) {
                    space = true;
                } else {
                    if space {
                        copy.push(b' ');
                        space = false;
                    }
                    copy.push(b);
                }
            }
            copy.extend_from_slice(b"\r\n");
            sink(&copy);
        }
        at = next;
    }
    flush(&mut run, sink);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed_body(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        body(text, &mut |bytes| out.extend_from_slice(bytes));
        out
    }

    #[test]
    fn bodies_lose_trailing_space_runs_and_trailing_blank_lines() {
        assert_eq!(
            relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C\r\nD E\r\n".to_vec()
        );
        assert_eq!(relaxed_body(b"a\r\n\r\nb\r\n"), b"a\r\n\r\nb\r\n".to_vec());
        assert_eq!(relaxed_body(b"\r\n\r\n"), Vec::<u8>::new());
    }

    /// Relaxed body canonicalization as RFC 6376 §3.4.4 words it, one step at a time.
    fn by_the_rfc(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8(body.to_vec()).unwrap();
        let mut lines: Vec<String> = text
            .split_terminator("\r\n")
            .map(|line| {
                let mut out = String::new();
                for (i, word) in line.split([' ', '\t']).enumerate() {
                    if i > 0 && !out.ends_with(' ') {
                        out.push(' ');
                    }
                    out.push_str(word);
                }
                out.trim_end_matches(' ').to_owned()
            })
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
            .iter()
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn bodies_of_every_shape_canonicalize_as_the_rfc_says() {
        let mut rng = fastrand::Rng::with_seed(6376);
        let pieces: [&[u8]; 6] = [b"a", b"=3D", b" ", b"\t", b"\r\n", b"  x"];
        for _ in 0..2_000 {
            let mut body = Vec::new();
            for _ in 0..rng.usize(0..40) {
                body.extend_from_slice(pieces[rng.usize(..pieces.len())]);
            }
            body.extend_from_slice(b"\r\n");
            assert_eq!(
                relaxed_body(&body),
                by_the_rfc(&body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn headers_unfold_and_lowercase() {
        // The example of RFC 6376 §3.4.5.
        let message = b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\nbody";
        let (fields, body) = split(message).expect("a message");
        assert_eq!(body, b"body");
        let mut out = Vec::new();
        for field in &fields {
            header(&mut out, field, true);
        }
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n".to_vec());
    }
}
