//! Triage: a link worker service's queue of referrals from the person themselves and from
//! agencies, waiting (`received`), oldest first; and the three answers to one: accept and reject
//! (moves of the status machine, through `transitions::apply`: a rejection needs a reason and
//! may carry a suggestion the referrer reads), or pass it to another service, which leaves its
//! status `received`, moves it to that service's queue and is recorded in its history and the
//! audit trail.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::ReferralRow;
use super::transitions::{self, stale, Transition};
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, OrgKind};
use crate::db::schema::{organizations, referral_events, referrals};
use crate::db::{self, DbConnection};
use crate::domain::referral_status::ReferralStatus;
use crate::error::AppError;
use crate::ids::ReferralId;

/// A referral waiting in triage.
#[derive(Debug, Clone, Serialize)]
pub struct TriageItem {
    /// Id.
    pub id: String,
    /// The person's name.
    pub name: String,
    /// Age.
    pub age: i32,
    /// Outward code.
    pub area: String,
    /// "Self-referral", "Housing", ...
    pub source: String,
    /// The referring organisation ("Self-referral" for the person).
    pub referred_by: String,
    /// Urgency.
    pub urgency: String,
    /// When it arrived.
    pub created_at: NaiveDateTime,
    /// The version to send back with a decision.
    pub version: i32,
    /// Its risk and safeguarding flags, to read before phoning ("Lone-working caution: ...").
    pub flags: Vec<&'static str>,
}

/// The caller's service's queue: self and agency referrals waiting, oldest first.
pub fn queue(conn: &mut DbConnection, user: &CurrentUser) -> Result<Vec<TriageItem>, AppError> {
    if !allows(user, Action::WorkReferral { service_id: &user.organisation_id }) {
        return Err(AppError::Forbidden("triage is for link workers".into()));
    }
    let rows: Vec<ReferralRow> = referrals::table
        .filter(referrals::service_id.eq(&user.organisation_id))
        .filter(referrals::status.eq(ReferralStatus::Received.as_str()))
        .filter(referrals::source_kind.ne(OrgKind::GpPractice.as_str()))
        .filter(referrals::case_id.is_null())
        // Restricted at the person's request: out of every named list until lifted.
        .filter(diesel::dsl::not(
            referrals::id.eq_any(
                crate::db::schema::referral_restrictions::table
                    .select(crate::db::schema::referral_restrictions::referral_id),
            ),
        ))
        .order(referrals::created_at)
        .limit(1000)
        .select(ReferralRow::as_select())
        .load(conn)?;
    let today = Utc::now().date_naive();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let flags = super::risk_flags::kinds_for(conn, &ids)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let referred_by: String =
            organizations::table.find(&row.practice_id).select(organizations::name).first(conn)?;
        items.push(TriageItem {
            name: format!("{} {}", row.given_name, row.family_name),
            age: row.age_on(today),
            area: row.outward_code.clone(),
            source: super::view::source_label(&row.source_kind),
            referred_by,
            urgency: row.urgency.clone(),
            created_at: row.created_at,
            version: row.version,
            flags: {
                let mut kinds: Vec<&str> =
                    flags.iter().filter(|(r, _)| *r == row.id).map(|(_, k)| k.as_str()).collect();
                kinds.sort_by_key(|k| super::risk_flags::position(k));
                kinds.dedup();
                kinds.into_iter().map(super::risk_flags::label).collect()
            },
            id: row.id,
        });
    }
    Ok(items)
}

/// A triage answer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TriageDecision {
    /// `accept`, `reject` or `pass`.
    #[serde(default)]
    pub decision: String,
    /// Why (required to reject or pass; the referrer reads a rejection's).
    pub reason: Option<String>,
    /// For a rejection: where the referrer could go instead (shown to them).
    pub suggestion: Option<String>,
    /// For passing: the link worker service it goes to.
    pub service_id: Option<String>,
    /// The version the caller read.
    #[serde(default)]
    pub version: i32,
}

fn given(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

/// Answers a referral in triage; returns its new version.
pub fn decide(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    d: &TriageDecision,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    let row = super::load_workable(conn, user, id.as_str())?;
    let reason = given(&d.reason);
    let suggestion = given(&d.suggestion);
    if suggestion.as_deref().is_some_and(|s| s.chars().count() > 1000) {
        return Err(AppError::invalid("suggestion", "at most 1000 characters"));
    }
    match d.decision.trim() {
        "accept" => transitions::apply(
            conn,
            user,
            id,
            &Transition { to: "accepted".into(), reason: None, note: None, version: d.version, owner_id: None },
            ip,
        ),
        // The suggestion travels as the move's note: the referrer reads both in the history.
        "reject" => transitions::apply(
            conn,
            user,
            id,
            &Transition { to: "rejected".into(), reason, note: suggestion, version: d.version, owner_id: None },
            ip,
        ),
        "pass" => pass(conn, user, &row, d, reason, ip),
        _ => Err(AppError::invalid("decision", "must be accept, reject or pass")),
    }
}

/// Passes a waiting referral to another link worker service: its status stays `received`, its
/// owner is cleared, and the history says where it went and why.
fn pass(
    conn: &mut DbConnection,
    user: &CurrentUser,
    row: &ReferralRow,
    d: &TriageDecision,
    reason: Option<String>,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    let mut errors = crate::domain::FieldErrors::new();
    match &reason {
        None => {
            errors.insert("reason".into(), "say why it goes to another service".into());
        }
        Some(r) if r.chars().count() > 5000 => {
            errors.insert("reason".into(), "at most 5000 characters".into());
        }
        _ => {}
    }
    let target = d.service_id.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
    let target_name: Option<String> = if crate::ids::is_id(&target) {
        organizations::table
            .find(&target)
            .filter(organizations::kind.eq(OrgKind::LinkWorkerService.as_str()))
            .filter(organizations::status.eq("active"))
            .select(organizations::name)
            .first(conn)
            .optional()?
    } else {
        None
    };
    if target_name.is_none() {
        errors.insert("service_id".into(), "choose a link worker service".into());
    } else if target == row.service_id {
        errors.insert("service_id".into(), "it is already with this service".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if row.status != ReferralStatus::Received.as_str() {
        return Err(AppError::Conflict {
            message: format!("only a referral waiting in triage can be passed on; this one is {}", row.status),
            allowed: Vec::new(),
        });
    }
    if d.version != row.version {
        return Err(stale(row.version));
    }
    let name = target_name.unwrap_or_default();
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<i32, AppError> {
        let updated = diesel::update(
            referrals::table
                .filter(referrals::id.eq(&row.id))
                .filter(referrals::version.eq(d.version))
                .filter(referrals::status.eq(ReferralStatus::Received.as_str())),
        )
        .set((
            referrals::service_id.eq(&target),
            referrals::owner_id.eq(None::<String>),
            referrals::version.eq(d.version + 1),
            referrals::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(stale(d.version + 1));
        }
        diesel::insert_into(referral_events::table)
            .values((
                referral_events::referral_id.eq(&row.id),
                referral_events::at.eq(now),
                referral_events::actor_id.eq(&user.id),
                referral_events::from_status.eq(Some(ReferralStatus::Received.as_str())),
                referral_events::to_status.eq(ReferralStatus::Received.as_str()),
                referral_events::reason.eq(&reason),
                referral_events::note.eq(Some(format!("Passed to {name}"))),
            ))
            .execute(conn)?;
        let detail = format!("from {} to {target}", row.service_id);
        audit::record(conn, &Event::by(user, "referral.pass", ip).on("referral", &row.id).detail(&detail))?;
        Ok(d.version + 1)
    })
}

/// The other link worker services a referral can be passed to: (id, name).
pub fn other_services(conn: &mut DbConnection, user: &CurrentUser) -> QueryResult<Vec<(String, String)>> {
    organizations::table
        .filter(organizations::kind.eq(OrgKind::LinkWorkerService.as_str()))
        .filter(organizations::status.eq("active"))
        .filter(organizations::id.ne(&user.organisation_id))
        .order(organizations::name)
        .select((organizations::id, organizations::name))
        .load(conn)
}
