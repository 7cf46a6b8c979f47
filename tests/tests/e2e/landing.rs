//! Landing on your work: each role's home after signing in, and back to the page a signed-out
//! person opened (only ever a path of this site).

use crate::helpers::{spawn_app, Answer, Browser, DEMO_PASSWORD};

fn sign_in_at(browser: &mut Browser<'_>, query: &str, email: &str) -> Answer {
    browser.get(&format!("/sign-in{query}"));
    let csrf = browser.csrf();
    browser.post(&format!("/sign-in{query}"), &[("csrf", &csrf), ("email", email), ("password", DEMO_PASSWORD)])
}

#[test]
fn each_role_lands_on_its_own_work() {
    let app = spawn_app();
    for (email, home, shows) in [
        ("gp.referrer@demo.example.org", "/referrals", "Make a referral"),
        ("link.worker@demo.example.org", "/referrals?view=needs_attention", "Needs attention"),
        ("lead@demo.example.org", "/referrals?view=needs_attention", "Needs attention"),
        ("garden.editor@demo.example.org", "/introductions", "Introductions"),
        ("admin@demo.example.org", "/admin", "Administration"),
    ] {
        let mut browser = app.browser();
        let signed_in = browser.sign_in(email, DEMO_PASSWORD);
        assert_eq!(signed_in.status, 303, "{email}");
        assert_eq!(signed_in.header("location"), Some(home), "{email} lands on their work, not the password page");
        let page = browser.get(home);
        assert_eq!(page.status, 200, "{email}: {home}");
        assert!(page.body.contains(shows), "{email}: {home} shows {shows}");
    }
}

#[test]
fn a_signed_out_person_comes_back_to_the_page_they_opened() {
    let app = spawn_app();
    let mut browser = app.browser();
    let asked = browser.get("/referrals/new?from=bookmark");
    assert_eq!(asked.status, 303);
    let to = asked.header("location").unwrap().to_string();
    assert_eq!(to, "/sign-in?next=%2Freferrals%2Fnew%3Ffrom%3Dbookmark");
    let page = browser.get(&to);
    assert!(page.body.contains("action=\"/sign-in?next=%2Freferrals%2Fnew%3Ffrom%3Dbookmark\""), "the form keeps it");
    let signed_in =
        sign_in_at(&mut browser, "?next=%2Freferrals%2Fnew%3Ffrom%3Dbookmark", "gp.referrer@demo.example.org");
    assert_eq!(signed_in.header("location"), Some("/referrals/new?from=bookmark"));
    // A form sent (POST) while signed out is not replayed: the sign-in page alone.
    let mut other = app.browser();
    let posted = other.post("/referrals", &[("csrf", "x")]);
    assert!(posted.status == 303 || posted.status == 403, "{}", posted.status);
    assert!(!posted.header("location").unwrap_or_default().contains("next="));
}

#[test]
fn return_to_never_leaves_the_site() {
    let app = spawn_app();
    for next in [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "/referrals\r\nSet-Cookie: x=1",
        "/referrals /x",
        "javascript:alert(1)",
        "/sign-in?next=/admin",
        "",
    ] {
        let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let mut browser = app.browser();
        let page = browser.get(&format!("/sign-in?next={encoded}"));
        assert_eq!(page.status, 200, "{next:?}");
        assert!(!page.body.contains("evil.example"), "{next:?} is not put in the form");
        let signed_in = sign_in_at(&mut browser, &format!("?next={encoded}"), "gp.referrer@demo.example.org");
        assert_eq!(signed_in.status, 303, "{next:?}");
        assert_eq!(signed_in.header("location"), Some("/referrals"), "{next:?} leads to the person's home");
    }
    // A control character in the address is refused the one way every page refuses it, and
    // never makes a 500.
    let mut browser = app.browser();
    let page = browser.get("/sign-in?next=%2Freferrals%00");
    assert!(page.status < 500, "{}", page.status);
}

#[test]
fn a_missing_page_keeps_the_header_footer_and_the_way_on() {
    let app = spawn_app();
    let page = app.get("/no-such-page");
    assert_eq!(page.status, 404);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("<title>Page not found – Common Ground</title>"));
    assert!(page.body.contains("class=\"site-header\"") && page.body.contains("class=\"site-footer\""));
    assert!(page.body.contains("href=\"/sign-in\""), "the header's sign-in link");
    // Signed in, the header is the person's own (with Sign out).
    let mut browser = app.browser();
    browser.sign_in("gp.referrer@demo.example.org", DEMO_PASSWORD);
    let signed_in = browser.get("/referrals/x/y/z");
    assert_eq!(signed_in.status, 404);
    assert!(signed_in.body.contains("Sign out") && signed_in.body.contains("Social prescribing"));
    // The API keeps its JSON answer.
    assert!(app.get("/api/v1/nothing-here").content_type.starts_with("application/json"));
    // Hostile paths are a 404 page, never a 500.
    for path in ["/%00", "/%3Cscript%3E", "/a%0d%0aSet-Cookie:x=1"] {
        assert_eq!(app.get(path).status, 404, "{path}");
    }
}

#[test]
fn the_phase_banner_links_to_feedback_when_configured() {
    let app = crate::helpers::spawn_app_with(|s| s.feedback_url = Some("mailto:feedback@example.org".into()));
    let page = app.get("/");
    assert!(page.body.contains("class=\"phase-tag\">Beta</strong>"));
    assert!(page.body.contains("href=\"mailto:feedback@example.org\""), "the feedback link");
    let plain = spawn_app().get("/sign-in");
    assert!(
        plain.body.contains("phase-tag") && !plain.body.contains("tell us what you think"),
        "no link without an address"
    );
}
