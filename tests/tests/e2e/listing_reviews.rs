//! Keeping listings true: as a listing nears six months unverified its editors get up to three
//! reminders (driven here by an explicit `now`), each with a signed "still accurate" link that
//! works once, without signing in, before it expires, unaltered, for someone still an editor;
//! the admin reminders page shows where each listing is in its cycle.

use backend::accounts::tokens::TokenKeys;
use backend::config::Settings;
use backend::db::schema::{notifications, services, users};
use backend::notifications::due::listing_reviews;
use backend::notifications::links::{listing_key, sign, AnswerClaims};
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::answer_links::{outbox, quick};
use crate::helpers::{spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{ADMIN, GARDEN_EDITOR, LINK_WORKER};

fn no_scheduler(s: &mut Settings) {
    quick(s);
    s.notifications.scheduler_seconds = 0;
}

fn garden() -> String {
    backend::directory::seed::service_id("stroud-community-gardening-club-garden")
}

fn run_at(app: &TestApp, now: NaiveDateTime) -> usize {
    listing_reviews(&mut app.db(), &Settings::default(), now).unwrap()
}

/// Reminder rows queued for a listing: (idempotency key, recipient).
fn reminders(app: &TestApp, service: &str) -> Vec<(String, String)> {
    notifications::table
        .filter(notifications::template.eq("listing_review"))
        .filter(notifications::idempotency_key.like(format!("listing:{service}:%")))
        .select((notifications::idempotency_key, notifications::recipient))
        .order(notifications::idempotency_key)
        .load(&mut app.db())
        .unwrap()
}

fn verified(app: &TestApp, service: &str) -> (NaiveDateTime, i32) {
    services::table.find(service).select((services::last_verified, services::version)).first(&mut app.db()).unwrap()
}

fn set_verified(app: &TestApp, service: &str, at: NaiveDateTime) {
    diesel::update(services::table.find(service)).set(services::last_verified.eq(at)).execute(&mut app.db()).unwrap();
}

#[test]
fn three_reminders_as_a_listing_nears_six_months_then_none() {
    let app = spawn_app_with(no_scheduler);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let id = garden();
    // The demo's listings are never reminded: its fictional groups have no one to read them.
    assert_eq!(run_at(&app, Utc::now().naive_utc()), 0);
    assert!(reminders(&app, &id).is_empty());
    // The editor confirms it today, which starts a real cycle.
    let answer = app.call("POST", &format!("/api/v1/services/{id}/verify"), Some(&editor), Some("{}"));
    assert!(answer.status < 300, "{}", answer.body);
    let (start, _) = verified(&app, &id);
    let at = |days: i64| start + Duration::days(days) + Duration::hours(1);
    let editors: i64 = users::table
        .filter(users::role.eq("group_editor"))
        .filter(users::status.eq("active"))
        .filter(users::organization_id.eq_any(services::table.find(&id).select(services::organization_id)))
        .count()
        .get_result(&mut app.db())
        .unwrap();
    assert!(editors >= 1);
    let sent = |app: &TestApp| reminders(app, &id).len() as i64;

    // Defaults: three, 14 days apart, the last 14 days before six months (day 183).
    assert_eq!(run_at(&app, at(140)), 0, "not yet");
    assert_eq!(run_at(&app, at(141)) as i64, editors, "the first, to each editor");
    assert_eq!(run_at(&app, at(141)), 0, "once");
    assert_eq!(run_at(&app, at(154)), 0);
    assert_eq!(run_at(&app, at(155)) as i64, editors, "the second");
    assert_eq!(run_at(&app, at(169)) as i64, editors, "the third");
    for later in [170, 183, 200, 300] {
        assert_eq!(run_at(&app, at(later)), 0, "no fourth, day {later}");
    }
    assert_eq!(sent(&app), 3 * editors);
    let keys = reminders(&app, &id);
    assert!(keys.iter().any(|(key, to)| key.contains(":review:3:") && to == GARDEN_EDITOR), "{keys:?}");

    // Configured otherwise: one reminder, 30 days before six months. A new cycle after another
    // "still accurate".
    let answer = app.call("POST", &format!("/api/v1/services/{id}/verify"), Some(&editor), Some("{}"));
    assert!(answer.status < 300, "{}", answer.body);
    let (start, _) = verified(&app, &id);
    let mut one = Settings::default();
    one.notifications.listing_reminders = 1;
    one.notifications.listing_reminder_days = 30;
    let run =
        |days: i64| listing_reviews(&mut app.db(), &one, start + Duration::days(days) + Duration::hours(1)).unwrap();
    assert_eq!(run(152), 0);
    assert_eq!(run(153) as i64, editors);
    assert_eq!(run(182), 0);
    let mut none = Settings::default();
    none.notifications.listing_reminders = 0;
    assert_eq!(listing_reviews(&mut app.db(), &none, start + Duration::days(170)).unwrap(), 0, "0 turns them off");

    // A hidden listing (over a year) or one not approved is not reminded.
    set_verified(&app, &id, Utc::now().naive_utc() - Duration::days(400));
    assert_eq!(run_at(&app, Utc::now().naive_utc()), 0, "hidden");
    set_verified(&app, &id, Utc::now().naive_utc() - Duration::days(150));
    diesel::update(services::table.find(&id)).set(services::approval.eq("pending")).execute(&mut app.db()).unwrap();
    assert_eq!(run_at(&app, Utc::now().naive_utc()), 0, "not approved");
}

#[test]
fn the_still_accurate_link_works_once_and_the_admin_page_shows_the_cycle() {
    let app = spawn_app_with(no_scheduler);
    let id = garden();
    // Confirmed 160 days ago: the first reminder is due (one a run, 14 days apart).
    set_verified(&app, &id, Utc::now().naive_utc() - Duration::days(160));
    let now = Utc::now().naive_utc();
    let counts: Vec<usize> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4).map(|_| scope.spawn(|| run_at(&app, now))).collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let queued = reminders(&app, &id);
    assert!(!queued.is_empty() && queued.iter().all(|(key, _)| key.contains(":review:1:")), "{queued:?}");
    assert_eq!(counts.iter().sum::<usize>(), queued.len(), "four instances at once queue each once: {counts:?}");
    assert_eq!(run_at(&app, now), 0, "the second is not due for 14 days");

    // The admin reminders page and API show where it is.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let list = app.call("GET", "/api/v1/admin/reminders", Some(&admin), None);
    assert_eq!(list.status, 200, "{}", list.body);
    let body = list.json();
    let row =
        body["listings"].as_array().unwrap().iter().find(|l| l["service_id"] == id.as_str()).expect("listed").clone();
    assert_eq!(row["reminders_sent"], 1, "{row}");
    assert_eq!(row["reminders"], 3);
    assert_eq!(row["stage"], "reminding");
    assert!(row["next_reminder_on"].is_string() && row["ranks_lower_on"].is_string(), "{row}");
    let demo_row = body["listings"].as_array().unwrap().iter().find(|l| l["skipped"] == true);
    assert!(demo_row.is_some(), "the demo's old listings are listed, marked as not reminded");
    let mut browser = app.browser();
    browser.sign_in(ADMIN, DEMO_PASSWORD);
    let page = browser.get("/admin/reminders");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("1 of 3") && page.body.contains("being reminded"), "{}", page.body);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    assert_eq!(app.call("GET", "/api/v1/admin/reminders", Some(&worker), None).status, 403);

    // The editor's e-mail: a one-click link and a way to change it.
    let files = outbox(&app, "listing_review-", 1);
    let (_, message) = files
        .iter()
        .find(|(name, text)| name.starts_with("listing_review-") && text.contains(&format!("To: {GARDEN_EDITOR}")))
        .expect("the editor's reminder");
    assert!(message.contains("reminder 1 of 3") && message.contains("/my/listings"), "{message}");
    let start = message.find("/still-accurate/").expect("a still-accurate link");
    let path = message[start..].split_whitespace().next().unwrap().to_string();
    let (before, version) = verified(&app, &id);

    // Altered, expired, an answer link's token, sent to someone who is no editor: nothing changes.
    let token = path.trim_start_matches("/still-accurate/").to_string();
    let mut browser = app.browser();
    browser.get("/join");
    let csrf = browser.csrf();
    let mut flipped: Vec<char> = token.chars().collect();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    for bad in [flipped.as_str(), "a.b", "%00", &format!("{token}x")] {
        assert_eq!(browser.get(&format!("/still-accurate/{bad}")).status, 404, "{bad}");
        assert_eq!(browser.post(&format!("/still-accurate/{bad}"), &[("csrf", &csrf)]).status, 404, "{bad}");
    }
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    let keys = TokenKeys::new(secret.trim().as_bytes(), 15, 12);
    let key = listing_key(keys.answer_link_key());
    let editor_id: String =
        users::table.filter(users::email.eq(GARDEN_EDITOR)).select(users::id).first(&mut app.db()).unwrap();
    let claims = |user: &str, expires: i64| AnswerClaims {
        connection_id: id.clone(),
        version,
        user_id: Some(user.to_string()),
        expires_at: Utc::now().timestamp() + expires,
    };
    let expired = sign(&key, &claims(&editor_id, -60));
    let page = browser.post(&format!("/still-accurate/{expired}"), &[("csrf", &csrf)]);
    assert_eq!(page.status, 409);
    assert!(page.body.contains("expired"), "{}", page.body);
    let answer_token = sign(keys.answer_link_key(), &claims(&editor_id, 3600));
    assert_eq!(browser.post(&format!("/still-accurate/{answer_token}"), &[("csrf", &csrf)]).status, 404);
    let worker_id: String =
        users::table.filter(users::email.eq(LINK_WORKER)).select(users::id).first(&mut app.db()).unwrap();
    let foreign = sign(&key, &claims(&worker_id, 3600));
    let page = browser.post(&format!("/still-accurate/{foreign}"), &[("csrf", &csrf)]);
    assert_eq!(page.status, 409);
    assert!(page.body.contains("can no longer edit"), "{}", page.body);
    assert_eq!(browser.post(&path, &[]).status, 403, "without the CSRF field");
    assert_eq!(verified(&app, &id), (before, version), "nothing changed");

    // The real link: opening it changes nothing; the button confirms, once.
    let open = browser.get(&path);
    assert_eq!(open.status, 200, "{}", open.body);
    assert!(open.body.contains("Yes, it is still accurate"));
    assert_eq!(verified(&app, &id), (before, version));
    let done = browser.post(&path, &[("csrf", &csrf)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Thank you"));
    let (after, new_version) = verified(&app, &id);
    assert!(after > before && new_version == version + 1);
    let again = browser.post(&path, &[("csrf", &csrf)]);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("no longer works"), "{}", again.body);
    assert_eq!(browser.get(&path).status, 409);
    assert_eq!(verified(&app, &id), (after, new_version));
    let audit = app.call("GET", "/api/v1/admin/audit?action=listing.verify_link", Some(&admin), None).json();
    assert_eq!(audit["events"][0]["record_id"], id.as_str(), "{audit}");
    assert_eq!(audit["events"][0]["actor_id"], editor_id.as_str());
    // A new cycle: off the reminders page, nothing due.
    let body = app.call("GET", "/api/v1/admin/reminders", Some(&admin), None).json();
    assert!(!body["listings"].as_array().unwrap().iter().any(|l| l["service_id"] == id.as_str()));
    assert_eq!(run_at(&app, Utc::now().naive_utc()), 0);
}
