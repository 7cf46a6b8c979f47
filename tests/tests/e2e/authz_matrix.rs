//! The authorization matrix: every route × every kind of caller (anonymous, a disabled user and
//! each role) × own and another organisation's record where a route names one, each cell with
//! its expected answer. The table is data: a route added to the app without a row here fails.

use std::collections::BTreeMap;

use backend::accounts::tokens::TokenKeys;
use backend::routes::{API_ROUTES, PAGE_ROUTES};
use diesel::prelude::*;

use crate::helpers::{spawn_app, Answer, TestApp, DEMO_PASSWORD};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No account needed.
    Anyone,
    /// Any active account.
    SignedIn,
    /// Administrators only.
    Admin,
    /// Holders of an invitation or reset link (a made-up link is not found).
    LinkHolder,
}

/// A row: method, route path, access, the path to request (with `{own}` / `{other}` for the
/// record) and the body to send.
type Row = (&'static str, &'static str, Access, &'static str, &'static str);

const API: &[Row] = &[
    ("get", "/services", Access::Anyone, "/services?q=garden", ""),
    ("get", "/services/{id}", Access::Anyone, "/services/{listing}", ""),
    ("get", "/taxonomy", Access::Anyone, "/taxonomy", ""),
    ("get", "/geocode", Access::Anyone, "/geocode?q=GL5+1HE", ""),
    ("post", "/auth/login", Access::Anyone, "/auth/login", "{\"email\": \"nobody@example.org\"}"),
    ("post", "/auth/logout", Access::SignedIn, "/auth/logout", ""),
    ("post", "/auth/refresh", Access::SignedIn, "/auth/refresh", ""),
    ("get", "/me", Access::SignedIn, "/me", ""),
    ("get", "/admin/organisations", Access::Admin, "/admin/organisations", ""),
    ("post", "/admin/organisations", Access::Admin, "/admin/organisations", "{\"name\": \"Matrix Club\", \"kind\": \"community_org\"}"),
    ("get", "/admin/users", Access::Admin, "/admin/users", ""),
    ("post", "/admin/users", Access::Admin, "/admin/users", "{\"email\": \"matrix@example.org\", \"name\": \"M\", \"role\": \"admin\", \"organisation_id\": \"{admin_org}\"}"),
    ("post", "/admin/users/{id}/disable", Access::Admin, "/admin/users/{victim}/disable", ""),
    ("post", "/admin/users/{id}/enable", Access::Admin, "/admin/users/{victim}/enable", ""),
    ("post", "/admin/users/{id}/password-reset", Access::Admin, "/admin/users/{victim}/password-reset", ""),
    ("get", "/admin/audit", Access::Admin, "/admin/audit", ""),
];

const PAGES: &[Row] = &[
    ("get", "/healthz", Access::Anyone, "/healthz", ""),
    ("get", "/readyz", Access::Anyone, "/readyz", ""),
    ("get", "/", Access::Anyone, "/?q=garden", ""),
    ("get", "/services/{id}", Access::Anyone, "/services/{listing}", ""),
    ("get", "/services/{id}/print", Access::Anyone, "/services/{listing}/print", ""),
    ("get", "/static/{name}", Access::Anyone, "/static/site.css", ""),
    ("get", "/sign-in", Access::Anyone, "/sign-in", ""),
    ("post", "/sign-in", Access::Anyone, "/sign-in", "email=nobody%40example.org"),
    ("post", "/sign-out", Access::SignedIn, "/sign-out", ""),
    ("get", "/invite/{token}", Access::LinkHolder, "/invite/made-up-token", ""),
    (
        "post",
        "/invite/{token}",
        Access::LinkHolder,
        "/invite/made-up-token",
        "new_password=river+meadow+kettle&confirm=river+meadow+kettle",
    ),
    ("get", "/reset/{token}", Access::LinkHolder, "/reset/made-up-token", ""),
    (
        "post",
        "/reset/{token}",
        Access::LinkHolder,
        "/reset/made-up-token",
        "new_password=river+meadow+kettle&confirm=river+meadow+kettle",
    ),
    ("get", "/account", Access::SignedIn, "/account", ""),
    (
        "post",
        "/account/password",
        Access::SignedIn,
        "/account/password",
        "current_password=wrong&new_password=a&confirm=b",
    ),
    ("post", "/account/totp/start", Access::SignedIn, "/account/totp/start", ""),
    ("post", "/account/totp/confirm", Access::SignedIn, "/account/totp/confirm", "code=000000"),
    ("post", "/account/totp/disable", Access::SignedIn, "/account/totp/disable", "current_password=wrong"),
    ("get", "/admin", Access::Admin, "/admin", ""),
    ("post", "/admin/organisations", Access::Admin, "/admin/organisations", "name=&kind=community_org"),
    ("post", "/admin/users", Access::Admin, "/admin/users", "email=bad&name=&role=admin&organisation_id=x"),
    ("post", "/admin/users/{id}/disable", Access::Admin, "/admin/users/{victim}/disable", ""),
    ("post", "/admin/users/{id}/enable", Access::Admin, "/admin/users/{victim}/enable", ""),
    ("post", "/admin/users/{id}/reset-link", Access::Admin, "/admin/users/{victim}/reset-link", ""),
    ("get", "/admin/audit", Access::Admin, "/admin/audit", ""),
];

/// The callers: a label and the e-mail of their account (none for anonymous).
const CALLERS: &[(&str, Option<&str>)] = &[
    ("anonymous", None),
    ("disabled", Some("disabled@demo.example.org")),
    ("referrer", Some("gp.referrer@demo.example.org")),
    ("link_worker", Some("link.worker@demo.example.org")),
    ("link_worker_lead", Some("lead@demo.example.org")),
    ("group_editor", Some("garden.editor@demo.example.org")),
    ("admin", Some("admin@demo.example.org")),
];

/// What a cell expects.
fn expected(access: Access, caller: &str, page: bool) -> Expect {
    let signed_in = !matches!(caller, "anonymous" | "disabled");
    match access {
        Access::Anyone => Expect::Allowed,
        Access::LinkHolder => Expect::NotFound,
        Access::SignedIn if !signed_in => Expect::SignIn(page),
        Access::SignedIn => Expect::Allowed,
        Access::Admin if !signed_in => Expect::SignIn(page),
        Access::Admin if caller == "admin" => Expect::Allowed,
        Access::Admin => Expect::Forbidden,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Anything but 401, 403, a sign-in redirect or a 5xx.
    Allowed,
    /// 401 (API) or a redirect to the sign-in page (pages).
    SignIn(bool),
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
}

fn check(expect: Expect, answer: &Answer) -> bool {
    let to_sign_in = answer.status == 303 && answer.header("location") == Some("/sign-in");
    match expect {
        Expect::Allowed => answer.status < 500 && answer.status != 401 && answer.status != 403 && !to_sign_in,
        Expect::SignIn(true) => to_sign_in,
        Expect::SignIn(false) => answer.status == 401,
        Expect::Forbidden => answer.status == 403,
        Expect::NotFound => answer.status == 404,
    }
}

struct Fixture {
    tokens: BTreeMap<&'static str, Option<String>>,
    values: BTreeMap<&'static str, String>,
}

fn fixture(app: &TestApp) -> Fixture {
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let me = app.call("GET", "/api/v1/me", Some(&admin), None).json();
    let admin_org = me["organisation_id"].as_str().unwrap().to_string();
    // A disabled account, and a victim for the admin actions.
    let mut ids = Vec::new();
    for email in ["disabled@demo.example.org", "victim@demo.example.org"] {
        let body = serde_json::json!({"email": email, "name": email, "role": "admin", "organisation_id": admin_org});
        let created = app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&body.to_string()));
        assert_eq!(created.status, 201, "{}", created.body);
        let url = created.json()["invitation_url"].as_str().unwrap().to_string();
        let token = url.rsplit('/').next().unwrap().to_string();
        let mut browser = app.browser();
        browser.get(&format!("/invite/{token}"));
        let csrf = browser.csrf();
        let set = browser.post(
            &format!("/invite/{token}"),
            &[("csrf", &csrf), ("new_password", DEMO_PASSWORD), ("confirm", DEMO_PASSWORD)],
        );
        assert_eq!(set.status, 303, "{}", set.body);
        ids.push(created.json()["id"].as_str().unwrap().to_string());
    }
    // Records of the group editor's own organisation and of another one.
    let own_listing = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let other_listing = backend::directory::seed::service_id("stroud-valleys-mens-shed-workshop");
    let users = app.call("GET", "/api/v1/admin/users", Some(&admin), None).json();
    let other_victim =
        users["users"].as_array().unwrap().iter().find(|u| u["email"] == "shed.editor@demo.example.org").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    Fixture {
        tokens: BTreeMap::new(),
        values: BTreeMap::from([
            ("admin_org", admin_org),
            ("own_victim", ids[1].clone()),
            ("other_victim", other_victim),
            ("disabled_id", ids[0].clone()),
            ("own_listing", own_listing),
            ("other_listing", other_listing),
        ]),
    }
    .with_disabled(app, &admin)
}

impl Fixture {
    fn with_disabled(mut self, app: &TestApp, admin: &str) -> Self {
        // Take the disabled user's token while active, then disable them.
        let disabled_token = app.login("disabled@demo.example.org", DEMO_PASSWORD);
        let id = self.values["disabled_id"].clone();
        assert_eq!(app.call("POST", &format!("/api/v1/admin/users/{id}/disable"), Some(admin), None).status, 204);
        self.tokens.insert("disabled", Some(disabled_token));
        self
    }

    /// A valid token for the caller right now (made with the server's key at the user's
    /// current token version, so earlier cells that signed out do not matter).
    fn token(&self, app: &TestApp, caller: &str, email: Option<&str>) -> Option<String> {
        if caller == "disabled" {
            return self.tokens["disabled"].clone();
        }
        let email = email?;
        let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
        let keys = TokenKeys::new(secret.trim().as_bytes(), 15, 12);
        let mut conn = app.db();
        use backend::db::schema::users;
        let (id, version): (String, i32) = users::table
            .filter(users::email.eq(email))
            .select((users::id, users::token_version))
            .first(&mut conn)
            .unwrap();
        let now = chrono::Utc::now().timestamp();
        Some(keys.issue(&id, version, now, now).unwrap().0)
    }

    fn fill(&self, template: &str, ownership: &str) -> String {
        let mut out = template
            .replace("{victim}", &format!("{{{ownership}_victim}}"))
            .replace("{listing}", &format!("{{{ownership}_listing}}"));
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }
}

fn request(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: &str, page: bool) -> Answer {
    if !page {
        let body = (!body.is_empty() || method == "post").then_some(if body.is_empty() { "{}" } else { body });
        return app.call(&method.to_uppercase(), &format!("/api/v1{path}"), token, body);
    }
    // Pages: session cookie, and a valid CSRF cookie and field on every form.
    let csrf = "matrix-csrf-token-0123456789-abcdefghijklmnop";
    let mut cookie = format!("cg_csrf={csrf}");
    if let Some(token) = token {
        cookie.push_str(&format!("; cg_session={token}"));
    }
    let url = format!("{}{path}", app.address);
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let result = if method == "post" {
        let form = if body.is_empty() { format!("csrf={csrf}") } else { format!("csrf={csrf}&{body}") };
        agent
            .post(&url)
            .set("Cookie", &cookie)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&form)
    } else {
        agent.get(&url).set("Cookie", &cookie).call()
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let content_type = response.content_type().to_string();
    Answer { status, body: response.into_string().unwrap_or_default(), content_type, headers }
}

#[test]
fn every_route_every_caller() {
    // Every route has exactly one row, and every row is a route.
    for (specs, rows, kind) in [(API_ROUTES, API, "API"), (PAGE_ROUTES, PAGES, "page")] {
        for spec in specs {
            let n = rows.iter().filter(|(m, p, ..)| *m == spec.method && *p == spec.path).count();
            assert_eq!(n, 1, "{kind} route {} {} needs one row in the authorization matrix", spec.method, spec.path);
        }
        for (m, p, ..) in rows {
            assert!(specs.iter().any(|s| s.method == *m && s.path == *p), "matrix row {m} {p} is not a {kind} route");
        }
    }
    let app = spawn_app();
    let fixture = fixture(&app);
    let mut cells = 0;
    let mut failures = Vec::new();
    for (rows, page) in [(API, false), (PAGES, true)] {
        for (method, route, access, sample, body) in rows {
            // Routes that name a record run for a record of the caller's own organisation
            // (for the group editor and the admin) and for another organisation's.
            let ownerships: &[&str] =
                if sample.contains("{victim}") || sample.contains("{listing}") { &["own", "other"] } else { &["own"] };
            for ownership in ownerships {
                for (caller, email) in CALLERS {
                    let token = fixture.token(&app, caller, *email);
                    let answer = request(
                        &app,
                        method,
                        &fixture.fill(sample, ownership),
                        token.as_deref(),
                        &fixture.fill(body, ownership),
                        page,
                    );
                    let expect = expected(*access, caller, page);
                    cells += 1;
                    if !check(expect, &answer) {
                        failures.push(format!(
                            "{method} {route} ({ownership} record) as {caller}: expected {expect:?}, got {} {}",
                            answer.status,
                            answer.body.chars().take(120).collect::<String>()
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "authorization matrix: {} routes × {} callers × own/other record where one is named = {cells} cells",
        API.len() + PAGES.len(),
        CALLERS.len()
    );
    assert!(failures.is_empty(), "{} of {cells} cells failed:\n{}", failures.len(), failures.join("\n"));
}
