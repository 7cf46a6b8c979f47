//! CSRF tokens are bound to who is asking: a signed-in session's identity, or a random
//! per-browser value before signing in, under an HMAC only the server can make. A token from
//! another session, or a cookie and field an attacker chose together, is refused.

use crate::helpers::{spawn_app, spawn_app_with, DEMO_PASSWORD};

const ADMIN: &str = "admin@demo.example.org";
const LINK_WORKER: &str = "link.worker@demo.example.org";

/// The token a page put in its forms.
fn form_token(body: &str) -> String {
    body.split(r#"name="csrf" value=""#).nth(1).expect("a form").split('"').next().unwrap().to_string()
}

#[test]
fn a_cookie_and_field_an_attacker_chose_together_are_refused() {
    let app = spawn_app();
    let chosen = "attacker-chosen-value-0123456789abcdef";
    for path in ["/sign-in", "/join"] {
        let mut browser = app.browser();
        browser.cookies.insert("cg_csrf".into(), chosen.into());
        let answer = browser.post(path, &[("csrf", chosen), ("email", ADMIN), ("password", DEMO_PASSWORD)]);
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(!browser.cookies.contains_key("cg_session"));
    }
    // Signed in, the same trick does not work either.
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(ADMIN, DEMO_PASSWORD).status, 303);
    browser.cookies.insert("cg_csrf".into(), chosen.into());
    assert_eq!(browser.post("/sign-out", &[("csrf", chosen)]).status, 403);
    assert_eq!(browser.get("/account").status, 200, "still signed in");
}

#[test]
fn a_token_made_for_one_session_is_refused_for_another() {
    let app = spawn_app();
    let mut admin = app.browser();
    assert_eq!(admin.sign_in(ADMIN, DEMO_PASSWORD).status, 303);
    let admin_token = form_token(&admin.get("/account").body);
    let mut worker = app.browser();
    assert_eq!(worker.sign_in(LINK_WORKER, DEMO_PASSWORD).status, 303);
    let worker_page = worker.get("/account").body;
    let worker_token = form_token(&worker_page);
    assert_ne!(admin_token, worker_token);
    // The form's token is not the cookie's value (not a plain double submit).
    assert!(worker.cookies.values().all(|v| *v != worker_token), "the token is derived, not copied");
    // The admin's token, with the worker's cookies (as if copied over to them): refused.
    worker.cookies.insert("cg_csrf".into(), admin_token.clone());
    assert_eq!(worker.post("/sign-out", &[("csrf", &admin_token)]).status, 403);
    assert_eq!(worker.get("/account").status, 200, "still signed in");
    // Its own token, from its own page: accepted.
    let mut worker = app.browser();
    assert_eq!(worker.sign_in(LINK_WORKER, DEMO_PASSWORD).status, 303);
    let own = form_token(&worker.get("/account").body);
    assert_eq!(worker.post("/sign-out", &[("csrf", &own)]).status, 303);
    assert_eq!(worker.get("/account").status, 303, "signed out");

    // Signed out: one browser's sign-in form token does not work in another browser.
    let mut first = app.browser();
    let first_token = form_token(&first.get("/sign-in").body);
    let mut second = app.browser();
    second.get("/sign-in");
    let refused = second.post("/sign-in", &[("csrf", &first_token), ("email", ADMIN), ("password", DEMO_PASSWORD)]);
    assert_eq!(refused.status, 403);
    let signed_in = first.post("/sign-in", &[("csrf", &first_token), ("email", ADMIN), ("password", DEMO_PASSWORD)]);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
}

#[test]
fn over_tls_the_csrf_cookie_is_host_only() {
    let app = spawn_app_with(|settings| settings.public_url = Some("https://directory.example.org".into()));
    let page = app.get("/sign-in");
    assert_eq!(page.status, 200);
    let cookies: Vec<&str> =
        page.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect();
    let csrf = cookies.iter().find(|c| c.contains("csrf")).expect("a CSRF cookie");
    assert!(csrf.starts_with("__Host-"), "{csrf}");
    assert!(csrf.contains("Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"), "{csrf}");
}
