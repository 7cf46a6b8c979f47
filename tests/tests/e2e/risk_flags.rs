//! Risk and safeguarding flags (issue 15): set by the referrer when referring and by the link
//! worker, each with who, when and why; a banner on the referral's page and in its API answer;
//! a safeguarding log; never shown to community groups or admins, never in any message;
//! counted in reports without identities; "do not contact directly" stops the person's message
//! (checked over SMTP with the loopback sink).

use std::time::Duration;

use backend::db::schema::notifications;
use diesel::prelude::*;
use serde_json::{json, Value};
use tests::smtp_sink::SmtpSink;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::notifications::{emailed_referral, over_smtp};
use crate::referrals::{another_person, create, ADMIN, GARDEN_EDITOR, GP, LINK_WORKER};

const WHY: &str = "Large dog; partner has shouted at visitors";

fn flagged_body() -> Value {
    let mut body = another_person();
    body["risk_flags"] = json!(["lone_working", "risk_to_others"]);
    body["flag_reason"] = json!(WHY);
    body
}

fn get(app: &TestApp, token: &str, path: &str) -> crate::helpers::Answer {
    app.call("GET", path, Some(token), None)
}

#[test]
fn flags_show_as_a_banner_to_the_service_and_never_reach_groups_admins_or_messages() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);

    // Bad flags when referring: unknown kind, a flag without a reason. Nothing kept.
    let mut bad = flagged_body();
    bad["risk_flags"] = json!(["bites"]);
    assert_error(&app.call("POST", "/api/v1/referrals", Some(&gp), Some(&bad.to_string())), 422, Some("risk_flags"));
    let mut bad = flagged_body();
    bad["flag_reason"] = json!(" ");
    assert_error(&app.call("POST", "/api/v1/referrals", Some(&gp), Some(&bad.to_string())), 422, Some("flag_reason"));

    let mut body = flagged_body();
    body["preferred_contact"] = json!("email");
    body["email"] = json!("flagged.person@example.org");
    let id = create(&app, &gp, &body);

    // The link worker: both flags, who set them and why, on the API answer and as a banner.
    let seen = get(&app, &worker, &format!("/api/v1/referrals/{id}")).json();
    let flags = seen["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 2, "{seen}");
    assert_eq!(flags[0]["kind"], "risk_to_others", "in the order of the list of kinds");
    assert_eq!(flags[1]["kind"], "lone_working");
    assert_eq!(flags[1]["label"], "Lone-working caution: visit in pairs");
    assert_eq!(flags[0]["reason"], WHY);
    assert_eq!(flags[0]["set_by"], "Sam Referrer (Beeches Green)");
    assert!(flags[0]["set_at"].is_string());
    let page = get(&app, &worker, &format!("/referrals/{id}"));
    assert!(
        page.body.contains("Before you phone or visit") && page.body.contains("Lone-working caution: visit in pairs")
    );
    let list = get(&app, &worker, "/api/v1/referrals").json();
    let row = list["referrals"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).unwrap().clone();
    assert_eq!(row["flags"], json!(["Risk to others", "Lone-working caution: visit in pairs"]));
    // The referring practice sees them too; an admin's oversight does not.
    assert_eq!(get(&app, &gp, &format!("/api/v1/referrals/{id}")).json()["flags"].as_array().unwrap().len(), 2);
    let overseen = get(&app, &admin, &format!("/api/v1/referrals/{id}")).json();
    assert_eq!(overseen["flags"], json!([]));
    assert!(!overseen.to_string().contains("Large dog"));
    assert!(!get(&app, &admin, &format!("/referrals/{id}")).body.contains("Large dog"));

    // The link worker sets another; bad input named.
    let flag = |body: Value| {
        app.call("POST", &format!("/api/v1/referrals/{id}/flags"), Some(&worker), Some(&body.to_string()))
    };
    assert_error(&flag(json!({"kind": "bites", "reason": "x"})), 422, Some("kind"));
    assert_error(&flag(json!({"kind": "risk_to_self", "reason": ""})), 422, Some("reason"));
    assert_error(&flag(json!({"kind": "risk_to_self", "reason": "a\u{0000}b"})), 422, Some("reason"));
    assert_eq!(flag(json!({"kind": "safeguarding_open", "reason": "Raised with adult social care"})).status, 201);
    // Nobody else sets flags: the referrer (403), an admin (403), a group editor (404).
    for (token, status) in [(&gp, 403), (&admin, 403), (&editor, 404)] {
        let answer = app.call(
            "POST",
            &format!("/api/v1/referrals/{id}/flags"),
            Some(token),
            Some(&json!({"kind": "risk_to_self", "reason": "x"}).to_string()),
        );
        assert_error(&answer, status, None);
    }

    // The safeguarding log.
    let concern = |body: Value| {
        app.call("POST", &format!("/api/v1/referrals/{id}/safeguarding"), Some(&worker), Some(&body.to_string()))
    };
    assert_error(&concern(json!({"concern": "Bruising seen"})), 422, Some("raised_with"));
    let logged =
        concern(json!({"concern": "Bruising seen on visit", "raised_with": "Gloucestershire adult safeguarding",
        "reference": "SG-2026-0411", "outcome": "Section 42 enquiry opened"}));
    assert_eq!(logged.status, 201, "{}", logged.body);
    let seen = get(&app, &worker, &format!("/api/v1/referrals/{id}")).json();
    assert_eq!(seen["flags"].as_array().unwrap().len(), 3);
    assert_eq!(seen["safeguarding"][0]["raised_with"], "Gloucestershire adult safeguarding");
    assert_eq!(seen["safeguarding"][0]["reference"], "SG-2026-0411");
    assert_eq!(seen["safeguarding"][0]["recorded_by"], "Jordan Link Worker");
    assert_eq!(get(&app, &gp, &format!("/api/v1/referrals/{id}")).json()["safeguarding"], json!([]));

    // A group editor reading flags: never. Not the referral (404), not in the introduction.
    assert_eq!(get(&app, &editor, &format!("/api/v1/referrals/{id}")).status, 404);
    let listing = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let accepted = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/transitions"),
        Some(&worker),
        Some(&json!({"to": "accepted", "version": seen["version"]}).to_string()),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let connection = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/connections"),
        Some(&worker),
        Some(&json!({"service_id": listing}).to_string()),
    );
    let connection = connection.json()["id"].as_str().unwrap().to_string();
    let introduced = app.call(
        "POST",
        &format!("/api/v1/connections/{connection}/transitions"),
        Some(&worker),
        Some(&json!({"to": "introduced", "version": 1}).to_string()),
    );
    assert_eq!(introduced.status, 200, "{}", introduced.body);
    let inbox = get(&app, &editor, "/api/v1/introductions");
    assert_eq!(inbox.status, 200);
    let inbox_page = get(&app, &editor, "/introductions");
    for secret in ["Large dog", "Lone-working", "Risk to others", "Bruising", "SG-2026"] {
        assert!(!inbox.body.contains(secret) && !inbox_page.body.contains(secret), "the group sees {secret}");
    }
    // No message carries them (the person's, the referrer's, the group's).
    let personalisations: Vec<String> =
        notifications::table.select(notifications::personalisation).load(&mut app.db()).unwrap();
    assert!(personalisations.len() >= 2, "{personalisations:?}");
    for text in &personalisations {
        for secret in ["Large dog", "lone_working", "Lone-working", "risk_to_others", "Bruising", "SG-2026"] {
            assert!(!text.contains(secret), "a message carries {secret}: {text}");
        }
    }

    // Reports count them without identities (fewer than 5 people: withheld).
    let report = get(&app, &admin, "/api/v1/reports/risk-flags");
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    let lone = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["flag"] == "Lone-working caution: visit in pairs")
        .unwrap();
    assert_eq!(lone["people"], Value::Null, "1 person is withheld");
    let none = report["rows"].as_array().unwrap().iter().find(|r| r["flag"] == "Interpreter needed").unwrap();
    assert_eq!(none["people"], 0);
    let text = report.to_string();
    assert!(!text.contains("Large dog") && !text.contains(&id) && !text.contains("Testperson"));
}

#[test]
fn do_not_contact_directly_stops_the_persons_message() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(over_smtp(&sink));
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = create(&app, &gp, &{
        let mut body = emailed_referral("quiet@example.org");
        body["risk_flags"] = json!(["do_not_contact"]);
        body["flag_reason"] = json!("Contact through her daughter only");
        body
    });
    create(&app, &gp, &emailed_referral("told@example.org"));
    assert!(sink.wait_for(1, Duration::from_secs(20)), "the other person's message arrives");
    std::thread::sleep(Duration::from_millis(500));
    let to: Vec<String> = sink.messages().iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(to, vec!["told@example.org".to_string()], "nothing to the person who is not to be contacted");
    let templates: Vec<(String, String)> =
        notifications::table.select((notifications::template, notifications::recipient)).load(&mut app.db()).unwrap();
    assert!(!templates.iter().any(|(_, r)| r == "quiet@example.org"), "{templates:?}");
    // The function the notifications ask, and the flag on the referral.
    assert!(backend::referrals::risk_flags::do_not_contact_directly(&mut app.db(), &id).unwrap());
    let seen = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json();
    assert_eq!(seen["person"]["do_not_contact_directly"], true);
    assert_eq!(seen["flags"][0]["label"], "Do not contact directly");
    // Set later by the link worker on a person already told: later messages to them stop too.
    let later = create(&app, &gp, &emailed_referral("later@example.org"));
    assert!(!backend::referrals::risk_flags::do_not_contact_directly(&mut app.db(), &later).unwrap());
    let set = app.call(
        "POST",
        &format!("/api/v1/referrals/{later}/flags"),
        Some(&worker),
        Some(&json!({"kind": "do_not_contact", "reason": "Asked us to go through her GP"}).to_string()),
    );
    assert_eq!(set.status, 201);
    assert!(backend::referrals::risk_flags::do_not_contact_directly(&mut app.db(), &later).unwrap());
    let mut conn = app.db();
    let before: i64 = notifications::table.count().get_result(&mut conn).unwrap();
    backend::db::write(&mut conn, |conn| backend::notifications::events::referral_received(conn, &later)).unwrap();
    let after: i64 = notifications::table.count().get_result(&mut conn).unwrap();
    assert_eq!(before, after, "no message queued once the flag is set");
}

#[test]
fn flags_on_the_referral_form_and_page() {
    let app = spawn_app();
    let mut browser = app.browser();
    browser.sign_in(GP, DEMO_PASSWORD);
    let form = browser.get("/referrals/new");
    assert!(form.body.contains("name=\"risk_flags\" value=\"lone_working\""));
    let csrf = browser.csrf();
    let body = another_person();
    let fields = [
        ("csrf", csrf.as_str()),
        ("given_name", "Petra"),
        ("family_name", "Flagg"),
        ("date_of_birth", body["date_of_birth"].as_str().unwrap()),
        ("nhs_number", body["nhs_number"].as_str().unwrap()),
        ("postcode", "GL5 1HE"),
        ("phone", "01632 960444"),
        ("preferred_contact", "phone"),
        ("reasons", "loneliness"),
        ("referrer_words", "Lonely."),
        ("urgency", "routine"),
        ("consent_referral", "true"),
        ("risk_flags", "lone_working"),
        ("risk_flags", "interpreter_needed"),
    ];
    // A flag without a reason comes back with the boxes still ticked.
    let refused = browser.post("/referrals", &fields);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Say why the flag is set"), "{}", refused.body);
    assert!(refused.body.contains("value=\"lone_working\" checked"));
    let mut fields = fields.to_vec();
    fields.push(("flag_reason", "Speaks Polish; dog in the house"));
    let sent = browser.post("/referrals", &fields);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let location = sent.header("location").unwrap().to_string();
    let page = browser.get(&location);
    assert!(page.body.contains("Lone-working caution: visit in pairs") && page.body.contains("Interpreter needed"));
    // The link worker sets one on the page.
    let id = location.trim_start_matches("/referrals/").split('?').next().unwrap().to_string();
    let mut worker = app.browser();
    worker.sign_in(LINK_WORKER, DEMO_PASSWORD);
    worker.get(&format!("/referrals/{id}"));
    let csrf = worker.csrf();
    let refused =
        worker.post(&format!("/referrals/{id}/flags"), &[("csrf", &csrf), ("kind", "risk_to_self"), ("reason", "")]);
    assert_eq!(refused.status, 422);
    let set = worker.post(
        &format!("/referrals/{id}/flags"),
        &[("csrf", &csrf), ("kind", "risk_to_self"), ("reason", "Talked of self-harm")],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    let logged = worker.post(
        &format!("/referrals/{id}/safeguarding"),
        &[
            ("csrf", &csrf),
            ("concern", "Self-harm talk"),
            ("raised_with", "Crisis team"),
            ("reference", ""),
            ("outcome", ""),
        ],
    );
    assert_eq!(logged.status, 303, "{}", logged.body);
    let page = worker.get(&format!("/referrals/{id}"));
    assert!(page.body.contains("Risk to self") && page.body.contains("Raised with Crisis team"), "{}", page.body);
}
