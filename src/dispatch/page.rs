//! `report --html FILE`: the volume's report as one self-contained page, no script and no
//! remote asset (styles inline, the chart an inline SVG drawn from the data), readable on a
//! phone: the figures, the unsubscribes by channel, the warnings, and clicks per link as a
//! bar chart. The only URLs in it are the links' targets, shown as text and linked.

use std::fmt::Write as _;

use handlebars::html_escape;

use super::summary::Summary;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:56rem;\
padding:1rem;color:#1a1a1a;background:#fff}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}\
dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.75rem;margin:0}\
dl div{border:1px solid #ccc;border-radius:.4rem;padding:.5rem .75rem}dt{font-size:.85rem;color:#444}\
dd{margin:0;font-size:1.4rem;font-weight:600}.warn{background:#fff4d6;border-left:4px solid #b07d00;\
padding:.5rem .75rem}svg{width:100%;height:auto;display:block}ol{padding-left:1.5rem}\
li{overflow-wrap:anywhere}a{color:#0b57d0}";

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
    if !summary.clicks.is_empty() {
        let clicks: Vec<u64> = first(|h| h.clicks);
        hour_bars(
            &mut page,
            "Clicks per hour, first 72 hours",
            "clicks-per-hour",
            &clicks,
        );
    }
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
    let (row, width) = (28_u64, 300_u64);
    let height = row * summary.clicks.len() as u64;
    let _ = write!(
        page,
        "<h2>Clicks per link</h2><svg id=\"clicks-per-link\" viewBox=\"0 0 360 {height}\" role=\"img\" \
aria-label=\"Clicks per link, scanners apart\">"
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

/// A chart of `values`, one bar an hour, under `title`.
fn hour_bars(page: &mut String, title: &str, id: &str, values: &[u64]) {
    let most = values.iter().copied().max().unwrap_or(0).max(1);
    let (width, height) = (5_u64, 80_u64);
    let total = width * values.len() as u64;
    let _ = write!(
        page,
        "<h2>{title}</h2><svg id=\"{id}\" viewBox=\"0 0 {total} {}\" role=\"img\" \
aria-label=\"{title}\"><line x1=\"0\" y1=\"{height}\" x2=\"{total}\" y2=\"{height}\" \
stroke=\"#888\" stroke-width=\"0.5\"/>",
        height + 12
    );
    for (x, value) in (0_u64..).zip(values) {
        let bar = value * height / most;
        let _ = write!(
            page,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"#0b57d0\"/>",
            x * width,
            height - bar,
            width - 1
        );
    }
    for mark in [0, 24, 48] {
        let _ = write!(
            page,
            "<text x=\"{}\" y=\"{}\" font-size=\"8\">{mark}h</text>",
            mark * width,
            height + 10
        );
    }
    page.push_str("</svg>");
}
