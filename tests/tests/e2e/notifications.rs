//! Messages leave through a real SMTP conversation with the loopback sink: a committed event
//! sends once and a rolled-back one nothing; a mail server that is down delays messages but not
//! requests; a refused address is given up with the reason admins see; rows left by a dead
//! instance are all sent once, even with two workers draining them.

use std::time::{Duration, Instant};

use backend::config::{Secret, Settings};
use backend::db::schema::notifications;
use backend::notifications::{enqueue, Audience, Channel, Outgoing, Template};
use diesel::prelude::*;
use serde_json::{json, Value};
use tests::smtp_sink::SmtpSink;

use crate::helpers::{spawn_app_with, spawn_second_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{another_person as referral_body, create, ADMIN, GP, LINK_WORKER};

/// Delivery over SMTP to the sink, polling often and backing off briefly.
pub fn over_smtp(sink: &SmtpSink) -> impl FnOnce(&mut Settings) + '_ {
    move |s: &mut Settings| {
        s.notifications.smtp_url = Some(Secret::new(sink.url()));
        s.notifications.poll_ms = 50;
        s.notifications.backoff_ms = 200;
    }
}

/// A referral whose person asked to be e-mailed at `email`.
pub fn emailed_referral(email: &str) -> Value {
    let mut body = referral_body();
    body["preferred_contact"] = json!("email");
    body["email"] = json!(email);
    body
}

/// The outbox rows: (template, status, attempts, last error).
pub fn rows(app: &TestApp) -> Vec<(String, String, i32, Option<String>)> {
    notifications::table
        .order(notifications::created_at)
        .select((notifications::template, notifications::status, notifications::attempts, notifications::last_error))
        .load(&mut app.db())
        .unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_committed_event_sends_once_and_a_rolled_back_one_nothing() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(over_smtp(&sink));
    let gp = app.login(GP, DEMO_PASSWORD);
    let id = create(&app, &gp, &emailed_referral("margaret@example.org"));
    assert!(sink.wait_for(1, Duration::from_secs(20)), "the person's message arrives");
    let message = &sink.messages()[0];
    assert_eq!(message.to, vec!["margaret@example.org".to_string()]);
    assert!(message.data.contains("Subject: Your referral to social prescribing"), "{}", message.data);
    assert!(message.text().contains("Hello Margaret"), "{}", message.text());

    // The same event again inside a transaction that rolls back queues nothing.
    let mut conn = app.db();
    let rolled_back: Result<(), diesel::result::Error> = backend::db::write(&mut conn, |conn| {
        backend::notifications::events::referral_received(conn, &id)?;
        enqueue(
            conn,
            &Outgoing {
                key: "rolled-back".into(),
                channel: Channel::Email,
                audience: Audience::Admin,
                recipient: "nobody@example.org".into(),
                template: Template::GroupWaiting,
                personalisation: json!({"organisation_name": "Never"}),
            },
        )?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(sink.messages().len(), 1, "exactly one message, sent once");
    assert_eq!(rows(&app), vec![("referral_received".into(), "sent".into(), 1, None)]);
}

#[test]
fn smtp_down_then_up_delivers_later_without_slowing_requests() {
    let mut sink = SmtpSink::start();
    let app = spawn_app_with(over_smtp(&sink));
    let gp = app.login(GP, DEMO_PASSWORD);
    sink.stop();
    let mut slowest = Duration::ZERO;
    for n in 0..5 {
        let started = Instant::now();
        create(&app, &gp, &emailed_referral(&format!("person{n}@example.org")));
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < Duration::from_secs(2), "a referral took {slowest:?} while mail was down");
    wait_until("failed attempts to be recorded", Duration::from_secs(20), || {
        rows(&app).iter().all(|(_, status, attempts, error)| status == "failed" && *attempts >= 1 && error.is_some())
    });
    assert!(sink.messages().is_empty());
    sink.restart();
    assert!(sink.wait_for(5, Duration::from_secs(30)), "delivered once the server is back");
    wait_until("every row sent", Duration::from_secs(10), || rows(&app).iter().all(|(_, s, ..)| s == "sent"));
    assert_eq!(sink.duplicates(), 0);
    assert_eq!(sink.messages().len(), 5);
}

#[test]
fn a_refused_address_is_given_up_with_the_reason_admins_see() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(over_smtp(&sink));
    let gp = app.login(GP, DEMO_PASSWORD);
    create(&app, &gp, &emailed_referral("reject-me@example.org"));
    wait_until("the row to be given up", Duration::from_secs(20), || {
        rows(&app).first().is_some_and(|(_, status, ..)| status == "gave_up")
    });
    let (_, _, attempts, error) = rows(&app).remove(0);
    assert_eq!(attempts, 1, "a permanent refusal is not tried again");
    assert!(error.as_deref().unwrap().contains("550"), "{error:?}");

    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let list = app.call("GET", "/api/v1/admin/notifications?status=gave_up", Some(&admin), None);
    assert_eq!(list.status, 200, "{}", list.body);
    let body = list.json();
    let row = &body["notifications"][0];
    assert_eq!(row["status"], "gave_up");
    assert!(row["last_error"].as_str().unwrap().contains("550"));
    assert_eq!(row["recipient"], "the person referred", "admins never see the person's address");
    assert!(!list.body.contains("reject-me"), "{}", list.body);
    assert!(row.get("body").is_none() && row.get("personalisation").is_none());
    let mut browser = app.browser();
    browser.sign_in(ADMIN, DEMO_PASSWORD);
    let page = browser.get("/admin/notifications?status=gave_up");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("550") && page.body.contains("the person referred"), "{}", page.body);

    // Bad filters are refused by name; others may not look.
    for bad in ["status=lost", "limit=0", "limit=abc"] {
        let answer = app.call("GET", &format!("/api/v1/admin/notifications?{bad}"), Some(&admin), None);
        assert_eq!(answer.status, 422, "{bad}: {}", answer.body);
    }
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    assert_eq!(app.call("GET", "/api/v1/admin/notifications", Some(&worker), None).status, 403);
}

#[test]
fn rows_left_by_a_dead_instance_are_all_sent_once_by_two_workers() {
    let sink = SmtpSink::start();
    // An instance that queued messages and died before sending any: no worker runs here.
    let first = spawn_app_with(|s| s.notifications.worker = false);
    let mut conn = first.db();
    backend::db::write(&mut conn, |conn| -> QueryResult<()> {
        for n in 0..500 {
            enqueue(
                conn,
                &Outgoing {
                    key: format!("restart-test:{n}"),
                    channel: Channel::Email,
                    audience: Audience::Admin,
                    recipient: format!("admin{n}@example.org"),
                    template: Template::GroupWaiting,
                    personalisation: json!({"organisation_name": format!("Group {n}")}),
                },
            )?;
        }
        Ok(())
    })
    .unwrap();
    // Twenty were being sent when it died: `sending`, with a lease that has lapsed.
    let lapsed = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(10);
    let claimed: Vec<String> =
        notifications::table.select(notifications::id).order(notifications::id).limit(20).load(&mut conn).unwrap();
    diesel::update(notifications::table.filter(notifications::id.eq_any(&claimed)))
        .set((
            notifications::status.eq("sending"),
            notifications::attempts.eq(1),
            notifications::lease_until.eq(Some(lapsed)),
        ))
        .execute(&mut conn)
        .unwrap();
    // Two instances come up on the same database and drain the outbox together.
    let _second = spawn_second_with(&first, over_smtp(&sink));
    let _third = spawn_second_with(&first, over_smtp(&sink));
    assert!(sink.wait_for(500, Duration::from_secs(120)), "only {} arrived", sink.messages().len());
    wait_until("every row sent", Duration::from_secs(20), || rows(&first).iter().all(|(_, s, ..)| s == "sent"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 500);
    assert_eq!(sink.duplicates(), 0, "no message sent twice");
    let resent: i64 = notifications::table
        .filter(notifications::id.eq_any(&claimed))
        .filter(notifications::attempts.eq(2))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(resent, 20, "the dead instance's claims were taken over");
}
