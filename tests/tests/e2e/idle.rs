//! Idle sign-out on staff pages (shared computers): a page session lapses after
//! `COMMONGROUND_IDLE_MINUTES` without a request, however new its token; one in use lives on past
//! its token's lifetime; a form sent after the idle time gets a page with what was typed instead
//! of losing it. No JavaScript is involved.

use backend::db::schema::users;
use diesel::prelude::*;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, GP, LINK_WORKER};

/// A page session token for `email` last renewed `minutes_ago` (signed in an hour ago).
fn session_from(app: &TestApp, email: &str, minutes_ago: i64) -> String {
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    let keys = backend::accounts::tokens::TokenKeys::new(secret.trim().as_bytes(), 15, 12);
    let (id, version): (String, i32) = users::table
        .filter(users::email.eq(email))
        .select((users::id, users::token_version))
        .first(&mut app.db())
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    keys.issue(&id, version, now - 3600, now - minutes_ago * 60).unwrap().0
}

fn page(app: &TestApp, method: &str, path: &str, session: &str, form: &str) -> (u16, String, Vec<String>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let url = format!("{}{path}", app.address);
    let browser = "idle-csrf-token-0123456789-abcdefghijklmnopqr";
    let cookie = format!("cg_session={session}; cg_csrf={browser}");
    let result = if method == "POST" {
        let csrf = app.csrf_for(Some(session), Some(browser)).unwrap();
        agent
            .post(&url)
            .set("Cookie", &cookie)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .set("Referer", &format!("{}/referrals/x", app.address))
            .send_string(&format!("csrf={csrf}&{form}"))
    } else {
        agent.get(&url).set("Cookie", &cookie).call()
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = response.status();
    let cookies = response.all("set-cookie").into_iter().map(str::to_string).collect();
    let location = response.header("location").map(str::to_string);
    let body = response.into_string().unwrap_or_default();
    (status, location.map(|l| format!("location:{l}")).unwrap_or(body), cookies)
}

#[test]
fn a_page_session_signs_out_after_the_idle_time_and_lives_on_while_in_use() {
    let app = spawn_app();
    // 20 minutes since the last request: the 15-minute token has expired, the 30-minute idle
    // time has not: the page opens and the session is renewed.
    let (status, _, cookies) = page(&app, "GET", "/referrals", &session_from(&app, GP, 20), "");
    assert_eq!(status, 200);
    assert!(cookies.iter().any(|c| c.starts_with("cg_session=") && !c.starts_with("cg_session=;")), "{cookies:?}");
    // 31 minutes: signed out.
    let (status, location, _) = page(&app, "GET", "/referrals", &session_from(&app, GP, 31), "");
    assert_eq!(
        (status, location.as_str()),
        (303, "location:/sign-in?next=%2Freferrals"),
        "signed out, and back to the page after signing in"
    );
    // The API's bearer tokens are unchanged: an expired one is refused whatever the idle time.
    let answer = app.call("GET", "/api/v1/referrals", Some(&session_from(&app, GP, 20)), None);
    assert_eq!(answer.status, 401);
}

#[test]
fn a_form_sent_after_the_idle_time_shows_what_was_typed_instead_of_losing_it() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    let idle = session_from(&app, LINK_WORKER, 45);
    let note = "Rang Margaret: she would like the <b>gardening</b> club\r\non Tuesdays";
    let form = format!("body={}", form_urlencoded::byte_serialize(note.as_bytes()).collect::<String>());
    let (status, body, cookies) = page(&app, "POST", &format!("/referrals/{id}/notes"), &idle, &form);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("You were signed out") && body.contains("30 minutes"), "{body}");
    assert!(
        body.contains("Rang Margaret: she would like the &lt;b&gt;gardening&lt;/b&gt; club"),
        "kept, escaped: {body}"
    );
    assert!(body.contains("<textarea") && body.contains("href=\"/sign-in\"") && body.contains("href=\"/referrals/x\""));
    assert!(!body.contains("csrf"), "never the form's token");
    assert!(cookies.iter().any(|c| c.starts_with("cg_session=;") || c.contains("Max-Age=0")), "{cookies:?}");
    // Nothing was saved.
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let view = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json();
    assert_eq!(view["work"]["notes"], serde_json::json!([]));
    // A password typed into a form is never shown back; control characters are dropped.
    let (status, body, _) = page(
        &app,
        "POST",
        "/account/password",
        &idle,
        "current_password=hunter2-secret&new_password=x&confirm=y&note=a%00b",
    );
    assert_eq!(status, 401);
    assert!(!body.contains("hunter2-secret") && body.contains(">ab</textarea>"), "{body}");
    // A session in use sends the same form as ever.
    let fresh = session_from(&app, LINK_WORKER, 1);
    let (status, _, _) = page(&app, "POST", &format!("/referrals/{id}/notes"), &fresh, "body=Saved+this+time");
    assert_eq!(status, 303);
}

#[test]
fn the_idle_time_is_configurable_and_checked() {
    let app = spawn_app_with(|s| s.idle_minutes = 5);
    let (status, location, _) = page(&app, "GET", "/referrals", &session_from(&app, GP, 6), "");
    assert_eq!(
        (status, location.as_str()),
        (303, "location:/sign-in?next=%2Freferrals"),
        "signed out, and back to the page after signing in"
    );
    for bad in ["0", "721", "half an hour", ""] {
        let vars = vec![("COMMONGROUND_IDLE_MINUTES".to_string(), bad.to_string())];
        assert!(backend::config::Settings::load_from(&vars).is_err(), "{bad:?}");
    }
    let vars = vec![("COMMONGROUND_IDLE_MINUTES".to_string(), "45".to_string())];
    assert_eq!(backend::config::Settings::load_from(&vars).unwrap().idle_minutes, 45);
    assert_eq!(backend::config::Settings::default().idle_minutes, 30);
}

#[test]
fn a_page_session_issued_in_the_future_is_refused_however_recent() {
    let app = spawn_app();
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    let keys = backend::accounts::tokens::TokenKeys::new(secret.trim().as_bytes(), 15, 12);
    let (id, version): (String, i32) = users::table
        .filter(users::email.eq(GP))
        .select((users::id, users::token_version))
        .first(&mut app.db())
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    // Issued an hour ahead with a 15-minute life: expired for `verify` only once past, but never
    // a session in use.
    let ahead = keys.issue(&id, version, now, now + 3600).unwrap().0;
    let (status, location, _) = page(&app, "GET", "/referrals", &ahead, "");
    assert_eq!(
        (status, location.as_str()),
        (303, "location:/sign-in?next=%2Freferrals"),
        "signed out, and back to the page after signing in"
    );
    let signed_in_ahead = keys.issue(&id, version, now + 3600, now - 20 * 60).unwrap().0;
    let (status, location, _) = page(&app, "GET", "/referrals", &signed_in_ahead, "");
    assert_eq!(
        (status, location.as_str()),
        (303, "location:/sign-in?next=%2Freferrals"),
        "signed out, and back to the page after signing in"
    );
}
