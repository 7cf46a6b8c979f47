//! The message back to the GP when a referral closes: a short summary for the GP record with
//! the SNOMED CT codes, the connections made and the outcome scores.

use serde::Serialize;

use super::load_visible;
use super::view::{build, ReferralView};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::DbConnection;
use crate::domain::ReferralStatus;
use crate::error::AppError;
use crate::ids::ReferralId;

/// A SNOMED CT concept, as a FHIR `Coding` reads it (system, code, display).
#[derive(Debug, Clone, Serialize)]
pub struct Snomed {
    /// The code system: always SNOMED CT's URI, sent so a GP system files the code as SNOMED.
    pub system: &'static str,
    /// Concept id.
    pub code: &'static str,
    /// Preferred term.
    pub display: &'static str,
}

/// SNOMED CT's system URI.
pub const SNOMED_CT: &str = "http://snomed.info/sct";

/// Referral to social prescribing service.
pub const REFERRAL_TO_SOCIAL_PRESCRIBING: Snomed =
    Snomed { system: SNOMED_CT, code: "871731000000106", display: "Referral to social prescribing service" };
/// Social prescribing declined.
pub const SOCIAL_PRESCRIBING_DECLINED: Snomed =
    Snomed { system: SNOMED_CT, code: "871711000000103", display: "Social prescribing declined" };

/// The message back to the practice.
#[derive(Debug, Clone, Serialize)]
pub struct MessageBack {
    /// The codes to file.
    pub codes: Vec<Snomed>,
    /// How it ended.
    pub outcome: String,
    /// A few sentences for the GP record.
    pub summary: String,
    /// Connections made and how they went.
    pub connections: Vec<(String, String)>,
    /// ONS4 change per item, when paired.
    pub ons4_change: Option<[i8; 4]>,
    /// SWEMWBS metric change, when paired.
    pub swemwbs_change: Option<f64>,
    /// The referral as the practice sees it.
    pub referral: ReferralView,
}

/// The message for a closed referral (404 until it has closed), audited as sent.
pub fn message(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    rules: &super::Thresholds,
    ip: Option<&str>,
) -> Result<MessageBack, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_visible(conn, user, id)?;
    let view = build(conn, user, &row, rules)?;
    let message =
        compose(&view)?.ok_or_else(|| AppError::not_found("the message back is written when the referral closes"))?;
    audit::record(conn, &Event::by(user, "referral.message_back", ip).on("referral", id))?;
    Ok(message)
}

/// The message back written from a view already built (the referral's page shows it beside
/// the referral, without loading it again or recording a message as sent); `None` until the
/// referral has closed.
pub fn compose(view: &ReferralView) -> Result<Option<MessageBack>, AppError> {
    let status = ReferralStatus::parse(&view.status).ok_or_else(|| AppError::Internal("status".into()))?;
    if !status.is_terminal() || status == ReferralStatus::EnteredInError {
        return Ok(None);
    }
    let mut codes = vec![REFERRAL_TO_SOCIAL_PRESCRIBING];
    if status == ReferralStatus::Declined {
        codes.push(SOCIAL_PRESCRIBING_DECLINED);
    }
    let closing = view.timeline.last().and_then(|t| t.note.clone().or(t.reason.clone())).unwrap_or_default();
    let connections: Vec<(String, String)> =
        view.connections.iter().map(|c| (c.service_name.clone(), c.status.replace('_', " "))).collect();
    let mut summary = format!(
        "Referred to social prescribing on {}. Outcome: {}.",
        view.created_at.format("%-d %B %Y"),
        status.as_str().replace('_', " ")
    );
    if !connections.is_empty() {
        let list: Vec<String> = connections.iter().map(|(n, s)| format!("{n} ({s})")).collect();
        summary.push_str(&format!(" Connected with: {}.", list.join(", ")));
    }
    if let Some(change) = view.measures.ons4_change {
        summary.push_str(&format!(
            " ONS4 change: life satisfaction {:+}, worthwhile {:+}, happy yesterday {:+}, anxious yesterday {:+}.",
            change[0], change[1], change[2], change[3]
        ));
    }
    if !closing.is_empty() {
        summary.push_str(&format!(" Closing summary: {closing}"));
    }
    Ok(Some(MessageBack {
        codes,
        outcome: status.as_str().into(),
        summary,
        connections,
        ons4_change: view.measures.ons4_change,
        swemwbs_change: view.measures.swemwbs_change,
        referral: view.clone(),
    }))
}
