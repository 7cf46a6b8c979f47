//! Accounts: signing in over the API and the pages, the generic failure, revocation on sign
//! out, disabling and password change, invitations, TOTP, rate limits, CSRF and the audit trail.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, DEMO_PASSWORD};

const ADMIN: &str = "admin@demo.example.org";
const LINK_WORKER: &str = "link.worker@demo.example.org";
const REFERRER: &str = "gp.referrer@demo.example.org";

fn login_body(email: &str, password: &str) -> String {
    json!({ "email": email, "password": password }).to_string()
}

#[test]
fn sign_in_over_the_api_and_who_am_i() {
    let app = spawn_app();
    let token = app.login(LINK_WORKER, DEMO_PASSWORD);
    let me = app.call("GET", "/api/v1/me", Some(&token), None);
    assert_eq!(me.status, 200);
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let me = me.json();
    assert_eq!(me["role"], "link_worker");
    assert_eq!(me["organisation_kind"], "link_worker_service");
    assert_error(&app.call("GET", "/api/v1/me", None, None), 401, None);
}

#[test]
fn one_generic_failure_whether_or_not_the_account_exists() {
    let app = spawn_app();
    let wrong_password =
        app.call("POST", "/api/v1/auth/login", None, Some(&login_body(LINK_WORKER, "not the password")));
    let unknown =
        app.call("POST", "/api/v1/auth/login", None, Some(&login_body("nobody@example.org", "not the password")));
    assert_error(&wrong_password, 401, None);
    assert_error(&unknown, 401, None);
    assert_eq!(wrong_password.json(), unknown.json(), "the answers must not tell which");
}

#[test]
fn the_sixth_rapid_wrong_password_is_refused_with_429() {
    let app = spawn_app();
    for attempt in 1..=5 {
        let answer = app.call("POST", "/api/v1/auth/login", None, Some(&login_body(REFERRER, "wrong password")));
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    let sixth = app.call("POST", "/api/v1/auth/login", None, Some(&login_body(REFERRER, "wrong password")));
    assert_error(&sixth, 429, None);
    assert!(sixth.header("retry-after").is_some());
    // Even the right password waits: the account is protected, not the guess.
    assert_eq!(app.call("POST", "/api/v1/auth/login", None, Some(&login_body(REFERRER, DEMO_PASSWORD))).status, 429);
    // Another account is unaffected.
    app.login(LINK_WORKER, DEMO_PASSWORD);
}

#[test]
fn logout_disabling_and_password_change_revoke_earlier_tokens() {
    let app = spawn_app();
    // Logout.
    let token = app.login(LINK_WORKER, DEMO_PASSWORD);
    assert_eq!(app.call("POST", "/api/v1/auth/logout", Some(&token), None).status, 204);
    assert_error(&app.call("GET", "/api/v1/me", Some(&token), None), 401, None);

    // Disabling by an admin.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let token = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = app.call("GET", "/api/v1/me", Some(&token), None).json()["id"].as_str().unwrap().to_string();
    assert_eq!(app.call("POST", &format!("/api/v1/admin/users/{id}/disable"), Some(&admin), None).status, 204);
    assert_error(&app.call("GET", "/api/v1/me", Some(&token), None), 401, None);
    assert_error(
        &app.call("POST", "/api/v1/auth/login", None, Some(&login_body(LINK_WORKER, DEMO_PASSWORD))),
        401,
        None,
    );
    assert_eq!(app.call("POST", &format!("/api/v1/admin/users/{id}/enable"), Some(&admin), None).status, 204);
    let token = app.login(LINK_WORKER, DEMO_PASSWORD);

    // Password change (through the account page).
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(LINK_WORKER, DEMO_PASSWORD).status, 303);
    browser.get("/account");
    let csrf = browser.csrf();
    let changed = browser.post(
        "/account/password",
        &[
            ("csrf", &csrf),
            ("current_password", DEMO_PASSWORD),
            ("new_password", "new lantern orchard song"),
            ("confirm", "new lantern orchard song"),
        ],
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_error(&app.call("GET", "/api/v1/me", Some(&token), None), 401, None);
    assert_eq!(browser.get("/account").status, 200, "the session that changed it carries on");
    app.login(LINK_WORKER, "new lantern orchard song");
}

#[test]
fn an_invitation_link_sets_a_password_once() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let me = app.call("GET", "/api/v1/me", Some(&admin), None).json();
    let orgs = app.call("GET", "/api/v1/admin/organisations", Some(&admin), None).json();
    let service =
        orgs["organisations"].as_array().unwrap().iter().find(|o| o["kind"] == "link_worker_service").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let invite = json!({"email": "New.Worker@Example.org", "name": "New Worker", "role": "link_worker", "organisation_id": service});
    let created = app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&invite.to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.json()["invitation_url"].as_str().unwrap().to_string();
    let path = url.split_once("/invite/").map(|(_, t)| format!("/invite/{t}")).unwrap();
    // The invited person cannot sign in yet.
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&login_body("new.worker@example.org", "anything at all 123"))
        )
        .status,
        401
    );
    let mut browser = app.browser();
    let page = browser.get(&path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("new.worker@example.org"));
    let csrf = browser.csrf();
    let weak = browser.post(&path, &[("csrf", &csrf), ("new_password", "short"), ("confirm", "short")]);
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("at least 12 characters"));
    let done = browser.post(
        &path,
        &[("csrf", &csrf), ("new_password", "river meadow kettle 42"), ("confirm", "river meadow kettle 42")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    app.login("new.worker@example.org", "river meadow kettle 42");
    assert_eq!(browser.get(&path).status, 404, "a link works once");
    // Bad invitations name the field.
    let duplicate = app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&invite.to_string()));
    assert_error(&duplicate, 422, Some("email"));
    let wrong_kind = json!({"email": "x@example.org", "name": "X", "role": "referrer", "organisation_id": service});
    assert_error(
        &app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&wrong_kind.to_string())),
        422,
        Some("role"),
    );
    let bad = json!({"email": "not-an-email", "name": "", "role": "wizard", "organisation_id": "nope"});
    let answer = app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&bad.to_string()));
    for field in ["email", "name", "role", "organisation_id"] {
        assert_error(&answer, 422, Some(field));
    }
    assert!(me["id"].is_string());
}

#[test]
fn totp_second_factor() {
    let app = spawn_app();
    let mut browser = app.browser();
    browser.sign_in(REFERRER, DEMO_PASSWORD);
    browser.get("/account");
    let csrf = browser.csrf();
    let started = browser.post("/account/totp/start", &[("csrf", &csrf)]);
    assert_eq!(started.status, 200);
    assert!(started.body.contains("<svg"), "QR code shown");
    let secret = started.body.split("<code class=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let now = chrono::Utc::now().timestamp() as u64;
    let wrong = browser.post("/account/totp/confirm", &[("csrf", &csrf), ("code", "000000")]);
    assert_eq!(wrong.status, 422);
    let code = backend::accounts::totp::code(&secret, now).unwrap();
    assert_eq!(browser.post("/account/totp/confirm", &[("csrf", &csrf), ("code", &code)]).status, 303);
    let without = app.call("POST", "/api/v1/auth/login", None, Some(&login_body(REFERRER, DEMO_PASSWORD)));
    assert_error(&without, 400, Some("code"));
    let with_wrong = json!({"email": REFERRER, "password": DEMO_PASSWORD, "code": "123456"});
    assert_error(&app.call("POST", "/api/v1/auth/login", None, Some(&with_wrong.to_string())), 401, None);
    // Being asked for the code after a right password costs no attempt: a person who signs in
    // with a second factor gets their five tries, not half of them.
    for _ in 0..4 {
        let again = app.call("POST", "/api/v1/auth/login", None, Some(&login_body(REFERRER, DEMO_PASSWORD)));
        assert_error(&again, 400, Some("code"));
    }
    let code = backend::accounts::totp::code(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    let with = json!({"email": REFERRER, "password": DEMO_PASSWORD, "code": code});
    assert_eq!(app.call("POST", "/api/v1/auth/login", None, Some(&with.to_string())).status, 200);
}

#[test]
fn forms_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app();
    let mut browser = app.browser();
    browser.get("/sign-in");
    for csrf in ["", "forged-token-value-that-is-long-enough-0000"] {
        let answer = browser.post("/sign-in", &[("csrf", csrf), ("email", ADMIN), ("password", DEMO_PASSWORD)]);
        assert_eq!(answer.status, 403, "csrf {csrf:?}");
        assert!(answer.content_type.starts_with("text/html"));
    }
    assert_eq!(browser.sign_in(ADMIN, DEMO_PASSWORD).status, 303);
    let forms: [(&str, &[(&str, &str)]); 6] = [
        (
            "/account/password",
            &[("current_password", DEMO_PASSWORD), ("new_password", "x y z w v u t s"), ("confirm", "x y z w v u t s")],
        ),
        ("/account/totp/start", &[]),
        ("/admin/organisations", &[("name", "Forged"), ("kind", "community_org")]),
        ("/admin/users", &[("name", "F"), ("email", "f@example.org"), ("role", "admin"), ("organisation_id", "x")]),
        ("/sign-out", &[]),
        ("/admin/users/00000000-0000-4000-8000-000000000000/disable", &[]),
    ];
    for (path, fields) in forms {
        let mut with_bad: Vec<(&str, &str)> = fields.to_vec();
        with_bad.push(("csrf", "wrong-wrong-wrong-wrong-wrong-wrong-wrong"));
        assert_eq!(browser.post(path, fields).status, 403, "{path} without a token at all");
        assert_eq!(browser.post(path, &with_bad).status, 403, "{path} with a wrong token");
    }
    assert_eq!(browser.get("/account").status, 200, "still signed in: nothing was changed");
}

#[test]
fn oversized_and_malformed_json_are_clear_errors() {
    let app = spawn_app();
    let huge = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(400_000));
    assert_error(&app.call("POST", "/api/v1/auth/login", None, Some(&huge)), 413, None);
    assert_error(&app.call("POST", "/api/v1/auth/login", None, Some("{not json")), 400, None);
    assert_error(&app.call("POST", "/api/v1/auth/login", None, Some("[1, 2, 3]")), 400, None);
    assert_error(&app.call("POST", "/api/v1/auth/login", None, Some("{\"email\": 5}")), 400, None);
    assert_error(
        &app.call("POST", "/api/v1/auth/login", None, Some("{\"email\": \"a\", \"password\": \"b\", \"extra\": 1}")),
        400,
        None,
    );
}

#[test]
fn sign_ins_and_account_changes_are_audited_without_secrets() {
    let app = spawn_app();
    let _ = app.call("POST", "/api/v1/auth/login", None, Some(&login_body(LINK_WORKER, "wrong password here")));
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let events = app.call("GET", "/api/v1/admin/audit?action=sign_in", Some(&admin), None);
    assert_eq!(events.status, 200);
    let events: Value = events.json();
    let list = events["events"].as_array().unwrap();
    assert!(list
        .iter()
        .any(|e| e["action"] == "sign_in.failure" && e["outcome"] == "denied" && e["detail"] == "wrong_password"));
    assert!(list.iter().any(|e| e["action"] == "sign_in.success"));
    assert!(!events.to_string().contains("wrong password here"), "no password in the audit trail");
    assert!(!events.to_string().contains(DEMO_PASSWORD));
    let token = app.login(LINK_WORKER, DEMO_PASSWORD);
    assert_eq!(app.call("GET", "/api/v1/admin/audit", Some(&token), None).status, 403);
    assert_error(&app.call("GET", "/api/v1/admin/audit?outcome=maybe", Some(&admin), None), 422, Some("outcome"));
    // The database refuses to rewrite history.
    let mut conn = app.db();
    use diesel::connection::SimpleConnection;
    assert!(conn.batch_execute("UPDATE audit_events SET outcome = 'ok'").is_err());
    assert!(conn.batch_execute("DELETE FROM audit_events").is_err());
}

#[test]
fn pages_show_each_role_its_own_world() {
    let app = spawn_app();
    for (email, sees_admin) in [
        (ADMIN, true),
        (LINK_WORKER, false),
        (REFERRER, false),
        ("garden.editor@demo.example.org", false),
        ("lead@demo.example.org", false),
    ] {
        let mut browser = app.browser();
        assert_eq!(browser.sign_in(email, DEMO_PASSWORD).status, 303, "{email}");
        let account = browser.get("/account");
        assert_eq!(account.status, 200);
        assert!(account.body.contains(email));
        assert_eq!(account.header("cache-control"), Some("no-store"), "signed-in pages are not cached");
        assert_eq!(browser.get("/admin").status, if sees_admin { 200 } else { 403 }, "{email}");
        let csrf = browser.csrf();
        assert_eq!(browser.post("/sign-out", &[("csrf", &csrf)]).status, 303);
        assert_eq!(browser.get("/account").status, 303, "signed out");
    }
}

/// A sign-up with the given password (and name), from the API.
fn sign_up_with(app: &crate::helpers::TestApp, n: usize, name: &str, password: &str) -> crate::helpers::Answer {
    let body = json!({
        "organisation_name": format!("Weak Password Test Group {n}"),
        "organisation_description": "We meet on Tuesdays to walk by the canal.",
        "organisation_email": "walkers@example.org",
        "name": name,
        "email": format!("walker{n}@example.org"),
        "password": password,
    });
    app.call("POST", "/api/v1/organisations/sign-up", None, Some(&body.to_string()))
}

#[test]
fn common_breached_passwords_are_refused_whatever_their_length() {
    let app = spawn_app();
    let weak = ["passwordpassword", "Password1234567890", "letmeinletmein99", "Sunshine2024!!!!", "qwertyuiop123"];
    for (n, password) in weak.iter().enumerate() {
        let answer = sign_up_with(&app, n, "Pat Green", password);
        let body = assert_error(&answer, 422, Some("password"));
        assert!(body["error"]["fields"]["password"].as_str().unwrap().contains("common"), "{password}: {body}");
    }
    // The person's own name is as guessable as a common password.
    let named = sign_up_with(&app, 10, "Bartholomew Featherstone", "Bartholomew Featherstone");
    assert_error(&named, 422, Some("password"));
    // A passphrase of unrelated words is fine (refusals above did not use up the allowance).
    assert_eq!(sign_up_with(&app, 11, "Pat Green", "green valley tea party").status, 202);

    // On a page, the message stands by the field.
    let mut browser = app.browser();
    browser.get("/join");
    let csrf = browser.csrf();
    let refused = browser.post(
        "/join",
        &[
            ("csrf", &csrf),
            ("organisation_name", "Canal Walkers"),
            ("organisation_description", "We walk by the canal on Tuesdays."),
            ("organisation_email", "canal@example.org"),
            ("name", "Sam Walker"),
            ("email", "sam.walker@example.org"),
            ("password", "letmeinletmein99"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let by_field = refused.body.split(r#"id="password-error""#).nth(1).expect("an error by the field");
    assert!(by_field[..by_field.find("</p>").unwrap()].contains("common"), "{}", refused.body);
    assert!(refused.body.contains(r#"aria-describedby="password-hint password-error""#));
    app.login(LINK_WORKER, DEMO_PASSWORD);
}
