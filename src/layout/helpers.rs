//! Handlebars helpers available to every layout template:
//! `{{format_date value "%m/%d/%y"}}` formats an ISO date (with
//! `same_year=other other_year="%b %-d, %Y"`, a date of another year than `other` takes the
//! second pattern, so that a short date never hides its year), and
//! `{{#wrap first="  • " indent="    "}}...{{/wrap}}` wraps its block for the text part
//! (see [`super::wrap`]).

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Renderable, StringOutput,
};

use super::wrap::{TEXT_WIDTH, wrap_text};
use crate::date::Date;

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
}
