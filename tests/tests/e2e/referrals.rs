//! The referral workflow over HTTP: the story of the issue from GP to link worker to group and
//! back, and every bad input named in it.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};

pub const GP: &str = "gp.referrer@demo.example.org";
pub const LINK_WORKER: &str = "link.worker@demo.example.org";
pub const LEAD: &str = "lead@demo.example.org";
pub const GARDEN_EDITOR: &str = "garden.editor@demo.example.org";
pub const ADMIN: &str = "admin@demo.example.org";

/// A complete, valid referral for a 72-year-old in Stroud (test NHS number, 999 range).
pub fn referral_body() -> Value {
    let born = chrono::Utc::now().date_naive() - chrono::Duration::days(72 * 365 + 100);
    json!({
        "given_name": "Margaret",
        "family_name": "Testperson",
        "date_of_birth": born.format("%Y-%m-%d").to_string(),
        "nhs_number": "999 000 0018",
        "postcode": "GL5 1HE",
        "phone": "01632 960555",
        "preferred_contact": "phone",
        "contact_times": "Mornings",
        "reasons": ["loneliness", "long-term-condition"],
        "referrer_words": "Widowed last year, type 2 diabetes, rarely leaves the house. Says she misses her garden.",
        "what_matters": "Getting out of the house; her garden",
        "urgency": "routine",
        "consent_referral": true,
        "consent_share": true
    })
}

/// A valid test NHS number (999 range) never handed out before in this run: one person per
/// call, for tests that refer several people (one person has one case: a second referral of
/// the same NHS number joins the first).
pub fn unique_nhs() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(500_000);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let digits: Vec<u32> = format!("999{n:06}").chars().map(|c| c.to_digit(10).unwrap()).collect();
        let sum: u32 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => continue,
            c => c,
        };
        return format!("999{n:06}{check}");
    }
}

/// [`referral_body`] for another person each call (another NHS number and family name).
pub fn another_person() -> Value {
    let mut body = referral_body();
    let nhs = unique_nhs();
    body["family_name"] = json!(format!("Testperson-{}", &nhs[6..]));
    body["nhs_number"] = json!(nhs);
    body
}

pub fn create(app: &TestApp, token: &str, body: &Value) -> String {
    let answer = app.call("POST", "/api/v1/referrals", Some(token), Some(&body.to_string()));
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().unwrap().to_string()
}

fn post(app: &TestApp, token: &str, path: &str, body: Value) -> crate::helpers::Answer {
    app.call("POST", path, Some(token), Some(&body.to_string()))
}

fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let answer = app.call("GET", path, Some(token), None);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json()
}

#[test]
fn from_the_gp_to_the_link_worker_to_the_group_and_back() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);

    // The GP refers a lonely 72-year-old with type 2 diabetes in Stroud.
    let id = create(&app, &gp, &referral_body());

    // The link worker sees it in "needs attention" and accepts it.
    let attention = get(&app, &worker, "/api/v1/referrals?view=needs_attention");
    let mine = attention["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .expect("new referral needs attention");
    assert_eq!(mine["attention"], "not yet accepted");
    assert_eq!(mine["age"], 72);
    let referral = get(&app, &worker, &format!("/api/v1/referrals/{id}"));
    assert_eq!(referral["status"], "received");
    assert!(referral["allowed_moves"].as_array().unwrap().iter().any(|m| m == "accepted"));
    let v = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{id}/transitions"),
        json!({"to": "accepted", "version": referral["version"]}),
    )
    .json()["version"]
        .clone();

    // Logs a call, records what matters and a baseline ONS4.
    let work = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{id}/contact-attempts"),
        json!({"method": "phone", "outcome": "reached", "note": "Happy to meet"}),
    );
    assert_eq!(work.status, 201);
    let in_progress =
        post(&app, &worker, &format!("/api/v1/referrals/{id}/transitions"), json!({"to": "in_progress", "version": v}))
            .json()["version"]
            .clone();
    let review = (chrono::Utc::now().date_naive() + chrono::Duration::days(42)).format("%Y-%m-%d").to_string();
    let plan = app.call(
        "PUT",
        &format!("/api/v1/referrals/{id}/plan"),
        Some(&worker),
        Some(&json!({"what_matters": "Being outdoors again, and company", "goals": "Go to a gardening group; understand my diabetes", "actions": "Introduce to a gardening group and a diabetes education group", "review_date": review, "version": 0}).to_string()),
    );
    assert_eq!(plan.status, 200, "{}", plan.body);
    assert_eq!(plan.json()["version"], 1);
    assert_eq!(
        post(
            &app,
            &worker,
            &format!("/api/v1/referrals/{id}/measures"),
            json!({"instrument": "ons4", "timepoint": "baseline", "answers": [3, 4, 3, 7]})
        )
        .status,
        201
    );

    // Finds a gardening group and a diabetes education group near her, introduces both.
    let gardening = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10").json();
    let garden_club = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    assert!(gardening["results"].as_array().unwrap().iter().any(|r| r["id"] == garden_club.as_str()));
    let diabetes = app.get("/api/v1/services?q=diabetes+education&near=GL5%201HE&radius_km=25").json();
    let diabetes_group = diabetes["results"][0]["id"].as_str().unwrap().to_string();
    let mut connections = Vec::new();
    for service in [garden_club.clone(), diabetes_group] {
        let added = post(
            &app,
            &worker,
            &format!("/api/v1/referrals/{id}/connections"),
            json!({"service_id": service, "note": "Keen gardener, a little nervous about new groups"}),
        );
        assert_eq!(added.status, 201, "{}", added.body);
        let c = added.json();
        let introduced = post(
            &app,
            &worker,
            &format!("/api/v1/connections/{}/transitions", c["id"].as_str().unwrap()),
            json!({"to": "introduced", "version": c["version"]}),
        );
        assert_eq!(introduced.status, 200, "{}", introduced.body);
        connections.push(c["id"].as_str().unwrap().to_string());
    }

    // The gardening club's editor sees the introduction (first name, consented) and accepts.
    let inbox = get(&app, &editor, "/api/v1/introductions");
    let intro = inbox["introductions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == connections[0].as_str())
        .expect("introduction in the group's inbox")
        .clone();
    assert_eq!(intro["first_name"], "Margaret");
    assert_eq!(intro["phone"], "01632 960555");
    assert!(!inbox.to_string().contains("Testperson"), "the group never sees the family name");
    assert!(!inbox.to_string().contains("diabetes, rarely"), "nor the referrer's words");
    let accepted = post(
        &app,
        &editor,
        &format!("/api/v1/connections/{}/transitions", connections[0]),
        json!({"to": "accepted", "version": intro["version"]}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    // The link worker sees the answer on the referral.
    let referral = get(&app, &worker, &format!("/api/v1/referrals/{id}"));
    let garden = referral["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == connections[0].as_str())
        .unwrap()
        .clone();
    assert_eq!(garden["status"], "accepted");
    assert_eq!(
        post(
            &app,
            &editor,
            &format!("/api/v1/connections/{}/transitions", connections[0]),
            json!({"to": "attended", "version": 3})
        )
        .status,
        200
    );

    // Follow-up ONS4, then completion with a closing summary.
    assert_eq!(
        post(
            &app,
            &worker,
            &format!("/api/v1/referrals/{id}/measures"),
            json!({"instrument": "ons4", "timepoint": "follow_up", "answers": [6, 7, 6, 4]})
        )
        .status,
        201
    );
    assert_eq!(referral["version"], in_progress);
    let version = referral["version"].clone();
    let missing_summary = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{id}/transitions"),
        json!({"to": "completed", "version": version}),
    );
    assert_error(&missing_summary, 422, Some("note"));
    let done = post(
        &app,
        &worker,
        &format!("/api/v1/referrals/{id}/transitions"),
        json!({"to": "completed", "version": version, "note": "Goes to the gardening club weekly; booked onto diabetes education."}),
    );
    assert_eq!(done.status, 200, "{}", done.body);

    // The GP sees the timeline (no private notes) and the message back with codes and change.
    let seen = get(&app, &gp, &format!("/api/v1/referrals/{id}"));
    let statuses: Vec<&str> =
        seen["timeline"].as_array().unwrap().iter().map(|t| t["to_status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["received", "accepted", "in_progress", "completed"]);
    assert!(seen["work"].is_null(), "the practice does not see the link worker's notes and calls");
    let message = get(&app, &gp, &format!("/api/v1/referrals/{id}/message"));
    assert_eq!(message["codes"][0]["code"], "871731000000106");
    assert_eq!(message["ons4_change"], json!([3, 3, 3, -3]));
    assert!(
        message["summary"].as_str().unwrap().contains("Stroud Community Gardening Club (attended)"),
        "{}",
        message["summary"]
    );
}

#[test]
fn bad_referral_input_names_the_field() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let today = chrono::Utc::now().date_naive();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("nhs_number", json!("999 000 0017"), "wrong check digit"),
        ("nhs_number", json!("999000001"), "9 digits"),
        ("nhs_number", json!("99900000181"), "11 digits"),
        ("nhs_number", json!("99900A0018"), "letters"),
        ("date_of_birth", json!((today + chrono::Duration::days(3)).format("%Y-%m-%d").to_string()), "future"),
        ("date_of_birth", json!("1890-01-01"), "over 120 years ago"),
        ("date_of_birth", json!("21/03/1954"), "not a date"),
        ("consent_referral", json!(false), "no consent"),
        ("reasons", json!(["loneliness", "astrology"]), "unknown reason"),
        ("reasons", json!([]), "no reason"),
        ("postcode", json!("ZZ99 9ZZ"), "unknown postcode"),
        ("postcode", json!("not a postcode"), "malformed postcode"),
        ("urgency", json!("yesterday"), "unknown urgency"),
        ("phone", json!("12"), "short phone"),
        ("service_id", json!("00000000-0000-4000-8000-000000000000"), "a service the practice is not linked to"),
        ("referrer_words", json!(""), "empty"),
    ];
    for (field, value, why) in cases {
        let mut body = referral_body();
        body[field] = value;
        let answer = app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body.to_string()));
        assert_eq!(answer.status, 422, "{why}: {}", answer.body);
        assert_error(&answer, 422, Some(field));
    }
    // The invalid check value 10: find a 999 number whose check digit would be 10.
    let no_check = (0..10_000u32)
        .map(|n| format!("999{n:06}"))
        .find(|s| {
            let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
            backend::domain::NhsNumber::check_digit(&[d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]]).is_none()
        })
        .unwrap();
    let mut body = referral_body();
    body["nhs_number"] = json!(format!("{no_check}0"));
    assert_error(&app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body.to_string())), 422, Some("nhs_number"));
    // Only practices refer.
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    assert_eq!(app.call("POST", "/api/v1/referrals", Some(&worker), Some(&referral_body().to_string())).status, 403);
}

#[test]
fn the_status_machine_refuses_what_domain_md_forbids() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    let path = format!("/api/v1/referrals/{id}/transitions");
    // A rejection without a reason.
    assert_error(&post(&app, &worker, &path, json!({"to": "rejected", "version": 1})), 422, Some("reason"));
    // A refused move answers 409 with the allowed moves.
    let refused = post(&app, &worker, &path, json!({"to": "completed", "version": 1, "note": "x"}));
    let body = assert_error(&refused, 409, None);
    assert_eq!(body["error"]["allowed"], json!(["accepted", "rejected", "cancelled", "entered_in_error"]));
    // A stale version.
    let v2 = post(&app, &worker, &path, json!({"to": "accepted", "version": 1})).json()["version"].clone();
    assert_error(&post(&app, &worker, &path, json!({"to": "contacting", "version": 1})), 409, None);
    // From completed only to entered_in_error.
    let v3 = post(&app, &worker, &path, json!({"to": "in_progress", "version": v2})).json()["version"].clone();
    let v4 = post(&app, &worker, &path, json!({"to": "completed", "version": v3, "note": "Finished."})).json()
        ["version"]
        .clone();
    for to in ["in_progress", "cancelled", "on_hold", "received"] {
        let answer = post(&app, &worker, &path, json!({"to": to, "version": v4, "reason": "r", "note": "n"}));
        assert_eq!(answer.status, 409, "completed -> {to}");
        assert_eq!(answer.json()["error"]["allowed"], json!(["entered_in_error"]));
    }
    assert_eq!(post(&app, &gp, &path, json!({"to": "entered_in_error", "version": v4})).status, 200);
    let listed = get(&app, &gp, "/api/v1/referrals");
    assert!(
        !listed["referrals"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()),
        "entered in error is hidden from lists"
    );
    assert_eq!(get(&app, &gp, &format!("/api/v1/referrals/{id}"))["status"], "entered_in_error", "but kept");
    assert_error(&post(&app, &worker, &path, json!({"to": "flying", "version": 1})), 422, Some("to"));
}

#[test]
fn two_link_workers_accepting_at_once_exactly_one_wins() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let lead = app.login(LEAD, DEMO_PASSWORD);
    for _ in 0..5 {
        let id = create(&app, &gp, &referral_body());
        let path = format!("/api/v1/referrals/{id}/transitions");
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let a = s.spawn(|| post(&app, &worker, &path, json!({"to": "accepted", "version": 1})).status);
            let b = s.spawn(|| post(&app, &lead, &path, json!({"to": "accepted", "version": 1})).status);
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, vec![200, 409], "{statuses:?}");
        let referral = get(&app, &gp, &format!("/api/v1/referrals/{id}"));
        assert_eq!(referral["timeline"].as_array().unwrap().len(), 2, "one accept recorded");
    }
}

#[test]
fn measures_are_checked_and_groups_never_read_referrals() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    let path = format!("/api/v1/referrals/{id}/measures");
    for (body, field) in [
        (json!({"instrument": "ons4", "timepoint": "baseline", "answers": [1, 2, 3, 11]}), "answers"),
        (json!({"instrument": "ons4", "timepoint": "baseline", "answers": [-1, 2, 3, 4]}), "answers"),
        (json!({"instrument": "ons4", "timepoint": "baseline", "answers": [1, 2, 3]}), "answers"),
        (json!({"instrument": "swemwbs", "timepoint": "baseline", "answers": [1, 2, 3, 4, 5, 6, 3]}), "answers"),
        (json!({"instrument": "swemwbs", "timepoint": "baseline", "answers": [0, 2, 3, 4, 5, 1, 3]}), "answers"),
        (json!({"instrument": "swemwbs", "timepoint": "baseline", "answers": [1, 2, 3, 4, 5, 1]}), "answers"),
        (json!({"instrument": "phq9", "timepoint": "baseline", "answers": [1]}), "instrument"),
        (json!({"instrument": "ons4", "timepoint": "later", "answers": [1, 2, 3, 4]}), "timepoint"),
    ] {
        assert_error(&post(&app, &worker, &path, body.clone()), 422, Some(field));
    }
    let scored = post(
        &app,
        &worker,
        &path,
        json!({"instrument": "swemwbs", "timepoint": "baseline", "answers": [3, 3, 3, 3, 3, 3, 3]}),
    );
    assert_eq!(scored.json()["recorded"][0]["score"], 19.25);
    // A group editor may not know the referral exists.
    assert_error(&app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&editor), None), 404, None);
    assert_error(&app.call("GET", "/api/v1/referrals", Some(&editor), None), 403, None);
    // The other practice does not see it either; the admin sees it without the person or the
    // clinical text.
    let other_gp = app.login("gp.locking@demo.example.org", DEMO_PASSWORD);
    assert_error(&app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&other_gp), None), 404, None);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let seen = get(&app, &admin, &format!("/api/v1/referrals/{id}"));
    assert!(seen["person"].is_null() && seen["clinical"].is_null());
    assert!(!seen.to_string().contains("Margaret") && !seen.to_string().contains("9990000018"));
    // Reads are audited.
    let audit = get(&app, &admin, &format!("/api/v1/admin/audit?record={id}"));
    assert!(audit["events"].as_array().unwrap().iter().any(|e| e["action"] == "referral.read"));
    assert!(!audit.to_string().contains("Margaret"));
    // Contact attempts: three failures offer "unable to contact".
    let attempts = format!("/api/v1/referrals/{id}/contact-attempts");
    let mut last = json!(null);
    for _ in 0..3 {
        last = post(&app, &worker, &attempts, json!({"method": "phone", "outcome": "no_answer"})).json();
    }
    assert_eq!(last["offer_unable_to_contact"], true);
    assert_error(
        &post(&app, &worker, &attempts, json!({"method": "pigeon", "outcome": "no_answer"})),
        422,
        Some("method"),
    );
}

#[test]
fn searching_inside_a_referral_starts_from_its_reasons_and_records_no_identity() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    // No words: the reasons (loneliness, long-term condition) choose the categories.
    let found = get(&app, &worker, &format!("/api/v1/referrals/{id}/search"));
    assert!(found["total"].as_u64().unwrap() > 0, "{found}");
    assert_eq!(found["origin"]["precision"], "coordinates");
    for r in found["results"].as_array().unwrap() {
        let cats: Vec<&str> = r["categories"].as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
        assert!(
            cats.iter().any(|c| [
                "befriending-and-loneliness",
                "social-groups",
                "health-conditions",
                "long-term-condition-peer-support"
            ]
            .contains(c)),
            "{} {cats:?}",
            r["name"]
        );
        assert!(r["distance_km"].as_f64().unwrap() <= 10.0);
    }
    let gardening = get(&app, &worker, &format!("/api/v1/referrals/{id}/search?q=gardening"));
    assert!(gardening["total"].as_u64().unwrap() >= 3);
    let nothing = get(&app, &worker, &format!("/api/v1/referrals/{id}/search?q=parachute+jumping&radius_km=3"));
    assert_eq!(nothing["total"], 0);
    // Recorded for the unmet-need report, without the person.
    use backend::db::schema::referral_searches;
    use diesel::prelude::*;
    let mut conn = app.db();
    // The demo's recorded searches are all 10 or more days old.
    let rows: Vec<(String, String, Option<String>, i32)> = referral_searches::table
        .filter(referral_searches::at.gt(chrono::Utc::now().naive_utc() - chrono::Duration::hours(1)))
        .order(referral_searches::id)
        .select((
            referral_searches::query,
            referral_searches::categories,
            referral_searches::outward_code,
            referral_searches::results,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].0, "parachute jumping");
    assert_eq!(rows[2].3, 0);
    assert_eq!(rows[0].2.as_deref(), Some("GL5"), "the area, never the postcode");
    assert!(rows.iter().all(|r| !format!("{r:?}").contains("Margaret") && !format!("{r:?}").contains("GL5 1HE")));
    // Only the link worker service searches for its referrals.
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{id}/search"), Some(&gp), None).status, 403);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{id}/search"), Some(&editor), None).status, 404);
}

#[test]
fn demo_mode_has_referrals_in_every_status() {
    let app = spawn_app();
    let lead = app.login(LEAD, DEMO_PASSWORD);
    let all = get(&app, &lead, "/api/v1/referrals");
    let list = all["referrals"].as_array().unwrap();
    assert!(list.len() >= 55, "{} demo referrals", list.len());
    for status in [
        "received",
        "accepted",
        "contacting",
        "in_progress",
        "on_hold",
        "completed",
        "declined",
        "unable_to_contact",
        "rejected",
        "cancelled",
    ] {
        assert!(list.iter().any(|r| r["status"] == status), "no demo referral is {status}");
    }
    let attention = get(&app, &lead, "/api/v1/referrals?view=needs_attention");
    assert!(attention["total"].as_u64().unwrap() >= 5);
    let completed = list.iter().find(|r| r["status"] == "completed").unwrap()["id"].as_str().unwrap().to_string();
    let one = get(&app, &lead, &format!("/api/v1/referrals/{completed}"));
    assert!(one["measures"]["ons4_change"].is_array(), "paired ONS4 on completed demo referrals");
    let nhs = one["person"]["nhs_number"].as_str().unwrap();
    assert!(nhs.starts_with("999"), "test NHS numbers only: {nhs}");
    let gp = app.login(GP, DEMO_PASSWORD);
    assert!(
        get(&app, &gp, "/api/v1/referrals")["total"].as_u64().unwrap() < list.len() as u64,
        "a practice sees only its own"
    );
}

#[test]
fn through_the_pages_gp_link_worker_and_group() {
    let app = spawn_app();
    // The GP fills in the form (first with a mistake, which keeps what was typed).
    let mut gp = app.browser();
    assert_eq!(gp.sign_in(GP, DEMO_PASSWORD).status, 303);
    let form = gp.get("/referrals/new");
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Loneliness and isolation"));
    let csrf = gp.csrf();
    let born =
        (chrono::Utc::now().date_naive() - chrono::Duration::days(72 * 365 + 100)).format("%Y-%m-%d").to_string();
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("given_name", "Margaret"),
        ("family_name", "Testperson"),
        ("date_of_birth", &born),
        ("nhs_number", "999 000 0017"),
        ("postcode", "GL5 1HE"),
        ("phone", "01632 960555"),
        ("preferred_contact", "phone"),
        ("reasons", "loneliness"),
        ("reasons", "long-term-condition"),
        ("referrer_words", "Lonely since her husband died; type 2 diabetes."),
        ("urgency", "routine"),
        ("consent_referral", "true"),
        ("consent_share", "true"),
    ];
    let wrong = gp.post("/referrals", &fields);
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("a digit may be mistyped"));
    assert!(wrong.body.contains("value=\"Margaret\""), "keeps what was typed");
    fields[4] = ("nhs_number", "999 000 0018");
    let sent = gp.post("/referrals", &fields);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let location = sent.header("location").unwrap().to_string();
    assert!(location.ends_with("?created=1"));
    let confirmation = gp.get(&location);
    assert!(confirmation.body.contains("Referral sent"));
    let path = location.trim_end_matches("?created=1").to_string();

    // The link worker finds it in "needs attention", accepts it and logs a call.
    let mut worker = app.browser();
    worker.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let attention = worker.get("/referrals?view=needs_attention");
    assert!(attention.body.contains(&path), "in needs attention");
    let page = worker.get(&path);
    assert!(page.body.contains("Lonely since her husband died"));
    let csrf = worker.csrf();
    assert_eq!(
        worker.post(&format!("{path}/transitions"), &[("csrf", &csrf), ("version", "1"), ("to", "accepted")]).status,
        303
    );
    assert_eq!(
        worker
            .post(&format!("{path}/contact-attempts"), &[("csrf", &csrf), ("method", "phone"), ("outcome", "reached")])
            .status,
        303
    );
    let stale = worker.post(&format!("{path}/transitions"), &[("csrf", &csrf), ("version", "1"), ("to", "contacting")]);
    assert_eq!(stale.status, 422, "the referral page again, saying why");
    assert!(stale.body.contains("Someone else changed this referral"), "said as a sentence");
    // Searches near the person and connects the gardening club, then introduces it.
    let found = worker.get(&format!("{path}?q=gardening"));
    assert!(found.body.contains("Stroud Community Gardening Club"));
    // Without a location to start from, the page still shows the referral and says why.
    {
        use backend::db::schema::referrals;
        use diesel::prelude::*;
        let id = path.trim_start_matches("/referrals/").to_string();
        let mut conn = app.db();
        let saved: (Option<f64>, Option<f64>) =
            referrals::table.find(&id).select((referrals::latitude, referrals::longitude)).first(&mut conn).unwrap();
        let clear = (referrals::latitude.eq(None::<f64>), referrals::longitude.eq(None::<f64>));
        diesel::update(referrals::table.find(&id)).set(clear).execute(&mut conn).unwrap();
        let nowhere = worker.get(&format!("{path}?q=gardening"));
        assert_eq!(nowhere.status, 200);
        assert!(nowhere.body.contains("this referral has no location"), "the reason is on the page");
        let back = (referrals::latitude.eq(saved.0), referrals::longitude.eq(saved.1));
        diesel::update(referrals::table.find(&id)).set(back).execute(&mut conn).unwrap();
    }
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    assert_eq!(worker.post(&format!("{path}/connections"), &[("csrf", &csrf), ("service_id", &garden)]).status, 303);
    let page = worker.get(&path);
    let connection = page.body.split("/connections/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let introduced = worker.post(
        &format!("/connections/{connection}/transitions?back={path}"),
        &[("csrf", &csrf), ("version", "1"), ("to", "introduced")],
    );
    assert_eq!(introduced.status, 303);
    // A forged "back" (a line break for header injection, another site) leads to the caseload.
    for back in ["/referrals/\nSet-Cookie: x=1", "https://evil.example/referrals/", "/referrals/../admin"] {
        let encoded: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        let moved = worker.post(
            &format!("/connections/{connection}/transitions?back={encoded}"),
            &[("csrf", &csrf), ("version", "1"), ("to", "introduced")],
        );
        assert_eq!(moved.status, 303, "{back:?}: {}", moved.body);
        assert!(moved.header("location").unwrap().starts_with("/referrals?error="), "{back:?}");
    }

    // The group's editor answers in the inbox; the link worker sees the answer.
    let mut editor = app.browser();
    editor.sign_in(GARDEN_EDITOR, DEMO_PASSWORD);
    let inbox = editor.get("/introductions");
    assert!(inbox.body.contains("Margaret") && !inbox.body.contains("Testperson"));
    let csrf = editor.csrf();
    assert_eq!(
        editor
            .post(
                &format!("/connections/{connection}/transitions"),
                &[("csrf", &csrf), ("version", "2"), ("to", "accepted")]
            )
            .status,
        303
    );
    assert!(worker.get(&path).body.contains("Stroud Community Gardening Club</a>: Accepted"));
    // The GP sees the timeline.
    assert!(gp.get(&path).body.contains("Accepted by"));
}

#[test]
fn reassigning_and_the_printable_plan() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    let lead_id = get(&app, &app.login(LEAD, DEMO_PASSWORD), "/api/v1/me")["id"].as_str().unwrap().to_string();
    let gp_id = get(&app, &gp, "/api/v1/me")["id"].as_str().unwrap().to_string();
    let assign = format!("/api/v1/referrals/{id}/assign");
    assert_error(&post(&app, &worker, &assign, json!({"owner_id": lead_id, "version": 1})), 409, None);
    post(&app, &worker, &format!("/api/v1/referrals/{id}/transitions"), json!({"to": "accepted", "version": 1}));
    assert_error(&post(&app, &worker, &assign, json!({"owner_id": gp_id, "version": 2})), 422, Some("owner_id"));
    assert_eq!(post(&app, &worker, &assign, json!({"owner_id": lead_id, "version": 2})).status, 200);
    let seen = get(&app, &gp, &format!("/api/v1/referrals/{id}"));
    assert_eq!(seen["owner"], "Morgan Lead");
    assert!(seen["timeline"].as_array().unwrap().iter().any(|t| t["note"] == "Assigned to Morgan Lead"));
    let plan = json!({"what_matters": "My garden", "goals": "Grow tomatoes again", "actions": "Join the gardening club", "version": 0});
    assert_eq!(
        app.call("PUT", &format!("/api/v1/referrals/{id}/plan"), Some(&worker), Some(&plan.to_string())).status,
        200
    );
    assert_error(
        &app.call("PUT", &format!("/api/v1/referrals/{id}/plan"), Some(&worker), Some(&plan.to_string())),
        409,
        None,
    );
    let mut browser = app.browser();
    browser.sign_in(GP, DEMO_PASSWORD);
    let printable = browser.get(&format!("/referrals/{id}/plan"));
    assert_eq!(printable.status, 200);
    assert!(printable.body.contains("Grow tomatoes again"));
    let mut admin = app.browser();
    admin.sign_in(ADMIN, DEMO_PASSWORD);
    assert_eq!(admin.get(&format!("/referrals/{id}/plan")).status, 404, "the plan is the person's: not for admins");
}

#[test]
fn the_caseload_page_filters() {
    let app = spawn_app();
    let mut browser = app.browser();
    browser.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let all = browser.get("/referrals");
    let urgent = browser.get("/referrals?urgency=urgent");
    let rows = |body: &str| body.matches("<td data-label=\"Person\"><a href=\"/referrals/").count();
    assert!(
        rows(&urgent.body) > 0 && rows(&urgent.body) < rows(&all.body),
        "{} of {}",
        rows(&urgent.body),
        rows(&all.body)
    );
    assert!(
        urgent.body.contains("for=\"status\"") && urgent.body.contains("for=\"owner\""),
        "the filters are labelled"
    );
    assert_eq!(browser.get("/referrals?status=flying").status, 422);
}

#[test]
fn a_form_page_sets_the_csrf_cookie_its_forms_carry() {
    let app = spawn_app();
    let mut gp = app.browser();
    gp.sign_in(GP, DEMO_PASSWORD);
    gp.cookies.remove("cg_csrf");
    for path in ["/referrals/new", "/referrals", "/account"] {
        gp.cookies.remove("cg_csrf");
        let page = gp.get(path);
        let in_form = page.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        assert_eq!(in_form, gp.csrf(), "{path}: the form's token is the one for this session");
    }
}

/// Issue 13: a closed referral's page showed the message back by building the referral a second
/// time and recording "message back sent" in the audit trail, hiding any failure.
#[test]
fn a_closed_referrals_page_shows_the_message_back_without_recording_it_as_sent() {
    let app = spawn_app();
    let lead = app.login(LEAD, DEMO_PASSWORD);
    let all = get(&app, &lead, "/api/v1/referrals?per_page=100");
    let completed = all["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "completed")
        .expect("a completed demo referral")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut browser = app.browser();
    browser.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let page = browser.get(&format!("/referrals/{completed}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Referred to social prescribing on"), "the message back is on the page");

    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let events = |action: &str| -> Vec<Value> {
        let answer = get(&app, &admin, &format!("/api/v1/admin/audit?action={action}&record={completed}"));
        answer["events"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect()
    };
    assert_eq!(events("referral.read").len(), 1, "one page view, one read in the audit trail");
    assert!(events("referral.message_back").is_empty(), "showing the message is not sending it");

    // Asking for the message itself is what records it.
    let lw = app.login(LINK_WORKER, DEMO_PASSWORD);
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{completed}/message"), Some(&lw), None).status, 200);
    assert_eq!(events("referral.message_back").len(), 1);
}
