//! One person, one case (issue 15): a referral for someone with an open case joins it ("also
//! referred by Housing") and the link worker sees it there; near-misses and ties are offered,
//! never merged silently; a link worker merges two referrals of one person keeping both
//! histories; two referrals of one person sent at the same moment make one case.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referral_sources::{CIRENCESTER, HOUSING};
use crate::referrals::{referral_body, ADMIN, GP, LINK_WORKER};

/// A person: (NHS number, family name, postcode), born the same day as the test body's.
fn person(nhs: &str, family: &str, postcode: &str) -> Value {
    let mut body = referral_body();
    body["nhs_number"] = json!(nhs);
    body["given_name"] = json!("Nora");
    body["family_name"] = json!(family);
    body["postcode"] = json!(postcode);
    body
}

fn refer(app: &TestApp, token: &str, body: &Value) -> Value {
    let made = app.call("POST", "/api/v1/referrals", Some(token), Some(&body.to_string()));
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()
}

fn get(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(token), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// The caseload rows about Nora.
fn noras(app: &TestApp, worker: &str) -> Vec<Value> {
    let list = app.call("GET", "/api/v1/referrals", Some(worker), None).json();
    list["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with("Nora ")))
        .cloned()
        .collect()
}

#[test]
fn a_gp_referring_a_person_with_an_open_case_joins_it_and_the_link_worker_is_told() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);

    let case = refer(&app, &housing, &person("999 000 0026", "Quill", CIRENCESTER));
    assert_eq!(case["joined_case"], Value::Null);
    let case = case["id"].as_str().unwrap().to_string();

    // The GP refers the same person (same NHS number), from their own address book.
    let from_gp = refer(&app, &gp, &person("9990000026", "Quill", "GL5 1HE"));
    assert_eq!(from_gp["joined_case"], case.as_str(), "joined, not a second case");
    let gp_id = from_gp["id"].as_str().unwrap().to_string();

    // The link worker has one case, marked "also referred by GP practice".
    let rows = noras(&app, &worker);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], case.as_str());
    let badge = rows[0]["also_referred"][0].as_str().unwrap();
    assert!(badge.starts_with("GP practice, "), "{badge}");
    let seen = get(&app, &worker, &case);
    assert_eq!(seen["also_referred"][0]["id"], gp_id.as_str());
    assert_eq!(seen["also_referred"][0]["organisation"], "Beeches Green Surgery, Stroud");
    let last = seen["timeline"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["note"].as_str().unwrap().starts_with("Also referred by GP practice (Beeches Green Surgery, Stroud), "),
        "{last}"
    );
    let page = app.call("GET", &format!("/referrals/{case}"), Some(&worker), None);
    assert!(page.body.contains("Also referred by GP practice (Beeches Green Surgery, Stroud)"), "{}", page.body);
    let list_page = app.call("GET", "/referrals", Some(&worker), None);
    assert!(list_page.body.contains("Also referred by GP practice, "));

    // The GP follows their own referral, told it joined a case; the housing team's case stays
    // private to them.
    let theirs = get(&app, &gp, &gp_id);
    assert_eq!(theirs["joined_case"], case.as_str());
    assert_eq!(theirs["also_referred"], json!([]));
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{case}"), Some(&gp), None).status, 404);
    let gp_page = app.call("GET", &format!("/referrals/{gp_id}"), Some(&gp), None);
    assert!(gp_page.body.contains("already had an open case"), "{}", gp_page.body);

    // The person refers themselves (no NHS number): same family name, date of birth and postcode.
    let born = referral_body()["date_of_birth"].as_str().unwrap().to_string();
    let me = json!({"given_name": "Nora", "family_name": "quill", "date_of_birth": born, "postcode": "gl7 1aa",
        "phone": "01632 960222", "preferred_contact": "phone", "consent_referral": true});
    assert_eq!(app.call("POST", "/api/v1/self-referrals", None, Some(&me.to_string())).status, 202);
    let rows = noras(&app, &worker);
    assert_eq!(rows.len(), 1, "still one case: {rows:?}");
    assert_eq!(rows[0]["also_referred"].as_array().unwrap().len(), 2);
    assert!(app.call("GET", "/api/v1/triage", Some(&worker), None).json()["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"] == case.as_str() || !r["name"].as_str().unwrap().starts_with("Nora")));

    // A closed case is not joined: a new referral after it ends starts a new case.
    let v = seen["version"].as_i64().unwrap();
    let rejected = app.call(
        "POST",
        &format!("/api/v1/referrals/{case}/transitions"),
        Some(&worker),
        Some(&json!({"to": "rejected", "reason": "Moved away", "version": v}).to_string()),
    );
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    let again = refer(&app, &gp, &person("9990000026", "Quill", "GL5 1HE"));
    assert_eq!(again["joined_case"], Value::Null);
}

#[test]
fn near_misses_and_ties_are_offered_and_a_merge_keeps_both_histories() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);

    // A typo in the family name, another NHS number: two cases, each offered the other.
    let first = refer(&app, &gp, &person("999 000 0034", "Thompson", "GL5 1HE"))["id"].as_str().unwrap().to_string();
    let second = refer(&app, &housing, &person("999 000 0042", "Tompson", "GL5 1HE"));
    assert_eq!(second["joined_case"], Value::Null, "never merged silently");
    let second = second["id"].as_str().unwrap().to_string();
    assert_eq!(noras(&app, &worker).len(), 2);
    let offered = get(&app, &worker, &second)["possible_matches"].clone();
    assert_eq!(offered.as_array().unwrap().len(), 1, "{offered}");
    assert_eq!(offered[0]["id"], first.as_str());
    assert!(offered[0]["why"].as_str().unwrap().contains("spelt differently"));
    // The referrer is offered nothing (it is the link worker's to decide).
    assert_eq!(get(&app, &housing, &second)["possible_matches"], json!([]));
    let page = app.call("GET", &format!("/referrals/{second}"), Some(&worker), None);
    assert!(
        page.body.contains("Perhaps the same person")
            && page.body.contains(&format!("action=\"/referrals/{second}/merge\""))
    );

    // Bad merges: into itself, not an id, stale, by the referrer, by an admin.
    let merge = |token: &str, id: &str, body: Value| {
        app.call("POST", &format!("/api/v1/referrals/{id}/merge"), Some(token), Some(&body.to_string()))
    };
    assert_error(&merge(&worker, &second, json!({"into": second, "version": 1})), 422, Some("into"));
    assert_error(&merge(&worker, &second, json!({"into": "nope", "version": 1})), 422, Some("into"));
    assert_eq!(merge(&worker, &second, json!({"into": first, "version": 7})).status, 409);
    assert_error(&merge(&housing, &second, json!({"into": first, "version": 1})), 403, None);
    assert_error(&merge(&admin, &second, json!({"into": first, "version": 1})), 403, None);
    assert_error(&merge(&gp, &second, json!({"into": first, "version": 1})), 404, None);

    // The link worker adds a note to each, then merges the second into the first.
    for id in [&first, &second] {
        let noted = app.call(
            "POST",
            &format!("/api/v1/referrals/{id}/notes"),
            Some(&worker),
            Some(&json!({"body": format!("Note on {id}")}).to_string()),
        );
        assert_eq!(noted.status, 201, "{}", noted.body);
    }
    let merged = merge(&worker, &second, json!({"into": first, "version": 1}));
    assert_eq!(merged.status, 200, "{}", merged.body);
    let rows = noras(&app, &worker);
    assert_eq!(rows.len(), 1, "one case open: {rows:?}");
    assert_eq!(rows[0]["id"], first.as_str());
    let case = get(&app, &worker, &first);
    assert_eq!(case["also_referred"][0]["id"], second.as_str());
    assert!(case["timeline"].to_string().contains("Merged: the referral from Housing of "));
    // Both histories kept: the merged one still has its own history and note.
    let old = get(&app, &worker, &second);
    assert_eq!(old["joined_case"], first.as_str());
    assert_eq!(old["timeline"][0]["to_status"], "received");
    assert!(old["timeline"].to_string().contains("Merged into the case referred on "));
    assert_eq!(old["work"]["notes"][0]["body"], format!("Note on {second}"));
    assert_eq!(merge(&worker, &second, json!({"into": first, "version": 2})).status, 409, "already merged");
    let audit = app.call("GET", "/api/v1/admin/audit?action=referral.merge", Some(&admin), None).json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1);

    // A tie: two open cases match the new referral; it starts its own case, offered both.
    let born = referral_body()["date_of_birth"].as_str().unwrap().to_string();
    let me = json!({"given_name": "Nora", "family_name": "Vance", "date_of_birth": born, "postcode": "GL5 1HE",
        "phone": "01632 960333", "preferred_contact": "phone", "consent_referral": true});
    assert_eq!(app.call("POST", "/api/v1/self-referrals", None, Some(&me.to_string())).status, 202);
    refer(&app, &gp, &person("999 000 0050", "Vance", "GL5 3AA"));
    let tie = refer(&app, &housing, &person("999 000 0050", "Vance", "GL5 1HE"));
    assert_eq!(tie["joined_case"], Value::Null, "a tie is not joined");
    let offered = get(&app, &worker, tie["id"].as_str().unwrap())["possible_matches"].clone();
    assert_eq!(offered.as_array().unwrap().len(), 2, "{offered}");
}

#[test]
fn two_referrals_of_one_person_at_the_same_moment_make_one_case() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    for round in 0..3 {
        let family = format!("Sametime{round}");
        let body = person("999 000 0069", &family, "GL5 1HE");
        let barrier = std::sync::Barrier::new(6);
        let answers: Vec<Value> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|i| {
                    let (barrier, body, app) = (&barrier, &body, &app);
                    let token = if i % 2 == 0 { gp.clone() } else { housing.clone() };
                    scope.spawn(move || {
                        barrier.wait();
                        refer(app, &token, body)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let cases: Vec<&Value> = answers.iter().filter(|a| a["joined_case"].is_null()).collect();
        assert_eq!(cases.len(), 1, "round {round}: one case, not {}: {answers:?}", cases.len());
        let case = cases[0]["id"].as_str().unwrap();
        assert!(answers.iter().filter(|a| !a["joined_case"].is_null()).all(|a| a["joined_case"] == case));
        // Close it, so the next round starts afresh.
        let seen = get(&app, &worker, case);
        assert_eq!(seen["also_referred"].as_array().unwrap().len(), 5);
        let closed = app.call(
            "POST",
            &format!("/api/v1/referrals/{case}/transitions"),
            Some(&worker),
            Some(&json!({"to": "rejected", "reason": "Test round over", "version": seen["version"]}).to_string()),
        );
        assert_eq!(closed.status, 200, "{}", closed.body);
    }
}
