//! The link worker books the next meeting on the referral (page and API); the person is
//! reminded the day before, once, only with their consent and by the channel they chose. The
//! scheduler's job is driven by an explicit `now`.

use backend::config::Settings;
use backend::db::schema::{notifications, referrals};
use backend::notifications::due::{meeting_reminder_due, meeting_reminders};
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::answer_links::{outbox, quick};
use crate::helpers::{spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, GARDEN_EDITOR, GP, LINK_WORKER};

fn no_scheduler(s: &mut Settings) {
    quick(s);
    s.notifications.scheduler_seconds = 0;
}

/// A day-and-time `days` ahead at 10:00, as a date-time field sends it.
fn ahead(days: i64) -> (String, NaiveDateTime) {
    let at = (Utc::now().date_naive() + Duration::days(days)).and_hms_opt(10, 0, 0).unwrap();
    (at.format("%Y-%m-%dT%H:%M").to_string(), at)
}

fn book(app: &TestApp, token: &str, referral: &str, body: Value) -> crate::helpers::Answer {
    app.call("POST", &format!("/api/v1/referrals/{referral}/meeting"), Some(token), Some(&body.to_string()))
}

/// An accepted referral (owned by the link worker) whose person chose `contact`.
fn referral(app: &TestApp, gp: &str, worker: &str, contact: &str, no_direct: bool) -> String {
    // A different person each time: a second referral of one person joins their open case.
    let mut body = crate::referrals::another_person();
    body["preferred_contact"] = json!(contact);
    body["email"] = json!("margaret@example.org");
    body["do_not_contact_directly"] = json!(no_direct);
    let id = create(app, gp, &body);
    let answer = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/transitions"),
        Some(worker),
        Some(&json!({"to": "accepted", "version": 1}).to_string()),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    id
}

fn reminders(app: &TestApp, referral: &str) -> Vec<(String, String)> {
    notifications::table
        .filter(notifications::template.eq("meeting_reminder"))
        .filter(notifications::idempotency_key.like(format!("referral:{referral}:meeting:%")))
        .select((notifications::channel, notifications::recipient))
        .load(&mut app.db())
        .unwrap()
}

fn run_at(app: &TestApp, now: NaiveDateTime) -> usize {
    meeting_reminders(&mut app.db(), &Settings::default(), now).unwrap()
}

#[test]
fn a_booked_meeting_is_reminded_the_day_before_once_by_the_persons_channel() {
    let app = spawn_app_with(no_scheduler);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let texted = referral(&app, &gp, &worker, "text", false);
    let (at_text, at) = ahead(3);
    let answer = book(&app, &worker, &texted, json!({"at": at_text, "place": "Stroud Library, Lansdown"}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let meeting = &answer.json()["next_meeting"];
    assert_eq!(meeting["place"], "Stroud Library, Lansdown");
    assert_eq!(meeting["reminder_by"], "sms", "{meeting}");
    let shown = app.call("GET", &format!("/api/v1/referrals/{texted}"), Some(&worker), None).json();
    assert_eq!(shown["next_meeting"]["place"], "Stroud Library, Lansdown");
    let gp_view = app.call("GET", &format!("/api/v1/referrals/{texted}"), Some(&gp), None).json();
    assert!(gp_view["next_meeting"].is_null(), "the link worker's own arrangement: {gp_view}");

    // Three days before, two days before: nothing. The morning before: one text, once.
    let due = meeting_reminder_due(at);
    assert_eq!(due, at.date().pred_opt().unwrap().and_hms_opt(8, 0, 0).unwrap());
    assert_eq!(run_at(&app, Utc::now().naive_utc()), 0);
    assert_eq!(run_at(&app, due - Duration::minutes(1)), 0);
    assert_eq!(run_at(&app, due), 1);
    assert_eq!(run_at(&app, due + Duration::hours(2)), 0, "once");
    assert_eq!(reminders(&app, &texted), vec![("sms".to_string(), "01632 960555".to_string())]);
    let files = outbox(&app, "meeting_reminder-", 1);
    let (name, text) = files.iter().find(|(name, _)| name.starts_with("meeting_reminder-")).unwrap();
    assert!(name.ends_with(".sms.txt"), "{name}");
    assert!(text.contains("Margaret") && text.contains("Stroud Library") && text.contains("10:00"), "{text}");
    for clinical in ["Testperson", "diabetes", "999 000 0018", "Widowed"] {
        assert!(!text.contains(clinical), "{clinical} in {text}");
    }
    let shown = app.call("GET", &format!("/api/v1/referrals/{texted}"), Some(&worker), None).json();
    assert!(shown["next_meeting"]["reminded_at"].is_string());

    // Booked again for another day: reminded again, for that one.
    let (later_text, later) = ahead(10);
    assert_eq!(book(&app, &worker, &texted, json!({"at": later_text, "place": "Phone call"})).status, 200);
    assert_eq!(run_at(&app, meeting_reminder_due(later)), 1);
    assert_eq!(reminders(&app, &texted).len(), 2);
    // Booked, then called off: nothing.
    let (off_text, off) = ahead(12);
    assert_eq!(book(&app, &worker, &texted, json!({"at": off_text, "place": "Library"})).status, 200);
    let called_off = book(&app, &worker, &texted, json!({"cancel": "true"}));
    assert_eq!(called_off.status, 200, "{}", called_off.body);
    assert!(called_off.json()["next_meeting"].is_null());
    assert_eq!(run_at(&app, meeting_reminder_due(off)), 0);

    // No message without a way to send one the person agreed to: they chose phone, or "do not
    // contact directly" is set, or they did not consent.
    let phoned = referral(&app, &gp, &worker, "phone", false);
    let hidden = referral(&app, &gp, &worker, "email", true);
    let unconsented = referral(&app, &gp, &worker, "email", false);
    diesel::update(referrals::table.find(&unconsented))
        .set(referrals::consent_referral.eq(false))
        .execute(&mut app.db())
        .unwrap();
    for quiet in [&phoned, &hidden, &unconsented] {
        let answer = book(&app, &worker, quiet, json!({"at": at_text, "place": "Library"}));
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.json()["next_meeting"]["reminder_by"].is_null());
    }
    assert_eq!(run_at(&app, due), 0);
    for quiet in [&phoned, &hidden, &unconsented] {
        assert!(reminders(&app, quiet).is_empty());
    }
    // Four instances at once: the e-mail is queued once.
    let emailed = referral(&app, &gp, &worker, "email", false);
    assert_eq!(book(&app, &worker, &emailed, json!({"at": at_text, "place": "Library"})).status, 200);
    let counts: Vec<usize> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4).map(|_| scope.spawn(|| run_at(&app, due))).collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    assert_eq!(counts.iter().sum::<usize>(), 1, "{counts:?}");
    assert_eq!(reminders(&app, &emailed), vec![("email".to_string(), "margaret@example.org".to_string())]);
}

#[test]
fn bad_bookings_are_refused_by_field_and_change_nothing() {
    let app = spawn_app_with(no_scheduler);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let id = referral(&app, &gp, &worker, "text", false);
    let (ok_at, _) = ahead(3);
    let past = (Utc::now().naive_utc() - Duration::hours(1)).format("%Y-%m-%dT%H:%M").to_string();
    let (far, _) = ahead(400);
    let long = "x".repeat(201);
    for (body, field) in [
        (json!({"place": "Library"}), "at"),
        (json!({"at": "tomorrow", "place": "Library"}), "at"),
        (json!({"at": "2027-02-30T10:00", "place": "Library"}), "at"),
        (json!({"at": past, "place": "Library"}), "at"),
        (json!({"at": far, "place": "Library"}), "at"),
        (json!({"at": ok_at, "place": ""}), "place"),
        (json!({"at": ok_at, "place": "   "}), "place"),
        (json!({"at": ok_at, "place": long}), "place"),
        (json!({"at": ok_at, "place": "Library", "cancel": "maybe"}), "cancel"),
    ] {
        let answer = book(&app, &worker, &id, body.clone());
        let error = crate::helpers::assert_error(&answer, 422, Some(field));
        assert!(error.to_string().contains(field), "{body}: {error}");
    }
    // A NUL byte (PostgreSQL cannot store one), an unknown field, not JSON: refused.
    let nul = book(&app, &worker, &id, json!({"at": ok_at, "place": "Lib\u{0}rary"}));
    assert!(matches!(nul.status, 400 | 422), "{}", nul.body);
    let unknown = book(&app, &worker, &id, json!({"at": ok_at, "place": "Library", "nhs_number": "1"}));
    assert!(matches!(unknown.status, 400 | 422), "{}", unknown.body);
    let junk = app.call("POST", &format!("/api/v1/referrals/{id}/meeting"), Some(&worker), Some("{"));
    assert!(matches!(junk.status, 400 | 422), "{}", junk.body);
    // Only the referral's link workers book.
    assert!(matches!(book(&app, &gp, &id, json!({"at": ok_at, "place": "Library"})).status, 403 | 404));
    assert!(matches!(book(&app, &editor, &id, json!({"at": ok_at, "place": "Library"})).status, 403 | 404));
    let shown = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json();
    assert!(shown["next_meeting"].is_null(), "nothing booked: {shown}");

    // The page: a refused booking comes back with the problem and what was typed.
    let mut browser = app.browser();
    browser.sign_in(LINK_WORKER, DEMO_PASSWORD);
    browser.get(&format!("/referrals/{id}"));
    let csrf = browser.csrf();
    let refused = browser
        .post(&format!("/referrals/{id}/meeting"), &[("csrf", &csrf), ("at", "soon"), ("place", "Stroud Library")]);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains(r#"value="soon""#) && refused.body.contains("Stroud Library"), "{}", refused.body);
    let saved = browser
        .post(&format!("/referrals/{id}/meeting"), &[("csrf", &csrf), ("at", &ok_at), ("place", "Stroud Library")]);
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = browser.get(&format!("/referrals/{id}"));
    assert!(page.body.contains("Stroud Library") && page.body.contains("reminder by text"), "{}", page.body);

    // A closed referral has no next meeting to book.
    let version = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json()["version"].clone();
    let closed = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/transitions"),
        Some(&worker),
        Some(&json!({"to": "cancelled", "version": version, "reason": "Moved away"}).to_string()),
    );
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(book(&app, &worker, &id, json!({"at": ok_at, "place": "Library"})).status, 409);
    assert_eq!(run_at(&app, Utc::now().naive_utc() + Duration::days(3)), 0, "nor a reminder for it");
}
