//! Opt-out honoured at once: the unsubscribe link in e-mails to the person and to a group's
//! contact address (signed, one click on its page, no sign-in) stops every e-mail to that
//! address, including those already queued; a user turns their own messages off on /account.

use std::time::{Duration, Instant};

use backend::accounts::tokens::TokenKeys;
use backend::db::schema::notifications;
use backend::notifications::links::sign_unsubscribe;
use diesel::prelude::*;
use serde_json::json;

use crate::answer_links::{introduce, outbox, quick};
use crate::helpers::{spawn_app_with, spawn_second_with, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GARDEN_EDITOR, GP, LINK_WORKER};

/// (template, recipient, status, last error) of every row, waiting until none is queued.
fn settled(app: &TestApp) -> Vec<(String, String, String, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows: Vec<(String, String, String, Option<String>)> = notifications::table
            .select((
                notifications::template,
                notifications::recipient,
                notifications::status,
                notifications::last_error,
            ))
            .load(&mut app.db())
            .unwrap();
        if rows.iter().all(|(_, _, status, _)| status == "sent" || status == "gave_up") {
            return rows;
        }
        assert!(Instant::now() < deadline, "still queued: {rows:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn keys(app: &TestApp) -> TokenKeys {
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    TokenKeys::new(secret.trim().as_bytes(), 15, 12)
}

#[test]
fn the_persons_unsubscribe_link_stops_every_email_even_those_queued() {
    // An instance that queues but does not send, so a message waits when they unsubscribe.
    let app = spawn_app_with(|s| {
        quick(s);
        s.notifications.worker = false;
    });
    let gp = app.login(GP, DEMO_PASSWORD);
    let mut body = referral_body();
    body["preferred_contact"] = json!("email");
    body["email"] = json!("Margaret@Example.org");
    create(&app, &gp, &body);
    let token = sign_unsubscribe(keys(&app).answer_link_key(), "margaret@example.org");
    let path = format!("/unsubscribe/{token}");

    // Opening the link changes nothing; its button stops e-mail to the address.
    let mut browser = app.browser();
    let page = browser.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("m•••@example.org") && !page.body.contains("margaret@"), "{}", page.body);
    let csrf = browser.csrf();
    // Altered, another key's, junk, without the CSRF field: nothing happens.
    let mut flipped: Vec<char> = token.chars().collect();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    let foreign = sign_unsubscribe(&[9; 32], "margaret@example.org");
    for bad in [flipped.as_str(), foreign.as_str(), "a.b", "%00", "x"] {
        assert_eq!(browser.get(&format!("/unsubscribe/{bad}")).status, 404, "{bad}");
        assert_eq!(browser.post(&format!("/unsubscribe/{bad}"), &[("csrf", &csrf)]).status, 404, "{bad}");
    }
    assert_eq!(browser.post(&path, &[]).status, 403);
    assert_eq!(browser.get(&path).status, 200);
    assert!(!browser.get(&path).body.contains("no more e-mails"), "not yet");
    let done = browser.post(&path, &[("csrf", &csrf)]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("no more e-mails"), "{}", done.body);
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).status, 200, "twice is once");
    assert!(browser.get(&path).body.contains("no more e-mails"));

    // An instance that sends comes up: the queued message to the person is given up, not sent.
    let sender = spawn_second_with(&app, quick);
    let rows = settled(&app);
    let received = rows.iter().find(|(t, ..)| t == "referral_received").expect("queued before they unsubscribed");
    assert_eq!(received.2, "gave_up", "{rows:?}");
    assert_eq!(received.3.as_deref(), Some("the recipient unsubscribed"));
    assert!(
        !sender.data_dir.path().join("outbox").exists()
            || std::fs::read_dir(sender.data_dir.path().join("outbox"))
                .unwrap()
                .flatten()
                .all(|f| { !f.file_name().to_string_lossy().starts_with("referral_received-") })
    );
    // And one queued after, too (for someone else at the same address: a second referral of
    // one person joins their open case and sends nothing new).
    let mut neighbour = crate::referrals::another_person();
    neighbour["preferred_contact"] = body["preferred_contact"].clone();
    neighbour["email"] = body["email"].clone();
    create(&app, &gp, &neighbour);
    let rows = settled(&app);
    assert_eq!(rows.iter().filter(|(t, _, s, _)| t == "referral_received" && s == "gave_up").count(), 2, "{rows:?}");
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let audit = app.call("GET", "/api/v1/admin/audit?action=notification.unsubscribe", Some(&admin), None).json();
    assert!(!audit["events"].as_array().unwrap().is_empty(), "{audit}");
    assert!(!audit.to_string().contains("margaret"), "no address in the audit trail");
}

#[test]
fn group_contacts_get_an_unsubscribe_link_and_editors_choose_on_their_account() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);

    // The editor turns introductions off, keeping the rest; bad choices are refused.
    let mut editor = app.browser();
    editor.sign_in(GARDEN_EDITOR, DEMO_PASSWORD);
    let account = editor.get("/account");
    assert!(account.body.contains(r#"value="introduction" checked"#), "{}", account.body);
    let csrf = editor.csrf();
    for bad in ["nonsense", "group_waiting", "referral_accepted"] {
        let refused = editor.post("/account/notifications", &[("csrf", &csrf), ("on", bad)]);
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
    }
    let nul = editor.post("/account/notifications", &[("csrf", &csrf), ("on", "introduction\u{0}")]);
    assert_eq!(nul.status, 422);
    assert_eq!(editor.post("/account/notifications", &[("on", "listing_review")]).status, 403, "no CSRF field");
    assert!(editor.get("/account").body.contains(r#"value="introduction" checked"#), "nothing changed");
    let saved = editor.post(
        "/account/notifications",
        &[("csrf", &csrf), ("on", "introduction_reminder"), ("on", "listing_review"), ("on", "group_approved")],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let account = editor.get("/account");
    assert!(
        account.body.contains(r#"value="introduction">"#) && account.body.contains(r#"value="listing_review" checked"#)
    );

    // An introduction: the editor's copy is not sent (honoured at once); the group's contact
    // address gets its copy with an unsubscribe link, which editors' copies never carry.
    let referral = create(&app, &gp, &referral_body());
    introduce(&app, &worker, &referral);
    let rows = settled(&app);
    let editor_row = rows.iter().find(|(t, r, ..)| t == "introduction" && r == GARDEN_EDITOR).unwrap();
    assert_eq!(
        (editor_row.2.as_str(), editor_row.3.as_deref()),
        ("gave_up", Some("the recipient turned this message off"))
    );
    let contact = rows.iter().find(|(t, r, ..)| t == "introduction" && r != GARDEN_EDITOR);
    let (_, contact_address, status, _) = contact.expect("the gardening club's contact address has a copy");
    assert_eq!(status, "sent");
    let files = outbox(&app, "introduction-", 1);
    let (_, text) = files.iter().find(|(_, text)| text.contains(&format!("To: {contact_address}"))).unwrap();
    let start = text.find("/unsubscribe/").expect("an unsubscribe link");
    let path = text[start..].split_whitespace().next().unwrap().to_string();
    let mut browser = app.browser();
    assert_eq!(browser.get(&path).status, 200);
    let csrf = browser.csrf();
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).status, 200);
    // The next introduction reaches nobody at the group by e-mail: both are given up.
    let other = create(&app, &gp, &referral_body());
    introduce(&app, &worker, &other);
    let rows = settled(&app);
    let given_up = rows.iter().filter(|(t, _, s, _)| t == "introduction" && s == "gave_up").count();
    assert_eq!(given_up, 3, "{rows:?}");
}
