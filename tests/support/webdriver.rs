//! A minimal W3C WebDriver client for Debian's chromium through chromedriver: enough to load
//! a page at a given viewport and run a script in it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process with one headless browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless chromium whose viewport is `width` x `height` CSS
    /// pixels (emulating a phone when `mobile`). Panics, loudly, when either is missing.
    pub fn start(width: u32, height: u32, mobile: bool) -> Self {
        Self::start_with(width, height, mobile, true)
    }

    /// [`Browser::start`] with images turned off when `!images`, as Outlook and many mail
    /// clients show email until the reader asks for them: each image is its alt text.
    pub fn start_with(width: u32, height: u32, mobile: bool, images: bool) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver (see .ci/run)"
            );
        }
        let port = super::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("browser profile folder");
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            profile,
        };
        browser.wait_ready();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", browser.profile.path().display()),
                    format!("--blink-settings=imagesEnabled={images}"),
                ],
                "mobileEmulation": {"deviceMetrics": {
                    "width": width, "height": height, "pixelRatio": 1.0, "mobile": mobile
                }}
            }
        }}});
        let session = browser.post("/session", &capabilities);
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {session}"))
            .to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut response) = ureq::get(&format!("{}/status", self.base)).call() {
                let status: Value = response.body_mut().read_json().expect("status JSON");
                if status["value"]["ready"] == json!(true) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not become ready within 20 s");
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let mut response = ureq::post(&format!("{}{path}", self.base))
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(body)
            .unwrap_or_else(|e| panic!("WebDriver POST {path}: {e}"));
        let reply: Value = response.body_mut().read_json().expect("WebDriver JSON");
        assert!(
            reply["value"].get("error").is_none(),
            "WebDriver POST {path} failed: {reply}"
        );
        reply["value"].clone()
    }

    /// Loads `url` and waits for it to finish loading.
    pub fn goto(&self, url: &str) {
        self.post("/url", &json!({ "url": url }));
    }

    /// Makes pages match `prefers-color-scheme: dark`, as in a mail client in dark mode
    /// (Chrome's DevTools protocol, through chromedriver).
    pub fn prefer_dark(&self) {
        let features = json!([{ "name": "prefers-color-scheme", "value": "dark" }]);
        self.post(
            "/goog/cdp/execute",
            &json!({ "cmd": "Emulation.setEmulatedMedia", "params": { "features": features } }),
        );
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub fn eval(&self, script: &str) -> Value {
        self.post("/execute/sync", &json!({ "script": script, "args": [] }))
    }

    /// Runs `script` (a function body whose last argument is the callback that ends it) in
    /// the page with `args` before that callback, and returns what it passed back.
    pub fn eval_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", &json!({ "script": script, "args": args }))
    }

    /// A PNG screenshot of the viewport, base64-encoded, as WebDriver takes it.
    pub fn screenshot(&self) -> String {
        let mut response = ureq::get(&format!("{}/screenshot", self.base))
            .call()
            .unwrap_or_else(|e| panic!("WebDriver screenshot: {e}"));
        let reply: Value = response.body_mut().read_json().expect("WebDriver JSON");
        reply["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no screenshot in {reply}"))
            .to_owned()
    }

    /// What a PNG (`png_base64`, from [`Browser::screenshot`]) shows, decoded by this
    /// browser on a blank page: `{"pixels", "colours", "ink"}`, where `ink` counts the
    /// pixels that differ from the most common colour (the background). Leaves the page.
    pub fn picture_stats(&self, png_base64: &str) -> Value {
        self.goto("about:blank");
        let script = "const done = arguments[arguments.length - 1];
            const img = new Image();
            img.onerror = () => done({ error: 'not a PNG' });
            img.onload = () => {
              const c = document.createElement('canvas');
              c.width = img.width; c.height = img.height;
              const g = c.getContext('2d');
              g.drawImage(img, 0, 0);
              const d = g.getImageData(0, 0, c.width, c.height).data;
              const counts = new Map();
              for (let i = 0; i < d.length; i += 4) {
                const rgb = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
                counts.set(rgb, (counts.get(rgb) || 0) + 1);
              }
              const pixels = d.length / 4;
              done({ pixels, colours: counts.size, ink: pixels - Math.max(...counts.values()) });
            };
            img.src = 'data:image/png;base64,' + arguments[0];";
        self.eval_async(script, json!([png_base64]))
    }

    /// Runs `script` until it returns `true` (a page may be loading meanwhile, which makes
    /// a run fail), for at most `limit`.
    pub fn wait_until(&self, script: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let reply: Option<Value> = ureq::post(&format!("{}/execute/sync", self.base))
                .config()
                .http_status_as_error(false)
                .build()
                .send_json(json!({ "script": script, "args": [] }))
                .ok()
                .and_then(|mut r| r.body_mut().read_json().ok());
            if reply.is_some_and(|r| r["value"] == json!(true)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
