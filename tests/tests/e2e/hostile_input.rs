//! Hostile input at the edge: control characters (a NUL byte above all, which PostgreSQL
//! refuses in text) in every JSON body, form and query string are a 422 naming the field on
//! both engines, never a 500; a NUL in a path id is a 404. And links sent to people are built
//! on the configured public address, never on a `Host` or `X-Forwarded-Host` the caller sent.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, empty_database, spawn_app, spawn_with, start_server, test_settings, TestApp, DEMO_PASSWORD,
};
use crate::referrals::{referral_body, ADMIN, GARDEN_EDITOR, GP, LINK_WORKER};

/// A made-up record id: the refusal comes before any record is looked up.
const SOME_ID: &str = "00000000-0000-4000-8000-000000000000";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Who {
    Anyone,
    Admin,
    Gp,
    Worker,
    Editor,
}

fn email(who: Who) -> &'static str {
    match who {
        Who::Anyone => "",
        Who::Admin => ADMIN,
        Who::Gp => GP,
        Who::Worker => LINK_WORKER,
        Who::Editor => GARDEN_EDITOR,
    }
}

/// Ids the paths need: a listing of the garden editor's group, a referral the link worker
/// works on, a report.
fn fill(path: &str, ids: &BTreeMap<&str, String>) -> String {
    let mut out = path.to_string();
    for (name, value) in ids {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out.replace("{id}", SOME_ID)
}

fn ids(app: &TestApp) -> BTreeMap<&'static str, String> {
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let listings = app.call("GET", "/api/v1/my/listings", Some(&editor), None).json();
    let listing = listings["listings"][0]["id"].as_str().unwrap_or_else(|| panic!("{listings}")).to_string();
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let referrals = app.call("GET", "/api/v1/referrals", Some(&worker), None).json();
    let referral = referrals["referrals"][0]["id"].as_str().unwrap_or_else(|| panic!("{referrals}")).to_string();
    BTreeMap::from([("listing", listing), ("referral", referral), ("report", "referrals-by-month".to_string())])
}

/// JSON routes: (method, path, who, body with a NUL in `field`, field).
const JSON_ROUTES: &[(&str, &str, Who, &str, &str)] = &[
    ("POST", "/api/v1/auth/login", Who::Anyone, r#"{"email":"a\u0000","password":"x"}"#, "email"),
    ("POST", "/api/v1/services/{listing}/suggestions", Who::Anyone, r#"{"body":"the hours are wrong\u0000"}"#, "body"),
    (
        "POST",
        "/api/v1/organisations/sign-up",
        Who::Anyone,
        r#"{"organisation_name":"Knit\u0000","organisation_description":"We knit","website":"","organisation_email":"k@example.org","organisation_phone":"","name":"Kit","email":"kit@example.org","password":"a long enough password 1"}"#,
        "organisation_name",
    ),
    ("PATCH", "/api/v1/services/{listing}", Who::Editor, r#"{"name":"Shed\u0000","version":1}"#, "name"),
    ("POST", "/api/v1/services", Who::Editor, r#"{"name":"Shed\u0000"}"#, "name"),
    (
        "PUT",
        "/api/v1/services/{listing}/sessions",
        Who::Editor,
        r#"{"sessions":[{"notes":"x\u0000"}]}"#,
        "sessions[0].notes",
    ),
    ("POST", "/api/v1/suggestions/{id}", Who::Editor, r#"{"reply":"x\u0000"}"#, "reply"),
    ("POST", "/api/v1/services/{listing}/revert", Who::Admin, r#"{"version":"\u0000"}"#, "version"),
    ("POST", "/api/v1/services/{listing}/merge", Who::Admin, r#"{"into":"\u0000"}"#, "into"),
    ("POST", "/api/v1/admin/organisations", Who::Admin, r#"{"name":"Club\u0000","kind":"community_group"}"#, "name"),
    ("POST", "/api/v1/admin/organisations/{id}/reject", Who::Admin, r#"{"reason":"no\u0000"}"#, "reason"),
    (
        "POST",
        "/api/v1/admin/users",
        Who::Admin,
        r#"{"email":"a\u0000@example.org","name":"A","role":"admin","organisation_id":"x"}"#,
        "email",
    ),
    ("POST", "/api/v1/referrals/{referral}/transitions", Who::Worker, r#"{"to":"accepted","note":"x\u0000"}"#, "note"),
    ("POST", "/api/v1/referrals/{referral}/assign", Who::Worker, r#"{"user_id":"\u0000"}"#, "user_id"),
    ("POST", "/api/v1/referrals/{referral}/notes", Who::Worker, r#"{"body":"x\u0000"}"#, "body"),
    ("POST", "/api/v1/referrals/{referral}/contact-attempts", Who::Worker, r#"{"note":"x\u0001"}"#, "note"),
    ("POST", "/api/v1/referrals/{referral}/measures", Who::Worker, r#"{"kind":"\u0000"}"#, "kind"),
    ("PUT", "/api/v1/referrals/{referral}/plan", Who::Worker, r#"{"goals":["\u0000"]}"#, "goals[0]"),
    ("POST", "/api/v1/referrals/{referral}/connections", Who::Worker, r#"{"service_id":"\u0000"}"#, "service_id"),
    ("POST", "/api/v1/connections/{id}/transitions", Who::Editor, r#"{"to":"\u0000"}"#, "to"),
];

/// Query strings: (path with a NUL in `field`, who, field); paths under `/api` and `/oruk`
/// answer JSON, the others pages.
const QUERY_ROUTES: &[(&str, Who, &str)] = &[
    ("/api/v1/services?q=%00", Who::Anyone, "q"),
    ("/api/v1/geocode?q=GL5%00", Who::Anyone, "q"),
    ("/oruk/services?search=%00", Who::Anyone, "search"),
    ("/oruk/taxonomy_terms?vocabulary=%00", Who::Anyone, "vocabulary"),
    ("/?q=garden%00", Who::Anyone, "q"),
    ("/join?sent=%00", Who::Anyone, "sent"),
    ("/api/v1/my/listings?view=%00", Who::Editor, "view"),
    ("/api/v1/admin/audit?action=%00", Who::Admin, "action"),
    ("/api/v1/referrals?practice=%00", Who::Worker, "practice"),
    ("/api/v1/referrals/{referral}/search?q=%00", Who::Worker, "q"),
    ("/api/v1/reports/{report}?practice=%00", Who::Admin, "practice"),
    ("/my/listings?error=%00", Who::Editor, "error"),
    ("/admin/audit?action=%00", Who::Admin, "action"),
    ("/referrals?practice=%00", Who::Worker, "practice"),
    ("/referrals/{referral}?error=%00", Who::Worker, "error"),
    ("/introductions?error=%00", Who::Editor, "error"),
    ("/reports/{report}?practice=%00", Who::Admin, "practice"),
];

/// Page forms: (path, who, field sent with a NUL); each also sends a good CSRF token.
const FORM_ROUTES: &[(&str, Who, &str)] = &[
    ("/sign-in", Who::Anyone, "email"),
    ("/join", Who::Anyone, "organisation_name"),
    ("/invite/a-made-up-token", Who::Anyone, "new_password"),
    ("/reset/a-made-up-token", Who::Anyone, "new_password"),
    ("/account/password", Who::Worker, "current_password"),
    ("/account/totp/start", Who::Worker, "current_password"),
    ("/account/totp/confirm", Who::Worker, "code"),
    ("/account/totp/disable", Who::Worker, "code"),
    ("/admin/organisations", Who::Admin, "name"),
    ("/admin/organisations/{id}/reject", Who::Admin, "reason"),
    ("/admin/users", Who::Admin, "email"),
    ("/admin/listings/merge", Who::Admin, "duplicate"),
    ("/referrals", Who::Gp, "given_name"),
    ("/referrals/{referral}/transitions", Who::Worker, "note"),
    ("/referrals/{referral}/notes", Who::Worker, "body"),
    ("/referrals/{referral}/contact-attempts", Who::Worker, "note"),
    ("/referrals/{referral}/measures", Who::Worker, "kind"),
    ("/referrals/{referral}/connections", Who::Worker, "service_id"),
    ("/referrals/{referral}/plan", Who::Worker, "goals"),
    ("/connections/{id}/transitions", Who::Editor, "to"),
    ("/my/listings/{listing}", Who::Editor, "name"),
    ("/my/listings/{listing}/verify", Who::Editor, "note"),
    ("/my/listings/{listing}/sessions", Who::Editor, "notes"),
    ("/my/listings/{listing}/terms", Who::Editor, "categories"),
    ("/my/listings/{listing}/venue", Who::Editor, "address"),
];

#[test]
fn control_characters_in_any_json_body_form_or_query_are_a_422_never_a_500() {
    let app = spawn_app();
    let ids = ids(&app);
    let mut tokens = BTreeMap::new();
    let mut browsers = BTreeMap::new();
    for who in [Who::Admin, Who::Gp, Who::Worker, Who::Editor] {
        tokens.insert(who, app.login(email(who), DEMO_PASSWORD));
        let mut browser = app.browser();
        assert_eq!(browser.sign_in(email(who), DEMO_PASSWORD).status, 303);
        browsers.insert(who, browser);
    }
    browsers.insert(Who::Anyone, app.browser());
    let mut wrong = Vec::new();

    for (method, path, who, body, field) in JSON_ROUTES {
        let path = fill(path, &ids);
        let answer = app.call(method, &path, tokens.get(who).map(String::as_str), Some(body));
        let named =
            answer.content_type.starts_with("application/json") && answer.json()["error"]["fields"][*field].is_string();
        if answer.status != 422 || !named {
            wrong.push(format!("{method} {path}: {} {}", answer.status, answer.body));
        }
    }
    for (path, who, field) in QUERY_ROUTES {
        let path = fill(path, &ids);
        let browser = browsers.get_mut(who).unwrap();
        let answer = if path.starts_with("/api/") || path.starts_with("/oruk") {
            app.call("GET", &path, tokens.get(who).map(String::as_str), None)
        } else {
            browser.get(&path)
        };
        let json = path.starts_with("/api/") || path.starts_with("/oruk");
        let shaped = if json {
            answer.content_type.starts_with("application/json") && answer.json()["error"]["fields"][*field].is_string()
        } else {
            answer.content_type.starts_with("text/html") && answer.body.contains(field)
        };
        if answer.status != 422 || !shaped {
            wrong.push(format!("GET {path}: {} {}", answer.status, answer.body.chars().take(300).collect::<String>()));
        }
    }
    for (path, who, field) in FORM_ROUTES {
        let path = fill(path, &ids);
        let browser = browsers.get_mut(who).unwrap();
        // A page with a form sets the CSRF cookie.
        browser.get("/sign-in");
        let csrf = browser.csrf();
        let answer = browser.post(&path, &[("csrf", &csrf), (field, "before\u{0}after")]);
        if answer.status != 422 || !answer.content_type.starts_with("text/html") || !answer.body.contains(field) {
            wrong.push(format!("POST {path}: {} {}", answer.status, answer.body.chars().take(300).collect::<String>()));
        }
    }
    assert!(wrong.is_empty(), "not a 422 naming the field ({}):\n{}", crate::helpers::engine(), wrong.join("\n"));
}

#[test]
fn other_control_characters_are_refused_but_tabs_and_newlines_are_text() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    for bad in ["\u{1}", "\u{8}", "\u{1b}[31m", "\u{7f}"] {
        let mut body = referral_body();
        body["referrer_words"] = json!(format!("Lonely{bad}"));
        let answer = app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body.to_string()));
        if bad == "\u{7f}" {
            // DEL is not a C0 control; it is stored like any other character.
            assert_eq!(answer.status, 201, "{}", answer.body);
        } else {
            assert_error(&answer, 422, Some("referrer_words"));
        }
    }
    let mut body = referral_body();
    body["referrer_words"] = json!("Lonely.\r\n\tMisses her garden.");
    assert_eq!(app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body.to_string())).status, 201);
    // A key is text too.
    let answer = app.call("POST", "/api/v1/auth/login", None, Some(r#"{"email\u0000":"a","password":"x"}"#));
    assert_eq!(answer.status, 422, "{}", answer.body);
}

#[test]
fn a_nul_in_a_path_id_is_a_404() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    for path in [
        "/api/v1/services/%00",
        "/api/v1/services/abc%00def/history",
        "/api/v1/referrals/%00",
        "/api/v1/reports/%00",
        "/oruk/services/%00",
        "/oruk/taxonomies/%00",
        "/services/%00",
        "/invite/%00",
        "/reset/%00",
        "/static/%00",
        "/referrals/%00",
        "/reports/%00",
    ] {
        let answer = app.call("GET", path, Some(&admin), None);
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
}

/// The link in an answer, split at its path.
fn link_base(answer: &crate::helpers::Answer, key: &str, kind: &str) -> String {
    assert!(answer.status < 300, "{}", answer.body);
    let url = answer.json()[key].as_str().unwrap().to_string();
    url.split_once(&format!("/{kind}/")).map(|(base, _)| base.to_string()).unwrap()
}

fn forged(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    header: (&str, &str),
    body: Option<&Value>,
) -> crate::helpers::Answer {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let request = agent
        .request(method, &format!("{}{path}", app.address))
        .set("Authorization", &format!("Bearer {token}"))
        .set(header.0, header.1);
    let result = match body {
        Some(body) => request.send_json(body.clone()),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = response.status();
    let content_type = response.content_type().to_string();
    let body = response.into_string().unwrap();
    crate::helpers::Answer { status, body, content_type, headers: Vec::new() }
}

fn links_with_forged_hosts(app: &TestApp) -> Vec<String> {
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let users = app.call("GET", "/api/v1/admin/users", Some(&admin), None).json();
    let user = users["users"].as_array().unwrap().iter().find(|u| u["email"] == LINK_WORKER).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let orgs = app.call("GET", "/api/v1/admin/organisations", Some(&admin), None).json();
    let service =
        orgs["organisations"].as_array().unwrap().iter().find(|o| o["kind"] == "link_worker_service").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let mut bases = Vec::new();
    for (n, header) in [
        ("Host", "attacker.example"),
        ("X-Forwarded-Host", "attacker.example"),
        ("Forwarded", "host=attacker.example;proto=https"),
    ]
    .into_iter()
    .enumerate()
    {
        let reset = forged(app, "POST", &format!("/api/v1/admin/users/{user}/password-reset"), &admin, header, None);
        bases.push(link_base(&reset, "reset_url", "reset"));
        let invite = json!({"email": format!("forged{n}@example.org"), "name": "Forged", "role": "link_worker", "organisation_id": service});
        let invited = forged(app, "POST", "/api/v1/admin/users", &admin, header, Some(&invite));
        bases.push(link_base(&invited, "invitation_url", "invite"));
    }
    bases
}

#[test]
fn reset_and_invitation_links_ignore_forged_host_headers() {
    // Development without a public URL: the address the server listens on.
    let app = spawn_app();
    for base in links_with_forged_hosts(&app) {
        assert_eq!(base, app.address, "a link built from a forged header");
    }
    // With a public URL: that, whatever the request said.
    let dir = tempfile::tempdir().unwrap();
    let database = empty_database(dir.path());
    let mut settings = test_settings(dir.path(), &database);
    settings.public_url = Some("https://directory.example.nhs.uk".into());
    let app = spawn_with(settings, dir, database);
    for base in links_with_forged_hosts(&app) {
        assert_eq!(base, "https://directory.example.nhs.uk");
    }
}

#[test]
fn production_without_a_public_url_refuses_to_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let database = empty_database(dir.path());
    let mut settings = test_settings(dir.path(), &database);
    settings.env = backend::config::Environment::Production;
    settings.jwt_secret = Some(backend::config::Secret::new("a-production-secret-of-forty-characters!"));
    let refused = start_server(settings.clone()).unwrap_err();
    assert!(refused.contains("COMMONGROUND_PUBLIC_URL"), "{refused}");
    settings.public_url = Some("https://directory.example.nhs.uk".into());
    start_server(settings).unwrap();
}
