//! `report --html FILE`: the volume's report as one self-contained page, no script and no
//! remote asset (styles inline, the chart an inline SVG drawn from the data), readable on a
//! phone: the figures, the unsubscribes by channel, the warnings, clicks per link as a bar
//! chart, and hourly charts whose figures are also a table, for screen readers and for
//! anyone who wants a number. The only URLs in it are the links' targets, shown as text and
//! linked.

use std::fmt::Write as _;

use handlebars::html_escape;

use super::summary::Summary;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:56rem;\
padding:1rem;color:#1a1a1a;background:#fff}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}\
dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.75rem;margin:0}\
dl div{border:1px solid #ccc;border-radius:.4rem;padding:.5rem .75rem}dt{font-size:.85rem;color:#444}\
dd{margin:0;font-size:1.4rem;font-weight:600}.warn{background:#fff4d6;border-left:4px solid #b07d00;\
padding:.5rem .75rem}svg{width:100%;height:auto;display:block}ol{padding-left:1.5rem}\
li{overflow-wrap:anywhere}a{color:#0b57d0}table{border-collapse:collapse}\
th,td{padding:0 .75rem;text-align:right}";

/// The width of the clicks chart's view box.
const CHART_WIDTH: u64 = 360;

/// The width a digit of the charts' 12-unit labels takes, at most (system fonts draw a digit
/// about 0.6 em wide).
const DIGIT_WIDTH: u64 = 8;

/// The page of `summary`.
pub(crate) fn render(summary: &Summary) -> String {
    let mut page = String::new();
    let volume = summary.volume;
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>What volume {volume} did</title><style>{STYLE}</style></head><body>\
<h1>What volume {volume} did</h1>"
    );
    let b = &summary.bounced;
    let u = &summary.unsubscribed;
    figures(
        &mut page,
        "The send",
        &[
            ("sent", summary.sent),
            ("delivered", summary.delivered),
            ("deferred", summary.deferred),
            ("failed", summary.failed),
            ("hard bounces", b.hard),
            ("soft bounces", b.soft),
            ("refused on our side", b.sender),
            ("complaints", summary.complaints),
        ],
    );
    figures(
        &mut page,
        &format!("Unsubscribed: {}", u.total()),
        &[
            ("one-click", u.one_click),
            ("page", u.page),
            ("preferences", u.preferences),
            ("mailto", u.mailto),
        ],
    );
    for warning in &summary.warnings {
        let _ = write!(page, "<p class=\"warn\">{}</p>", html_escape(warning));
    }
    clicks(&mut page, summary);
    let first = |f: fn(&super::summary::Hourly) -> u64| -> Vec<u64> {
        summary.hours.iter().map(f).collect()
    };
    hour_bars(
        &mut page,
        "Sent per hour, first 72 hours",
        "sent-per-hour",
        &first(|h| h.sent),
    );
    let counted = !summary.clicks.is_empty();
    if counted {
        hour_bars(
            &mut page,
            "Clicks per hour, first 72 hours",
            "clicks-per-hour",
            &first(|h| h.clicks),
        );
    }
    hour_table(&mut page, summary, counted);
    page.push_str("</body></html>\n");
    page
}

/// A heading and a grid of labelled numbers.
fn figures(page: &mut String, title: &str, items: &[(&str, u64)]) {
    let _ = write!(page, "<h2>{}</h2><dl>", html_escape(title));
    for (label, value) in items {
        let _ = write!(page, "<div><dt>{label}</dt><dd>{value}</dd></div>");
    }
    page.push_str("</dl>");
}

/// Clicks per link: a bar chart (clicks dark, scanners light) and the links' list.
fn clicks(page: &mut String, summary: &Summary) {
    if summary.clicks.is_empty() {
        page.push_str("<h2>Clicks</h2><p>Clicks were not counted for this volume.</p>");
        return;
    }
    let most = summary
        .clicks
        .iter()
        .map(|c| c.clicks + c.scanner)
        .max()
        .unwrap_or(0)
        .max(1);
    // The bars leave room for the longest count after them, so that no label is cut.
    let digits = summary.clicks.iter().map(|c| c.clicks.to_string().len());
    let label = digits.max().unwrap_or(1) as u64 * DIGIT_WIDTH;
    let (row, width) = (28_u64, CHART_WIDTH - 28 - label);
    let height = row * summary.clicks.len() as u64;
    let _ = write!(
        page,
        "<h2>Clicks per link</h2><svg id=\"clicks-per-link\" viewBox=\"0 0 {CHART_WIDTH} {height}\" \
role=\"img\" aria-label=\"Clicks per link, scanners apart; the figures are in the list below\">"
    );
    for (i, c) in (0_u64..).zip(&summary.clicks) {
        let y = i * row;
        let people = c.clicks * width / most;
        let machines = c.scanner * width / most;
        let _ = write!(
            page,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\
<rect x=\"24\" y=\"{}\" width=\"{people}\" height=\"18\" fill=\"#0b57d0\"/>\
<rect x=\"{}\" y=\"{}\" width=\"{machines}\" height=\"18\" fill=\"#a8c4f0\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 16,
            c.link,
            y + 3,
            24 + people,
            y + 3,
            28 + people + machines,
            y + 16,
            c.clicks
        );
    }
    page.push_str(
        "</svg><p>Dark: clicks, once per client and hour. Light: scanners and previews.</p><ol>",
    );
    for c in &summary.clicks {
        let target = html_escape(&c.target);
        let _ = write!(
            page,
            "<li value=\"{}\"><strong>{}</strong>: {} click(s), {} scanner<br>\
<a href=\"{target}\">{target}</a></li>",
            c.link,
            html_escape(&c.label),
            c.clicks,
            c.scanner
        );
    }
    page.push_str("</ol>");
}

/// The hourly figures as a table: the charts' text alternative (WCAG 1.1.1), folded away
/// under a summary that names it.
fn hour_table(page: &mut String, summary: &Summary, counted: bool) {
    let clicks = if counted {
        "<th scope=\"col\">clicks</th>"
    } else {
        ""
    };
    let _ = write!(
        page,
        "<details><summary>The hourly figures as a table</summary><table>\
<caption>Messages sent and clicks made in each of the first 72 hours</caption><thead><tr>\
<th scope=\"col\">hour</th><th scope=\"col\">sent</th>{clicks}</tr></thead><tbody>"
    );
    for h in &summary.hours {
        let _ = write!(
            page,
            "<tr><th scope=\"row\">{}</th><td>{}</td>",
            h.hour, h.sent
        );
        if counted {
            let _ = write!(page, "<td>{}</td>", h.clicks);
        }
        page.push_str("</tr>");
    }
    page.push_str("</tbody></table></details>");
}

/// A chart of `values`, one bar an hour, under `title`, with its scale.
fn hour_bars(page: &mut String, title: &str, id: &str, values: &[u64]) {
    let most = values.iter().copied().max().unwrap_or(0).max(1);
    // The scale's words above the bars, the hour marks below.
    let (width, height, top) = (5_u64, 80_u64, 12_u64);
    let (total, base) = (width * values.len() as u64, top + height);
    let _ = write!(
        page,
        "<h2>{title}</h2><svg id=\"{id}\" viewBox=\"0 0 {total} {}\" role=\"img\" \
aria-label=\"{title}, at most {most} in an hour; the figures are in the table below\">\
<text x=\"0\" y=\"{}\" font-size=\"8\">at most {most} in an hour</text>\
<line x1=\"0\" y1=\"{top}\" x2=\"{total}\" y2=\"{top}\" stroke=\"#888\" stroke-width=\"0.5\" \
stroke-dasharray=\"2 2\"/>\
<line x1=\"0\" y1=\"{base}\" x2=\"{total}\" y2=\"{base}\" stroke=\"#888\" stroke-width=\"0.5\"/>",
        base + 12,
        top - 3
    );
    for (x, value) in (0_u64..).zip(values) {
        let bar = value * height / most;
        let _ = write!(
            page,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"#0b57d0\"/>",
            x * width,
            base - bar,
            width - 1
        );
    }
    for mark in [0, 24, 48] {
        let _ = write!(
            page,
            "<text x=\"{}\" y=\"{}\" font-size=\"8\">{mark}h</text>",
            mark * width,
            base + 10
        );
    }
    page.push_str("</svg>");
}
