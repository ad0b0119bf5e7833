//! A POSTed form, read the same way for every route whatever the client's encoding:
//! `application/x-www-form-urlencoded` (what browsers send from our pages),
//! `multipart/form-data` (what RFC 8058 §3.1 asks one-click clients to send) and
//! `text/plain` (`List-Unsubscribe=One-Click` as the whole body, as some clients send).
//! A body that is not a well-formed form gets a 400 page (415 if not a form at all) and
//! changes nothing.

mod multipart;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use super::app::App;
use super::respond::Failure;
use multipart::{Fields, Malformed};

/// A form's fields in the order sent, repeated names kept.
#[derive(Debug)]
pub(super) struct Form {
    fields: Fields,
}

/// Why a body could not be read as a form.
#[derive(Debug, PartialEq, Eq)]
enum Unreadable {
    /// A Content-Type that is not a form encoding.
    Type,
    /// A form encoding whose body (or parameters) is broken.
    Malformed(Malformed),
}

impl Form {
    /// Reads `body` by its `content_type`. A body without a Content-Type is read as
    /// urlencoded, which is what a one-click client that omits the header means.
    fn read(content_type: Option<&str>, body: &[u8]) -> Result<Self, Unreadable> {
        let content_type = content_type.unwrap_or_default();
        // Only multipart needs a parameter: the others' (a charset) are not read at all.
        let kind = content_type.split(';').next().unwrap_or_default().trim();
        let fields = match kind.to_ascii_lowercase().as_str() {
            "" | "application/x-www-form-urlencoded" => {
                form_urlencoded::parse(body).into_owned().collect()
            }
            "multipart/form-data" => {
                let (_, params) =
                    multipart::parameters(content_type).map_err(Unreadable::Malformed)?;
                let boundary = params.iter().find(|(key, _)| key == "boundary");
                let boundary = boundary.ok_or(Unreadable::Malformed(
                    "a multipart/form-data Content-Type without its boundary",
                ))?;
                multipart::fields(body, &boundary.1).map_err(Unreadable::Malformed)?
            }
            "text/plain" => plain(body).map_err(Unreadable::Malformed)?,
            _ => return Err(Unreadable::Type),
        };
        Ok(Self { fields })
    }

    /// The first value of field `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }

    /// Every value of field `name`, in order.
    pub(super) fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.fields
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// HTML's `text/plain` form encoding: one `name=value` line per field, nothing escaped.
fn plain(body: &[u8]) -> Result<Fields, Malformed> {
    let text = std::str::from_utf8(body).map_err(|_| "a text/plain form is not UTF-8")?;
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line
                .split_once('=')
                .ok_or("a line of a text/plain form is not name=value")?;
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

impl FromRequest<Arc<App>> for Form {
    type Rejection = Failure;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Self, Failure> {
        let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
        let body = Bytes::from_request(request, app)
            .await
            .map_err(Failure::rejected)?;
        let content_type = match content_type.as_ref().map(|v| v.to_str()) {
            Some(Ok(text)) => Some(text),
            Some(Err(_)) => return Err(Failure::NotAForm),
            None => None,
        };
        // The page says why the form was refused; the log says how, for the operator.
        Self::read(content_type, &body).map_err(|why| match why {
            Unreadable::Type => Failure::NotAForm,
            Unreadable::Malformed(how) => Failure::Garbled(how),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_click(content_type: Option<&str>, body: &str) -> Result<Option<String>, Unreadable> {
        let form = Form::read(content_type, body.as_bytes())?;
        Ok(form.get("List-Unsubscribe").map(str::to_owned))
    }

    #[test]
    fn one_click_reads_in_every_encoding_clients_use() {
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                         One-Click\r\n--b--\r\n";
        let cases = [
            (None, "List-Unsubscribe=One-Click"),
            (
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                "List-Unsubscribe=One-Click",
            ),
            (Some("Multipart/Form-Data; boundary=\"b\""), multipart),
            (Some("multipart/form-data;boundary=b"), multipart),
            (Some("text/plain"), "List-Unsubscribe=One-Click"),
            (
                Some("text/plain;charset=utf-8"),
                "List-Unsubscribe=One-Click\r\n",
            ),
            (Some("text/plain; charset"), "List-Unsubscribe=One-Click"),
        ];
        for (content_type, body) in cases {
            assert_eq!(
                one_click(content_type, body),
                Ok(Some("One-Click".to_owned())),
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn repeated_fields_and_plain_lines_keep_their_values() {
        let form = Form::read(Some("text/plain"), b"topics=ai\r\n\r\ntopics=a=b&c\n").unwrap();
        assert_eq!(form.values("topics").collect::<Vec<_>>(), ["ai", "a=b&c"]);
        let form = Form::read(None, b"topics=ai&topics=chips&name=A+B%21").unwrap();
        assert_eq!(form.values("topics").collect::<Vec<_>>(), ["ai", "chips"]);
        assert_eq!(form.get("name"), Some("A B!"));
        assert_eq!(form.get("email"), None);
    }

    #[test]
    fn other_types_and_broken_bodies_are_refused() {
        assert_eq!(
            one_click(Some("application/json"), "{}"),
            Err(Unreadable::Type)
        );
        for (content_type, body) in [
            ("multipart/form-data", "--b--"),
            (
                "multipart/form-data; boundary=b",
                "List-Unsubscribe=One-Click",
            ),
            ("multipart/form-data; boundary=\"b", "--b--"),
            ("text/plain", "List-Unsubscribe"),
        ] {
            assert!(
                matches!(
                    one_click(Some(content_type), body),
                    Err(Unreadable::Malformed(_))
                ),
                "{content_type} {body:?}"
            );
        }
        let latin1 = Form::read(Some("text/plain"), b"name=Jos\xe9");
        assert!(matches!(latin1, Err(Unreadable::Malformed(_))));
    }
}
