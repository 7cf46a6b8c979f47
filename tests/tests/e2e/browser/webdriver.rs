//! A small W3C WebDriver client over `ureq`: enough to drive Chromium through chromedriver
//! (open a page, type, click, run a script, size the window). It speaks the real protocol to
//! the real chromedriver; nothing here stands in for the browser.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The key W3C WebDriver uses for an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What the suite needs on this machine: chromedriver, Chromium and axe-core.
pub struct Tools {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
    /// axe-core's `axe.min.js` (from the npm package).
    pub axe_js: String,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Finds the tools, or says which is missing. `COMMONGROUND_CHROMEDRIVER`,
/// `COMMONGROUND_CHROMIUM` and `COMMONGROUND_AXE_JS` name them; otherwise the usual places.
pub fn find_tools() -> Result<Tools, String> {
    let chromedriver = from_env("COMMONGROUND_CHROMEDRIVER")
        .or_else(|| on_path("chromedriver"))
        .or_else(|| Some(PathBuf::from("/usr/lib/chromium/chromedriver")).filter(|p| p.is_file()))
        .ok_or("no chromedriver (Debian: apt-get install chromium-driver; or set COMMONGROUND_CHROMEDRIVER)")?;
    let chromium = from_env("COMMONGROUND_CHROMIUM")
        .or_else(|| ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|n| on_path(n)))
        .ok_or("no Chromium (Debian: apt-get install chromium; or set COMMONGROUND_CHROMIUM)")?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let axe_path = from_env("COMMONGROUND_AXE_JS")
        .or_else(|| {
            [
                workspace.join("node_modules/axe-core/axe.min.js"),
                PathBuf::from("/tmp/axe-core/package/axe.min.js"),
                PathBuf::from("/usr/lib/node_modules/axe-core/axe.min.js"),
                PathBuf::from("/usr/local/lib/node_modules/axe-core/axe.min.js"),
            ]
            .into_iter()
            .find(|p| p.is_file())
        })
        .ok_or("no axe-core (npm pack axe-core, unpack it and set COMMONGROUND_AXE_JS to its axe.min.js)")?;
    let axe_js = std::fs::read_to_string(&axe_path).map_err(|e| format!("axe-core at {}: {e}", axe_path.display()))?;
    Ok(Tools { chromedriver, chromium, axe_js })
}

/// A running chromedriver, stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build()
}

fn call(method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let request = agent().request(method, url);
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(format!("{method} {url}: {e}")),
    };
    let status = response.status();
    let text = response.into_string().map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{method} {url}: not JSON ({e}): {text}"))?;
    if status >= 400 {
        return Err(format!("{method} {url}: {status} {}", value["value"]["message"].as_str().unwrap_or(&text)));
    }
    Ok(value["value"].clone())
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub fn start(tools: &Tools) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", tools.chromedriver.display()));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if call("GET", &format!("{}/status", driver.url), None).is_ok_and(|v| v["ready"] == true) {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new headless Chromium session whose page is `width` CSS pixels wide.
    pub fn session(&self, tools: &Tools, width: u32) -> Session {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--disable-extensions", "--no-first-run", "--hide-scrollbars",
                         format!("--window-size={width},900")],
            }
        }}});
        let value = call("POST", &format!("{}/session", self.url), Some(capabilities)).expect("a browser session");
        let id = value["sessionId"].as_str().expect("session id").to_string();
        let session = Session { base: format!("{}/session/{id}", self.url) };
        session.set_width(width);
        session
    }
}

/// One browser session; closed when dropped.
pub struct Session {
    base: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = call("DELETE", &self.base, None);
    }
}

/// An element on the page.
pub struct Element<'a> {
    session: &'a Session,
    id: String,
}

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(method, &format!("{}{path}", self.base), body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Makes the page (the layout viewport) exactly `width` CSS pixels wide: the window is
    /// sized, then corrected by what the browser chrome takes.
    pub fn set_width(&self, width: u32) {
        // Chrome's emulation sets the viewport itself (a window cannot be narrower than the
        // browser allows on some platforms).
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}})),
        );
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// As [`Session::run`], with the error (a page still loading, say) given back.
    pub fn try_run(&self, script: &str, args: Value) -> Result<Value, String> {
        call("POST", &format!("{}/execute/sync", self.base), Some(json!({ "script": script, "args": args })))
    }

    /// Runs `script`, which calls its last argument with the answer.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/async", Some(json!({ "script": script, "args": args })))
    }

    /// The first element that matches a CSS selector, if any.
    pub fn find(&self, css: &str) -> Option<Element<'_>> {
        let found =
            call("POST", &format!("{}/element", self.base), Some(json!({"using": "css selector", "value": css})));
        found.ok().and_then(|v| v[ELEMENT_KEY].as_str().map(|id| Element { session: self, id: id.to_string() }))
    }

    /// As [`Session::find`], failing the test when there is none.
    pub fn get(&self, css: &str) -> Element<'_> {
        self.find(css).unwrap_or_else(|| panic!("no {css} on {}", self.url()))
    }
}

impl Element<'_> {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{tail}", self.id)
    }

    pub fn click(&self) {
        self.session.cmd("POST", &self.path("/click"), Some(json!({})));
    }

    pub fn clear(&self) {
        self.session.cmd("POST", &self.path("/clear"), Some(json!({})));
    }

    pub fn type_text(&self, text: &str) {
        self.session.cmd("POST", &self.path("/value"), Some(json!({ "text": text })));
    }
}
