//! The scheduler's introduction job, driven by an explicit `now` (never by sleeping): an
//! unanswered introduction gets one reminder to the group with a link that answers it, then the
//! link worker is told and the introduction marked; nothing is queued twice, whether the job
//! runs again, on several instances at once, or for introductions that need nothing.

use std::time::{Duration, Instant};

use backend::config::Settings;
use backend::db::schema::{connections, notifications};
use backend::scheduler::run_once;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::answer_links::{answer_path, connection_status, introduce, outbox, post, quick};
use crate::helpers::{spawn_app_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, GARDEN_EDITOR, GP, LINK_WORKER};

/// A test server whose own scheduler stays out of the way: the test runs the jobs.
fn no_scheduler(s: &mut Settings) {
    quick(s);
    s.notifications.scheduler_seconds = 0;
}

fn in_days(days: i64) -> NaiveDateTime {
    Utc::now().naive_utc() + chrono::Duration::days(days)
}

/// Runs every job at `now`; the messages queued.
fn run_at(app: &TestApp, now: NaiveDateTime) -> usize {
    let ran = run_once(&mut app.db(), &Settings::default(), now, None).expect("known jobs");
    ran.into_iter().map(|job| job.result.unwrap_or_else(|e| panic!("{}: {e}", job.name))).sum()
}

/// Rows queued for a connection with this template.
fn queued(app: &TestApp, template: &str, connection: &str) -> i64 {
    notifications::table
        .filter(notifications::template.eq(template))
        .filter(notifications::idempotency_key.like(format!("introduction:{connection}:%")))
        .count()
        .get_result(&mut app.db())
        .unwrap()
}

fn marks(app: &TestApp, connection: &str) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    connections::table
        .find(connection)
        .select((connections::reminded_at, connections::link_worker_told_at))
        .first(&mut app.db())
        .unwrap()
}

#[test]
fn an_unanswered_introduction_is_reminded_then_the_link_worker_told_once() {
    let app = spawn_app_with(no_scheduler);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let referral = create(&app, &gp, &referral_body());
    let connection = introduce(&app, &worker, &referral);
    let first = outbox(&app, "introduction-", 1);

    // Four days on: nothing is due.
    assert_eq!(run_at(&app, in_days(4)), 0);
    assert_eq!(marks(&app, &connection), (None, None));

    // Six days on: the group is reminded, once, however often the job runs.
    let reminders = run_at(&app, in_days(6));
    assert!(reminders >= 1, "at least the garden club's editor");
    assert_eq!(run_at(&app, in_days(6)), 0, "a second run queues nothing");
    assert_eq!(run_at(&app, in_days(7)), 0, "nor does a later one");
    assert_eq!(queued(&app, "introduction_reminder", &connection) as usize, reminders);
    assert_eq!(queued(&app, "introduction_unanswered", &connection), 0, "the link worker is not told yet");
    let (reminded, told) = marks(&app, &connection);
    assert!(reminded.is_some() && told.is_none());
    let files = outbox(&app, "introduction_reminder-", reminders);
    let (_, reminder) = files
        .iter()
        .find(|(name, text)| {
            name.starts_with("introduction_reminder-") && text.contains(&format!("To: {GARDEN_EDITOR}"))
        })
        .expect("the editor's reminder");
    assert!(reminder.contains("6 days ago") && reminder.contains("Margaret"), "{reminder}");
    let reminder_link = answer_path(reminder);
    let referral_page = |app: &TestApp| {
        let mut browser = app.browser();
        browser.sign_in(LINK_WORKER, DEMO_PASSWORD);
        browser.get(&format!("/referrals/{referral}")).body
    };
    assert!(referral_page(&app).contains("group reminded"));

    // Eleven days on: the link worker who owns the referral is told, once; the introduction is
    // marked on the referral and in the group's inbox.
    let told = run_at(&app, in_days(11));
    assert_eq!(told, 1, "the referral's owner");
    assert_eq!(run_at(&app, in_days(12)), 0);
    assert_eq!(queued(&app, "introduction_reminder", &connection) as usize, reminders, "no second reminder");
    let files = outbox(&app, "introduction_unanswered-", 1);
    let (_, note) = files.iter().find(|(name, _)| name.starts_with("introduction_unanswered-")).unwrap();
    assert!(note.contains(&format!("To: {LINK_WORKER}")), "{note}");
    assert!(note.contains("11 days") && note.contains(&format!("/referrals/{referral}")), "{note}");
    assert!(!note.contains("Margaret"), "a reference, not the person: {note}");
    let api = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&worker), None).json();
    let marked = api["connections"].as_array().unwrap().iter().find(|c| c["id"] == connection.as_str()).unwrap();
    assert!(marked["link_worker_told_at"].is_string() && marked["reminded_at"].is_string(), "{marked}");
    assert!(referral_page(&app).contains("still no answer: link worker told"));
    let mut editor = app.browser();
    editor.sign_in(GARDEN_EDITOR, DEMO_PASSWORD);
    let inbox = editor.get("/introductions");
    assert!(inbox.body.contains("the link worker was told on"), "{}", inbox.body);

    // The reminder's link answers the introduction without signing in; the first e-mail's link
    // then finds it answered, and the marks no longer show.
    let mut browser = app.browser();
    assert_eq!(browser.get(&reminder_link).status, 200);
    let csrf = browser.csrf();
    assert_eq!(browser.post(&reminder_link, &[("csrf", &csrf), ("answer", "waitlisted")]).status, 200);
    assert_eq!(connection_status(&app, &worker, &referral, &connection), "waitlisted");
    let (_, original) = first.iter().find(|(name, _)| name.starts_with("introduction-")).unwrap();
    let again = browser.post(&answer_path(original), &[("csrf", &csrf), ("answer", "accepted")]);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(!referral_page(&app).contains("link worker told"));
    assert_eq!(run_at(&app, in_days(30)), 0, "an answered introduction needs nothing");
}

#[test]
fn introductions_that_need_nothing_queue_nothing_and_concurrent_runs_queue_once() {
    let app = spawn_app_with(no_scheduler);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);

    // Answered by the group before the reminder was due.
    let answered_referral = create(&app, &gp, &referral_body());
    let answered = introduce(&app, &worker, &answered_referral);
    post(
        &app,
        &editor,
        &format!("/api/v1/connections/{answered}/transitions"),
        json!({"to": "accepted", "version": 2}),
    );
    // The referral was cancelled with the introduction still open.
    let cancelled_referral = create(&app, &gp, &referral_body());
    let cancelled = introduce(&app, &worker, &cancelled_referral);
    let version = app.call("GET", &format!("/api/v1/referrals/{cancelled_referral}"), Some(&worker), None).json()
        ["version"]
        .clone();
    post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{cancelled_referral}/transitions"),
        json!({"to": "cancelled", "version": version, "reason": "Moved away"}),
    );
    // One still waiting.
    let waiting_referral = create(&app, &gp, &referral_body());
    let waiting = introduce(&app, &worker, &waiting_referral);

    // An unknown job is refused by name and runs nothing; a time before the introductions
    // brings nothing.
    let unknown = run_once(&mut app.db(), &Settings::default(), in_days(30), Some("reminders; DROP TABLE"));
    let error = unknown.expect_err("an unknown job");
    assert!(error.contains("introduction_reminders"), "names the jobs there are: {error}");
    assert_eq!(marks(&app, &waiting), (None, None), "nothing ran");
    assert_eq!(run_at(&app, in_days(-30)), 0);

    // Four instances run the job at the same moment: each message is queued once.
    let now = in_days(11);
    let counts: Vec<usize> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4).map(|_| scope.spawn(|| run_at(&app, now))).collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let reminders = queued(&app, "introduction_reminder", &waiting);
    let told = queued(&app, "introduction_unanswered", &waiting);
    assert!(reminders >= 1 && told == 1, "reminders {reminders}, told {told}");
    assert_eq!(
        counts.iter().sum::<usize>() as i64,
        reminders + told,
        "each counted by the run that queued it: {counts:?}"
    );
    for quiet in [&answered, &cancelled] {
        assert_eq!(queued(&app, "introduction_reminder", quiet), 0);
        assert_eq!(queued(&app, "introduction_unanswered", quiet), 0);
        assert_eq!(marks(&app, quiet), (None, None));
    }
}

#[test]
fn the_servers_own_scheduler_sends_reminders_that_fall_due() {
    let app = spawn_app_with(|s| {
        quick(s);
        s.notifications.scheduler_seconds = 1;
    });
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let referral = create(&app, &gp, &referral_body());
    let connection = introduce(&app, &worker, &referral);
    // Introduced six days ago, as far as the database knows. This instance ran the job when it
    // started and will not again for ten minutes; a second instance runs it as it starts.
    let six_days_ago = Utc::now().naive_utc() - chrono::Duration::days(6);
    diesel::update(connections::table.find(&connection))
        .set(connections::introduced_at.eq(Some(six_days_ago)))
        .execute(&mut app.db())
        .unwrap();
    let second = crate::helpers::spawn_second_with(&app, |s| {
        quick(s);
        s.notifications.scheduler_seconds = 1;
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while queued(&app, "introduction_reminder", &connection) == 0 {
        assert!(Instant::now() < deadline, "the second instance's scheduler did not remind the group");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Sent by whichever instance's worker claimed it.
    let sent = || -> Vec<String> {
        notifications::table
            .filter(notifications::template.eq("introduction_reminder"))
            .filter(notifications::idempotency_key.like(format!("introduction:{connection}:%")))
            .select(notifications::status)
            .load(&mut app.db())
            .unwrap()
    };
    while sent().iter().any(|status| status != "sent") {
        assert!(Instant::now() < deadline, "reminders not sent: {:?}", sent());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(second.address != app.address);
    assert!(marks(&app, &connection).0.is_some());
}
