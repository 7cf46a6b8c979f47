//! A referral as a FHIR R4 `Bundle` (type `collection`), for GP systems that take FHIR:
//!
//! - `Patient`: NHS number (`https://fhir.nhs.uk/Id/nhs-number`), name, birth date, gender,
//!   postcode and contact details, exactly as the caller may see them (an administrator never
//!   sees the person: the Patient then carries only the `REDACTED` security label).
//! - `ServiceRequest`: SNOMED CT 871731000000106 "Referral to social prescribing service",
//!   the reasons, priority, the referrer (`Practitioner`) and practice, the link worker service
//!   as performer; the referrer's words as a note only for those who may read clinical text.
//! - `Task`: our status mapped to FHIR's task statuses (ours kept as `businessStatus`; a declined
//!   referral carries SNOMED CT 871711000000103 as its reason, as the message back does), owned
//!   by the service, or by the link worker's `PractitionerRole` in it once someone owns it, with
//!   a `Provenance` per status change as its `relevantHistory`, each naming its `Practitioner`.
//! - `Observation`s: each ONS4 item (0-10) and each SWEMWBS metric score recorded (a UCUM
//!   `{score}` quantity).
//! - `CarePlan` with its `Goal`s and the community groups as `HealthcareService`s, for callers
//!   who may see the plan ([`care_plan`]); the plan also exports on its own.
//!
//! References are `urn:uuid:` full URLs inside the bundle, derived from our ids, so exporting
//! the same referral twice gives the same ids.

pub mod care_plan;

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::DbConnection;
use crate::domain::measures::ONS4_ITEMS;
use crate::error::AppError;
use crate::ids::ReferralId;
use crate::referrals::message::{Snomed, REFERRAL_TO_SOCIAL_PRESCRIBING, SOCIAL_PRESCRIBING_DECLINED};
use crate::referrals::model::ReferralRow;
use crate::referrals::view::{self, ReferralView};
use crate::referrals::work::PlanView;
use crate::referrals::{load_visible, Thresholds};

/// NHS number identifier system.
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// UCUM, the units of `Quantity` values.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// Our own code systems (reasons, measure items), named under the product's URN.
const OUR_SYSTEM: &str = "urn:commonground:fhir:CodeSystem";

/// FHIR's task status for ours; the reason where FHIR has no word for ours.
pub fn task_status(status: &str) -> (&'static str, Option<&'static str>) {
    match status {
        "received" => ("received", None),
        "accepted" => ("accepted", None),
        "rejected" => ("rejected", None),
        "contacting" | "in_progress" => ("in-progress", None),
        "on_hold" => ("on-hold", None),
        "unable_to_contact" => ("failed", Some("Unable to contact the person")),
        "completed" => ("completed", None),
        "declined" => ("cancelled", Some("Declined by the person")),
        "cancelled" => ("cancelled", None),
        _ => ("entered-in-error", None),
    }
}

/// FHIR's request status for the ServiceRequest.
pub(crate) fn request_status(status: &str) -> &'static str {
    match status {
        "on_hold" => "on-hold",
        "completed" => "completed",
        "rejected" | "unable_to_contact" | "declined" | "cancelled" => "revoked",
        "entered_in_error" => "entered-in-error",
        _ => "active",
    }
}

fn priority(urgency: &str) -> &'static str {
    match urgency {
        "urgent" => "asap",
        "soon" => "urgent",
        _ => "routine",
    }
}

fn gender(sex: Option<&str>) -> &'static str {
    match sex.map(str::to_ascii_lowercase).as_deref() {
        Some("female") => "female",
        Some("male") => "male",
        Some("") | None => "unknown",
        Some(_) => "other",
    }
}

/// A SNOMED CT concept as a FHIR `Coding`.
fn coding(concept: &Snomed) -> Value {
    json!({"system": concept.system, "code": concept.code, "display": concept.display})
}

pub(crate) fn instant(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A stable `urn:uuid:` for a resource derived from one of ours.
pub(crate) fn urn(kind: &str, id: &str) -> String {
    format!("urn:uuid:{}", crate::ids::stable_id(&format!("fhir/{kind}/{id}")))
}

pub(crate) fn entry(full_url: &str, mut resource: Value) -> Value {
    if let Some(id) = full_url.strip_prefix("urn:uuid:") {
        resource["id"] = json!(id);
    }
    json!({ "fullUrl": full_url, "resource": resource })
}

/// Builds the bundle for a referral the caller may see (404 otherwise), and audits the export.
pub fn export(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    rules: &Thresholds,
    ip: Option<&str>,
) -> Result<Value, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_visible(conn, user, id)?;
    let view = view::build(conn, user, &row, rules)?;
    let referrer = crate::accounts::users::by_id(conn, &row.referrer_id)?.map(|u| u.name).unwrap_or_default();
    let plan = care_plan::visible_plan(conn, &view)?;
    audit::record(conn, &Event::by(user, "referral.fhir_export", ip).on("referral", id))?;
    Ok(bundle(&row, &view, &referrer, plan.as_ref()))
}

/// The bundle, from what the caller may see of the referral (and its plan, when they may).
pub fn bundle(row: &ReferralRow, view: &ReferralView, referrer: &str, plan: Option<&PlanView>) -> Value {
    let patient = urn("Patient", &row.id);
    let request = urn("ServiceRequest", &row.id);
    let task = urn("Task", &row.id);
    let practice = urn("Organization", &row.practice_id);
    let service = urn("Organization", &row.service_id);
    let practitioner = urn("Practitioner", &row.referrer_id);
    let mut entries = Vec::new();

    let patient_resource = match &view.person {
        Some(person) => {
            let mut telecom = Vec::new();
            if let Some(phone) = &person.phone {
                telecom.push(json!({"system": "phone", "value": phone}));
            }
            if let Some(email) = &person.email {
                telecom.push(json!({"system": "email", "value": email}));
            }
            let mut p = json!({
                "resourceType": "Patient",
                "identifier": [{"system": NHS_NUMBER, "value": person.nhs_number.replace(' ', "")}],
                "name": [{"use": "official", "family": person.family_name, "given": [person.given_name]}],
                "gender": gender(row.sex.as_deref()),
                "birthDate": person.date_of_birth.to_string(),
                "address": [{"use": "home", "postalCode": person.postcode}],
            });
            if !telecom.is_empty() {
                p["telecom"] = json!(telecom);
            }
            if let Some(language) = &person.language {
                p["communication"] = json!([{"language": {"text": language}, "preferred": true}]);
            }
            p
        }
        // Administrators see referrals for oversight, never the person.
        None => json!({
            "resourceType": "Patient",
            "meta": {"security": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "REDACTED",
                "display": "redacted"
            }]},
        }),
    };
    entries.push(entry(&patient, patient_resource));
    entries.push(entry(&practice, json!({"resourceType": "Organization", "name": view.practice})));
    entries.push(entry(&service, json!({"resourceType": "Organization", "name": view.service})));
    // Everyone the bundle names, once each: the referrer, the owner and whoever moved it.
    let mut people: BTreeMap<&str, &str> = BTreeMap::from([(row.referrer_id.as_str(), referrer)]);
    let owner = row.owner_id.as_deref().zip(view.owner.as_deref());
    people.extend(owner);
    people.extend(view.timeline.iter().map(|event| (event.by_id.as_str(), event.by.as_str())));
    for (id, name) in &people {
        entries
            .push(entry(&urn("Practitioner", id), json!({"resourceType": "Practitioner", "name": [{"text": name}]})));
    }
    // The Task's owner: the link worker in their service once someone owns it, else the service.
    let owner_reference = match owner {
        Some((owner_id, owner_name)) => {
            let role = urn("PractitionerRole", &format!("{owner_id}/{}", row.service_id));
            entries.push(entry(
                &role,
                json!({
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": urn("Practitioner", owner_id), "display": owner_name},
                    "organization": {"reference": service, "display": view.service},
                    "code": [{"text": "Social prescribing link worker"}],
                }),
            ));
            json!({"reference": role, "display": format!("{owner_name}, {}", view.service)})
        }
        None => json!({"reference": service, "display": view.service}),
    };

    let mut service_request = json!({
        "resourceType": "ServiceRequest",
        "identifier": [{"system": format!("{OUR_SYSTEM}/referral-id"), "value": row.id}],
        "status": request_status(&row.status),
        "intent": "order",
        "priority": priority(&row.urgency),
        "code": {"coding": [coding(&REFERRAL_TO_SOCIAL_PRESCRIBING)]},
        "subject": {"reference": patient},
        "authoredOn": instant(row.created_at),
        "requester": {"reference": practitioner, "display": referrer},
        "performer": [{"reference": service, "display": view.service}],
        "reasonCode": view.reasons.iter().map(|(slug, name)| json!({
            "coding": [{"system": format!("{OUR_SYSTEM}/referral-reason"), "code": slug, "display": name}],
            "text": name
        })).collect::<Vec<_>>(),
        "supportingInfo": [{"reference": practice, "display": view.practice}],
    });
    if let Some(clinical) = &view.clinical {
        let mut notes = vec![json!({"text": clinical.referrer_words})];
        if let Some(what) = &clinical.what_matters {
            notes.push(json!({"text": format!("What matters to the person: {what}")}));
        }
        service_request["note"] = json!(notes);
    }
    entries.push(entry(&request, service_request));

    let (status, reason) = task_status(&row.status);
    let provenance: Vec<(String, &view::TimelineEntry)> = view
        .timeline
        .iter()
        .enumerate()
        .map(|(i, event)| (urn("Provenance", &format!("{}/{i}", row.id)), event))
        .collect();
    let mut task_resource = json!({
        "resourceType": "Task",
        "status": status,
        "businessStatus": {"text": row.status},
        "intent": "order",
        "code": {"coding": [coding(&REFERRAL_TO_SOCIAL_PRESCRIBING)]},
        "focus": {"reference": request},
        "for": {"reference": patient},
        "authoredOn": instant(row.created_at),
        "lastModified": instant(row.updated_at),
        "requester": {"reference": practitioner},
        "owner": owner_reference.clone(),
        "relevantHistory": provenance.iter().map(|(url, _)| json!({"reference": url})).collect::<Vec<_>>(),
    });
    if let Some(reason) = reason {
        task_resource["statusReason"] = json!({"text": reason});
    }
    if row.status == "declined" {
        task_resource["statusReason"]["coding"] = json!([coding(&SOCIAL_PRESCRIBING_DECLINED)]);
    }
    entries.push(entry(&task, task_resource));
    for (url, event) in &provenance {
        let moved = match &event.from_status {
            Some(from) => format!("{from} → {}", event.to_status),
            None => event.to_status.clone(),
        };
        let mut resource = json!({
            "resourceType": "Provenance",
            "target": [{"reference": task}],
            "recorded": instant(event.at),
            "activity": {"text": moved},
            "agent": [{"who": {"reference": urn("Practitioner", &event.by_id), "display": event.by}}],
        });
        if let Some(why) = &event.reason {
            resource["reason"] = json!([{"text": why}]);
        }
        entries.push(entry(url, resource));
    }

    for (m, measure) in view.measures.recorded.iter().enumerate() {
        let base = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "survey",
                "display": "Survey"
            }]}],
            "subject": {"reference": patient},
            "basedOn": [{"reference": request}],
            "effectiveDateTime": instant(measure.at),
        });
        let timepoint = if measure.timepoint == "baseline" { "at the start" } else { "at follow-up" };
        if measure.instrument == "ons4" {
            for (i, item) in ONS4_ITEMS.iter().enumerate() {
                let Some(value) = measure.answers.get(i) else { continue };
                let mut o = base.clone();
                o["code"] = json!({
                    "coding": [{"system": format!("{OUR_SYSTEM}/ons4"), "code": item, "display": format!("ONS4 {}", item.replace('_', " "))}],
                    "text": format!("ONS4 {} ({timepoint})", item.replace('_', " "))
                });
                o["valueInteger"] = json!(value);
                entries.push(entry(&urn("Observation", &format!("{}/{m}/{item}", row.id)), o));
            }
        } else if let Some(score) = measure.score {
            let mut o = base.clone();
            o["code"] = json!({
                "coding": [{"system": format!("{OUR_SYSTEM}/swemwbs"), "code": "metric-score", "display": "SWEMWBS metric score"}],
                "text": format!("SWEMWBS metric score ({timepoint})")
            });
            o["valueQuantity"] = json!({"value": score, "unit": "score", "system": UCUM, "code": "{score}"});
            entries.push(entry(&urn("Observation", &format!("{}/{m}/swemwbs", row.id)), o));
        }
    }

    if let Some(plan) = plan {
        let subject = json!({"reference": patient});
        let author = owner_reference;
        entries.extend(care_plan::in_bundle(row, view, plan, subject, author, &request));
    }

    json!({
        "resourceType": "Bundle",
        "id": crate::ids::stable_id(&format!("fhir/Bundle/{}/{}", row.id, row.version)),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "type": "collection",
        "timestamp": instant(Utc::now().naive_utc()),
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps_to_a_fhir_task_status() {
        let fhir = [
            "draft",
            "requested",
            "received",
            "accepted",
            "rejected",
            "ready",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        ];
        for status in crate::domain::ReferralStatus::ALL {
            let (task, _) = task_status(status.as_str());
            assert!(fhir.contains(&task), "{status:?} → {task}");
            let request = request_status(status.as_str());
            assert!(["active", "on-hold", "revoked", "completed", "entered-in-error"].contains(&request));
        }
        assert_eq!(task_status("declined"), ("cancelled", Some("Declined by the person")));
        assert_eq!(task_status("unable_to_contact").0, "failed");
    }
}
