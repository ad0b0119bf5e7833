//! axe-core, an accessibility checker nobody here wrote (Deque's, from npm, pinned in
//! `bench/`), run over a page in a real headless Chromium: a URL or a file in, the rules it
//! breaks out. For the email and for serve's pages alike.

use std::path::Path;

use serde_json::{Value, json};

use super::webdriver::Browser;

/// One rule a page breaks, as axe-core reports it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for.
    pub help: String,
    /// Each offending element: its selector and what is wrong with it.
    pub nodes: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} ({}): {}", self.id, self.impact, self.help)?;
        for node in &self.nodes {
            writeln!(f, "    {node}")?;
        }
        Ok(())
    }
}

/// The rules axe-core checks: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best
/// practices.
const RULE_TAGS: [&str; 7] = [
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22a",
    "wcag22aa",
    "best-practice",
];

/// axe-core's script, which must be installed.
fn script() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run scripts/test, or `npm ci --prefix bench`",
            path.display()
        )
    })
}

/// Every rule the page at `url` breaks, found by axe-core in a desktop-sized Chromium.
pub fn audit(url: &str) -> Vec<Violation> {
    let browser = Browser::start(1024, 900, false);
    browser.goto(url);
    audit_loaded(&browser)
}

/// Every rule the HTML file at `path` breaks (see [`audit`]).
pub fn audit_file(path: &Path) -> Vec<Violation> {
    let path = path
        .canonicalize()
        .unwrap_or_else(|e| panic!("cannot find {}: {e}", path.display()));
    audit(&format!("file://{}", path.display()))
}

/// Every rule the page loaded in `browser` breaks.
pub fn audit_loaded(browser: &Browser) -> Vec<Violation> {
    browser.eval(&format!("{}\nreturn typeof axe;", script()));
    let run = "const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: arguments[0] } })
          .then(r => done(r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary),
          }))))
          .catch(e => done({ error: String(e) }));";
    let found = browser.eval_async(run, json!([RULE_TAGS]));
    let list = found
        .as_array()
        .unwrap_or_else(|| panic!("axe-core failed: {found}"));
    list.iter().map(violation).collect()
}

fn violation(v: &Value) -> Violation {
    let text = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
    Violation {
        id: text("id"),
        impact: text("impact"),
        help: text("help"),
        nodes: v["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The serious and critical ones among `violations`, printed one per paragraph: what a test
/// asserts is empty.
pub fn serious(violations: &[Violation]) -> String {
    violations
        .iter()
        .filter(|v| matches!(v.impact.as_str(), "serious" | "critical"))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
