//! Referrers from other agencies and routing by area (issue 15): a housing officer refers a
//! person in Cirencester and it reaches the service covering GL7; a postcode outside every
//! coverage is told where to go instead and nothing is kept; administrators edit coverage on a
//! page; another agency cannot read the referral; reports count referrals by source.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referrals::{referral_body, ADMIN, GP, LINK_WORKER};

pub const HOUSING: &str = "housing.officer@demo.example.org";
/// A Cirencester postcode (GL7 is covered by the demo service).
pub const CIRENCESTER: &str = "GL7 1AA";
/// An Oxford postcode: in the seed region, but no demo service covers OX1.
pub const OXFORD: &str = "OX1 1AA";

/// A referral for someone other than the demo referrals' person, at a postcode.
fn body_at(postcode: &str, given: &str) -> Value {
    let mut body = referral_body();
    body["nhs_number"] = json!(crate::referrals::unique_nhs());
    body["postcode"] = json!(postcode);
    body["given_name"] = json!(given);
    body["family_name"] = json!(format!("{given}son"));
    body
}

fn referral_count(app: &TestApp, admin: &str) -> usize {
    let list = app.call("GET", "/api/v1/referrals", Some(admin), None);
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["referrals"].as_array().unwrap().len()
}

/// Creates an organisation and a referrer in it; answers (organisation id, referrer's token).
pub fn agency_referrer(app: &TestApp, admin: &str, name: &str, kind: &str, email: &str) -> (String, String) {
    let org = app.call(
        "POST",
        "/api/v1/admin/organisations",
        Some(admin),
        Some(&json!({"name": name, "kind": kind}).to_string()),
    );
    assert_eq!(org.status, 201, "{}", org.body);
    let org = org.json()["id"].as_str().unwrap().to_string();
    let invited = app.call(
        "POST",
        "/api/v1/admin/users",
        Some(admin),
        Some(&json!({"email": email, "name": name, "role": "referrer", "organisation_id": org}).to_string()),
    );
    assert_eq!(invited.status, 201, "{}", invited.body);
    let token = invited.json()["invitation_url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let mut browser = app.browser();
    browser.get(&format!("/invite/{token}"));
    let csrf = browser.csrf();
    let set = browser.post(
        &format!("/invite/{token}"),
        &[("csrf", &csrf), ("new_password", DEMO_PASSWORD), ("confirm", DEMO_PASSWORD)],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    (org, app.login(email, DEMO_PASSWORD))
}

#[test]
fn a_housing_officer_refers_by_postcode_and_reports_count_by_source() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);

    let created =
        app.call("POST", "/api/v1/referrals", Some(&housing), Some(&body_at(CIRENCESTER, "Dora").to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();

    // The link worker service covering GL7 has it, marked as from Housing.
    let seen = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None);
    assert_eq!(seen.status, 200, "{}", seen.body);
    let seen = seen.json();
    assert_eq!(seen["source_kind"], "housing");
    assert_eq!(seen["source"], "Housing");
    assert_eq!(seen["practice"], "Stroud District Council Housing Advice");
    assert_eq!(seen["service"], "Stroud and Berkeley Vale PCN Social Prescribing");
    let caseload = app.call("GET", "/api/v1/referrals?status=received", Some(&worker), None).json();
    let row = caseload["referrals"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).unwrap().clone();
    assert_eq!(row["source"], "Housing");

    // The housing officer lists their own organisation's referrals only.
    let theirs = app.call("GET", "/api/v1/referrals", Some(&housing), None).json();
    let ids: Vec<&str> = theirs["referrals"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![id.as_str()], "only the housing team's referral");
    let page = app.call("GET", &format!("/referrals/{id}"), Some(&worker), None);
    assert!(page.body.contains("<dt>Source</dt><dd>Housing</dd>"), "{}", page.body);

    // A GP practice and another agency cannot read it (404, its existence is private).
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&gp), None).status, 404);
    let (_, care) =
        agency_referrer(&app, &admin, "Gloucestershire Adult Social Care", "adult_social_care", "asc@example.org");
    assert_error(&app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&care), None), 404, None);
    assert_eq!(app.call("GET", &format!("/api/v1/referrals/{id}/fhir"), Some(&care), None).status, 404);
    assert_eq!(app.call("GET", &format!("/referrals/{id}"), Some(&care), None).status, 404);
    // ... nor move it, though the status machine lets a referrer cancel their own.
    let moved = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/transitions"),
        Some(&care),
        Some(&json!({"to": "cancelled", "reason": "not mine", "version": 1}).to_string()),
    );
    assert_error(&moved, 404, None);
    let after = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json();
    assert_eq!(after["status"], "received");

    // Adult social care refers too, from Stroud.
    let from_care = app.call("POST", "/api/v1/referrals", Some(&care), Some(&body_at("GL5 1HE", "Edna").to_string()));
    assert_eq!(from_care.status, 201, "{}", from_care.body);

    // Reports: referrals by source, each kind and organisation (this year's cohort).
    let report = app.call("GET", "/api/v1/reports/referrals-by-source", Some(&admin), None);
    assert_eq!(report.status, 200, "{}", report.body);
    let rows = report.json()["rows"].as_array().unwrap().clone();
    let find = |source: &str, org: &str| {
        rows.iter()
            .find(|r| r["source"] == source && r["organisation"] == org)
            .map(|r| r["referrals"].as_i64().unwrap())
    };
    assert_eq!(find("Housing", "Stroud District Council Housing Advice"), Some(1), "{rows:?}");
    assert_eq!(find("Adult social care", "Gloucestershire Adult Social Care"), Some(1), "{rows:?}");
    assert!(find("GP practice", "Beeches Green Surgery, Stroud").is_some_and(|n| n > 0), "{rows:?}");
    let csv = app.call("GET", "/api/v1/reports/referrals-by-source?format=csv", Some(&admin), None);
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("\"Source\",\"Organisation\",\"Referrals\",\"Share of referrals\""), "{}", csv.body);
    assert!(csv.body.contains("\"Housing\",\"Stroud District Council Housing Advice\",1,"), "{}", csv.body);
}

#[test]
fn outside_every_coverage_names_where_to_go_and_keeps_nothing() {
    let app = spawn_app();
    let housing = app.login(HOUSING, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let before = referral_count(&app, &admin);
    let audit_before = app.call("GET", "/api/v1/admin/audit?action=referral.create", Some(&admin), None).json();

    let refused = app.call("POST", "/api/v1/referrals", Some(&housing), Some(&body_at(OXFORD, "Olive").to_string()));
    let body = assert_error(&refused, 422, Some("postcode"));
    let message = body["error"]["fields"]["postcode"].as_str().unwrap();
    assert!(message.contains("OX1") && message.contains("GP practice") && message.contains("NHS 111"), "{message}");
    assert_eq!(referral_count(&app, &admin), before, "nothing half-saved");
    let audit_after = app.call("GET", "/api/v1/admin/audit?action=referral.create", Some(&admin), None).json();
    assert_eq!(audit_before, audit_after, "no audit row either");

    // The same answer on the referral form, next to the postcode, with what was typed.
    let mut browser = app.browser();
    browser.sign_in(HOUSING, DEMO_PASSWORD);
    browser.get("/referrals/new");
    let csrf = browser.csrf();
    let born = referral_body()["date_of_birth"].as_str().unwrap().to_string();
    let page = browser.post(
        "/referrals",
        &[
            ("csrf", &csrf),
            ("given_name", "Olive"),
            ("family_name", "Oxford"),
            ("date_of_birth", &born),
            ("nhs_number", "999 000 0018"),
            ("postcode", OXFORD),
            ("phone", "01632 960555"),
            ("preferred_contact", "phone"),
            ("reasons", "loneliness"),
            ("referrer_words", "Lonely since moving."),
            ("urgency", "routine"),
            ("consent_referral", "true"),
        ],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("No link worker service here covers OX1"), "{}", page.body);
    assert!(page.body.contains("value=\"Olive\""), "what was typed is kept");
    assert_eq!(referral_count(&app, &admin), before);

    // Naming a service that does not cover the postcode is refused too.
    let other = app.call(
        "POST",
        "/api/v1/admin/organisations",
        Some(&admin),
        Some(&json!({"name": "Oxford Social Prescribing", "kind": "link_worker_service"}).to_string()),
    );
    let other = other.json()["id"].as_str().unwrap().to_string();
    let mut body = body_at(CIRENCESTER, "Cora");
    body["service_id"] = json!(other);
    assert_error(
        &app.call("POST", "/api/v1/referrals", Some(&housing), Some(&body.to_string())),
        422,
        Some("service_id"),
    );
    assert_eq!(referral_count(&app, &admin), before);
}

#[test]
fn admins_edit_coverage_and_referrals_follow_it() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let housing = app.login(HOUSING, DEMO_PASSWORD);

    let listed = app.call("GET", "/api/v1/admin/coverage", Some(&admin), None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let services = listed.json()["services"].as_array().unwrap().clone();
    let stroud =
        services.iter().find(|s| s["service_name"] == "Stroud and Berkeley Vale PCN Social Prescribing").unwrap();
    assert!(stroud["areas"].as_array().unwrap().iter().any(|a| a == "GL7"), "{stroud}");
    assert!(!stroud["practices"].as_array().unwrap().is_empty(), "{stroud}");
    let stroud_id = stroud["service_id"].as_str().unwrap().to_string();

    // A new service for part of Cirencester and for Oxford, set on the page.
    let created = app.call(
        "POST",
        "/api/v1/admin/organisations",
        Some(&admin),
        Some(&json!({"name": "Cotswold and Oxford Social Prescribing", "kind": "link_worker_service"}).to_string()),
    );
    let cotswold = created.json()["id"].as_str().unwrap().to_string();
    let mut browser = app.browser();
    browser.sign_in(ADMIN, DEMO_PASSWORD);
    let page = browser.get("/admin/coverage");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Cotswold and Oxford Social Prescribing") && page.body.contains("GL7"));
    let csrf = browser.csrf();
    let path = format!("/admin/coverage/{cotswold}");

    // Bad input: not an area; an area another service covers. Nothing changes; typed text kept.
    let bad = browser.post(&path, &[("csrf", &csrf), ("areas", "OX1, nonsense")]);
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("is not a postcode district") && bad.body.contains("OX1, nonsense"), "{}", bad.body);
    let taken = browser.post(&path, &[("csrf", &csrf), ("areas", "OX1, GL5")]);
    assert_eq!(taken.status, 422);
    assert!(
        taken.body.contains("GL5 is already covered by Stroud and Berkeley Vale PCN Social Prescribing"),
        "{}",
        taken.body
    );
    let still = app.call("POST", "/api/v1/referrals", Some(&housing), Some(&body_at(OXFORD, "Olive").to_string()));
    assert_error(&still, 422, Some("postcode"));

    let saved = browser.post(&path, &[("csrf", &csrf), ("areas", "ox1\nGL7 1")]);
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.header("location"), Some("/admin/coverage?saved=1"));

    // A sector beats its district: GL7 1.. goes to the new service, GL7 5.. stays with Stroud.
    let admin_view = |id: &str| app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&admin), None).json();
    for (postcode, name, service) in [
        (CIRENCESTER, "Cora", "Cotswold and Oxford Social Prescribing"),
        ("GL7 5AA", "Fern", "Stroud and Berkeley Vale PCN Social Prescribing"),
        (OXFORD, "Olive", "Cotswold and Oxford Social Prescribing"),
    ] {
        let made = app.call("POST", "/api/v1/referrals", Some(&housing), Some(&body_at(postcode, name).to_string()));
        assert_eq!(made.status, 201, "{postcode}: {}", made.body);
        let id = made.json()["id"].as_str().unwrap().to_string();
        assert_eq!(admin_view(&id)["service"], service, "{postcode}");
    }
    // A GP practice's referral still goes to its practice's service wherever the person lives.
    let gp = app.login(GP, DEMO_PASSWORD);
    let from_gp = app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body_at(OXFORD, "Gwen").to_string()));
    assert_eq!(from_gp.status, 201);
    let id = from_gp.json()["id"].as_str().unwrap().to_string();
    assert_eq!(admin_view(&id)["service"], "Stroud and Berkeley Vale PCN Social Prescribing");

    // The API: practices must be GP practices; the service must be a link worker service.
    let put = |id: &str, body: Value| {
        app.call("PUT", &format!("/api/v1/admin/coverage/{id}"), Some(&admin), Some(&body.to_string()))
    };
    assert_error(&put(&cotswold, json!({"areas": ["OX1"], "practices": ["not-an-id"]})), 422, Some("practices"));
    assert_error(&put(&cotswold, json!({"areas": ["OX1"], "practices": [stroud_id]})), 422, Some("practices"));
    assert_error(&put(&cotswold, json!({"areas": ["GL7 1AB"]})), 422, Some("areas"));
    assert_error(&put(&cotswold, json!({"areas": ["GL5\u{0000}"]})), 422, None);
    let beeches = stroud["practices"][0][0].as_str().unwrap().to_string();
    assert_error(&put(&beeches, json!({"areas": []})), 404, None);
    assert_eq!(put("not-a-uuid", json!({"areas": []})).status, 404);
    let lw = app.login(LINK_WORKER, DEMO_PASSWORD);
    let forbidden = app.call(
        "PUT",
        &format!("/api/v1/admin/coverage/{stroud_id}"),
        Some(&lw),
        Some(&json!({"areas": []}).to_string()),
    );
    assert_eq!(forbidden.status, 403);
    // Moving a practice: Beeches Green is now served by the new service.
    assert_eq!(put(&cotswold, json!({"areas": ["OX1", "GL7 1"], "practices": [beeches]})).status, 204);
    let moved = app.call("POST", "/api/v1/referrals", Some(&gp), Some(&body_at("GL5 1HE", "Hope").to_string()));
    let id = moved.json()["id"].as_str().unwrap().to_string();
    assert_eq!(admin_view(&id)["service"], "Cotswold and Oxford Social Prescribing");
    let audit = app.call("GET", "/api/v1/admin/audit?action=coverage.update", Some(&admin), None).json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 2, "{audit}");
}

#[test]
fn agencies_are_organisations_whose_staff_are_referrers() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let create = |name: &str, kind: &str| {
        app.call(
            "POST",
            "/api/v1/admin/organisations",
            Some(&admin),
            Some(&json!({"name": name, "kind": kind}).to_string()),
        )
    };
    for kind in [
        "adult_social_care",
        "hospital_discharge",
        "housing",
        "voluntary_sector",
        "community_pharmacy",
        "safe_and_well",
        "jobcentre",
    ] {
        assert_eq!(create(&format!("Agency {kind}"), kind).status, 201, "{kind}");
    }
    // Nobody creates another "the public" organisation, or an unknown kind.
    assert_error(&create("Public", "the_public"), 422, Some("kind"));
    assert_error(&create("Police", "police"), 422, Some("kind"));
    // An agency holds referrers, not link workers.
    let org = create("Cheltenham Jobcentre", "jobcentre").json()["id"].as_str().unwrap().to_string();
    let invite = |role: &str, email: &str| {
        app.call(
            "POST",
            "/api/v1/admin/users",
            Some(&admin),
            Some(&json!({"email": email, "name": "Jo", "role": role, "organisation_id": org}).to_string()),
        )
    };
    assert_error(&invite("link_worker", "jc.worker@example.org"), 422, Some("role"));
    assert_eq!(invite("referrer", "jc.referrer@example.org").status, 201);
    // The housing officer has the referral form; it says where referrals go.
    let mut browser = app.browser();
    browser.sign_in(HOUSING, DEMO_PASSWORD);
    let form = browser.get("/referrals/new");
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("covers the person&#x27;s postcode") || form.body.contains("covers the person's postcode")
    );
    let list = browser.get("/referrals");
    assert!(
        list.body.contains("Your organisation&#x27;s referrals") || list.body.contains("Your organisation's referrals")
    );
}
