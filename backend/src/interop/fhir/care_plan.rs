//! The person's plan as a FHIR R4 `CarePlan`, so it can travel with them: to the GP, or to
//! another service with their permission.
//!
//! - `CarePlan` (intent `plan`, "My plan"): what matters to the person as its description, the
//!   plan's status following the referral's, the review date as a note and each goal's due date.
//! - `Goal`s: one per line of "my goals", in the person's words.
//! - Activities: each agreed action, and each community group the person was connected to, whose
//!   `HealthcareService` performs it, with the connection's progress as the activity's status.
//!
//! In the referral's Bundle the parts are entries referenced by `urn:uuid:`; on its own
//! ([`standalone`]) the CarePlan carries them as `contained` resources and names the person by
//! NHS number, so the one resource stands alone. Ids are derived from ours, as in the Bundle.

use serde_json::{json, Value};

use super::{entry, instant, request_status, urn, NHS_NUMBER};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::DbConnection;
use crate::domain::connection_status::ConnectionStatus;
use crate::error::AppError;
use crate::ids::ReferralId;
use crate::referrals::model::ReferralRow;
use crate::referrals::view::{self, ReferralView};
use crate::referrals::work::PlanView;
use crate::referrals::{load_visible, Thresholds};

/// Where the plan's parts live: entries of a Bundle, or resources contained in the CarePlan.
#[derive(Clone, Copy)]
enum Place {
    Bundle,
    Contained,
}

impl Place {
    /// The reference to one of the parts, by its kind and our key.
    fn reference(self, kind: &str, key: &str) -> String {
        let full = urn(kind, key);
        match self {
            Place::Bundle => full,
            Place::Contained => format!("#{}", full.trim_start_matches("urn:uuid:")),
        }
    }
}

/// The CarePlan and its parts (goals and community groups) with their references.
struct Parts {
    care_plan: Value,
    parts: Vec<(String, Value)>,
}

/// The plan's entries for the referral's Bundle: the CarePlan, its goals and the groups.
pub fn in_bundle(
    row: &ReferralRow,
    view: &ReferralView,
    plan: &PlanView,
    subject: Value,
    author: Value,
    request: &str,
) -> Vec<Value> {
    let Parts { mut care_plan, parts } = build(row, view, plan, subject, author, Place::Bundle);
    care_plan["supportingInfo"] = json!([{"reference": request}]);
    let mut entries = vec![entry(&urn("CarePlan", &row.id), care_plan)];
    entries.extend(parts.iter().map(|(url, resource)| entry(url, resource.clone())));
    entries
}

/// The latest plan, when the caller may see it: those who may read the referral's clinical text
/// (its practice and its service), as on the printable plan page.
pub fn visible_plan(conn: &mut DbConnection, view: &ReferralView) -> Result<Option<PlanView>, AppError> {
    if view.clinical.is_none() {
        return Ok(None);
    }
    Ok(crate::referrals::work::plan(conn, &view.id)?)
}

/// The plan of a referral the caller may see, as one `CarePlan` resource; 404 when the caller
/// may not see the plan (only its practice and its service may) or none is written yet. Audited.
pub fn standalone(
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
    let plan = visible_plan(conn, &view)?.ok_or_else(|| AppError::not_found("no plan you may see has been written"))?;
    audit::record(conn, &Event::by(user, "referral.fhir_care_plan_export", ip).on("referral", id))?;
    // The person by NHS number: the one identifier every NHS system that receives it can match.
    let subject = match &view.person {
        Some(person) => json!({
            "identifier": {"system": NHS_NUMBER, "value": person.nhs_number.replace(' ', "")},
            "display": format!("{} {}", person.given_name, person.family_name),
        }),
        None => json!({"display": "The person referred"}),
    };
    let author = json!({"display": match &view.owner {
        Some(owner) => format!("{owner}, {}", view.service),
        None => view.service.clone(),
    }});
    let Parts { mut care_plan, parts } = build(&row, &view, &plan, subject, author, Place::Contained);
    let contained: Vec<Value> = parts
        .into_iter()
        .map(|(reference, mut resource)| {
            resource["id"] = json!(reference.trim_start_matches('#'));
            resource
        })
        .collect();
    if !contained.is_empty() {
        care_plan["contained"] = json!(contained);
    }
    care_plan["id"] = json!(urn("CarePlan", &row.id).trim_start_matches("urn:uuid:"));
    Ok(care_plan)
}

/// The goals: one per line of "my goals", list marks taken off; the whole text when it is one.
fn goal_lines(goals: &str) -> Vec<&str> {
    goals
        .lines()
        .map(|line| line.trim().trim_start_matches(['-', '*', '•']).trim())
        .map(|line| {
            // "1." or "2)" numbering, as people write lists.
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            match line[digits..].strip_prefix(['.', ')']) {
                Some(rest) if digits > 0 => rest.trim(),
                _ => line,
            }
        })
        .filter(|line| !line.is_empty())
        .collect()
}

/// FHIR's goal lifecycle, from the plan's (request) status.
fn goal_status(plan_status: &str) -> &'static str {
    match plan_status {
        "completed" => "completed",
        "on-hold" => "on-hold",
        "revoked" => "cancelled",
        "entered-in-error" => "entered-in-error",
        _ => "active",
    }
}

/// FHIR's activity status for an agreed action, from the plan's status.
fn action_status(plan_status: &str) -> &'static str {
    match plan_status {
        "completed" => "completed",
        "on-hold" => "on-hold",
        "revoked" => "cancelled",
        "entered-in-error" => "entered-in-error",
        _ => "in-progress",
    }
}

/// FHIR's activity status for a connection to a community group.
fn connection_status(status: &str) -> &'static str {
    match ConnectionStatus::parse(status) {
        Some(ConnectionStatus::Suggested) => "not-started",
        Some(ConnectionStatus::Introduced | ConnectionStatus::Accepted) => "scheduled",
        Some(ConnectionStatus::Waitlisted) => "on-hold",
        Some(ConnectionStatus::Attended) => "in-progress",
        Some(ConnectionStatus::Declined | ConnectionStatus::DidNotAttend) => "cancelled",
        Some(ConnectionStatus::Stopped) => "stopped",
        Some(ConnectionStatus::Withdrawn) => "cancelled",
        None => "unknown",
    }
}

fn build(
    row: &ReferralRow,
    view: &ReferralView,
    plan: &PlanView,
    subject: Value,
    author: Value,
    place: Place,
) -> Parts {
    let status = request_status(&row.status);
    let mut parts = Vec::new();

    let mut goals = Vec::new();
    for (i, line) in goal_lines(&plan.goals).into_iter().enumerate() {
        let reference = place.reference("Goal", &format!("{}/{}/{i}", row.id, plan.version));
        let mut goal = json!({
            "resourceType": "Goal",
            "lifecycleStatus": goal_status(status),
            "description": {"text": line},
            "subject": subject,
            "startDate": plan.at.date().to_string(),
            "expressedBy": subject,
        });
        if let Some(review) = plan.review_date {
            goal["target"] = json!([{"dueDate": review.to_string()}]);
        }
        goals.push(json!({"reference": reference}));
        parts.push((reference, goal));
    }

    let mut activities: Vec<Value> = goal_lines(&plan.actions)
        .into_iter()
        .map(|action| json!({"detail": {"status": action_status(status), "description": action}}))
        .collect();
    for connection in &view.connections {
        let reference = place.reference("HealthcareService", &connection.service_id);
        if !parts.iter().any(|(existing, _)| *existing == reference) {
            parts.push((
                reference.clone(),
                json!({
                    "resourceType": "HealthcareService",
                    "identifier": [{"system": "urn:commonground:fhir:CodeSystem/service-id", "value": connection.service_id}],
                    "name": connection.service_name,
                }),
            ));
        }
        activities.push(json!({"detail": {
            "code": {"text": "Connection to a community group"},
            "status": connection_status(&connection.status),
            "statusReason": {"text": connection.status.replace('_', " ")},
            "description": connection.service_name,
            "performer": [{"reference": reference, "display": connection.service_name}],
        }}));
    }

    let mut notes = vec![json!({"text": format!("What matters to me: {}", plan.what_matters)})];
    if let Some(review) = plan.review_date {
        notes.push(json!({"text": format!("We will look at this plan again on {}.", review.format("%-d %B %Y"))}));
    }
    let mut care_plan = json!({
        "resourceType": "CarePlan",
        "identifier": [{"system": "urn:commonground:fhir:CodeSystem/plan-version", "value": format!("{}/{}", row.id, plan.version)}],
        "status": status,
        "intent": "plan",
        "category": [{"text": "Social prescribing: personalised care and support plan"}],
        "title": "My plan",
        "description": plan.what_matters,
        "subject": subject,
        "created": instant(plan.at),
        "author": author,
        "note": notes,
    });
    if !goals.is_empty() {
        care_plan["goal"] = json!(goals);
    }
    if !activities.is_empty() {
        care_plan["activity"] = json!(activities);
    }
    Parts { care_plan, parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_are_read_one_a_line_without_their_list_marks() {
        let written = "- Get out of the house twice a week\n\n2) Meet people who like gardening\n• Sleep better\n";
        assert_eq!(
            goal_lines(written),
            ["Get out of the house twice a week", "Meet people who like gardening", "Sleep better"]
        );
        assert_eq!(goal_lines("Feel less alone"), ["Feel less alone"]);
        assert_eq!(goal_lines("2024 was hard"), ["2024 was hard"], "a number that is not a list mark stays");
        assert!(goal_lines(" \n - \n").is_empty());
    }

    #[test]
    fn every_connection_status_has_a_care_plan_activity_status() {
        let fhir = ["not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped"];
        for status in ConnectionStatus::ALL {
            let mapped = connection_status(status.as_str());
            assert!(fhir.contains(&mapped), "{status:?} → {mapped}");
        }
    }
}
