//! `multipart/form-data` bodies (RFC 7578 over RFC 2046) read into fields: the encoding
//! RFC 8058 §3.1 asks one-click clients to send. The body is already in memory and
//! bounded by the guard's limit, so it is read in one linear pass; CRLF and bare LF line
//! ends are both accepted, and anything that is not a well-formed form is refused whole.

use memchr::{memchr, memmem};

/// Why a body (or a Content-Type) is not a readable form.
pub(crate) type Malformed = &'static str;

/// A form's fields, name and value, in the order sent.
pub(super) type Fields = Vec<(String, String)>;

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// The fields of `body`, whose parts are delimited by `boundary`: each part's
/// `Content-Disposition: form-data` name and its content (a file's content when the part
/// has a `filename`), in order. The preamble and epilogue are ignored.
pub(super) fn fields(body: &[u8], boundary: &str) -> Result<Fields, Malformed> {
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return Err("the multipart boundary must have 1 to 70 characters");
    }
    let dashed = format!("\n--{boundary}");
    let delimiter = dashed.as_bytes();
    // The first delimiter opens the body or a line of the preamble.
    let mut rest = if body.starts_with(&delimiter[1..]) {
        &body[delimiter.len() - 1..]
    } else {
        let at = memmem::find(body, delimiter).ok_or("no part starts with the boundary")?;
        &body[at + delimiter.len()..]
    };
    let mut fields = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return if fields.is_empty() {
                Err("the multipart body has no part")
            } else {
                Ok(fields)
            };
        }
        rest = after_line_end(rest)?;
        let end = memmem::find(rest, delimiter).ok_or("a part is not closed by the boundary")?;
        let part = &rest[..end];
        fields.push(field(part.strip_suffix(b"\r").unwrap_or(part))?);
        rest = &rest[end + delimiter.len()..];
    }
}

/// What follows a delimiter that does not close the body: optional spaces or tabs
/// (RFC 2046's transport padding), then the end of its line.
fn after_line_end(text: &[u8]) -> Result<&[u8], Malformed> {
    if text.is_empty() {
        return Err("the multipart body ends before its closing boundary");
    }
    let padding = text
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let text = &text[padding..];
    text.strip_prefix(b"\r\n")
        .or_else(|| text.strip_prefix(b"\n"))
        .ok_or("a boundary line goes on after the boundary")
}

/// One part as a field: its name and content, both UTF-8.
fn field(part: &[u8]) -> Result<(String, String), Malformed> {
    let (head, content) = split_head(part)?;
    let head = std::str::from_utf8(head).map_err(|_| "a part's headers are not UTF-8")?;
    let name = disposition_name(head)?;
    let value = String::from_utf8(content.to_vec()).map_err(|_| "a form field is not UTF-8")?;
    Ok((name, value))
}

/// A part's headers and its content, split at the first empty line.
fn split_head(part: &[u8]) -> Result<(&[u8], &[u8]), Malformed> {
    let mut at = 0;
    loop {
        let end = at + memchr(b'\n', &part[at..]).ok_or("a part's headers do not end")?;
        let line = &part[at..end];
        if line.strip_suffix(b"\r").unwrap_or(line).is_empty() {
            return Ok((&part[..at], &part[end + 1..]));
        }
        at = end + 1;
    }
}

/// The field name of a part's `Content-Disposition: form-data; name="…"` header, folded
/// lines unfolded; other headers (Content-Type, a filename) are not needed.
fn disposition_name(head: &str) -> Result<String, Malformed> {
    let mut headers: Vec<String> = Vec::new();
    for line in head.lines() {
        match headers.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => headers.push(line.to_owned()),
        }
    }
    let missing = "a part has no Content-Disposition: form-data with a name";
    let disposition = headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-disposition"))
        .ok_or(missing)?
        .1;
    let (kind, params) = parameters(disposition)?;
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(missing);
    }
    let name = params.into_iter().find(|(key, _)| key == "name");
    name.map(|(_, value)| value).ok_or(missing)
}

/// A header value `type; key=value; key="quoted"` as its type and parameters, the keys
/// lowercased and the quoted values unquoted.
pub(super) fn parameters(text: &str) -> Result<(&str, Fields), Malformed> {
    let (kind, mut rest) = text.split_once(';').unwrap_or((text, ""));
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Ok((kind.trim(), params));
        }
        let (key, after) = rest
            .split_once('=')
            .ok_or("a header parameter has no value")?;
        let (value, after) = match after.trim_start().strip_prefix('"') {
            Some(quoted) => unquote(quoted)?,
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        params.push((key.trim().to_ascii_lowercase(), value));
        rest = after;
    }
}

/// A quoted string's value up to its closing quote, and what follows that quote.
fn unquote(text: &str) -> Result<(String, &str), Malformed> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => value.extend(chars.next().map(|(_, c)| c)),
            c => value.push(c),
        }
    }
    Err("a quoted header parameter is not closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_CLICK: [(&str, &str); 1] = [("List-Unsubscribe", "One-Click")];

    fn read(body: &str, boundary: &str) -> Result<Fields, Malformed> {
        fields(body.as_bytes(), boundary)
    }

    fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
        fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn rfc_8058s_example_reads_with_crlf_or_lf_and_with_a_filename() {
        let crlf = "--XXXXX\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                    One-Click\r\n--XXXXX--\r\n";
        let lf = crlf.replace("\r\n", "\n");
        let file = "preamble\r\n--b\r\nContent-Disposition: form-data; name=List-Unsubscribe; \
                    filename=\"a;b.txt\"\r\nContent-Type: text/plain\r\n\r\nOne-Click\r\n--b--";
        let padded = "--b  \r\ncontent-disposition: FORM-DATA;\r\n name=\"List-Unsubscribe\"\r\n\r\n\
                      One-Click\r\n--b--\r\nepilogue";
        for (body, boundary) in [(crlf, "XXXXX"), (&lf, "XXXXX"), (file, "b"), (padded, "b")] {
            assert_eq!(pairs(&read(body, boundary).unwrap()), ONE_CLICK, "{body:?}");
        }
    }

    #[test]
    fn several_fields_keep_their_order_and_their_inner_line_breaks() {
        let body = "--=_x y\r\nContent-Disposition: form-data; name=\"topics\"\r\n\r\nai\r\n\
                    --=_x y\r\nContent-Disposition: form-data; name=\"topics\"\r\n\r\nchips\r\n\
                    --=_x y\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\na\r\n\r\nb\n\r\n\
                    --=_x y--\r\n";
        let read = read(body, "=_x y").unwrap();
        assert_eq!(
            pairs(&read),
            [
                ("topics", "ai"),
                ("topics", "chips"),
                ("note", "a\r\n\r\nb\n")
            ]
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let part = "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n";
        let cases = [
            (String::new(), "no part starts with the boundary"),
            ("List-Unsubscribe=One-Click".to_owned(), "no part starts"),
            (format!("--b\r\n{part}"), "not closed by the boundary"),
            (
                format!("--b\r\n{part}--b"),
                "ends before its closing boundary",
            ),
            ("--b--\r\n".to_owned(), "has no part"),
            (format!("--bx\r\n{part}--b--"), "goes on after the boundary"),
            (
                "--b\r\nContent-Type: text/plain\r\n\r\nOne-Click\r\n--b--".to_owned(),
                "no Content-Disposition",
            ),
            (
                "--b\r\nContent-Disposition: attachment; name=x\r\n\r\ny\r\n--b--".to_owned(),
                "no Content-Disposition",
            ),
            (
                "--b\r\nContent-Disposition: form-data; filename=x\r\n\r\ny\r\n--b--".to_owned(),
                "no Content-Disposition",
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\ny\r\n--b--".to_owned(),
                "quoted header parameter is not closed",
            ),
            (
                "--b\r\nContent-Disposition: form-data; name\r\n\r\ny\r\n--b--".to_owned(),
                "has no value",
            ),
            (
                "--b\r\nContent-Disposition: form-data; name=x\r\n--b--".to_owned(),
                "do not end",
            ),
        ];
        for (body, why) in cases {
            let refused = read(&body, "b").expect_err(&body);
            assert!(refused.contains(why), "{body:?}: {refused}");
        }
        let binary = b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\xff\r\n--b--";
        assert_eq!(fields(binary, "b"), Err("a form field is not UTF-8"));
        assert!(read("--b--", "").is_err());
        assert!(read("--b--", &"b".repeat(71)).is_err());
    }

    #[test]
    fn parameters_unquote_and_lowercase_their_keys() {
        let (kind, params) =
            parameters(r#"multipart/form-data; Boundary="a \"b\"; c" ;charset=utf-8"#).unwrap();
        assert_eq!(kind, "multipart/form-data");
        assert_eq!(
            params,
            [
                ("boundary".to_owned(), "a \"b\"; c".to_owned()),
                ("charset".to_owned(), "utf-8".to_owned())
            ]
        );
        assert_eq!(parameters("text/plain").unwrap(), ("text/plain", vec![]));
    }
}
