//! The size of what is sent: the HTML part weighed as the reader with the longest splices
//! gets it (the real unsubscribe link, the longest greeting), for the bound `check` and
//! `build` hold against Gmail's clipping; and sizes written for people, in kB.

use crate::encoding::{base64_len, quoted_printable_len};
use crate::render::{GREETING_PLACEHOLDER, Html, UNSUBSCRIBE_PLACEHOLDER};

/// The most characters a greeting may have (the recipients loader refuses longer ones).
const GREETING_CHARS: usize = crate::audience::MAX_NAME_CHARS;

/// `bytes` for people: `72.8 kB`, a kilobyte being 1000 bytes, as Gmail's "102 KB"
/// clipping line is quoted.
pub fn kilobytes(bytes: usize) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

/// The encoded size of the largest HTML part any reader can get: `anonymous` is the part
/// for readers without a greeting, `greeted` the part for those with one (when the layout
/// greets), both with the placeholders in; `unsubscribe` is the link a real reader gets
/// (every token has the same length). A greeting is weighed at its longest, of the
/// characters that cost most: as quoted-printable a four-byte character (`=F0=9F=98=80`,
/// twelve octets), as base64 one escaped to six bytes (`"` as `&quot;`). A part goes out
/// in the shorter of the two encodings, so it is no longer than the smaller bound.
pub fn largest_html_part(anonymous: &Html, greeted: Option<&Html>, unsubscribe: &str) -> usize {
    let link = handlebars::html_escape(unsubscribe);
    let weigh = |html: &Html| {
        let spliced = html.0.replace(UNSUBSCRIBE_PLACEHOLDER, &link);
        let greetings = spliced.matches(GREETING_PLACEHOLDER).count();
        let base64_bytes = spliced.len() + greetings * (GREETING_CHARS * 6)
            - greetings * GREETING_PLACEHOLDER.len();
        let quoted = if greetings == 0 {
            quoted_printable_len(&spliced)
        } else {
            let widest = "\u{1F600}".repeat(GREETING_CHARS);
            quoted_printable_len(&spliced.replace(GREETING_PLACEHOLDER, &widest))
        };
        quoted.min(base64_len(base64_bytes))
    };
    let plain = weigh(anonymous);
    greeted.map_or(plain, |greeted| plain.max(weigh(greeted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::encoded_len;

    #[test]
    fn the_largest_part_is_weighed_with_the_real_link_and_the_longest_greeting() {
        let body = "<p>Plain text of a volume.</p>\n".repeat(40);
        let anonymous = Html(format!("{body}<a href=\"{UNSUBSCRIBE_PLACEHOLDER}\">x</a>"));
        let greeted = Html(format!("<p>Hi {GREETING_PLACEHOLDER},</p>{}", anonymous.0));
        let link = format!(
            "https://scout.eto.tech/unsubscribe/{}?v=11&x=1",
            "A".repeat(38)
        );
        let escaped = handlebars::html_escape(&link);
        let real = anonymous.0.replace(UNSUBSCRIBE_PLACEHOLDER, &escaped);
        assert_eq!(
            largest_html_part(&anonymous, None, &link),
            encoded_len(&real)
        );
        let bound = largest_html_part(&anonymous, Some(&greeted), &link);
        for greeting in [
            "Ana",
            &"\"".repeat(256),
            &"😀".repeat(256),
            &"é".repeat(256),
        ] {
            let escaped_greeting = handlebars::html_escape(greeting);
            let copy = greeted
                .0
                .replace(UNSUBSCRIBE_PLACEHOLDER, &escaped)
                .replace(GREETING_PLACEHOLDER, &escaped_greeting);
            assert!(encoded_len(&copy) <= bound, "{greeting}");
        }
        assert!(
            bound > encoded_len(&real) + 1000,
            "the longest greeting counts"
        );
    }

    #[test]
    fn kilobytes_are_thousands() {
        assert_eq!(kilobytes(102_400), "102.4 kB");
        assert_eq!(kilobytes(99_950), "100.0 kB");
    }
}
