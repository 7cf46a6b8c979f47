//! The development outbox as a new user meets it, the signed link that answers an introduction
//! without signing in (once, before it expires, unaltered), and no clinical content in any
//! message: every template is sent for a referral full of clinical values, and none appears.

use std::time::{Duration, Instant};

use backend::notifications::links::{sign, AnswerClaims};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GARDEN_EDITOR, GP, LINK_WORKER};

pub fn quick(s: &mut backend::config::Settings) {
    s.notifications.poll_ms = 50;
}

pub fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let answer = app.call("POST", path, Some(token), Some(&body.to_string()));
    assert!(answer.status < 300, "{path}: {} {}", answer.status, answer.body);
    if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()
    }
}

/// Accepts the referral and introduces it to the gardening club; the connection's id.
pub fn introduce(app: &TestApp, worker: &str, referral: &str) -> String {
    let version =
        app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(worker), None).json()["version"].clone();
    post(
        app,
        worker,
        &format!("/api/v1/referrals/{referral}/transitions"),
        json!({"to": "accepted", "version": version}),
    );
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let c = post(
        app,
        worker,
        &format!("/api/v1/referrals/{referral}/connections"),
        json!({"service_id": garden, "note": "ZEBRA-CONNECTION-NOTE"}),
    );
    let id = c["id"].as_str().unwrap().to_string();
    post(
        app,
        worker,
        &format!("/api/v1/connections/{id}/transitions"),
        json!({"to": "introduced", "version": c["version"]}),
    );
    id
}

/// The development outbox's files (name, text), once `n` whose name starts with `prefix` are there.
pub fn outbox(app: &TestApp, prefix: &str, n: usize) -> Vec<(String, String)> {
    let dir = app.data_dir.path().join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).unwrap_or_default(),
                        )
                    })
                    .filter(|(name, _)| !name.ends_with(".partial"))
                    .collect()
            })
            .unwrap_or_default();
        if files.iter().filter(|(name, _)| name.starts_with(prefix)).count() >= n {
            return files;
        }
        assert!(Instant::now() < deadline, "waiting for {n} {prefix} messages in {dir:?}: {files:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn answer_path(message: &str) -> String {
    let start = message.find("/answer/").expect("an answer link");
    message[start..].split_whitespace().next().unwrap().to_string()
}

pub fn connection_status(app: &TestApp, worker: &str, referral: &str, connection: &str) -> String {
    let referral = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(worker), None).json();
    let found = referral["connections"].as_array().unwrap().iter().find(|c| c["id"] == connection).unwrap().clone();
    found["status"].as_str().unwrap().to_string()
}

#[test]
fn a_group_answers_from_the_link_once_without_signing_in() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let referral = create(&app, &gp, &referral_body());
    let connection = introduce(&app, &worker, &referral);
    // Two copies go out (the editor's and the group's contact address's), in either order.
    let files = outbox(&app, "introduction-", 2);
    let (_, message) = files
        .iter()
        .find(|(name, text)| name.starts_with("introduction-") && text.contains(&format!("To: {GARDEN_EDITOR}")))
        .expect("the editor's copy");
    assert!(message.contains("Margaret"), "the person consented to share her first name: {message}");
    let path = answer_path(message);

    // Opened in a browser that has never signed in.
    let mut browser = app.browser();
    let page = browser.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("We can take them"));
    let csrf = browser.csrf();
    // "We can't" needs a reason; the form comes back with the choice kept.
    let refused = browser.post(&path, &[("csrf", &csrf), ("answer", "declined"), ("reason", "")]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Say why"), "{}", refused.body);
    let refused = browser.post(&path, &[("csrf", &csrf), ("answer", "maybe")]);
    assert_eq!(refused.status, 422);
    // A NUL byte (PostgreSQL cannot store one) and an over-long reason: 422 on both engines.
    let nul = browser.post(&path, &[("csrf", &csrf), ("answer", "declined"), ("reason", "full\u{0}")]);
    assert_eq!(nul.status, 422, "{}", nul.body);
    let long = "x".repeat(2001);
    let too_long = browser.post(&path, &[("csrf", &csrf), ("answer", "declined"), ("reason", &long)]);
    assert_eq!(too_long.status, 422, "{}", too_long.body);
    assert!(too_long.body.contains("At most 2000 characters"), "next to its field: {}", too_long.body);
    assert_eq!(connection_status(&app, &worker, &referral, &connection), "introduced", "nothing changed yet");

    let done = browser.post(&path, &[("csrf", &csrf), ("answer", "accepted")]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Thank you"));
    assert_eq!(connection_status(&app, &worker, &referral, &connection), "accepted", "the link worker sees it");

    // Used twice: a clear page, nothing changed (not even to another answer).
    let again = browser.post(&path, &[("csrf", &csrf), ("answer", "declined"), ("reason", "full")]);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already been answered"), "{}", again.body);
    assert_eq!(browser.get(&path).status, 409);
    assert_eq!(connection_status(&app, &worker, &referral, &connection), "accepted");

    // Audited, as the editor the link was sent to.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let audit = app.call("GET", "/api/v1/admin/audit?action=connection.answer_link", Some(&admin), None).json();
    let event = &audit["events"][0];
    assert_eq!(event["record_id"], connection.as_str());
    assert_eq!(event["detail"], "accepted");
    assert!(event["actor_id"].is_string(), "{event}");
}

#[test]
fn altered_expired_and_foreign_links_change_nothing() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let referral = create(&app, &gp, &referral_body());
    let connection = introduce(&app, &worker, &referral);
    let files = outbox(&app, "introduction-", 1);
    let path = answer_path(&files.iter().find(|(n, _)| n.starts_with("introduction-")).unwrap().1);
    let mut browser = app.browser();
    browser.get("/join");
    let csrf = browser.csrf();

    // One character changed in the signature, or in what it signs.
    let token = path.trim_start_matches("/answer/").to_string();
    let flip = |s: &str, at: usize| {
        let mut chars: Vec<char> = s.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    for altered in [flip(&token, token.len() - 2), flip(&token, 3), format!("{token}x"), "%00".into(), "a.b".into()] {
        let page = browser.get(&format!("/answer/{altered}"));
        assert_eq!(page.status, 404, "{altered}: {}", page.body);
        let post = browser.post(&format!("/answer/{altered}"), &[("csrf", &csrf), ("answer", "accepted")]);
        assert!(matches!(post.status, 404 | 422), "{altered}: {}", post.status);
    }
    let page = browser.get(&format!("/answer/{}", flip(&token, token.len() - 2)));
    assert!(page.body.contains("not valid"), "{}", page.body);

    // Expired: signed with the server's own key, a day in the past.
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    let keys = backend::accounts::tokens::TokenKeys::new(secret.trim().as_bytes(), 15, 12);
    let claims = AnswerClaims {
        connection_id: connection.clone(),
        version: 2,
        user_id: None,
        expires_at: chrono::Utc::now().timestamp() - 86_400,
    };
    let expired = format!("/answer/{}", sign(keys.answer_link_key(), &claims));
    let page = browser.get(&expired);
    assert_eq!(page.status, 409);
    assert!(page.body.contains("expired"), "{}", page.body);
    assert_eq!(browser.post(&expired, &[("csrf", &csrf), ("answer", "accepted")]).status, 409);
    // A link made for another version of the introduction (an older one).
    let stale = AnswerClaims { version: 1, expires_at: chrono::Utc::now().timestamp() + 3600, ..claims };
    let stale = format!("/answer/{}", sign(keys.answer_link_key(), &stale));
    assert_eq!(browser.post(&stale, &[("csrf", &csrf), ("answer", "accepted")]).status, 409);
    // Without the CSRF field the form is refused too.
    assert_eq!(browser.post(&path, &[("answer", "accepted")]).status, 403);
    assert_eq!(connection_status(&app, &worker, &referral, &connection), "introduced");
}

#[test]
fn no_message_carries_clinical_content() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let mut body = referral_body();
    body["preferred_contact"] = json!("email");
    body["email"] = json!("margaret@example.org");
    body["referrer_words"] = json!("ZEBRA-REFERRER-WORDS insulin");
    body["what_matters"] = json!("ZEBRA-WHAT-MATTERS");
    body["risk_notes"] = json!("ZEBRA-RISK-NOTES");
    let referral = create(&app, &gp, &body);
    introduce(&app, &worker, &referral);
    // A meeting is booked; the person is reminded the day before.
    let at = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).and_hms_opt(10, 0, 0).unwrap();
    post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{referral}/meeting"),
        json!({"at": at.format("%Y-%m-%dT%H:%M").to_string(), "place": "Stroud Library"}),
    );
    let due = backend::notifications::due::meeting_reminder_due(at);
    assert_eq!(
        backend::notifications::due::meeting_reminders(&mut app.db(), &backend::config::Settings::default(), due)
            .unwrap(),
        1
    );
    // The link worker has the daily digest on; ten days on, the referral needs attention.
    diesel::delete(backend::db::schema::notification_preferences::table).execute(&mut app.db()).unwrap();
    let morning = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).and_hms_opt(8, 0, 0).unwrap();
    assert!(
        backend::notifications::due::link_worker_digests(&mut app.db(), &backend::config::Settings::default(), morning)
            .unwrap()
            > 0
    );
    // The group does not answer: it is reminded, and the link worker told.
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::days(11);
    let ran = backend::scheduler::run_once(&mut app.db(), &backend::config::Settings::default(), later, None).unwrap();
    assert!(ran.iter().all(|job| job.result.is_ok()), "{ran:?}");
    // The gardening club's listing nears six months unverified: its editors are reminded.
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    diesel::update(backend::db::schema::services::table.find(&garden))
        .set(
            backend::db::schema::services::last_verified
                .eq(chrono::Utc::now().naive_utc() - chrono::Duration::days(150)),
        )
        .execute(&mut app.db())
        .unwrap();
    let now = chrono::Utc::now().naive_utc();
    assert!(
        backend::notifications::due::listing_reviews(&mut app.db(), &backend::config::Settings::default(), now)
            .unwrap()
            > 0
    );
    post(&app, &worker, &format!("/api/v1/referrals/{referral}/notes"), json!({"body": "ZEBRA-CASE-NOTE"}));
    // The person's page: its link sent to them, then locked by wrong dates of birth (the link
    // worker is told).
    let page = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{referral}/person-link"),
        json!({"consent": true, "send": true}),
    );
    let path = page["path"].as_str().unwrap().to_string();
    let mut stranger = app.browser();
    stranger.get(&path);
    let csrf = stranger.csrf();
    for _ in 0..5 {
        stranger
            .post(&format!("{path}/birth-date"), &[("csrf", &csrf), ("day", "1"), ("month", "1"), ("year", "1901")]);
    }
    post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{referral}/measures"),
        json!({"instrument": "ons4", "timepoint": "baseline", "answers": [3, 4, 3, 7]}),
    );
    let version =
        app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&worker), None).json()["version"].clone();
    let v = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{referral}/transitions"),
        json!({"to": "in_progress", "version": version}),
    )["version"]
        .clone();
    post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{referral}/transitions"),
        json!({"to": "completed", "version": v, "note": "ZEBRA-CLOSING-SUMMARY"}),
    );
    // A second referral, rejected with a reason the referrer is meant to read.
    let other = create(&app, &gp, &referral_body());
    post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{other}/transitions"),
        json!({"to": "rejected", "version": 1, "reason": "Outside our area"}),
    );
    // A group signs up and is approved; another is turned down.
    for (n, email) in ["first", "second"].iter().enumerate() {
        let sign_up = json!({"organisation_name": format!("Bisley Growers {n}"), "organisation_description": "We grow vegetables together every Saturday.",
            "organisation_email": format!("group{n}@example.org"), "name": "Jo Volunteer", "email": format!("{email}.volunteer@example.org"), "password": "runner beans on a windy hill"});
        assert_eq!(app.call("POST", "/api/v1/organisations/sign-up", None, Some(&sign_up.to_string())).status, 202);
    }
    let pending = app.call("GET", "/api/v1/admin/organisations/pending", Some(&admin), None).json();
    let ids: Vec<String> =
        pending["organisations"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.len() >= 2, "{pending}");
    post(&app, &admin, &format!("/api/v1/admin/organisations/{}/approve", ids[0]), json!({}));
    post(
        &app,
        &admin,
        &format!("/api/v1/admin/organisations/{}/reject", ids[1]),
        json!({"reason": "Not a community group"}),
    );

    // A visitor e-mails their shortlist to themselves.
    let mut visitor = app.browser();
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    visitor.get(&format!("/services/{garden}"));
    let csrf = visitor.csrf();
    visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", &garden)]);
    assert_eq!(visitor.post("/shortlist/email", &[("csrf", &csrf), ("email", "me@example.org")]).status, 200);

    let files = outbox(&app, "shortlist-", 1);
    for template in backend::notifications::Template::ALL {
        assert!(
            files.iter().any(|(name, _)| name.starts_with(&format!("{}-", template.name()))),
            "no {} message among {:?}",
            template.name(),
            files.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
    }
    let born = body["date_of_birth"].as_str().unwrap().to_string();
    for (name, text) in &files {
        for clinical in [
            "ZEBRA",
            "insulin",
            "999 000 0018",
            "9990000018",
            "Testperson",
            &born,
            "loneliness",
            "Loneliness",
            "diabetes",
        ] {
            assert!(!text.contains(clinical), "{name} carries {clinical:?}:\n{text}");
        }
    }
    let rejected = files.iter().find(|(n, _)| n.starts_with("referral_rejected-")).unwrap();
    assert!(rejected.1.contains("Outside our area") && rejected.1.contains("CG-"), "{}", rejected.1);
    let closed = files.iter().find(|(n, _)| n.starts_with("referral_closed-")).unwrap();
    assert!(closed.1.contains(&format!("/referrals/{referral}")), "{}", closed.1);
}
