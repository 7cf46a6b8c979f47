//! `spawn_app()`: a running server with its own database and index, built from a seeded
//! template once per test process (seeding 120,000 postcodes per test would be slow), and a
//! small HTTP client.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use backend::config::{Environment, Settings};
use backend::db::DatabaseUrl;
use backend::startup::{self, Application};
use diesel::connection::SimpleConnection;
use serde_json::Value;

/// The PostgreSQL server to test against, if any (an admin URL such as
/// `postgres://postgres@127.0.0.1:5432/postgres`).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("COMMONGROUND_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// Which engine this run uses, for messages.
pub fn engine() -> &'static str {
    if postgres_admin_url().is_some() {
        "postgresql"
    } else {
        "sqlite"
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// Replaces the database name in a PostgreSQL URL.
pub fn pg_url_with_db(admin: &str, db: &str) -> String {
    let (base, _) = admin.rsplit_once('/').expect("a postgres URL ends with /dbname");
    format!("{base}/{db}")
}

/// Runs SQL on the PostgreSQL admin database.
pub fn pg_admin(sql: &str) {
    let url = postgres_admin_url().expect("postgres configured");
    let mut conn = DatabaseUrl::Postgres(url).connect().expect("connect to postgres");
    conn.batch_execute(sql).expect(sql);
}

/// A fresh, empty database for a test: a new SQLite file or a new PostgreSQL database.
pub fn empty_database(dir: &Path) -> DatabaseUrl {
    match postgres_admin_url() {
        Some(admin) => {
            let name = unique("cg_empty");
            pg_admin(&format!("CREATE DATABASE {name}"));
            DatabaseUrl::Postgres(pg_url_with_db(&admin, &name))
        }
        None => DatabaseUrl::Sqlite(dir.join("commonground.db")),
    }
}

pub fn url_string(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => p.display().to_string(),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

/// Settings for a test server in `data_dir`.
pub fn test_settings(data_dir: &Path, database: &DatabaseUrl) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(backend::config::Secret::new(url_string(database))),
        env: Environment::Development,
        db_pool_size: 4,
        ..Settings::default()
    }
}

/// The seeded template: a database and an index directory, made once per process.
struct Template {
    dir: PathBuf,
    database: DatabaseUrl,
}

/// Drops the databases earlier test runs left behind on the PostgreSQL server: every test makes
/// one (`cg_empty_<pid>_<n>`, `cg_test_<pid>_<n>`) and a run cannot drop its own while its
/// servers still hold connections, so each run clears those of processes no longer running, on
/// a thread of its own (a drop takes a checkpoint: a second or more each; the tests do not wait).
fn drop_databases_of_finished_runs() {
    let Some(admin) = postgres_admin_url() else { return };
    let Ok(mut conn) = DatabaseUrl::Postgres(admin).connect() else { return };
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let backend::db::DbConnection::Pg(pg) = &mut conn else { return };
    use diesel::RunQueryDsl;
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'cg\\_%'").load(pg).unwrap_or_default();
    for Name { datname } in names {
        let pid = datname.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let running = pid.is_some_and(|pid| pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists());
        if pid.is_some() && !running {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"));
        }
    }
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        backend::telemetry::init_for_test();
        std::thread::spawn(drop_databases_of_finished_runs);
        let dir = std::env::temp_dir().join(unique("commonground_template"));
        std::fs::create_dir_all(&dir).unwrap();
        let database = empty_database(&dir);
        let settings = test_settings(&dir, &database);
        let prepared = startup::prepare(&settings, &mut std::io::sink()).expect("seed the template");
        // Close every connection (and the index writer) so the files can be copied whole.
        drop(prepared);
        Template { dir, database }
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != ".tantivy-writer.lock" && entry.file_name() != ".tantivy-meta.lock" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A running server and what it runs on.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Its data folder (SQLite file, index).
    pub data_dir: tempfile::TempDir,
    /// Its database.
    pub database: DatabaseUrl,
}

/// Starts a server on a copy of the seeded template.
pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

/// As [`spawn_app`], with settings changed first (e.g. trusted proxies).
pub fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (data_dir, database) = copy_template();
    let mut settings = test_settings(data_dir.path(), &database);
    tweak(&mut settings);
    spawn_with(settings, data_dir, database)
}

/// A copy of the seeded template (data folder and database), for a server a test starts
/// itself (in another process, say).
pub fn copy_template() -> (tempfile::TempDir, DatabaseUrl) {
    let template = template();
    let data_dir = tempfile::tempdir().unwrap();
    copy_dir(&template.dir.join("search-index"), &data_dir.path().join("search-index"));
    let database = match &template.database {
        DatabaseUrl::Sqlite(file) => {
            let target = data_dir.path().join("commonground.db");
            std::fs::copy(file, &target).unwrap();
            DatabaseUrl::Sqlite(target)
        }
        DatabaseUrl::Postgres(url) => {
            let admin = postgres_admin_url().unwrap();
            let template_db = url.rsplit('/').next().unwrap().to_string();
            let name = unique("cg_test");
            pg_admin(&format!("CREATE DATABASE {name} TEMPLATE {template_db}"));
            DatabaseUrl::Postgres(pg_url_with_db(&admin, &name))
        }
    };
    (data_dir, database)
}

/// A second instance on the same database as `app`, as behind a load balancer: its own data
/// folder with a copy of the seeded index, and the same signing secret.
pub fn spawn_second(app: &TestApp) -> TestApp {
    spawn_second_with(app, |_| {})
}

/// As [`spawn_second`], with settings changed first.
pub fn spawn_second_with(app: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    copy_dir(&template().dir.join("search-index"), &data_dir.path().join("search-index"));
    std::fs::copy(app.data_dir.path().join("jwt-secret"), data_dir.path().join("jwt-secret")).unwrap();
    let database = app.database.clone();
    let mut settings = test_settings(data_dir.path(), &database);
    tweak(&mut settings);
    spawn_with(settings, data_dir, database)
}

/// Starts a server with the given settings (a data folder the test prepared).
pub fn spawn_with(settings: Settings, data_dir: tempfile::TempDir, database: DatabaseUrl) -> TestApp {
    let port = start_server(settings).unwrap_or_else(|e| panic!("server failed to start: {e}"));
    TestApp { address: format!("http://127.0.0.1:{port}"), data_dir, database }
}

/// Builds and runs an application on its own thread; returns its port.
pub fn start_server(settings: Settings) -> Result<u16, String> {
    backend::telemetry::init_for_test();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            match Application::build(settings, &mut std::io::sink()) {
                Ok(app) => {
                    let _ = tx.send(Ok(app.port()));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("{e:#}")));
                }
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(120)).map_err(|e| e.to_string())?
}

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).redirects(0).build()
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    answer_all_headers(result)
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = backend::accounts::demo::DEMO_PASSWORD;

impl TestApp {
    pub fn get(&self, path: &str) -> Answer {
        answer(agent().get(&format!("{}{path}", self.address)).call())
    }

    /// A request with optional bearer token and JSON body.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Answer {
        let mut request = agent().request(method, &format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        match body {
            Some(body) => answer(request.set("Content-Type", "application/json").send_string(body)),
            None => answer(request.call()),
        }
    }

    /// Signs in over the API; returns the token.
    pub fn login(&self, email: &str, password: &str) -> String {
        let answer = self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"email": email, "password": password}).to_string()),
        );
        assert_eq!(answer.status, 200, "login {email}: {}", answer.body);
        answer.json()["token"].as_str().unwrap().to_string()
    }

    /// A browser-like client with a cookie jar.
    pub fn browser(&self) -> Browser<'_> {
        Browser { app: self, cookies: std::collections::BTreeMap::new() }
    }

    /// A token for the account, signed with the server's key at the account's current token
    /// version, as signing in would issue: for checking what the server does with a valid token
    /// of an account that cannot sign in (disabled, or its organisation not approved).
    pub fn mint_token(&self, email: &str) -> String {
        use backend::db::schema::users;
        use diesel::prelude::*;
        let secret = std::fs::read_to_string(self.data_dir.path().join("jwt-secret")).unwrap();
        let keys = backend::accounts::tokens::TokenKeys::new(secret.trim().as_bytes(), 15, 12);
        let (id, version): (String, i32) = users::table
            .filter(users::email.eq(email))
            .select((users::id, users::token_version))
            .first(&mut self.db())
            .unwrap();
        let now = chrono::Utc::now().timestamp();
        keys.issue(&id, version, now, now).unwrap().0
    }

    /// The CSRF token the server puts in the forms of a browser with this session cookie and
    /// CSRF cookie (computed with the server's own function and key).
    pub fn csrf_for(&self, session: Option<&str>, browser: Option<&str>) -> Option<String> {
        let secret = std::fs::read_to_string(self.data_dir.path().join("jwt-secret")).unwrap();
        let keys = backend::accounts::tokens::TokenKeys::new(secret.trim().as_bytes(), 15, 12);
        backend::routes::session::csrf_for(&keys, session, browser)
    }

    /// A database connection to the app's database.
    pub fn db(&self) -> backend::db::DbConnection {
        self.database.connect().expect("connect")
    }
}

/// Asserts the JSON error shape and that `field` is named; returns the body.
pub fn assert_error(answer: &Answer, status: u16, field: Option<&str>) -> Value {
    assert_eq!(answer.status, status, "status for body {}", answer.body);
    assert!(answer.content_type.starts_with("application/json"), "{}", answer.content_type);
    let body = answer.json();
    let error = &body["error"];
    assert!(error["code"].is_string(), "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    if let Some(field) = field {
        assert!(error["fields"][field].is_string(), "field {field} not named in {body}");
    }
    body
}

/// A browser: remembers cookies, submits forms.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookies: std::collections::BTreeMap<String, String>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn remember(&mut self, answer: &Answer) {
        for (name, value) in &answer.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap_or("");
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() || value.contains("Max-Age=0") || value.contains("max-age=0") {
                        self.cookies.remove(k.trim());
                    } else {
                        self.cookies.insert(k.trim().to_string(), v.to_string());
                    }
                }
            }
        }
    }

    fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let url = format!("{}{path}", self.app.address);
        let mut request = agent().request(method, &url);
        if !self.cookies.is_empty() {
            request = request.set("Cookie", &self.cookie_header());
        }
        let result = match form {
            Some(fields) => request.send_form(fields),
            None => request.call(),
        };
        let answer = answer_all_headers(result);
        self.remember(&answer);
        answer
    }

    pub fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, None)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send("POST", path, Some(form))
    }

    /// The CSRF token the pages put in this browser's forms: bound to its session, or before
    /// signing in to the browser's CSRF cookie.
    pub fn csrf(&self) -> String {
        let cookie = |name: &str| self.cookies.get(name).map(String::as_str);
        self.app.csrf_for(cookie("cg_session"), cookie("cg_csrf")).expect("a page with a form sets the CSRF cookie")
    }

    /// This browser's value of a cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).cloned()
    }

    /// Sets a cookie as if the server had (or as someone editing their cookies would).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_string(), value.to_string());
    }

    /// Signs in through the page.
    pub fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        self.get("/sign-in");
        let csrf = self.csrf();
        self.post("/sign-in", &[("csrf", &csrf), ("email", email), ("password", password)])
    }
}

/// Like `answer`, keeping repeated headers (several Set-Cookie).
fn answer_all_headers(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let content_type = response.content_type().to_string();
    let mut headers = Vec::new();
    for name in response.headers_names() {
        for value in response.all(&name) {
            headers.push((name.clone(), value.to_string()));
        }
    }
    let body = response.into_string().unwrap_or_default();
    Answer { status, body, content_type, headers }
}
