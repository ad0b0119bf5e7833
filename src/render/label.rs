//! What names a pick's link for screen readers where its visible text (the outlet) cannot:
//! the summary's first words, cut at a word and free of tags.

/// How many characters of a summary [`lead`] keeps.
const LEAD_CHARS: usize = 60;

/// The first words of `text`, up to [`LEAD_CHARS`] characters and cut at a word, with `…`
/// when something was left out. Tags written in the summary are left out: mrml writes
/// attribute values with `&lt;` decoded, and a `<tag>` in a label only gets in the way of
/// listening.
pub(super) fn lead(text: &str) -> String {
    let text = without_tags(text);
    if text.chars().count() <= LEAD_CHARS {
        return text;
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() && out.chars().count() + 1 + word.chars().count() > LEAD_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let out = out.trim_end_matches([',', ';', ':', '.']);
    format!("{out}…")
}

/// `text` without anything between `<` and `>`, and without stray angle brackets.
fn without_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        rest = match rest[open..].find('>') {
            Some(close) => &rest[open + close + 1..],
            None => &rest[open + 1..],
        };
    }
    out.push_str(rest);
    out.replace('>', "")
}

#[cfg(test)]
mod tests {
    use super::{LEAD_CHARS, lead};

    #[test]
    fn leads_are_cut_at_a_word() {
        assert_eq!(lead("Short enough."), "Short enough.");
        assert_eq!(lead("A <b>bold</b> move <now"), "A bold move now");
        let long = "Shengshu Technology and Tsinghua University's new Vidu model generates video";
        let cut = lead(long);
        assert_eq!(
            cut,
            "Shengshu Technology and Tsinghua University's new Vidu model…"
        );
        assert!(cut.chars().count() <= LEAD_CHARS + 1);
    }
}
