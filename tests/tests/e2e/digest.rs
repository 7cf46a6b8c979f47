//! The link workers' daily digest: each morning one e-mail of what needs attention in their
//! caseload, nothing when nothing does, once a day, only for those who have it on. Driven by an
//! explicit `now`.

use backend::config::Settings;
use backend::db::schema::{notifications, referrals};
use backend::notifications::due::link_worker_digests;
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::answer_links::{introduce, outbox, quick};
use crate::helpers::{spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, GP, LINK_WORKER};

fn at(days: i64, hour: u32, minute: u32) -> NaiveDateTime {
    (Utc::now().date_naive() + Duration::days(days)).and_hms_opt(hour, minute, 0).unwrap()
}

fn run_at(app: &TestApp, now: NaiveDateTime) -> usize {
    link_worker_digests(&mut app.db(), &Settings::default(), now).unwrap()
}

fn digests(app: &TestApp) -> Vec<String> {
    notifications::table
        .filter(notifications::template.eq("link_worker_digest"))
        .select(notifications::personalisation)
        .order(notifications::created_at)
        .load(&mut app.db())
        .unwrap()
}

#[test]
fn a_morning_digest_of_what_needs_attention_and_nothing_when_nothing_does() {
    let app = spawn_app_with(|s| {
        quick(s);
        s.notifications.scheduler_seconds = 0;
    });
    // The demo's caseload is closed: nothing needs attention anywhere.
    diesel::update(referrals::table).set(referrals::status.eq("completed")).execute(&mut app.db()).unwrap();
    // The demo's link workers start with the digest off; this one turns it on.
    let mut browser = app.browser();
    browser.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let account = browser.get("/account");
    assert!(account.body.contains(r#"value="link_worker_digest">"#), "off for the demo: {}", account.body);
    assert_eq!(run_at(&app, at(0, 7, 30)), 0, "off");
    let csrf = browser.csrf();
    let saved = browser.post("/account/notifications", &[("csrf", &csrf), ("on", "link_worker_digest")]);
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(run_at(&app, at(0, 7, 30)), 0, "nothing needs attention: nothing is sent");
    assert!(digests(&app).is_empty());

    // A new referral waits for the service: the morning's digest says so, once that day.
    let gp = app.login(GP, DEMO_PASSWORD);
    let referral = create(&app, &gp, &referral_body());
    assert_eq!(run_at(&app, at(0, 6, 59)), 0, "not before seven");
    assert_eq!(run_at(&app, at(0, 7, 0)), 1);
    assert_eq!(run_at(&app, at(0, 12, 0)), 0, "once a day");
    assert!(digests(&app)[0].contains("\"waiting\":1"), "{:?}", digests(&app));

    // Accepted and introduced, then nobody makes contact and the group does not answer: ten
    // days on, both are listed by reference, nothing about the person.
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    introduce(&app, &worker, &referral);
    assert_eq!(run_at(&app, at(10, 8, 0)), 1);
    let files = outbox(&app, "link_worker_digest-", 2);
    let latest = files
        .iter()
        .filter(|(name, _)| name.starts_with("link_worker_digest-"))
        .map(|(_, text)| text)
        .find(|text| text.contains("has not answered"))
        .expect("the later digest");
    assert!(latest.contains(&format!("To: {LINK_WORKER}")), "{latest}");
    assert!(latest.contains("no first contact within 5 working days") && latest.contains("CG-"), "{latest}");
    assert!(latest.contains("/referrals?view=needs_attention"), "{latest}");
    for private in ["Margaret", "Testperson", "999 000 0018", "diabetes", "Widowed"] {
        assert!(!latest.contains(private), "{private} in {latest}");
    }

    // Turned off: nothing, however much needs attention.
    let saved = browser.post("/account/notifications", &[("csrf", &csrf), ("on", "introduction_unanswered")]);
    assert_eq!(saved.status, 303);
    assert_eq!(run_at(&app, at(11, 8, 0)), 0);
}
