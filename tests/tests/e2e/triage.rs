//! Triage (issue 15): the covering service's queue of self and agency referrals; accept, reject
//! with a reason and a suggestion the referrer reads, and "passed to another service" (moved,
//! recorded, audited); who may do it.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referral_sources::{CIRENCESTER, HOUSING};
use crate::referrals::{referral_body, ADMIN, GARDEN_EDITOR, GP, LINK_WORKER};

fn body_for(given: &str) -> Value {
    let mut body = referral_body();
    body["nhs_number"] = json!(crate::referrals::unique_nhs());
    body["postcode"] = json!(CIRENCESTER);
    body["given_name"] = json!(given);
    body["family_name"] = json!(format!("{given}worth"));
    body
}

fn refer(app: &TestApp, token: &str, given: &str) -> String {
    let made = app.call("POST", "/api/v1/referrals", Some(token), Some(&body_for(given).to_string()));
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["id"].as_str().unwrap().to_string()
}

fn queue(app: &TestApp, token: &str) -> Vec<Value> {
    let answer = app.call("GET", "/api/v1/triage", Some(token), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["referrals"].as_array().unwrap().clone()
}

fn decide(app: &TestApp, token: &str, id: &str, body: Value) -> crate::helpers::Answer {
    app.call("POST", &format!("/api/v1/referrals/{id}/triage"), Some(token), Some(&body.to_string()))
}

/// A second link worker service with a link worker; answers (service id, worker's token).
fn other_service(app: &TestApp, admin: &str) -> (String, String) {
    let service = app.call(
        "POST",
        "/api/v1/admin/organisations",
        Some(admin),
        Some(&json!({"name": "Cotswold Social Prescribing", "kind": "link_worker_service"}).to_string()),
    );
    let service = service.json()["id"].as_str().unwrap().to_string();
    let email = "cotswold.worker@example.org";
    let invited = app.call(
        "POST",
        "/api/v1/admin/users",
        Some(admin),
        Some(
            &json!({"email": email, "name": "Cam Cotswold", "role": "link_worker", "organisation_id": service})
                .to_string(),
        ),
    );
    let token = invited.json()["invitation_url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let mut browser = app.browser();
    browser.get(&format!("/invite/{token}"));
    let csrf = browser.csrf();
    browser.post(
        &format!("/invite/{token}"),
        &[("csrf", &csrf), ("new_password", DEMO_PASSWORD), ("confirm", DEMO_PASSWORD)],
    );
    (service, app.login(email, DEMO_PASSWORD))
}

#[test]
fn the_queue_holds_self_and_agency_referrals_and_each_can_be_answered() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);

    let from_housing = refer(&app, &housing, "Hana");
    let to_reject = refer(&app, &housing, "Rita");
    let to_pass = refer(&app, &housing, "Paul");
    let from_gp = refer(&app, &gp, "Gina");
    let mut me = json!({
        "given_name": "Sol", "family_name": "Selfton", "date_of_birth": "1970-01-02", "postcode": CIRENCESTER,
        "phone": "01632 960111", "preferred_contact": "phone", "consent_referral": true
    });
    assert_eq!(app.call("POST", "/api/v1/self-referrals", None, Some(&me.to_string())).status, 202);

    let waiting = queue(&app, &worker);
    let names: Vec<&str> = waiting.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Hana Hanaworth", "Rita Ritaworth", "Paul Paulworth", "Sol Selfton"], "oldest first");
    assert!(
        !waiting.iter().any(|r| r["id"] == from_gp.as_str()),
        "a practice's referral is in the caseload, not triage"
    );
    assert_eq!(waiting[0]["source"], "Housing");
    assert_eq!(waiting[0]["referred_by"], "Stroud District Council Housing Advice");
    assert_eq!(waiting[3]["source"], "Self-referral");

    // Accept: the status machine's move; it leaves the queue for the caseload.
    let accepted = decide(&app, &worker, &from_housing, json!({"decision": "accept", "version": 1}));
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let seen = app.call("GET", &format!("/api/v1/referrals/{from_housing}"), Some(&worker), None).json();
    assert_eq!(seen["status"], "accepted");
    assert_eq!(seen["owner"], "Jordan Link Worker");

    // Reject: a reason is required; the suggestion reaches the referrer.
    assert_error(&decide(&app, &worker, &to_reject, json!({"decision": "reject", "version": 1})), 422, Some("reason"));
    let long = "x".repeat(1001);
    assert_error(
        &decide(
            &app,
            &worker,
            &to_reject,
            json!({"decision": "reject", "reason": "No", "suggestion": long, "version": 1}),
        ),
        422,
        Some("suggestion"),
    );
    let rejected = decide(
        &app,
        &worker,
        &to_reject,
        json!({"decision": "reject", "reason": "Needs housing advice first", "suggestion": "Stroud Citizens Advice, 01632 960000", "version": 1}),
    );
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    let theirs = app.call("GET", &format!("/api/v1/referrals/{to_reject}"), Some(&housing), None).json();
    assert_eq!(theirs["status"], "rejected");
    assert_eq!(theirs["rejection"]["reason"], "Needs housing advice first");
    assert_eq!(theirs["rejection"]["suggestion"], "Stroud Citizens Advice, 01632 960000");
    let page = app.call("GET", &format!("/referrals/{to_reject}"), Some(&housing), None);
    assert!(page.body.contains("<strong>Suggestion:</strong> Stroud Citizens Advice, 01632 960000"), "{}", page.body);
    // Stale and unknown decisions.
    assert_eq!(decide(&app, &worker, &to_reject, json!({"decision": "accept", "version": 2})).status, 409);
    assert_error(&decide(&app, &worker, &to_pass, json!({"decision": "maybe", "version": 1})), 422, Some("decision"));

    // Pass to another service: bad input first, nothing moves.
    let (cotswold, cotswold_worker) = other_service(&app, &admin);
    let own_service = seen["service"].as_str().unwrap().to_string();
    let stroud_id = backend::ids::stable_id("demo/stroud-pcn-social-prescribing");
    assert_error(
        &decide(&app, &worker, &to_pass, json!({"decision": "pass", "service_id": cotswold, "version": 1})),
        422,
        Some("reason"),
    );
    let practice = backend::ids::stable_id("demo/beeches-green-surgery");
    for bad in [practice.as_str(), "not-an-id", stroud_id.as_str()] {
        let answer = decide(
            &app,
            &worker,
            &to_pass,
            json!({"decision": "pass", "reason": "Lives nearer", "service_id": bad, "version": 1}),
        );
        assert_error(&answer, 422, Some("service_id"));
    }
    assert_eq!(
        decide(
            &app,
            &worker,
            &from_housing,
            json!({"decision": "pass", "reason": "x", "service_id": cotswold, "version": 2})
        )
        .status,
        409,
        "an accepted referral is not in triage"
    );
    let passed = decide(
        &app,
        &worker,
        &to_pass,
        json!({"decision": "pass", "reason": "Lives nearer their team", "service_id": cotswold, "version": 1}),
    );
    assert_eq!(passed.status, 200, "{}", passed.body);
    // Moved: gone from this service (404), in the other's queue, history and audit say so.
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{to_pass}"), Some(&worker), None).status, 404);
    let theirs = queue(&app, &cotswold_worker);
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["id"], to_pass.as_str());
    let moved = app.call("GET", &format!("/api/v1/referrals/{to_pass}"), Some(&cotswold_worker), None).json();
    assert_eq!(moved["status"], "received");
    assert_eq!(moved["service"], "Cotswold Social Prescribing");
    let last = moved["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "Lives nearer their team");
    assert_eq!(last["note"], "Passed to Cotswold Social Prescribing");
    assert_eq!(last["by"], "Jordan Link Worker");
    let audit = app.call("GET", "/api/v1/admin/audit?action=referral.pass", Some(&admin), None).json();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["record_id"], to_pass.as_str());
    // The referrer still follows it.
    let followed = app.call("GET", &format!("/api/v1/referrals/{to_pass}"), Some(&housing), None).json();
    assert_eq!(followed["service"], "Cotswold Social Prescribing");
    assert_ne!(own_service, "Cotswold Social Prescribing");
    me["given_name"] = json!("Unused");
}

#[test]
fn only_the_services_link_workers_triage() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    let id = refer(&app, &housing, "Tess");
    let pass = json!({"decision": "pass", "reason": "mine now", "service_id": backend::ids::stable_id("demo/stroud-pcn-social-prescribing"), "version": 1});
    // The referrer who made it may see it but not triage it (403); another practice, the group
    // editor and anyone else do not see it (404); an admin oversees but does not triage (403).
    assert_error(&decide(&app, &housing, &id, json!({"decision": "accept", "version": 1})), 403, None);
    assert_error(&decide(&app, &gp, &id, pass.clone()), 404, None);
    assert_error(&decide(&app, &editor, &id, pass.clone()), 404, None);
    assert_error(&decide(&app, &admin, &id, json!({"decision": "accept", "version": 1})), 403, None);
    assert_eq!(app.call("POST", &format!("/api/v1/referrals/{id}/triage"), None, Some("{}")).status, 401);
    for token in [&housing, &gp, &admin, &editor] {
        assert_error(&app.call("GET", "/api/v1/triage", Some(token), None), 403, None);
    }
    // A link worker of another service does not see it.
    let (_, other) = other_service(&app, &admin);
    assert_error(&decide(&app, &other, &id, json!({"decision": "accept", "version": 1})), 404, None);
    let still = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&housing), None).json();
    assert_eq!(still["status"], "received");
    assert_eq!(still["version"], 1);
}

#[test]
fn triage_on_the_page() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let first = refer(&app, &housing, "Page");
    let second = refer(&app, &housing, "Pip");
    // A flagged one: the queue shows its flags before anyone phones.
    let mut flagged = body_for("Flo");
    flagged["risk_flags"] = json!(["lone_working"]);
    flagged["flag_reason"] = json!("Two large dogs");
    let made = app.call("POST", "/api/v1/referrals", Some(&housing), Some(&flagged.to_string()));
    assert_eq!(made.status, 201, "{}", made.body);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let waiting = queue(&app, &worker);
    let flo = waiting.iter().find(|r| r["name"] == "Flo Floworth").unwrap();
    assert_eq!(flo["flags"], json!(["Lone-working caution: visit in pairs"]));
    assert!(waiting.iter().filter(|r| r["name"] != "Flo Floworth").all(|r| r["flags"] == json!([])));
    let mut browser = app.browser();
    browser.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let list = browser.get("/referrals");
    assert!(list.body.contains("href=\"/triage\""), "the caseload links to triage");
    let page = browser.get("/triage");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Page Pageworth") && page.body.contains("Housing"), "{}", page.body);
    assert!(page.body.contains("Lone-working caution: visit in pairs"), "the flag is on the queue");
    let csrf = browser.csrf();
    // Rejecting without a reason comes back next to that referral, with what was typed.
    let refused = browser.post(
        &format!("/referrals/{second}/triage"),
        &[("csrf", &csrf), ("version", "1"), ("decision", "reject"), ("reason", ""), ("suggestion", "Try the library")],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains(&format!("href=\"#reason-{second}\"")), "{}", refused.body);
    assert!(refused.body.contains("value=\"Try the library\""));
    let accepted = browser
        .post(&format!("/referrals/{first}/triage"), &[("csrf", &csrf), ("version", "1"), ("decision", "accept")]);
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_eq!(accepted.header("location"), Some("/triage?done=accept"));
    let after = browser.get("/triage?done=accept");
    assert!(after.body.contains("Accepted") && !after.body.contains("Page Pageworth"));
    // A referrer has no triage page.
    let mut referrer = app.browser();
    referrer.sign_in(HOUSING, DEMO_PASSWORD);
    assert_eq!(referrer.get("/triage").status, 403);
}
