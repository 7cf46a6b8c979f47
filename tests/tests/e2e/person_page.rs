//! The person's own page: made by the link worker with the person's consent, opened by its code
//! and their date of birth, showing their plan and suggestions (never anything clinical), and
//! carrying their answers back to the referral at once.

use serde_json::{json, Value};

use crate::answer_links::{outbox, post, quick};
use crate::helpers::{assert_error, spawn_app_with, Answer, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, GARDEN_EDITOR, GP, LINK_WORKER};

/// A referral accepted by the link worker, with a plan, three suggestions (the first with a
/// note for the person) and one introduction; its id and the connections' ids.
fn referral_with_suggestions(app: &TestApp, gp: &str, worker: &str, body: &Value) -> (String, Vec<String>) {
    let id = create(app, gp, body);
    post(app, worker, &format!("/api/v1/referrals/{id}/transitions"), json!({"to": "accepted", "version": 1}));
    let plan = json!({"what_matters": "Getting out of the house", "goals": "Meet people\nWalk twice a week",
        "actions": "Try a group near home", "version": 0});
    let saved = app.call("PUT", &format!("/api/v1/referrals/{id}/plan"), Some(worker), Some(&plan.to_string()));
    assert!(saved.status < 300, "{}", saved.body);
    let found = app.get("/api/v1/services?q=group&near=GL5+1HE&radius_km=15&per_page=10").json();
    let mut listings: Vec<String> =
        found["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    listings.retain(|l| *l != garden);
    listings.insert(0, garden);
    let mut connections = Vec::new();
    for (n, listing) in listings.iter().take(4).enumerate() {
        let note = (n == 0).then_some("You said you miss your garden");
        let added = post(
            app,
            worker,
            &format!("/api/v1/referrals/{id}/connections"),
            json!({"service_id": listing, "note": "ZEBRA-GROUP-NOTE", "note_for_person": note}),
        );
        connections.push(added["id"].as_str().unwrap().to_string());
    }
    let last = connections[3].clone();
    post(app, worker, &format!("/api/v1/connections/{last}/transitions"), json!({"to": "introduced", "version": 1}));
    (id, connections)
}

fn person_link(app: &TestApp, worker: &str, referral: &str, send: bool) -> Value {
    let made = app.call(
        "POST",
        &format!("/api/v1/referrals/{referral}/person-link"),
        Some(worker),
        Some(&json!({"consent": true, "send": send}).to_string()),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()
}

fn born(body: &Value) -> (String, String, String) {
    let date = chrono::NaiveDate::parse_from_str(body["date_of_birth"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    use chrono::Datelike;
    (date.day().to_string(), date.month().to_string(), date.year().to_string())
}

fn assert_private(page: &Answer) {
    assert_eq!(page.header("cache-control"), Some("no-store"), "{:?}", page.headers);
    assert!(page.header("x-robots-tag").is_some_and(|v| v.contains("noindex")), "{:?}", page.headers);
}

fn connection<'a>(referral: &'a Value, id: &str) -> &'a Value {
    referral["connections"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

#[test]
fn the_person_opens_their_page_answers_their_suggestions_and_the_link_worker_sees_it_at_once() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let mut body = referral_body();
    body["preferred_contact"] = json!("email");
    body["email"] = json!("margaret@example.org");
    body["risk_notes"] = json!("ZEBRA-RISK-NOTES");
    let (referral, connections) = referral_with_suggestions(&app, &gp, &worker, &body);

    // The link worker makes the link and sends it by e-mail, as the person chose.
    let made = person_link(&app, &worker, &referral, true);
    assert_eq!(made["sent"], true);
    let code = made["code"].as_str().unwrap().to_string();
    let path = made["path"].as_str().unwrap().to_string();
    assert_eq!(path, format!("/my-page/{code}"));
    let mail = outbox(&app, "person_page-", 1).into_iter().find(|(n, _)| n.starts_with("person_page-")).unwrap().1;
    assert!(mail.contains(&path) && mail.contains("Hello Margaret"), "{mail}");
    assert!(!mail.contains("Testperson") && !mail.contains("999 000 0018"), "{mail}");

    // First the date of birth; a wrong one says how many tries are left.
    let mut phone = app.browser();
    let ask = phone.get(&path);
    assert_eq!(ask.status, 200);
    assert_private(&ask);
    assert!(ask.body.contains("date of birth") && ask.body.contains(r#"content="noindex"#), "{}", ask.body);
    let csrf = phone.csrf();
    let (day, month, year) = born(&body);
    let wrong =
        phone.post(&format!("{path}/birth-date"), &[("csrf", &csrf), ("day", "1"), ("month", "1"), ("year", "1950")]);
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("4 tries left") && wrong.body.contains("Error:"), "{}", wrong.body);
    let right = phone
        .post(&format!("{path}/birth-date"), &[("csrf", &csrf), ("day", &day), ("month", &month), ("year", &year)]);
    assert_eq!(right.status, 303, "{}", right.body);

    // The page: plan and suggestions, nothing clinical.
    let page = phone.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_private(&page);
    for shown in ["Hello Margaret", "Getting out of the house", "Walk twice a week", "You said you miss your garden"] {
        assert!(page.body.contains(shown), "{shown} missing");
    }
    for hidden in ["Testperson", "999 000 0018", "9990000018", "Widowed", "ZEBRA-RISK-NOTES", "ZEBRA-GROUP-NOTE"] {
        assert!(!page.body.contains(hidden), "the person's page shows {hidden}");
    }
    // Another device without the date of birth is asked again.
    assert!(app.browser().get(&path).body.contains("What is your date of birth?"));

    // Two answers, and they are on the referral at once.
    let csrf = phone.csrf();
    let (first, second, third, introduced) = (&connections[0], &connections[1], &connections[2], &connections[3]);
    let tried = phone.post(&format!("{path}/suggestions/{first}"), &[("csrf", &csrf), ("choice", "try")]);
    assert_eq!(tried.status, 303, "{}", tried.body);
    let declined = phone.post(
        &format!("{path}/suggestions/{second}"),
        &[("csrf", &csrf), ("choice", "not_for_me"), ("reason", "too_far"), ("words", "Two buses each way")],
    );
    assert_eq!(declined.status, 303, "{}", declined.body);
    let seen = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&worker), None).json();
    assert_eq!(connection(&seen, first)["person_choice"], "try");
    assert_eq!(connection(&seen, second)["person_choice"], "not_for_me");
    assert_eq!(connection(&seen, second)["person_reason"], "too_far");
    assert_eq!(connection(&seen, second)["person_words"], "Two buses each way");
    let mut desk = app.browser();
    desk.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let referral_page = desk.get(&format!("/referrals/{referral}"));
    assert!(referral_page.body.contains("They said: not for me") && referral_page.body.contains("Two buses each way"));
    assert!(referral_page.body.contains(&code), "the link worker sees the live code");
    // The printed plan carries the shortlist (with the note for them) and the way to their page.
    let printed = desk.get(&format!("/referrals/{referral}/plan"));
    assert_eq!(printed.status, 200);
    for shown in ["Groups and activities to try", "You said you miss your garden", &code, "<svg"] {
        assert!(printed.body.contains(shown), "the printed plan lacks {shown}");
    }
    assert!(!printed.body.contains("ZEBRA-GROUP-NOTE"), "the note for the group stays with the group");

    // Bad answers: refused with the reason by the field, nothing changed.
    let bogus = phone.post(&format!("{path}/suggestions/{third}"), &[("csrf", &csrf), ("choice", "maybe")]);
    assert_eq!(bogus.status, 422);
    assert!(bogus.body.contains("Choose"), "{}", bogus.body);
    let long = "x".repeat(501);
    let too_long = phone
        .post(&format!("{path}/suggestions/{third}"), &[("csrf", &csrf), ("choice", "not_for_me"), ("words", &long)]);
    assert_eq!(too_long.status, 422);
    let odd_reason = phone.post(
        &format!("{path}/suggestions/{third}"),
        &[("csrf", &csrf), ("choice", "not_for_me"), ("reason", "bogus")],
    );
    assert_eq!(odd_reason.status, 422);
    let nul = phone.post(&format!("{path}/suggestions/{third}"), &[("csrf", &csrf), ("choice", "try\u{0}")]);
    assert_eq!(nul.status, 422);
    // An introduction is past answering here; a withdrawn suggestion is gone.
    let late = phone.post(&format!("{path}/suggestions/{introduced}"), &[("csrf", &csrf), ("choice", "try")]);
    assert_eq!(late.status, 422);
    assert!(late.body.contains("already been in touch"), "{}", late.body);
    let version = connection(&seen, third)["version"].clone();
    post(
        &app,
        &worker,
        &format!("/api/v1/connections/{third}/transitions"),
        json!({"to": "withdrawn", "version": version}),
    );
    let withdrawn = phone.post(&format!("{path}/suggestions/{third}"), &[("csrf", &csrf), ("choice", "try")]);
    assert_eq!(withdrawn.status, 422);
    assert!(withdrawn.body.contains("taken this suggestion off your list"), "{}", withdrawn.body);
    let after = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&worker), None).json();
    assert!(connection(&after, third)["person_choice"].is_null(), "nothing recorded on a withdrawn suggestion");
    let other_referral = create(&app, &gp, &crate::referrals::another_person());
    let foreign = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{other_referral}/connections"),
        json!({"service_id": backend::directory::seed::service_id("stroud-valleys-mens-shed-workshop")}),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let not_theirs = phone.post(&format!("{path}/suggestions/{foreign}"), &[("csrf", &csrf), ("choice", "try")]);
    assert_eq!(not_theirs.status, 404, "another person's suggestion is not on this page");

    // How to contact them: a choice we cannot use is refused; then they stop contact, and no
    // message goes to them any more.
    let pigeon = phone.post(&format!("{path}/contact"), &[("csrf", &csrf), ("preferred_contact", "pigeon")]);
    assert_eq!(pigeon.status, 422);
    let texts = phone.post(
        &format!("{path}/contact"),
        &[("csrf", &csrf), ("preferred_contact", "text"), ("contact_times", "Mornings, not Thursdays")],
    );
    assert_eq!(texts.status, 303, "{}", texts.body);
    let now = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&worker), None).json();
    assert_eq!(now["person"]["preferred_contact"], "text");
    assert_eq!(now["person"]["contact_times"], "Mornings, not Thursdays");
    assert_eq!(phone.post(&format!("{path}/stop"), &[("csrf", &csrf)]).status, 303);
    let stopped = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&worker), None).json();
    assert!(stopped["contact_stopped_at"].is_string(), "{stopped}");
    assert_eq!(person_link(&app, &worker, &referral, true)["sent"], false, "no message after 'stop contacting me'");
    // The old link stopped working when the new one was made.
    assert_eq!(phone.get(&path).status, 404);

    // Without the form's token nothing is accepted.
    assert_eq!(phone.post(&format!("{path}/stop"), &[]).status, 403);

    // Commissioners see what people chose, without identities and with small numbers withheld.
    let admin = app.login(crate::referrals::ADMIN, DEMO_PASSWORD);
    let report = app.call("GET", "/api/v1/reports/choices", Some(&admin), None);
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(!report.body.contains("Margaret") && !report.body.contains("Two buses"), "{}", report.body);
}

#[test]
fn a_page_link_refuses_altered_guessed_revoked_and_expired_codes_and_locks_after_five_wrong_birth_dates() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let body = referral_body();
    let (referral, _) = referral_with_suggestions(&app, &gp, &worker, &body);

    // Only the service's link workers make links, and only with the person's consent.
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let link_path = format!("/api/v1/referrals/{referral}/person-link");
    assert_error(&app.call("POST", &link_path, Some(&editor), Some(r#"{"consent": true}"#)), 404, None);
    assert_error(&app.call("POST", &link_path, Some(&gp), Some(r#"{"consent": true}"#)), 403, None);
    assert_error(&app.call("POST", &link_path, Some(&worker), Some(r#"{"consent": false}"#)), 422, Some("consent"));
    assert_error(&app.call("POST", &link_path, Some(&worker), Some(r#"{"consent": true, "extra": 1}"#)), 400, None);

    // Revoked: the page stops opening at once.
    let made = person_link(&app, &worker, &referral, false);
    assert_eq!(made["sent"], false);
    let path = made["path"].as_str().unwrap().to_string();
    assert_eq!(app.get(&path).status, 200);
    assert_eq!(app.call("DELETE", &link_path, Some(&worker), None).status, 204);
    let gone = app.get(&path);
    assert_eq!(gone.status, 404);
    assert!(gone.body.contains("ask your link worker for a new one"), "{}", gone.body);

    // Typed the way people type a printed code: still found.
    let made = person_link(&app, &worker, &referral, false);
    let code = made["code"].as_str().unwrap().to_string();
    let path = format!("/my-page/{code}");
    let typed = code.to_lowercase().replace('-', " ");
    let from_box = app.get(&format!("/my-page?code={}", typed.replace(' ', "+")));
    assert_eq!(from_box.status, 303);
    assert_eq!(app.get(&format!("/my-page/{}", code.to_lowercase())).status, 200);
    assert_eq!(app.get("/my-page?code=not-a-code").status, 422);

    // Expired.
    {
        use diesel::prelude::*;
        let mut conn = app.db();
        let sql = "UPDATE person_links SET expires_at = created_at WHERE revoked_at IS NULL";
        match &mut conn {
            backend::db::DbConnection::Sqlite(c) => diesel::sql_query(sql).execute(c).unwrap(),
            backend::db::DbConnection::Pg(c) => diesel::sql_query(sql).execute(c).unwrap(),
        };
    }
    let expired = app.get(&path);
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("run out"), "{}", expired.body);

    // Five wrong dates of birth lock the link, and the link worker is told.
    let made = person_link(&app, &worker, &referral, false);
    let path = made["path"].as_str().unwrap().to_string();
    let mut stranger = app.browser();
    stranger.get(&path);
    let csrf = stranger.csrf();
    let future = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).format("%d %m %Y").to_string();
    let future: Vec<&str> = future.split(' ').collect();
    let bad_dates: [[&str; 3]; 3] = [["31", "2", "1956"], ["x", "3", "1956"], ["27", "3", "56"]];
    for [day, month, year] in bad_dates {
        let refused = stranger
            .post(&format!("{path}/birth-date"), &[("csrf", &csrf), ("day", day), ("month", month), ("year", year)]);
        assert_eq!(refused.status, 422, "{day}/{month}/{year}: not a date, and not counted");
        assert!(refused.body.contains("aria-invalid=\"true\""), "{}", refused.body);
    }
    for attempt in 1..=5 {
        let answer = stranger.post(
            &format!("{path}/birth-date"),
            &[("csrf", &csrf), ("day", future[0]), ("month", future[1]), ("year", future[2])],
        );
        if attempt < 5 {
            assert_eq!(answer.status, 422, "attempt {attempt}");
            assert!(answer.body.contains(&format!("{} tr", 5 - attempt)), "{}", answer.body);
        } else {
            assert_eq!(answer.status, 423, "the fifth wrong date locks the link");
        }
    }
    let (day, month, year) = born(&body);
    let too_late = stranger
        .post(&format!("{path}/birth-date"), &[("csrf", &csrf), ("day", &day), ("month", &month), ("year", &year)]);
    assert_eq!(too_late.status, 423, "locked, even with the right date");
    let told = outbox(&app, "person_link_locked-", 1);
    let told = told.iter().find(|(n, _)| n.starts_with("person_link_locked-")).unwrap();
    assert!(told.1.contains("CG-") && !told.1.contains("Margaret"), "{}", told.1);
    let seen = app.call("GET", &format!("/referrals/{referral}"), None, None);
    assert_ne!(seen.status, 200, "the referral page needs signing in");

    // Guessing: unknown codes count against the address (the revoked one above was the first);
    // the eleventh in an hour is refused.
    for n in 0..9 {
        let guess = format!("/my-page/AAAA-BBBB-CC{}{}", (b'A' + n / 5) as char, (b'A' + n % 5) as char);
        assert_eq!(app.get(&guess).status, 404, "{guess}");
    }
    assert_eq!(app.get("/my-page/AAAA-BBBB-ZZZZ").status, 429);
    assert_eq!(app.get(&path).status, 429, "a real code too, from this address, until the hour is out");
    assert_eq!(app.get("/my-page/%00").status, 404, "not a code at all: nothing to guess, nothing counted");
}

#[test]
fn a_restricted_record_takes_no_answers_from_the_persons_page_and_withdrawn_consent_closes_it() {
    let app = spawn_app_with(quick);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let lead = app.login("lead@demo.example.org", DEMO_PASSWORD);
    let body = referral_body();
    let (referral, connections) = referral_with_suggestions(&app, &gp, &worker, &body);
    let path = person_link(&app, &worker, &referral, false)["path"].as_str().unwrap().to_string();
    let mut phone = app.browser();
    phone.get(&path);
    let csrf = phone.csrf();
    let (day, month, year) = born(&body);
    phone.post(&format!("{path}/birth-date"), &[("csrf", &csrf), ("day", &day), ("month", &month), ("year", &year)]);
    assert_eq!(phone.get(&path).status, 200);

    // Restricted at the person's request: their page still shows, and takes no changes.
    let restrict = json!({"reason": "The person contests the record"}).to_string();
    let restricted = app.call("POST", &format!("/api/v1/referrals/{referral}/restrict"), Some(&lead), Some(&restrict));
    assert!(restricted.status < 300, "{}", restricted.body);
    let first = &connections[0];
    let refused = phone.post(&format!("{path}/suggestions/{first}"), &[("csrf", &csrf), ("choice", "try")]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("paused at your request"), "{}", refused.body);
    let seen = app.call("GET", &format!("/api/v1/referrals/{referral}"), Some(&lead), None).json();
    assert!(connection(&seen, first)["person_choice"].is_null(), "nothing saved on a restricted record");
    let lift = json!({"reason": "Resolved"}).to_string();
    let lifted = app.call("POST", &format!("/api/v1/referrals/{referral}/lift-restriction"), Some(&lead), Some(&lift));
    assert!(lifted.status < 300, "{}", lifted.body);
    assert_eq!(phone.post(&format!("{path}/suggestions/{first}"), &[("csrf", &csrf), ("choice", "try")]).status, 303);

    // Consent to the referral withdrawn: the page was made with it, and stops opening.
    let withdraw = json!({"consent": "referral", "reason": "The person asked"}).to_string();
    let withdrawn =
        app.call("POST", &format!("/api/v1/referrals/{referral}/withdraw-consent"), Some(&lead), Some(&withdraw));
    assert!(withdrawn.status < 300, "{}", withdrawn.body);
    assert_eq!(phone.get(&path).status, 404);
}
