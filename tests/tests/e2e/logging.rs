//! What the log says, read as an operator would: the server runs in a child process (this test
//! binary, running `child_server`) with the real subscriber writing to its stdout, which the
//! test captures to a file. No secret link and no patient detail may appear at any level or
//! format, and a log that cannot be written must not cost a request its answer.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{copy_template, url_string, TestApp, DEMO_PASSWORD};
use crate::referrals::{referral_body, ADMIN, GP, LINK_WORKER};

/// Set in the child: the file to write the port to.
const CHILD_PORT_FILE: &str = "CG_LOG_CHILD_PORT_FILE";
/// Set in the child to `fail`: log through a writer whose every write fails.
const CHILD_WRITER: &str = "CG_LOG_CHILD_WRITER";

/// Set in the child with `CG_LOG_CHILD_WRITER=fail`: once this file exists, the disk is full.
const CHILD_FULL_FLAG: &str = "CG_LOG_CHILD_FULL_FLAG";

/// A writer standing for a disk that fills up while the server runs: once the flag file
/// exists, every write fails.
struct FullDisk(PathBuf);

impl FullDisk {
    fn check(&self) -> std::io::Result<()> {
        if self.0.exists() {
            Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"))
        } else {
            Ok(())
        }
    }
}

impl std::io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.check().map(|_| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.check()
    }
}

/// Not a test on its own: the server process the tests below start. It reads its settings from
/// the environment as `commonground serve` does and installs the real subscriber.
#[test]
fn child_server() {
    let Ok(port_file) = std::env::var(CHILD_PORT_FILE) else { return };
    let settings = backend::config::Settings::load().expect("settings from the environment");
    let _log = if std::env::var(CHILD_WRITER).as_deref() == Ok("fail") {
        let flag = PathBuf::from(std::env::var(CHILD_FULL_FLAG).expect("the full-disk flag"));
        backend::telemetry::init_with_writer(&settings, move || FullDisk(flag.clone()))
    } else {
        backend::telemetry::init(&settings)
    };
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let app = backend::startup::Application::build(settings, &mut std::io::sink()).expect("server starts");
        std::fs::write(&port_file, app.port().to_string()).expect("write the port");
        let _ = app.run_until_stopped().await;
    });
}

/// A server in a child process, killed when dropped.
struct ChildServer {
    app: TestApp,
    process: std::process::Child,
    log: PathBuf,
    scratch: tempfile::TempDir,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl ChildServer {
    /// Starts the server with `COMMONGROUND_LOG=level` and `COMMONGROUND_LOG_FORMAT=format`;
    /// `failing` logs through a writer that always fails, with stderr on `/dev/full` too.
    fn start(level: &str, format: &str, failing: bool) -> Self {
        Self::start_with(level, format, failing, false)
    }

    /// As [`ChildServer::start`]; `stalled` puts stdout on a pipe nobody reads (a log shipper
    /// that hangs): once its buffer is full, every write to it waits.
    fn start_with(level: &str, format: &str, failing: bool, stalled: bool) -> Self {
        let (data_dir, database) = copy_template();
        let scratch = tempfile::tempdir().unwrap();
        let port_file = scratch.path().join("port");
        let log = scratch.path().join("stdout.log");
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["logging::child_server", "--exact", "--nocapture", "--test-threads=1"]);
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("COMMONGROUND_")) {
            command.env_remove(name);
        }
        command
            .env(CHILD_PORT_FILE, &port_file)
            .env("COMMONGROUND_BIND", "127.0.0.1:0")
            .env("COMMONGROUND_DATA_DIR", data_dir.path())
            .env("COMMONGROUND_DATABASE_URL", url_string(&database))
            .env("COMMONGROUND_DB_POOL_SIZE", "4")
            .env("COMMONGROUND_LOG", level)
            .env("COMMONGROUND_LOG_FORMAT", format)
            .stdin(Stdio::null())
            .stdout(if stalled { Stdio::piped() } else { Stdio::from(std::fs::File::create(&log).unwrap()) });
        if failing {
            command
                .env(CHILD_WRITER, "fail")
                .env(CHILD_FULL_FLAG, scratch.path().join("full"))
                .stderr(Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full")));
        } else {
            command.stderr(Stdio::from(std::fs::File::create(scratch.path().join("stderr.log")).unwrap()));
        }
        let mut process = command.spawn().expect("start the child server");
        let started = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok()) {
                break port;
            }
            if let Ok(Some(status)) = process.try_wait() {
                let stderr = std::fs::read_to_string(scratch.path().join("stderr.log")).unwrap_or_default();
                panic!("the child server exited ({status}) before listening: {stderr}");
            }
            assert!(started.elapsed() < Duration::from_secs(120), "the child server did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        let app = TestApp { address: format!("http://127.0.0.1:{port}"), data_dir, database };
        ChildServer { app, process, log, scratch }
    }

    /// The log so far, once the line for a last `GET /readyz` is in it (lines may be written
    /// after the answer).
    fn log_after_marker(&self) -> String {
        assert_eq!(self.app.get("/readyz").status, 200);
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap();
            if text.contains("/readyz") || started.elapsed() > Duration::from_secs(10) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn link_path(url: &str, kind: &str) -> (String, String) {
    let (_, token) = url.split_once(&format!("/{kind}/")).unwrap_or_else(|| panic!("a /{kind}/ link: {url}"));
    (format!("/{kind}/{token}"), token.to_string())
}

fn set_password(app: &TestApp, path: &str, password: &str) {
    let mut browser = app.browser();
    assert_eq!(browser.get(path).status, 200, "the link opens");
    let csrf = browser.csrf();
    let done = browser.post(path, &[("csrf", &csrf), ("new_password", password), ("confirm", password)]);
    assert_eq!(done.status, 303, "{}", done.body);
}

/// An invitation and a reset opened and completed, and a referral with distinctive details
/// created and viewed through its pages and the API; answers what must never be logged.
fn work_with_secrets(app: &TestApp) -> Vec<String> {
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let orgs = app.call("GET", "/api/v1/admin/organisations", Some(&admin), None).json();
    let service =
        orgs["organisations"].as_array().unwrap().iter().find(|o| o["kind"] == "link_worker_service").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let invite = json!({"email": "ottoline.vexbridge@example.org", "name": "Ottoline Vexbridge",
        "role": "link_worker", "organisation_id": service});
    let created = app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&invite.to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    let user = created.json()["id"].as_str().unwrap().to_string();
    let (invite_path, invite_token) = link_path(created.json()["invitation_url"].as_str().unwrap(), "invite");
    set_password(app, &invite_path, "quince lantern harbour 71");
    let reset = app.call("POST", &format!("/api/v1/admin/users/{user}/password-reset"), Some(&admin), None);
    assert_eq!(reset.status, 200, "{}", reset.body);
    let (reset_path, reset_token) = link_path(reset.json()["reset_url"].as_str().unwrap(), "reset");
    set_password(app, &reset_path, "walnut pylon meadow 38");
    app.login("ottoline.vexbridge@example.org", "walnut pylon meadow 38");

    let gp = app.login(GP, DEMO_PASSWORD);
    let mut body = referral_body();
    body["given_name"] = json!("Zephyrine");
    body["family_name"] = json!("Quillfeather");
    body["nhs_number"] = json!("999 123 4578");
    body["phone"] = json!("01632 960731");
    body["referrer_words"] = json!("Keeps marmalade bees behind the oboe shop");
    body["what_matters"] = json!("Returning to the Thrupplewick choir");
    let made = app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body.to_string()));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_string();
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let note = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/notes"),
        Some(&worker),
        Some(&json!({"body": "Spoke about the Gribblethorpe allotment"}).to_string()),
    );
    assert!(note.status < 300, "{}", note.body);
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&gp), None).status, 200);
    assert_eq!(app.call("GET", "/api/v1/referrals", Some(&worker), None).status, 200);
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(LINK_WORKER, DEMO_PASSWORD).status, 303);
    let page = browser.get(&format!("/referrals/{id}"));
    assert!(page.status == 200 && page.body.contains("Quillfeather"), "{}", page.status);
    assert_eq!(browser.get("/referrals").status, 200);
    assert_eq!(browser.get(&format!("/referrals/{id}/plan")).status, 200);

    [
        invite_token.as_str(),
        reset_token.as_str(),
        "quince lantern harbour",
        "walnut pylon meadow",
        DEMO_PASSWORD,
        "Ottoline",
        "Vexbridge",
        "Zephyrine",
        "Quillfeather",
        "999 123 4578",
        "9991234578",
        "01632 960731",
        "01632960731",
        "marmalade bees",
        "Thrupplewick",
        "Gribblethorpe",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn assert_nothing_secret_logged(level: &str, format: &str) {
    let server = ChildServer::start(level, format, false);
    let secrets = work_with_secrets(&server.app);
    let log = server.log_after_marker();
    assert!(log.contains("/readyz"), "the capture holds the request log ({level}, {format}): {log}");
    let leaks: Vec<&String> = secrets.iter().filter(|s| log.contains(s.as_str())).collect();
    let first = leaks.first().and_then(|s| log.lines().find(|l| l.contains(s.as_str()))).unwrap_or_default();
    assert!(
        leaks.is_empty(),
        "COMMONGROUND_LOG={level} COMMONGROUND_LOG_FORMAT={format} wrote {leaks:?}, e.g. {}",
        first.chars().take(600).collect::<String>()
    );
}

#[test]
fn no_secret_link_or_patient_detail_in_the_log_at_info_pretty() {
    assert_nothing_secret_logged("info", "pretty");
}

#[test]
fn no_secret_link_or_patient_detail_in_the_log_at_info_json() {
    assert_nothing_secret_logged("info", "json");
}

#[test]
fn no_secret_link_or_patient_detail_in_the_log_at_debug_json() {
    assert_nothing_secret_logged("debug", "json");
}

#[test]
fn no_secret_link_or_patient_detail_in_the_log_at_trace_pretty() {
    assert_nothing_secret_logged("trace", "pretty");
}

#[test]
fn the_request_log_names_route_patterns_not_paths() {
    let server = ChildServer::start("info", "json", false);
    assert_eq!(server.app.get("/reset/a-made-up-token-value").status, 404);
    assert_eq!(server.app.get("/no/such/page-with-a-secret-looking-name").status, 404);
    assert_eq!(server.app.get("/api/v1/no-such-route/an-api-secret-looking-name").status, 404);
    assert_eq!(server.app.get("/oruk/no-such-route/an-oruk-secret-looking-name").status, 404);
    let log = server.log_after_marker();
    assert!(log.contains("/reset/{token}"), "{log}");
    assert!(!log.contains("a-made-up-token-value"), "{log}");
    for unmatched in ["page-with-a-secret-looking-name", "an-api-secret-looking-name", "an-oruk-secret-looking-name"] {
        assert!(!log.contains(unmatched), "an unmatched path logs a placeholder: {log}");
    }
}

fn post_referral(address: &str, token: &str, body: &str) -> Result<u16, String> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    match agent
        .post(&format!("{address}/api/v1/referrals"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_string(body)
    {
        Ok(r) => Ok(r.status()),
        Err(ureq::Error::Status(code, _)) => Ok(code),
        Err(e) => Err(e.to_string()),
    }
}

fn referrals_stored(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    backend::db::schema::referrals::table.count().get_result(&mut app.db()).unwrap()
}

#[test]
fn every_referral_gets_its_answer_when_the_log_cannot_be_written() {
    // stderr is /dev/full from the start; the log's disk fills once the server is serving.
    let server = ChildServer::start("info", "pretty", true);
    let token = server.app.login(GP, DEMO_PASSWORD);
    let body = referral_body().to_string();
    let before = referrals_stored(&server.app);
    std::fs::write(server.scratch.path().join("full"), "").unwrap();
    let answers: Vec<Result<u16, String>> =
        (0..30).map(|_| post_referral(&server.app.address, &token, &body)).collect();
    let answered = answers.iter().filter(|a| *a == &Ok(201)).count();
    let stored = referrals_stored(&server.app) - before;
    assert_eq!((answered, stored), (30, 30), "answered and stored with the log on a full disk: {answers:?}");
    assert_eq!(server.app.get("/healthz").status, 200, "the server still serves");
}

#[test]
fn a_stalled_log_never_holds_up_an_answer() {
    let server = ChildServer::start_with("info", "json", false, true);
    let token = server.app.login(GP, DEMO_PASSWORD);
    // Enough request lines to fill the pipe's buffer (64 KiB) several times over.
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    for n in 0..2000 {
        let answer = agent.get(&format!("{}/healthz", server.app.address)).call();
        assert!(answer.is_ok(), "request {n} with the log's pipe full: {:?}", answer.err());
    }
    let body = referral_body().to_string();
    let answers: Vec<Result<u16, String>> =
        (0..30).map(|_| post_referral(&server.app.address, &token, &body)).collect();
    assert!(answers.iter().all(|a| a == &Ok(201)), "{answers:?}");
}
