//! Wrapping the text part: a paragraph of text in, lines of at most [`TEXT_WIDTH`]
//! columns out where the text allows, measured as a terminal shows them (East Asian wide
//! characters take two columns) and broken at spaces or, in text without spaces (Chinese,
//! Japanese), where UAX #14 allows a break next to an ideograph.

/// Lines of the text part are wrapped at this width where words allow: 76, the longest
/// line quoted-printable carries without a soft line break.
pub const TEXT_WIDTH: usize = 76;

/// Greedy word wrap: `first` prefixes the first line, `indent` the others; paragraphs
/// (separated by blank lines) are kept, other whitespace collapses. Words are broken only
/// next to a wide character (see [`break_points`]); a word longer than the width that
/// cannot be broken (a URL) gets a line of its own.
pub fn wrap_text(text: &str, width: usize, first: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut prefix = first;
    for (i, paragraph) in text.trim().split("\n\n").enumerate() {
        if i > 0 {
            out.push_str("\n\n");
            prefix = indent;
        }
        let mut line_len = 0;
        for word in paragraph.split_whitespace() {
            // A space goes before a word's first piece only: its pieces join up as written.
            let mut space = 1;
            for piece in pieces(word) {
                let piece_len = columns(piece);
                if line_len == 0 {
                    out.push_str(prefix);
                    line_len = columns(prefix);
                } else if line_len + space + piece_len > width {
                    out.push('\n');
                    out.push_str(indent);
                    line_len = columns(indent);
                } else if space == 1 {
                    out.push(' ');
                    line_len += 1;
                }
                out.push_str(piece);
                line_len += piece_len;
                prefix = indent;
                space = 0;
            }
        }
    }
    out
}

/// The columns `text` takes: two for each East Asian wide or fullwidth character, one for
/// any other.
pub fn columns(text: &str) -> usize {
    if text.is_ascii() {
        return text.len();
    }
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

/// `word` cut at its break points; a URL is never cut, nor a word of ASCII, which has no
/// wide character to break next to.
fn pieces(word: &str) -> Vec<&str> {
    if word.is_ascii() || word.contains("://") {
        return vec![word];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    for end in break_points(word).into_iter().chain([word.len()]) {
        pieces.push(&word[start..end]);
        start = end;
    }
    pieces
}

/// The byte offsets inside `word` (text without spaces) where a line may break: between
/// two characters of which one is wide (an ideograph, kana, Hangul, fullwidth forms),
/// since UAX #14 allows a break before and after its class ID (rule LB31), except before
/// the characters that may not start a line and after those that may not end one. Between
/// two narrow characters there is none: Latin words stay whole.
pub fn break_points(word: &str) -> Vec<usize> {
    let mut points = Vec::new();
    let mut chars = word.char_indices().peekable();
    while let Some((_, before)) = chars.next() {
        let Some(&(at, after)) = chars.peek() else {
            break;
        };
        if (is_wide(before) || is_wide(after)) && !no_break_after(before) && !no_break_before(after)
        {
            points.push(at);
        }
    }
    points
}

/// Characters a line may not start with, from UAX #14's classes (Unicode 14.0.0,
/// LineBreak.txt): closing punctuation CL and CP (`)`, `」`, `。`, `、`, `，`), EX (`!`,
/// `！`, `？`), IS (`,`, `.`, `:`, `;`), NS and CJ (small kana, `ー`, `々`, `・`, `：`,
/// `；`), IN (`…`), PO (`%`), the closing quotation marks (QU), and what attaches to the
/// character before it: combining marks CM, ZWJ, variation selectors and emoji modifiers
/// EM (rules LB8a, LB9, LB13, LB16, LB21, LB22, LB23a, LB30b).
fn no_break_before(c: char) -> bool {
    const CLOSING: &str = ")]}!?,.:;%’”»›…‥、。，．｡､﹐﹑﹒〉》」』】〕〗〙〛〞〟）］｝｠｣！？：；・･ー々〻\
                           ゛゜ゝゞヽヾ゠〜ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ\
                           ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿｧｨｩｪｫｬｭｮｯｰ";
    matches!(c,
        '\u{0300}'..='\u{036F}' // combining diacritical marks (CM)
        | '\u{200D}' // zero width joiner (ZWJ)
        | '\u{20D0}'..='\u{20FF}' // combining marks for symbols (CM)
        | '\u{3099}'..='\u{309A}' // combining kana voiced sound marks (CM)
        | '\u{FE00}'..='\u{FE0F}' // variation selectors (CM)
        | '\u{FE20}'..='\u{FE2F}' // combining half marks (CM)
        | '\u{1F3FB}'..='\u{1F3FF}' // emoji modifiers (EM)
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement (CM)
    ) || CLOSING.contains(c)
}

/// Characters a line may not end with, from UAX #14's classes (Unicode 14.0.0,
/// LineBreak.txt): opening punctuation OP (`(`, `「`, `（`, `《`), the opening quotation
/// marks (QU), currency prefixes PR (`$`, `￥`) and ZWJ (rules LB8a, LB14, LB23a, LB25).
fn no_break_after(c: char) -> bool {
    const OPENING: &str = "([{‘“«‹$£¥€〈《「『【〔〖〘〚〝（［｛｟｢﹙﹛﹝＄￡￥\u{200D}";
    OPENING.contains(c)
}

/// Whether `c` is East Asian Wide (W) or Fullwidth (F).
fn is_wide(c: char) -> bool {
    let c = u32::from(c);
    if c < WIDE[0].0 {
        return false;
    }
    WIDE.binary_search_by(|&(start, end)| {
        if end < c {
            std::cmp::Ordering::Less
        } else if start > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    })
    .is_ok()
}

/// The East Asian Wide (W) and Fullwidth (F) code points of EastAsianWidth.txt, Unicode
/// 14.0.0 (UAX #11), with the unassigned code points of the ideograph blocks that file
/// declares W (3400..4DBF, 4E00..9FFF, F900..FAFF, 20000..2FFFD, 30000..3FFFD); ranges
/// separated only by unassigned code points are joined.
#[rustfmt::skip]
const WIDE: &[(u32, u32)] = &[
    (0x1100, 0x115F), (0x231A, 0x231B), (0x2329, 0x232A), (0x23E9, 0x23EC), (0x23F0, 0x23F0),
    (0x23F3, 0x23F3), (0x25FD, 0x25FE), (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F),
    (0x2693, 0x2693), (0x26A1, 0x26A1), (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5),
    (0x26CE, 0x26CE), (0x26D4, 0x26D4), (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5),
    (0x26FA, 0x26FA), (0x26FD, 0x26FD), (0x2705, 0x2705), (0x270A, 0x270B), (0x2728, 0x2728),
    (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797),
    (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    (0x2E80, 0x303E), (0x3041, 0x3247), (0x3250, 0x4DBF), (0x4E00, 0xA4C6), (0xA960, 0xA97C),
    (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE10, 0xFE19), (0xFE30, 0xFE6B), (0xFF01, 0xFF60),
    (0xFFE0, 0xFFE6), (0x16FE0, 0x1B2FB), (0x1F004, 0x1F004), (0x1F0CF, 0x1F0CF),
    (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F200, 0x1F320), (0x1F32D, 0x1F335),
    (0x1F337, 0x1F37C), (0x1F37E, 0x1F393), (0x1F3A0, 0x1F3CA), (0x1F3CF, 0x1F3D3),
    (0x1F3E0, 0x1F3F0), (0x1F3F4, 0x1F3F4), (0x1F3F8, 0x1F43E), (0x1F440, 0x1F440),
    (0x1F442, 0x1F4FC), (0x1F4FF, 0x1F53D), (0x1F54B, 0x1F54E), (0x1F550, 0x1F567),
    (0x1F57A, 0x1F57A), (0x1F595, 0x1F596), (0x1F5A4, 0x1F5A4), (0x1F5FB, 0x1F64F),
    (0x1F680, 0x1F6C5), (0x1F6CC, 0x1F6CC), (0x1F6D0, 0x1F6D2), (0x1F6D5, 0x1F6DF),
    (0x1F6EB, 0x1F6EC), (0x1F6F4, 0x1F6FC), (0x1F7E0, 0x1F7F0), (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945), (0x1F947, 0x1F9FF), (0x1FA70, 0x1FAF6), (0x20000, 0x3FFFD),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_hanging_indent() {
        let text = "A state media report explains that China's agricultural machinery industry lags behind the global cutting edge, but aims to catch up. (S&T Daily, 05/04/24)";
        let wrapped = wrap_text(text, 40, "  • ", "    ");
        for line in wrapped.lines() {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
        assert!(wrapped.starts_with("  • A state media"));
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    ")));
        let words: Vec<&str> = wrapped.split_whitespace().filter(|w| *w != "•").collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn long_words_are_not_broken() {
        let url = format!("https://x.test/{}", "a".repeat(90));
        let wrapped = wrap_text(&format!("see {url} now"), 78, "", "");
        assert_eq!(wrapped, format!("see\n{url}\nnow"));
    }

    #[test]
    fn keeps_paragraphs() {
        assert_eq!(
            wrap_text("one\ntwo\n\nthree", 78, "> ", "> "),
            "> one two\n\n> three"
        );
    }

    /// The lines of `wrapped` without their prefixes, joined: the text as written.
    fn unwrapped(wrapped: &str, prefix: &str) -> String {
        wrapped
            .lines()
            .map(|l| l.strip_prefix(prefix).unwrap_or(l))
            .collect()
    }

    #[test]
    fn chinese_wraps_between_ideographs_in_columns_of_two() {
        let sentence = "新华社报道人工智能芯片出口管制新规对行业的影响，专家认为冲击有限。";
        let text = sentence.repeat(10);
        let wrapped = wrap_text(&text, TEXT_WIDTH, "  * ", "    ");
        assert_eq!(wrapped.lines().count(), 10, "{wrapped}");
        for line in wrapped.lines() {
            assert!(columns(line) <= TEXT_WIDTH, "{line:?}");
            let body = line.trim_start_matches([' ', '*']);
            assert!(!body.starts_with(['，', '。']), "{line:?}");
        }
        assert_eq!(columns("芯片"), 4);
        assert_eq!(
            unwrapped(&wrapped.replacen("  * ", "    ", 1), "    "),
            text
        );
    }

    #[test]
    fn japanese_brackets_and_small_kana_stay_with_their_neighbours() {
        assert_eq!(break_points("「ニュース」を"), [12, 18]);
        assert_eq!(break_points("です。「"), [3, 9]);
        assert_eq!(break_points("ちょっと"), [9]);
        let text = "東京都は「デジタル・トランスフォーメーション」推進計画を発表した。".repeat(6);
        let wrapped = wrap_text(&text, 30, "", "");
        for line in wrapped.lines() {
            assert!(columns(line) <= 30, "{line:?}");
            assert!(!line.starts_with(['」', '。', '・', 'ー']), "{line:?}");
            assert!(!line.ends_with('「'), "{line:?}");
        }
        assert_eq!(unwrapped(&wrapped, ""), text);
    }

    #[test]
    fn latin_and_urls_next_to_ideographs_keep_together() {
        assert_eq!(break_points("AI芯片"), [2, 5]);
        assert!(break_points("state-of-the-art").is_empty());
        let url = "https://example.org/新闻/芯片";
        let wrapped = wrap_text(&format!("见 {url} 报道"), 20, "", "");
        assert_eq!(wrapped, format!("见\n{url}\n报道"));
    }
}
