//! The person's data rights, for admins and the service's lead: access (a printable page and a
//! JSON file, found by NHS number or by name and date of birth, with who viewed the record and
//! the messages sent), rectification (the old value kept), restriction (frozen, out of the
//! group's inbox and its old links), consent withdrawn, erasure where it applies; each audited,
//! and a 404 for anyone else.

use backend::db::schema::{audit_events, referrals};
use backend::notifications::links::{sign, AnswerClaims};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, Answer, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GARDEN_EDITOR, GP, LEAD, LINK_WORKER};

/// A valid test NHS number (999 range) that no other test uses: `999 8xx xxx c`.
pub fn unique_nhs_number(seed: u32) -> String {
    let mut n = 800_000 + seed * 7;
    loop {
        let digits: Vec<u32> = format!("999{n:06}").chars().map(|c| c.to_digit(10).unwrap()).collect();
        let first: [u32; 9] = digits.clone().try_into().unwrap();
        if let Some(check) = backend::domain::NhsNumber::check_digit(&first) {
            let s: String = digits.iter().map(|d| d.to_string()).collect();
            return format!("{}{check}", s);
        }
        n += 1;
    }
}

fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
    app.call(method, path, Some(token), body.map(|b| b.to_string()).as_deref())
}

fn ok(answer: Answer) -> Value {
    assert!(answer.status < 300, "{} {}", answer.status, answer.body);
    if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()
    }
}

/// A referral for a person of their own, accepted by the link worker, with a note.
fn person(app: &TestApp, seed: u32) -> (String, String) {
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let nhs = unique_nhs_number(seed);
    let mut body = referral_body();
    body["nhs_number"] = json!(nhs);
    body["given_name"] = json!("Winifred");
    body["family_name"] = json!(format!("Rights{seed}"));
    body["date_of_birth"] = json!("1951-04-17");
    let id = create(app, &gp, &body);
    ok(call(
        app,
        &worker,
        "POST",
        &format!("/api/v1/referrals/{id}/transitions"),
        Some(json!({"to": "accepted", "version": 1})),
    ));
    ok(call(
        app,
        &worker,
        "POST",
        &format!("/api/v1/referrals/{id}/notes"),
        Some(json!({"body": "Spoke about the allotment"})),
    ));
    (id, nhs)
}

fn introduce(app: &TestApp, worker: &str, id: &str) -> (String, i32) {
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let c = ok(call(
        app,
        worker,
        "POST",
        &format!("/api/v1/referrals/{id}/connections"),
        Some(json!({"service_id": garden})),
    ));
    let cid = c["id"].as_str().unwrap().to_string();
    let version = ok(call(
        app,
        worker,
        "POST",
        &format!("/api/v1/connections/{cid}/transitions"),
        Some(json!({"to": "introduced", "version": c["version"]})),
    ))["version"]
        .as_i64()
        .unwrap_or(2) as i32;
    (cid, version)
}

fn sar(app: &TestApp, token: &str, query: &str) -> Value {
    let answer = call(app, token, "GET", &format!("/api/v1/data-rights/subject-access?{query}"), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.header("content-disposition").unwrap().contains("attachment; filename=\"subject-access-"));
    answer.json()
}

#[test]
fn subject_access_finds_everything_held_by_nhs_number_or_name_and_birth() {
    let app = spawn_app();
    let (id, nhs) = person(&app, 1);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    ok(call(&app, &worker, "GET", &format!("/api/v1/referrals/{id}"), None));
    let admin = app.login(ADMIN, DEMO_PASSWORD);

    let found = sar(&app, &admin, &format!("nhs_number={nhs}"));
    assert_eq!(found["found_by"], "nhs_number");
    let referrals = found["referrals"].as_array().unwrap();
    assert_eq!(referrals.len(), 1, "{found}");
    let record = &referrals[0];
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["person"]["given_name"], "Winifred");
    assert_eq!(record["person"]["phone"], "01632 960555");
    assert!(record["referrer_words"].as_str().unwrap().contains("Widowed"), "clinical text too: it is theirs");
    assert_eq!(record["notes"][0]["body"], "Spoke about the allotment");
    let statuses: Vec<&str> =
        record["timeline"].as_array().unwrap().iter().map(|t| t["to_status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["received", "accepted"]);
    let sent = record["notifications"].as_array().unwrap();
    assert!(sent.iter().any(|n| n["template"] == "referral_accepted" && n["audience"] == "referrer"), "{sent:?}");
    assert!(
        sent.iter().all(|n| n["audience"] == "person" || n["recipient"].is_null()),
        "staff addresses are not theirs"
    );
    // Who viewed it: the link worker (inside the service) and this very request (outside).
    let viewed = record["viewed_by"].as_array().unwrap();
    let read = viewed.iter().find(|v| v["action"] == "referral.read").expect("the link worker's read");
    assert_eq!(
        (read["name"].as_str().is_some_and(|n| !n.is_empty()), read["outside_service"].clone()),
        (true, json!(false))
    );
    let ours = viewed.iter().find(|v| v["action"] == "data_rights.access").expect("this request is audited first");
    assert_eq!(ours["outside_service"], true, "an admin is outside the service: it stands out");

    // By name and date of birth, any case: the same record.
    let by_name = sar(&app, &admin, "given_name=WINIFRED&family_name=rights1&date_of_birth=1951-04-17");
    assert_eq!(by_name["found_by"], "name_and_date_of_birth");
    assert_eq!(by_name["referrals"][0]["id"], id.as_str());
    // Nobody of that name: an empty answer, audited too.
    assert_eq!(
        sar(&app, &admin, "given_name=Nobody&family_name=Here&date_of_birth=1951-04-17")["referrals"],
        json!([])
    );
    // The service's lead finds their own service's referral.
    let lead = app.login(LEAD, DEMO_PASSWORD);
    assert_eq!(sar(&app, &lead, &format!("nhs_number={nhs}"))["referrals"][0]["id"], id.as_str());
    let mut conn = app.db();
    let audited: i64 = audit_events::table
        .filter(audit_events::action.eq("data_rights.access"))
        .filter(audit_events::record_id.eq(&id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(audited, 3, "every access is in the audit trail");

    // The printable page and the file from it.
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(ADMIN, DEMO_PASSWORD).status, 303);
    let page = browser.get(&format!("/data-rights?nhs_number={nhs}"));
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Winifred",
        "Spoke about the allotment",
        "Who saw this record",
        "outside the service",
        "Download everything as a JSON file",
    ] {
        assert!(page.body.contains(shown), "the page shows {shown}");
    }
    let file = browser.get(&format!("/data-rights?nhs_number={nhs}&format=json"));
    assert_eq!(file.status, 200);
    assert!(file.header("content-disposition").unwrap().starts_with("attachment"));
    assert_eq!(file.json()["referrals"][0]["id"], id.as_str());
    let manage = browser.get(&format!("/data-rights/referrals/{id}"));
    assert_eq!(manage.status, 200, "{}", manage.body);
    assert!(manage.body.contains("withdraw-consent") && manage.body.contains("/erase"));
}

#[test]
fn a_subject_access_request_by_someone_not_allowed_is_not_found_and_bad_searches_are_named() {
    let app = spawn_app();
    let (id, nhs) = person(&app, 2);
    for who in [GP, LINK_WORKER, GARDEN_EDITOR] {
        let token = app.login(who, DEMO_PASSWORD);
        assert_error(
            &call(&app, &token, "GET", &format!("/api/v1/data-rights/subject-access?nhs_number={nhs}"), None),
            404,
            None,
        );
        assert_error(&call(&app, &token, "GET", &format!("/api/v1/referrals/{id}/viewings"), None), 404, None);
        assert_error(
            &call(&app, &token, "POST", &format!("/api/v1/referrals/{id}/restrict"), Some(json!({"reason": "x"}))),
            404,
            None,
        );
        let mut browser = app.browser();
        browser.sign_in(who, DEMO_PASSWORD);
        assert_eq!(browser.get(&format!("/data-rights?nhs_number={nhs}")).status, 404, "{who}");
        assert_eq!(browser.get(&format!("/data-rights/referrals/{id}")).status, 404, "{who}");
    }
    assert_eq!(
        app.call("GET", &format!("/api/v1/data-rights/subject-access?nhs_number={nhs}"), None, None).status,
        401
    );
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let path = "/api/v1/data-rights/subject-access";
    for (query, field) in [
        ("", "nhs_number"),
        ("nhs_number=1234567890", "nhs_number"),
        ("nhs_number=abc", "nhs_number"),
        ("given_name=Winifred&date_of_birth=1951-04-17", "family_name"),
        ("given_name=Winifred&family_name=Rights2&date_of_birth=17/04/1951", "date_of_birth"),
        ("given_name=Winifred&family_name=Rights2", "date_of_birth"),
        ("nhs_number=999%00", "nhs_number"),
    ] {
        assert_error(&call(&app, &admin, "GET", &format!("{path}?{query}"), None), 422, Some(field));
    }
    let long = "a".repeat(101);
    assert_error(
        &call(&app, &admin, "GET", &format!("{path}?given_name={long}&family_name=b&date_of_birth=1951-04-17"), None),
        422,
        Some("given_name"),
    );
    // A referral id that is not one, or does not exist: 404.
    assert_error(&call(&app, &admin, "GET", "/api/v1/referrals/not-an-id/viewings", None), 404, None);
    assert_error(
        &call(
            &app,
            &admin,
            "POST",
            "/api/v1/referrals/00000000-0000-4000-8000-000000000000/restrict",
            Some(json!({"reason": "x"})),
        ),
        404,
        None,
    );
}

#[test]
fn rectification_keeps_the_old_value_in_the_history() {
    let app = spawn_app();
    let (id, nhs) = person(&app, 3);
    let lead = app.login(LEAD, DEMO_PASSWORD);
    let path = format!("/api/v1/referrals/{id}/rectify");
    ok(call(
        &app,
        &lead,
        "POST",
        &path,
        Some(json!({"field": "phone", "value": "01632 960999", "reason": "The person asked: number changed"})),
    ));
    ok(call(
        &app,
        &lead,
        "POST",
        &path,
        Some(json!({"field": "family_name", "value": "Rights-Smith", "reason": "Spelling, at the person's request"})),
    ));
    let view = ok(call(&app, &lead, "GET", &format!("/api/v1/referrals/{id}"), None));
    assert_eq!(view["person"]["phone"], "01632 960999");
    assert_eq!(view["person"]["family_name"], "Rights-Smith");
    let record = &sar(&app, &lead, &format!("nhs_number={nhs}"))["referrals"][0];
    let corrections = record["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 2);
    assert_eq!(
        (corrections[0]["field"].clone(), corrections[0]["old_value"].clone()),
        (json!("phone"), json!("01632 960555"))
    );
    assert_eq!(corrections[0]["new_value"], "01632 960999");
    assert_eq!(corrections[1]["old_value"], "Rights3");
    for (body, field) in [
        (json!({"field": "referrer_words", "value": "x", "reason": "r"}), "field"),
        (json!({"field": "nhs_number", "value": "1234567890", "reason": "r"}), "value"),
        (json!({"field": "date_of_birth", "value": "2999-01-01", "reason": "r"}), "value"),
        (json!({"field": "postcode", "value": "not a postcode", "reason": "r"}), "value"),
        (json!({"field": "phone", "value": "", "reason": "r"}), "value"),
        (json!({"field": "given_name", "value": "", "reason": "r"}), "value"),
        (json!({"field": "phone", "value": "01632 960111", "reason": " "}), "reason"),
        (json!({"field": "phone", "value": "01632 960111", "reason": "r".repeat(501)}), "reason"),
        (json!({"field": "given_name", "value": "Nul\u{0}l", "reason": "r"}), "value"),
    ] {
        assert_error(&call(&app, &lead, "POST", &path, Some(body.clone())), 422, Some(field));
    }
    assert_eq!(call(&app, &lead, "POST", &path, Some(json!({"field": "phone", "bogus": 1}))).status, 400);
    let view = ok(call(&app, &lead, "GET", &format!("/api/v1/referrals/{id}"), None));
    assert_eq!(view["person"]["phone"], "01632 960999", "nothing refused was saved");
}

#[test]
fn a_restricted_case_is_frozen_and_gone_from_the_groups_inbox_and_its_old_links() {
    let app = spawn_app();
    let (id, nhs) = person(&app, 4);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let lead = app.login(LEAD, DEMO_PASSWORD);
    let (connection, version) = introduce(&app, &worker, &id);
    let inbox = |app: &TestApp| ok(call(app, &editor, "GET", "/api/v1/introductions", None));
    assert!(inbox(&app).to_string().contains(&connection), "the group sees the introduction");
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    let keys = backend::accounts::tokens::TokenKeys::new(secret.trim().as_bytes(), 15, 12);
    let claims = AnswerClaims {
        connection_id: connection.clone(),
        version,
        user_id: None,
        expires_at: chrono::Utc::now().timestamp() + 3600,
    };
    let link = format!("/answer/{}", sign(keys.answer_link_key(), &claims));
    assert_eq!(app.get(&link).status, 200, "the e-mailed link works before");

    ok(call(
        &app,
        &lead,
        "POST",
        &format!("/api/v1/referrals/{id}/restrict"),
        Some(json!({"reason": "The person contests the record"})),
    ));
    assert!(!inbox(&app).to_string().contains(&connection), "gone from the group's inbox");
    let mut group = app.browser();
    group.sign_in(GARDEN_EDITOR, DEMO_PASSWORD);
    assert!(!group.get("/introductions").body.contains(&connection));
    let answer = call(
        &app,
        &editor,
        "POST",
        &format!("/api/v1/connections/{connection}/transitions"),
        Some(json!({"to": "accepted", "version": version})),
    );
    assert_error(&answer, 404, None);
    let csrf = group.csrf();
    assert_eq!(
        group
            .post(
                &format!("/connections/{connection}/transitions"),
                &[("csrf", &csrf), ("to", "accepted"), ("version", &version.to_string())]
            )
            .status,
        404
    );
    assert_eq!(app.get(&link).status, 404, "the old e-mailed link is gone");
    // Frozen for the service: readable, nothing changes, out of the named lists.
    ok(call(&app, &worker, "GET", &format!("/api/v1/referrals/{id}"), None));
    let note = call(&app, &worker, "POST", &format!("/api/v1/referrals/{id}/notes"), Some(json!({"body": "x"})));
    assert_eq!(note.status, 409, "{}", note.body);
    assert!(note.body.contains("restricted"));
    assert_eq!(
        call(
            &app,
            &worker,
            "POST",
            &format!("/api/v1/referrals/{id}/transitions"),
            Some(json!({"to": "contacting", "version": 2}))
        )
        .status,
        409
    );
    assert!(!ok(call(&app, &worker, "GET", "/api/v1/referrals", None)).to_string().contains(&id));
    // Restricting twice, or lifting without a reason: refused.
    assert_eq!(
        call(&app, &lead, "POST", &format!("/api/v1/referrals/{id}/restrict"), Some(json!({"reason": "again"}))).status,
        409
    );
    assert_error(
        &call(&app, &lead, "POST", &format!("/api/v1/referrals/{id}/lift-restriction"), Some(json!({"reason": ""}))),
        422,
        Some("reason"),
    );
    assert_eq!(
        sar(&app, &lead, &format!("nhs_number={nhs}"))["referrals"][0]["restriction"]["reason"],
        "The person contests the record"
    );

    ok(call(
        &app,
        &lead,
        "POST",
        &format!("/api/v1/referrals/{id}/lift-restriction"),
        Some(json!({"reason": "Resolved with the person"})),
    ));
    assert!(inbox(&app).to_string().contains(&connection), "back once lifted");
    ok(call(
        &app,
        &worker,
        "POST",
        &format!("/api/v1/referrals/{id}/notes"),
        Some(json!({"body": "After the restriction"})),
    ));
    assert_eq!(
        call(
            &app,
            &lead,
            "POST",
            &format!("/api/v1/referrals/{id}/lift-restriction"),
            Some(json!({"reason": "again"}))
        )
        .status,
        409
    );
}

#[test]
fn consent_withdrawn_takes_the_name_from_every_group_at_once_or_closes_the_referral() {
    let app = spawn_app();
    let (id, _) = person(&app, 5);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let (connection, _) = introduce(&app, &worker, &id);
    let mine = |app: &TestApp| {
        ok(call(app, &editor, "GET", "/api/v1/introductions", None))["introductions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == connection.as_str())
            .cloned()
            .unwrap()
    };
    assert_eq!(mine(&app)["first_name"], "Winifred");
    let path = format!("/api/v1/referrals/{id}/withdraw-consent");
    assert_error(
        &call(&app, &admin, "POST", &path, Some(json!({"consent": "everything", "reason": "r"}))),
        422,
        Some("consent"),
    );
    assert_error(
        &call(&app, &admin, "POST", &path, Some(json!({"consent": "share", "reason": ""}))),
        422,
        Some("reason"),
    );
    let answer =
        ok(call(&app, &admin, "POST", &path, Some(json!({"consent": "share", "reason": "Phoned the service"}))));
    assert_eq!(answer["status"], "accepted", "sharing withdrawn: the referral goes on");
    let now = mine(&app);
    assert_eq!(
        (now["first_name"].clone(), now["phone"].clone(), now["email"].clone()),
        (Value::Null, Value::Null, Value::Null)
    );

    let answer =
        ok(call(&app, &admin, "POST", &path, Some(json!({"consent": "referral", "reason": "Does not want it"}))));
    assert_eq!(answer["status"], "cancelled");
    let view = ok(call(&app, &worker, "GET", &format!("/api/v1/referrals/{id}"), None));
    assert_eq!(view["status"], "cancelled");
    assert!(view["timeline"].as_array().unwrap().last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .contains("Consent to the referral withdrawn"));
}

#[test]
fn erasure_removes_personal_data_where_it_applies_keeps_the_counts_and_refuses_a_case_in_progress() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    // In progress: refused, with the reason.
    let (busy, _) = person(&app, 6);
    ok(call(
        &app,
        &worker,
        "POST",
        &format!("/api/v1/referrals/{busy}/transitions"),
        Some(json!({"to": "in_progress", "version": 2})),
    ));
    let refused = call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/referrals/{busy}/erase"),
        Some(json!({"basis": "never_taken_on", "reason": "Asked"})),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("in progress"), "{}", refused.body);
    let refused = call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/referrals/{busy}/erase"),
        Some(json!({"basis": "entered_in_error", "reason": "Asked"})),
    );
    assert!(refused.status == 409 && refused.body.contains("not marked entered in error"), "{}", refused.body);
    assert_error(
        &call(
            &app,
            &admin,
            "POST",
            &format!("/api/v1/referrals/{busy}/erase"),
            Some(json!({"basis": "because", "reason": "x"})),
        ),
        422,
        Some("basis"),
    );

    // Never taken on: the link worker rejects it; erased; the counts in reports stay.
    let nhs = unique_nhs_number(7);
    let mut body = referral_body();
    body["nhs_number"] = json!(nhs);
    let rejected = create(&app, &gp, &body);
    ok(call(
        &app,
        &worker,
        "POST",
        &format!("/api/v1/referrals/{rejected}/transitions"),
        Some(json!({"to": "rejected", "version": 1, "reason": "Needs the mental health team, Mrs Testperson"})),
    ));
    let by_status = |app: &TestApp| ok(call(app, &admin, "GET", "/api/v1/reports/referrals-by-status", None));
    let before = by_status(&app);
    ok(call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/referrals/{rejected}/erase"),
        Some(json!({"basis": "never_taken_on", "reason": "The person asked"})),
    ));
    assert_eq!(by_status(&app), before, "report counts kept");
    assert_eq!(
        sar(&app, &admin, &format!("nhs_number={nhs}"))["referrals"],
        json!([]),
        "not found by NHS number any more"
    );
    let mut conn = app.db();
    let (given, number, phone, words): (String, String, Option<String>, String) = referrals::table
        .find(&rejected)
        .select((referrals::given_name, referrals::nhs_number, referrals::phone, referrals::referrer_words))
        .first(&mut conn)
        .unwrap();
    assert_eq!((given.as_str(), number.as_str(), phone, words.as_str()), ("(removed)", "", None, ""));
    let view = ok(call(&app, &worker, "GET", &format!("/api/v1/referrals/{rejected}"), None));
    assert!(!view.to_string().contains("Testperson") && !view.to_string().contains("Margaret"), "{view}");
    assert_eq!(
        call(
            &app,
            &admin,
            "POST",
            &format!("/api/v1/referrals/{rejected}/erase"),
            Some(json!({"basis": "never_taken_on", "reason": "again"}))
        )
        .status,
        409
    );

    // Entered in error: the GP marks it, then it can be erased.
    let mistake = create(&app, &gp, &referral_body());
    ok(call(
        &app,
        &gp,
        "POST",
        &format!("/api/v1/referrals/{mistake}/transitions"),
        Some(json!({"to": "entered_in_error", "version": 1})),
    ));
    ok(call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/referrals/{mistake}/erase"),
        Some(json!({"basis": "entered_in_error", "reason": "Wrong patient"})),
    ));
    let denied: i64 = audit_events::table
        .filter(audit_events::action.eq("data_rights.erase"))
        .filter(audit_events::outcome.eq("denied"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(denied, 2, "refusals are audited too");
}

#[test]
fn who_saw_this_record_lists_each_view_and_marks_those_from_outside_the_service() {
    let app = spawn_app();
    let (id, _) = person(&app, 8);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let lead = app.login(LEAD, DEMO_PASSWORD);
    for token in [&gp, &worker, &admin] {
        ok(call(&app, token, "GET", &format!("/api/v1/referrals/{id}"), None));
    }
    let answer = ok(call(&app, &lead, "GET", &format!("/api/v1/referrals/{id}/viewings"), None));
    let reads: Vec<(String, String, bool)> = answer["viewings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["action"] == "referral.read")
        .map(|v| {
            (
                v["role"].as_str().unwrap().to_string(),
                v["organisation"].as_str().unwrap().to_string(),
                v["outside_service"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(reads.len(), 3, "{answer}");
    assert_eq!(
        reads.iter().map(|r| (r.0.as_str(), r.2)).collect::<Vec<_>>(),
        [("referrer", false), ("link_worker", false), ("admin", true)]
    );
    assert!(reads.iter().all(|r| !r.1.is_empty()), "each view names the organisation");
    assert_eq!(answer["outside_service"], 1, "the admin's view stands out");
    let all: Vec<&Value> = answer["viewings"].as_array().unwrap().iter().collect();
    assert!(all.windows(2).all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()), "oldest first");
    assert!(all.iter().any(|v| v["action"] == "referral.create"), "changes are listed too");
    // The lead's page shows them, the outside one marked.
    let mut browser = app.browser();
    browser.sign_in(LEAD, DEMO_PASSWORD);
    assert!(browser.get(&format!("/referrals/{id}")).body.contains(&format!("/data-rights/referrals/{id}")));
    let page = browser.get(&format!("/data-rights/referrals/{id}"));
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("class=\"outside-service\"").count(), 1, "{}", page.body);
    // Looking is itself on the record.
    let again = ok(call(&app, &admin, "GET", &format!("/api/v1/referrals/{id}/viewings"), None));
    assert!(again["viewings"].as_array().unwrap().iter().any(|v| v["action"] == "data_rights.viewings"));
}
