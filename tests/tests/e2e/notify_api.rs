//! GOV.UK Notify through a local stand-in that checks each request's JWT as Notify does: a text
//! message to the person, 429 and 500 backed off and sent later, 400 and 403 given up with
//! Notify's reason.

use std::time::Duration;

use backend::config::{Secret, Settings};
use serde_json::json;
use tests::notify_stub::NotifyStub;

use crate::helpers::{spawn_app_with, DEMO_PASSWORD};
use crate::notifications::{emailed_referral, rows};
use crate::referrals::{another_person as referral_body, create, GP};

fn through_notify(stub: &NotifyStub) -> impl FnOnce(&mut Settings) + '_ {
    move |s: &mut Settings| {
        s.notifications.notify_api_key = Some(Secret::new(NotifyStub::api_key()));
        s.notifications.notify_url = stub.url();
        s.notifications.poll_ms = 50;
        s.notifications.backoff_ms = 300;
        s.notifications.max_attempts = 5;
        for template in backend::notifications::Template::ALL {
            s.notifications.notify_templates.insert(
                template.name().into(),
                format!("f33517ff-2a88-4f6e-b855-c550268ce{:03}", template.name().len()),
            );
        }
    }
}

fn wait_status(app: &crate::helpers::TestApp, status: &str) -> (String, String, i32, Option<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(row) = rows(app).into_iter().find(|(_, s, ..)| s == status) {
            return row;
        }
        assert!(std::time::Instant::now() < deadline, "no {status} row: {:?}", rows(app));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn notify_429_and_500_back_off_then_send() {
    let stub = NotifyStub::start();
    let app = spawn_app_with(through_notify(&stub));
    let gp = app.login(GP, DEMO_PASSWORD);
    stub.answer_next(&[429, 500, 429]);
    let mut body = referral_body();
    body["preferred_contact"] = json!("text");
    body["phone"] = json!("07700 900123");
    create(&app, &gp, &body);
    assert!(stub.wait_for_sent(1, Duration::from_secs(30)), "{:?}", stub.requests());
    let requests = stub.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 429, 201]);
    // Each wait at least doubles: 300 ms, 600 ms, 1200 ms.
    let gaps: Vec<Duration> = requests.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(250) && gaps[2] >= Duration::from_millis(1_100), "{gaps:?}");
    let sent = &requests[3];
    assert_eq!(sent.path, "/v2/notifications/sms");
    assert_eq!(sent.body["phone_number"], "07700 900123");
    assert_eq!(sent.body["personalisation"]["first_name"], "Margaret");
    assert!(sent.body["reference"].as_str().is_some_and(|r| r.len() == 32), "a stable reference: {}", sent.body);
    // Not the family name, nor the NHS number in either spelling (a bare "999" can turn up by
    // chance in the random reference or a signed link).
    let text = sent.body.to_string();
    assert!(!text.contains("Testperson") && !text.contains("9990000018") && !text.contains("999 000 0018"), "{text}");
    let (_, status, attempts, _) = wait_status(&app, "sent");
    assert_eq!((status.as_str(), attempts), ("sent", 4));
}

#[test]
fn notify_400_and_403_give_up_with_notifys_reason() {
    let stub = NotifyStub::start();
    let app = spawn_app_with(through_notify(&stub));
    let gp = app.login(GP, DEMO_PASSWORD);
    create(&app, &gp, &emailed_referral("invalid@example.org"));
    let (_, _, attempts, error) = wait_status(&app, "gave_up");
    assert_eq!(attempts, 1);
    assert_eq!(error.as_deref(), Some("Notify 400: email_address Not a valid email address"));

    stub.answer_next(&[403]);
    create(&app, &gp, &emailed_referral("someone@example.org"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while rows(&app).iter().filter(|(_, s, ..)| s == "gave_up").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "{:?}", rows(&app));
        std::thread::sleep(Duration::from_millis(50));
    }
    let errors: Vec<String> = rows(&app).into_iter().filter_map(|(.., e)| e).collect();
    assert!(errors.iter().any(|e| e.contains("Notify 403") && e.contains("revoked")), "{errors:?}");
    assert_eq!(stub.requests().len(), 2, "neither was tried again");
}

#[test]
fn a_wrong_key_is_refused_by_notify_and_given_up() {
    let stub = NotifyStub::start();
    let app = spawn_app_with(|s| {
        through_notify(&stub)(s);
        // The right shape, the wrong secret: Notify refuses the signature.
        s.notifications.notify_api_key = Some(Secret::new(format!(
            "test_key-{}-00000000-0000-4000-8000-000000000000",
            tests::notify_stub::SERVICE_ID
        )));
    });
    let gp = app.login(GP, DEMO_PASSWORD);
    create(&app, &gp, &emailed_referral("someone@example.org"));
    let (_, _, _, error) = wait_status(&app, "gave_up");
    assert!(error.unwrap().contains("Notify 403: Invalid token"));
}

#[test]
fn status_look_ups_record_delivery_and_give_up_permanent_failures() {
    use backend::db::schema::notifications;
    use backend::notifications::due::notify_statuses;
    use diesel::prelude::*;

    let stub = NotifyStub::start();
    let app = spawn_app_with(|s| {
        through_notify(&stub)(s);
        s.notifications.scheduler_seconds = 0;
    });
    let mut settings = Settings::default();
    through_notify(&stub)(&mut settings);
    let gp = app.login(GP, DEMO_PASSWORD);
    for phone in ["07700 900123", "07700 900124", "07700 900125"] {
        // Three people: a second referral of one person joins their case and sends nothing.
        let mut body = crate::referrals::another_person();
        body["preferred_contact"] = json!("text");
        body["phone"] = json!(phone);
        create(&app, &gp, &body);
    }
    assert!(stub.wait_for_sent(3, Duration::from_secs(30)), "{:?}", stub.requests());
    type Row = (String, Option<String>, String, Option<String>, Option<chrono::NaiveDateTime>);
    let sent = || -> Vec<Row> {
        notifications::table
            .filter(notifications::template.eq("referral_received"))
            .select((
                notifications::id,
                notifications::provider_id,
                notifications::status,
                notifications::last_error,
                notifications::delivered_at,
            ))
            .order(notifications::recipient)
            .load(&mut app.db())
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sent().iter().any(|row| row.2 != "sent") {
        assert!(std::time::Instant::now() < deadline, "{:?}", sent());
        std::thread::sleep(Duration::from_millis(50));
    }
    let rows = sent();
    let provider = |n: usize| rows[n].1.clone().expect("Notify's id");
    let now = chrono::Utc::now().naive_utc();
    let run = |settings: &Settings| notify_statuses(&mut app.db(), settings, now);

    // Still sending: nothing changes.
    assert_eq!(run(&settings).unwrap(), 0);
    stub.set_status(&provider(0), "delivered");
    stub.set_status(&provider(1), "permanent-failure");
    // Notify answers 500: the run fails, nothing changes.
    stub.answer_next(&[500]);
    let failed = run(&settings).expect_err("a 500 fails the run");
    assert!(failed.to_string().contains("500"), "{failed}");
    assert!(sent().iter().all(|row| row.2 == "sent" && row.4.is_none()));
    // The third: an id Notify never gave, and then one that is not an id at all.
    diesel::update(notifications::table.find(&rows[2].0))
        .set(notifications::provider_id.eq(Some("0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f")))
        .execute(&mut app.db())
        .unwrap();
    assert_eq!(run(&settings).unwrap(), 2);
    let after = sent();
    assert_eq!(after[0].2, "sent");
    assert!(after[0].4.is_some(), "delivered: {:?}", after[0]);
    assert_eq!(after[1].2, "gave_up");
    assert!(after[1].3.as_deref().unwrap().contains("permanent failure"), "{:?}", after[1]);
    assert_eq!((after[2].2.as_str(), after[2].4), ("sent", None), "unknown to Notify: left alone");
    diesel::update(notifications::table.find(&rows[2].0))
        .set(notifications::provider_id.eq(Some("../../v2/notifications/sms")))
        .execute(&mut app.db())
        .unwrap();
    let asked = stub.requests().len();
    assert_eq!(run(&settings).unwrap(), 0, "settled rows are not asked about again");
    assert_eq!(stub.requests().len(), asked, "and a provider id that is not Notify's is never sent to it");
    // Without Notify configured the job does nothing.
    assert_eq!(notify_statuses(&mut app.db(), &Settings::default(), now).unwrap(), 0);

    // Admins see both.
    let admin = app.login(crate::referrals::ADMIN, DEMO_PASSWORD);
    let list = app.call("GET", "/api/v1/admin/notifications?status=gave_up", Some(&admin), None).json();
    assert!(list.to_string().contains("permanent failure"), "{list}");
    let list = app.call("GET", "/api/v1/admin/notifications?status=sent", Some(&admin), None).json();
    assert!(list["notifications"].as_array().unwrap().iter().any(|n| n["delivered_at"].is_string()), "{list}");
}
