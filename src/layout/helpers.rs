//! Handlebars helpers available to every layout template:
//! `{{format_date value "%m/%d/%y"}}` formats an ISO date (with
//! `same_year=other other_year="%b %-d, %Y"`, a date of another year than `other` takes the
//! second pattern, so that a short date never hides its year), and
//! `{{#wrap first="  • " indent="    "}}...{{/wrap}}` word-wraps its block for the text part.

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Renderable, StringOutput,
};

use crate::date::Date;

/// Lines of the text part are wrapped at this width where words allow: 76, the longest
/// line quoted-printable carries without a soft line break.
pub const TEXT_WIDTH: usize = 76;

/// Registers the helpers on `registry`.
pub(crate) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("format_date", Box::new(format_date));
    registry.register_helper("wrap", Box::new(wrap));
}

fn format_date(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h.param(0).and_then(|p| p.value().as_str()).ok_or_else(|| {
        invalid(
            "format_date",
            "expects a date such as `period.from` as its first parameter",
        )
    })?;
    let pattern = h.param(1).and_then(|p| p.value().as_str()).ok_or_else(|| {
        invalid(
            "format_date",
            "expects a format such as \"%m/%d/%y\" as its second parameter",
        )
    })?;
    let date = iso_date(value)?;
    let pattern = match (h.hash_get("same_year"), h.hash_get("other_year")) {
        (None, None) => pattern,
        (Some(same), Some(other)) => {
            let same = same.value().as_str().ok_or_else(|| {
                invalid(
                    "format_date",
                    "expects a date such as `period.to` as `same_year`",
                )
            })?;
            let other = other.value().as_str().ok_or_else(|| {
                invalid(
                    "format_date",
                    "expects a format such as \"%b %-d, %Y\" as `other_year`",
                )
            })?;
            if iso_date(same)?.year() == date.year() {
                pattern
            } else {
                other
            }
        }
        _ => {
            return Err(invalid(
                "format_date",
                "takes `same_year` and `other_year` together: the date, and the format for a \
                 date of another year",
            ));
        }
    };
    let text = date
        .format(pattern)
        .map_err(|e| invalid("format_date", &e))?;
    out.write(&text)?;
    Ok(())
}

fn iso_date(value: &str) -> Result<Date, RenderError> {
    Date::parse_iso(value)
        .ok_or_else(|| invalid("format_date", &format!("`{value}` is not a date")))
}

fn wrap<'reg, 'rc>(
    h: &Helper<'rc>,
    registry: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let string_hash = |key: &str| -> Result<String, RenderError> {
        match h.hash_get(key).map(|v| v.value()) {
            None => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid("wrap", &format!("`{key}` must be a string"))),
        }
    };
    let first = string_hash("first")?;
    let indent = string_hash("indent")?;
    let template = h
        .template()
        .ok_or_else(|| invalid("wrap", "is a block helper: use {{#wrap}}...{{/wrap}}"))?;
    let mut inner = StringOutput::new();
    template.render(registry, ctx, rc, &mut inner)?;
    let text = inner.into_string()?;
    out.write(&wrap_text(&text, TEXT_WIDTH, &first, &indent))?;
    Ok(())
}

fn invalid(helper: &'static str, message: &str) -> RenderError {
    RenderErrorReason::Other(format!("helper `{helper}` {message}")).into()
}

/// Greedy word wrap: `first` prefixes the first line, `indent` the others; paragraphs
/// (separated by blank lines) are kept, other whitespace collapses. A word longer than the
/// width (a URL) gets a line of its own and is never broken.
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
            let word_len = word.chars().count();
            if line_len == 0 {
                out.push_str(prefix);
                line_len = prefix.chars().count();
            } else if line_len + 1 + word_len > width {
                out.push('\n');
                out.push_str(indent);
                line_len = indent.chars().count();
            } else {
                out.push(' ');
                line_len += 1;
            }
            out.push_str(word);
            line_len += word_len;
            prefix = indent;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> Result<String, RenderError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        register(&mut registry);
        let data =
            serde_json::json!({"old": "2021-03-02", "new": "2026-12-17", "to": "2026-12-20"});
        registry.render_template(template, &data)
    }

    #[test]
    fn a_date_of_another_year_than_the_given_one_shows_its_year() {
        let short = r#"{{format_date DATE "%b %-d" same_year=to other_year="%b %-d, %Y"}}"#;
        assert_eq!(render(&short.replace("DATE", "new")).unwrap(), "Dec 17");
        assert_eq!(
            render(&short.replace("DATE", "old")).unwrap(),
            "Mar 2, 2021"
        );
        let alone = render(r#"{{format_date old "%b %-d" same_year=to}}"#).unwrap_err();
        assert!(alone.to_string().contains("together"), "{alone}");
    }

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
}
