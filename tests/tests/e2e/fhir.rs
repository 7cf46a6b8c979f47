//! FHIR R4 export of a referral: a Bundle a GP system can read, with the same access rules as
//! the referral itself.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GARDEN_EDITOR, GP, LINK_WORKER};

fn export(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app.call("GET", &format!("/api/v1/referrals/{id}/fhir"), Some(token), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.content_type.starts_with("application/fhir+json"), "{}", answer.content_type);
    answer.json()
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).filter(|r| r["resourceType"] == kind).collect()
}

/// Every `reference` anywhere in the bundle, which must each be one of its entries.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "reference" {
                    out.push(v.as_str().unwrap().to_string());
                } else {
                    references(v, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

fn move_to(app: &TestApp, token: &str, id: &str, to: &str) {
    let current = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(token), None).json();
    let version = current["version"].as_i64().unwrap();
    let body = json!({"to": to, "version": version, "reason": "The person chose not to go ahead"});
    let answer = app.call("POST", &format!("/api/v1/referrals/{id}/transitions"), Some(token), Some(&body.to_string()));
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn a_referral_exports_as_a_fhir_bundle_with_the_referrals_access_rules() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    move_to(&app, &worker, &id, "accepted");
    let measure = json!({"instrument": "ons4", "timepoint": "baseline", "answers": [3, 4, 2, 8]});
    let recorded =
        app.call("POST", &format!("/api/v1/referrals/{id}/measures"), Some(&worker), Some(&measure.to_string()));
    assert!(recorded.status < 300, "{}", recorded.body);

    let bundle = export(&app, &gp, &id);
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
    let full_urls: BTreeSet<String> =
        bundle["entry"].as_array().unwrap().iter().map(|e| e["fullUrl"].as_str().unwrap().to_string()).collect();
    assert_eq!(full_urls.len(), bundle["entry"].as_array().unwrap().len(), "every entry has its own address");
    let mut refs = Vec::new();
    references(&bundle, &mut refs);
    assert!(refs.len() > 8);
    for r in &refs {
        assert!(full_urls.contains(r), "{r} points inside the bundle");
    }

    let patient = resources(&bundle, "Patient")[0];
    assert_eq!(patient["identifier"][0], json!({"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}));
    assert_eq!(patient["name"][0]["family"], "Testperson");
    assert_eq!(patient["address"][0]["postalCode"], "GL5 1HE");
    let request = resources(&bundle, "ServiceRequest")[0];
    assert_eq!(request["code"]["coding"][0]["system"], "http://snomed.info/sct");
    assert_eq!(request["code"]["coding"][0]["code"], "871731000000106");
    assert_eq!(request["status"], "active");
    let reasons: Vec<&str> =
        request["reasonCode"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(request["note"][0]["text"].as_str().unwrap().contains("Widowed"), "the practice reads its own words");
    let task = resources(&bundle, "Task")[0];
    assert_eq!(
        (task["status"].as_str(), task["businessStatus"]["text"].as_str()),
        (Some("accepted"), Some("accepted"))
    );
    assert_eq!(resources(&bundle, "Provenance").len(), 2, "received, then accepted");
    let observations = resources(&bundle, "Observation");
    let values: Vec<i64> = observations.iter().map(|o| o["valueInteger"].as_i64().unwrap()).collect();
    assert_eq!(values, vec![3, 4, 2, 8], "one Observation per ONS4 item");
    assert!(observations
        .iter()
        .all(|o| o["status"] == "final" && o["subject"]["reference"] == refs_to(&bundle, "Patient")));

    // The same referral exports with the same ids; a declined one is a cancelled Task with why.
    let again = export(&app, &worker, &id);
    assert_eq!(resources(&again, "Task")[0]["id"], task["id"]);
    move_to(&app, &worker, &id, "declined");
    let declined = export(&app, &worker, &id);
    let task = resources(&declined, "Task")[0];
    assert_eq!(task["status"], "cancelled");
    assert_eq!(task["statusReason"]["text"], "Declined by the person");
    assert_eq!(resources(&declined, "ServiceRequest")[0]["status"], "revoked");

    // Administrators see the record for oversight, never the person or the clinical words.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let overseen = export(&app, &admin, &id);
    let patient = resources(&overseen, "Patient")[0];
    assert!(patient.get("identifier").is_none() && patient.get("name").is_none(), "{patient}");
    assert_eq!(patient["meta"]["security"][0]["code"], "REDACTED");
    assert!(resources(&overseen, "ServiceRequest")[0].get("note").is_none());
    assert!(!overseen.to_string().contains("Testperson") && !overseen.to_string().contains("9990000018"));

    // Everyone else: as for the referral itself.
    for who in ["gp.locking@demo.example.org", GARDEN_EDITOR] {
        let token = app.login(who, DEMO_PASSWORD);
        assert_error(&app.call("GET", &format!("/api/v1/referrals/{id}/fhir"), Some(&token), None), 404, None);
    }
    assert_error(&app.call("GET", &format!("/api/v1/referrals/{id}/fhir"), None, None), 401, None);
    assert_error(&app.call("GET", "/api/v1/referrals/not-an-id/fhir", Some(&gp), None), 404, Some("id"));
    let unknown = "/api/v1/referrals/00000000-0000-4000-8000-000000000000/fhir";
    assert_error(&app.call("GET", unknown, Some(&gp), None), 404, None);
}

fn refs_to(bundle: &Value, kind: &str) -> Value {
    let entry = bundle["entry"].as_array().unwrap().iter().find(|e| e["resource"]["resourceType"] == kind).unwrap();
    entry["fullUrl"].clone()
}
