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

/// The entry a `reference` points at.
fn resolve<'a>(bundle: &'a Value, reference: &Value) -> &'a Value {
    let entry = bundle["entry"].as_array().unwrap().iter().find(|e| e["fullUrl"] == *reference);
    &entry.unwrap_or_else(|| panic!("{reference} is not in the bundle"))["resource"]
}

/// Hands the exported resources to an R4 validator the project does not write
/// (`tests/tools/validate_fhir.py`, the `fhir.resources` models for FHIR 4.0.1) when
/// `COMMONGROUND_FHIR_PYTHON` names a Python that has them (`.ci/run` sets it up).
fn validate_outside(documents: &[(&str, &Value)]) {
    let Some(python) = std::env::var_os("COMMONGROUND_FHIR_PYTHON").filter(|p| !p.is_empty()) else {
        eprintln!(
            "FHIR R4 validation by fhir.resources skipped: COMMONGROUND_FHIR_PYTHON is not set \
             (.ci/run installs fhir.resources 6.4 and sets it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, document) in documents {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, document.to_string()).unwrap();
        files.push(path);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/validate_fhir.py");
    let run = std::process::Command::new(python).arg(script).args(&files).output().expect("run the FHIR validator");
    assert!(
        run.status.success(),
        "the FHIR R4 validator refused an export:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn the_plan_travels_as_a_fhir_care_plan_and_every_reference_names_a_resource() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());

    // No plan yet: nothing to export on its own.
    let care_plan = format!("/api/v1/referrals/{id}/fhir/care-plan");
    assert_error(&app.call("GET", &care_plan, Some(&worker), None), 404, None);

    move_to(&app, &worker, &id, "accepted");
    let plan = json!({
        "what_matters": "Getting out of the house; her garden",
        "goals": "- Get out of the house twice a week\n2) Meet people who garden\n",
        "actions": "Try the gardening club on Tuesday\nWalk to the shop with her neighbour",
        "review_date": (chrono::Utc::now().date_naive() + chrono::Duration::days(42)).to_string(),
        "version": 0
    });
    let saved = app.call("PUT", &format!("/api/v1/referrals/{id}/plan"), Some(&worker), Some(&plan.to_string()));
    assert!(saved.status < 300, "{}", saved.body);
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let connection = json!({"service_id": garden});
    let added =
        app.call("POST", &format!("/api/v1/referrals/{id}/connections"), Some(&worker), Some(&connection.to_string()));
    assert_eq!(added.status, 201, "{}", added.body);
    let swemwbs = json!({"instrument": "swemwbs", "timepoint": "baseline", "answers": [3, 3, 3, 3, 3, 3, 3]});
    let measured =
        app.call("POST", &format!("/api/v1/referrals/{id}/measures"), Some(&worker), Some(&swemwbs.to_string()));
    assert!(measured.status < 300, "{}", measured.body);

    let bundle = export(&app, &gp, &id);
    // The Task is owned by the link worker in their service: the reference and the name agree.
    let task = resources(&bundle, "Task")[0];
    let role = resolve(&bundle, &task["owner"]["reference"]);
    assert_eq!(role["resourceType"], "PractitionerRole");
    let owner = resolve(&bundle, &role["practitioner"]["reference"]);
    let service = resolve(&bundle, &role["organization"]["reference"]);
    let owner_name = owner["name"][0]["text"].as_str().unwrap();
    let service_name = service["name"].as_str().unwrap();
    assert_eq!(task["owner"]["display"], format!("{owner_name}, {service_name}"));
    // Every Provenance names who moved the referral by a Practitioner in the bundle.
    for provenance in resources(&bundle, "Provenance") {
        let who = resolve(&bundle, &provenance["agent"][0]["who"]["reference"]);
        assert_eq!(who["resourceType"], "Practitioner");
        assert_eq!(who["name"][0]["text"], provenance["agent"][0]["who"]["display"]);
    }
    // SWEMWBS is a UCUM quantity.
    let score = resources(&bundle, "Observation").into_iter().find(|o| o.get("valueQuantity").is_some()).unwrap();
    assert_eq!(score["valueQuantity"]["system"], "http://unitsofmeasure.org");
    assert_eq!(score["valueQuantity"]["code"], "{score}");

    // The plan: the practice may read it, so its bundle carries it, goals and groups resolved.
    let plans = resources(&bundle, "CarePlan");
    assert_eq!(plans.len(), 1, "one CarePlan");
    let care = plans[0];
    assert_eq!((care["intent"].as_str(), care["status"].as_str()), (Some("plan"), Some("active")));
    assert_eq!(care["description"], "Getting out of the house; her garden");
    assert_eq!(care["subject"]["reference"], refs_to(&bundle, "Patient"));
    let goals: Vec<&str> = care["goal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| resolve(&bundle, &g["reference"])["description"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(goals, ["Get out of the house twice a week", "Meet people who garden"]);
    let activities = care["activity"].as_array().unwrap();
    let actions: Vec<&str> = activities
        .iter()
        .filter_map(|a| a["detail"].get("performer").is_none().then(|| a["detail"]["description"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, ["Try the gardening club on Tuesday", "Walk to the shop with her neighbour"]);
    let group = activities.iter().find(|a| a["detail"].get("performer").is_some()).unwrap();
    assert_eq!(group["detail"]["status"], "not-started", "suggested, not yet introduced");
    let provider = resolve(&bundle, &group["detail"]["performer"][0]["reference"]);
    assert_eq!(provider["resourceType"], "HealthcareService");
    assert_eq!(provider["identifier"][0]["value"], garden);
    // The same bundle still passes the rule that every reference points inside it.
    let full_urls: BTreeSet<String> =
        bundle["entry"].as_array().unwrap().iter().map(|e| e["fullUrl"].as_str().unwrap().to_string()).collect();
    let mut refs = Vec::new();
    references(&bundle, &mut refs);
    assert!(refs.iter().all(|r| full_urls.contains(r)), "{refs:?}");

    // On its own: one CarePlan, its parts contained, the person named by NHS number.
    let answer = app.call("GET", &care_plan, Some(&gp), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.content_type.starts_with("application/fhir+json"), "{}", answer.content_type);
    let alone = answer.json();
    assert_eq!(alone["resourceType"], "CarePlan");
    assert_eq!(alone["id"], care["id"], "the same id in the bundle and on its own");
    assert_eq!(alone["subject"]["identifier"]["value"], "9990000018");
    let contained: BTreeSet<String> =
        alone["contained"].as_array().unwrap().iter().map(|r| format!("#{}", r["id"].as_str().unwrap())).collect();
    let mut inner = Vec::new();
    references(&alone, &mut inner);
    assert_eq!(inner.len(), 3, "two goals and one group: {inner:?}");
    assert!(inner.iter().all(|r| contained.contains(r)), "{inner:?} in {contained:?}");

    // A declined referral's bundle carries SNOMED CT "Social prescribing declined", as its
    // message back does, and every code in the message back names its system.
    move_to(&app, &worker, &id, "declined");
    let declined = export(&app, &worker, &id);
    let task = resources(&declined, "Task")[0];
    assert_eq!(task["statusReason"]["coding"][0]["code"], "871711000000103");
    assert_eq!(task["statusReason"]["coding"][0]["system"], "http://snomed.info/sct");
    assert_eq!(resources(&declined, "CarePlan")[0]["status"], "revoked");
    let message = app.call("GET", &format!("/api/v1/referrals/{id}/message"), Some(&gp), None);
    assert_eq!(message.status, 200, "{}", message.body);
    let codes = message.json()["codes"].as_array().unwrap().clone();
    assert!(codes.iter().any(|c| c["code"] == "871711000000103"));
    assert!(codes.iter().all(|c| c["system"] == "http://snomed.info/sct"), "{codes:?}");

    // Who may not read the plan does not get it, in the bundle or on its own.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let overseen = export(&app, &admin, &id);
    assert!(resources(&overseen, "CarePlan").is_empty() && resources(&overseen, "Goal").is_empty());
    assert_error(&app.call("GET", &care_plan, Some(&admin), None), 404, None);
    let editor = app.login(GARDEN_EDITOR, DEMO_PASSWORD);
    assert_error(&app.call("GET", &care_plan, Some(&editor), None), 404, None);
    assert_error(&app.call("GET", &care_plan, None, None), 401, None);
    assert_error(&app.call("GET", "/api/v1/referrals/not-an-id/fhir/care-plan", Some(&gp), None), 404, Some("id"));

    validate_outside(&[("bundle", &bundle), ("declined", &declined), ("overseen", &overseen), ("care-plan", &alone)]);
}
