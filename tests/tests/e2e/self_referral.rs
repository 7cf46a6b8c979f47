//! Self-referral (issue 15): a member of the public refers themselves from Cirencester at
//! `/refer-yourself`, without an account or JavaScript, and the link worker of the covering
//! service finds it marked "self-referral"; every bad input of the issue: no consent, a
//! postcode outside every coverage, a bot filling the honeypot, the 6th in an hour from one
//! address, a date of birth in the future.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referral_sources::{CIRENCESTER, OXFORD};
use crate::referrals::{ADMIN, LINK_WORKER};

/// A complete self-referral (a different person for each `given`).
fn form(given: &str) -> Value {
    json!({
        "given_name": given,
        "family_name": format!("{given}ford"),
        "date_of_birth": "1961-04-09",
        "nhs_number": "",
        "postcode": CIRENCESTER,
        "phone": "01632 960777",
        "preferred_contact": "phone",
        "contact_times": "Weekday mornings",
        "what_matters": "I feel lonely since I moved here.",
        "consent_referral": true,
        "consent_share": false,
        "website": ""
    })
}

fn send(app: &TestApp, body: &Value) -> crate::helpers::Answer {
    app.call("POST", "/api/v1/self-referrals", None, Some(&body.to_string()))
}

/// The self-referrals the covering service has.
fn self_referrals(app: &TestApp) -> Vec<Value> {
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let list = app.call("GET", "/api/v1/referrals", Some(&worker), None);
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["referrals"].as_array().unwrap().iter().filter(|r| r["source"] == "Self-referral").cloned().collect()
}

#[test]
fn a_person_refers_themselves_from_cirencester_and_the_link_worker_finds_it() {
    let app = spawn_app();
    let mut browser = app.browser();
    let page = browser.get("/refer-yourself");
    assert_eq!(page.status, 200);
    for words in
        ["What is this?", "What happens next?", "NHS 111", "NHS number (if you know it)", "Yes, I want a link worker"]
    {
        assert!(page.body.contains(words), "the page says {words:?}");
    }
    assert!(!page.body.contains("<script"), "no JavaScript needed");
    assert!(browser.get("/").body.contains("href=\"/refer-yourself\""), "linked from every page");
    let csrf = browser.csrf();
    let sent = browser.post(
        "/refer-yourself",
        &[
            ("csrf", &csrf),
            ("given_name", "Iris"),
            ("family_name", "Selfton"),
            ("date_of_birth", "1958-02-14"),
            ("nhs_number", ""),
            ("postcode", "gl7 1aa"),
            ("preferred_contact", "phone"),
            ("phone", "01632 960778"),
            ("email", ""),
            ("contact_times", "Afternoons, not at weekends"),
            ("language", ""),
            ("what_matters", "Getting out more; I used to love gardening."),
            ("consent_referral", "true"),
            ("website", ""),
        ],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.header("location"), Some("/refer-yourself?sent=1"));
    let thanks = browser.get("/refer-yourself?sent=1");
    assert!(thanks.body.contains("A link worker will get in touch with you"), "{}", thanks.body);

    // The link worker of the service covering GL7 finds it, marked as a self-referral.
    let found = self_referrals(&app);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["name"], "Iris Selfton");
    assert_eq!(found[0]["status"], "received");
    assert_eq!(found[0]["attention"], "not yet accepted");
    let id = found[0]["id"].as_str().unwrap().to_string();
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let referral = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json();
    assert_eq!(referral["source_kind"], "the_public");
    assert_eq!(referral["source"], "Self-referral");
    assert_eq!(referral["person"]["nhs_number"], "");
    assert_eq!(referral["person"]["contact_times"], "Afternoons, not at weekends");
    assert_eq!(referral["clinical"]["what_matters"], "Getting out more; I used to love gardening.");
    assert_eq!(referral["consent_share"], false);
    assert_eq!(referral["timeline"][0]["by"], "The person (self-referral)");
    let list_page = app.call("GET", "/referrals", Some(&worker), None);
    assert!(list_page.body.contains(r#"<td data-label="From">Self-referral</td>"#), "the caseload marks it");
    // The link worker can take it on as any other.
    let accepted = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/transitions"),
        Some(&worker),
        Some(&json!({"to": "accepted", "version": referral["version"]}).to_string()),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);

    // Reports count it under its source, without the person.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let report = app.call("GET", "/api/v1/reports/referrals-by-source", Some(&admin), None).json();
    let row = report["rows"].as_array().unwrap().iter().find(|r| r["source"] == "Self-referral").cloned().unwrap();
    assert_eq!(row["referrals"], 1);
    assert!(!report.to_string().contains("Iris"));
    // The self-referral account never signs in.
    let login = app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": "self-referral@commonground.invalid", "password": DEMO_PASSWORD}).to_string()),
    );
    assert_eq!(login.status, 401);
}

#[test]
fn self_referral_bad_input_is_named_and_nothing_is_kept() {
    let app = spawn_app();
    let received = send(&app, &form("Ada"));
    assert_eq!(received.status, 202, "{}", received.body);
    assert_eq!(self_referrals(&app).len(), 1);

    // Without consent.
    let mut no_consent = form("Bea");
    no_consent["consent_referral"] = json!(false);
    let refused = assert_error(&send(&app, &no_consent), 422, Some("consent_referral"));
    assert!(refused["error"]["fields"]["consent_referral"].as_str().unwrap().contains("Tick the box"));

    // A postcode outside every coverage: where to go instead.
    let mut outside = form("Cat");
    outside["postcode"] = json!(OXFORD);
    let refused = assert_error(&send(&app, &outside), 422, Some("postcode"));
    let message = refused["error"]["fields"]["postcode"].as_str().unwrap();
    assert!(message.contains("OX1") && message.contains("GP practice") && message.contains("NHS 111"), "{message}");

    // A date of birth in the future; a wrong NHS number; no way to reach them.
    let mut future = form("Dot");
    future["date_of_birth"] = json!((chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string());
    let refused = assert_error(&send(&app, &future), 422, Some("date_of_birth"));
    assert!(refused["error"]["fields"]["date_of_birth"].as_str().unwrap().contains("future"));
    let mut nhs = form("Eve");
    nhs["nhs_number"] = json!("999 000 0019");
    assert_error(&send(&app, &nhs), 422, Some("nhs_number"));
    let mut no_phone = form("Fay");
    no_phone["phone"] = json!("");
    assert_error(&send(&app, &no_phone), 422, Some("phone"));
    // A NUL byte (PostgreSQL refuses it in text) and an unknown field.
    let mut nul = form("Gus");
    nul["given_name"] = json!("Gus\u{0000}");
    assert_error(&send(&app, &nul), 422, Some("given_name"));
    let mut extra = form("Hal");
    extra["role"] = json!("admin");
    let answer = send(&app, &extra);
    assert!(matches!(answer.status, 400 | 422), "{}", answer.body);
    assert_eq!(self_referrals(&app).len(), 1, "none of these was kept");

    // A bot filling the hidden field: the same answer, nothing kept.
    let mut bot = form("Ivy");
    bot["website"] = json!("http://spam.example");
    let bot_answer = send(&app, &bot);
    assert_eq!(bot_answer.status, 202);
    assert_eq!(bot_answer.body, received.body, "the same answer whether kept or not");
    assert_eq!(self_referrals(&app).len(), 1, "the bot's was not kept");

    // On the page, each problem is next to its field, and what was typed is kept.
    let mut browser = app.browser();
    browser.get("/refer-yourself");
    let csrf = browser.csrf();
    let page = browser.post(
        "/refer-yourself",
        &[
            ("csrf", &csrf),
            ("given_name", "Jo <b>x</b>"),
            ("family_name", "Selfton"),
            ("date_of_birth", "2999-01-01"),
            ("postcode", OXFORD),
            ("preferred_contact", "phone"),
            ("phone", "01632 960779"),
            ("website", ""),
        ],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    for field in ["consent_referral", "date_of_birth", "postcode"] {
        assert!(page.body.contains(&format!("id=\"{field}-error\"")), "{field}'s error is next to it");
        assert!(page.body.contains(&format!("href=\"#{field}\"")), "{field} is in the summary");
    }
    assert!(page.body.contains("value=\"Jo &lt;b&gt;x&lt;&#x2F;b&gt;\"") || page.body.contains("Jo &lt;b&gt;x"));
    assert_eq!(self_referrals(&app).len(), 1);
}

#[test]
fn the_sixth_self_referral_in_an_hour_from_one_address_is_refused() {
    let app = spawn_app();
    // A refused form does not count: a person correcting a mistake is not locked out.
    let mut no_consent = form("Zed");
    no_consent["consent_referral"] = json!(false);
    assert_error(&send(&app, &no_consent), 422, Some("consent_referral"));
    for given in ["Ann", "Ben", "Cal", "Dee", "Eli"] {
        assert_eq!(send(&app, &form(given)).status, 202, "{given}");
    }
    let sixth = send(&app, &form("Fin"));
    assert_error(&sixth, 429, None);
    assert!(sixth.header("retry-after").is_some(), "says when to try again");
    assert_eq!(self_referrals(&app).len(), 5);
    // The page says so above the form and keeps what was typed.
    let mut browser = app.browser();
    browser.get("/refer-yourself");
    let csrf = browser.csrf();
    let page = browser.post(
        "/refer-yourself",
        &[("csrf", &csrf), ("given_name", "Gil"), ("family_name", "Selfton"), ("postcode", CIRENCESTER)],
    );
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Please try again in") && page.body.contains("value=\"Gil\""), "{}", page.body);
    assert_eq!(self_referrals(&app).len(), 5);
}
