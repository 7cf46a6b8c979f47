//! Subject access: everything held about a person, found by NHS number or by name and date of
//! birth, across the referrals the caller may exercise rights on. The same answer is the
//! printable page and the JSON file; each referral it includes is audited as read.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::db::schema::{
    audit_events, notifications, organizations, referral_anonymisations, referral_corrections, referral_plans,
    referral_restrictions, referrals, users,
};
use crate::db::DbConnection;
use crate::domain::{FieldErrors, NhsNumber};
use crate::error::AppError;
use crate::referrals::connections::{self, ConnectionView};
use crate::referrals::model::{PersonView, ReferralRow};
use crate::referrals::view::{self, TimelineEntry};
use crate::referrals::work::{self, AttemptView, MeasuresView, NoteView};
use crate::referrals::Thresholds;

/// How to find the person: an NHS number, or a name and date of birth.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PersonQuery {
    /// Ten digits, spaces allowed.
    pub nhs_number: String,
    /// Given name (with family name and date of birth).
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
}

impl PersonQuery {
    /// From query pairs (other keys are left to the caller).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get =
            |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
        PersonQuery {
            nhs_number: get("nhs_number"),
            given_name: get("given_name"),
            family_name: get("family_name"),
            date_of_birth: get("date_of_birth"),
        }
    }

    /// Whether anything was asked.
    pub fn is_empty(&self) -> bool {
        self.nhs_number.is_empty()
            && self.given_name.is_empty()
            && self.family_name.is_empty()
            && self.date_of_birth.is_empty()
    }
}

/// How the person was found (a code for the audit trail, never the value).
enum Found {
    NhsNumber(NhsNumber),
    NameAndBirth(String, String, NaiveDate),
}

fn parse(query: &PersonQuery) -> Result<Found, AppError> {
    let mut errors = FieldErrors::new();
    if !query.nhs_number.is_empty() {
        return NhsNumber::parse(&query.nhs_number)
            .map(Found::NhsNumber)
            .map_err(|e| AppError::invalid("nhs_number", e.to_string()));
    }
    if query.is_empty() {
        return Err(AppError::invalid("nhs_number", "give an NHS number, or a name and date of birth"));
    }
    for (field, value) in [("given_name", &query.given_name), ("family_name", &query.family_name)] {
        if value.is_empty() {
            errors.insert(field.into(), "needed with a name and date of birth".into());
        } else if value.chars().count() > 100 {
            errors.insert(field.into(), "at most 100 characters".into());
        }
    }
    let born = NaiveDate::parse_from_str(&query.date_of_birth, "%Y-%m-%d").ok();
    if born.is_none() {
        errors.insert("date_of_birth".into(), "enter a date like 1954-03-21".into());
    }
    match born {
        Some(born) if errors.is_empty() => {
            Ok(Found::NameAndBirth(query.given_name.to_lowercase(), query.family_name.to_lowercase(), born))
        }
        _ => Err(AppError::Invalid(errors)),
    }
}

/// A version of the personalised plan.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct PlanVersion {
    /// Version.
    pub version: i32,
    /// What matters.
    pub what_matters: String,
    /// Goals.
    pub goals: String,
    /// Actions.
    pub actions: String,
    /// Next review.
    pub review_date: Option<NaiveDate>,
    /// When saved.
    pub at: NaiveDateTime,
}

/// A correction (rectification), with the value it replaced.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct Correction {
    /// When.
    pub at: NaiveDateTime,
    /// Which field.
    pub field: String,
    /// The value before.
    pub old_value: Option<String>,
    /// The value after.
    pub new_value: Option<String>,
    /// Why.
    pub reason: String,
    /// Who, by name.
    pub by: String,
}

/// A restriction in force.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct Restriction {
    /// Since when.
    pub at: NaiveDateTime,
    /// Why.
    pub reason: String,
    /// Who, by name.
    pub by: String,
}

/// A message sent about the referral (the person's own address shown only when it went to them).
#[derive(Debug, Clone, Serialize)]
pub struct NotificationSent {
    /// Queued at.
    pub at: NaiveDateTime,
    /// Sent at.
    pub sent_at: Option<NaiveDateTime>,
    /// `email` or `sms`.
    pub channel: String,
    /// `person`, `referrer`, `group`.
    pub audience: String,
    /// Which message.
    pub template: String,
    /// Delivery status.
    pub status: String,
    /// The address, when it was the person's.
    pub recipient: Option<String>,
}

/// One read or change of the record in the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct Viewing {
    /// When.
    pub at: NaiveDateTime,
    /// What (`referral.read`, `referral.note`, ...).
    pub action: String,
    /// Who, by name (empty when the account is gone or it was nobody signed in).
    pub name: String,
    /// Their role then.
    pub role: String,
    /// Their organisation.
    pub organisation: String,
    /// Neither the referring practice nor the link worker service: an admin or anyone else.
    pub outside_service: bool,
}

/// Everything held on one referral.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralRecord {
    /// Id.
    pub id: String,
    /// Status.
    pub status: String,
    /// Urgency.
    pub urgency: String,
    /// Referring practice.
    pub practice: String,
    /// Link worker service.
    pub service: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// The person as recorded.
    pub person: PersonView,
    /// Sex, as recorded.
    pub sex: Option<String>,
    /// Ethnicity, as recorded.
    pub ethnicity: Option<String>,
    /// The referrer's words.
    pub referrer_words: String,
    /// What matters to the person.
    pub what_matters: Option<String>,
    /// Risk or safeguarding notes.
    pub risk_notes: Option<String>,
    /// Agreed to the referral.
    pub consent_referral: bool,
    /// Agreed to details being shared with community groups.
    pub consent_share: bool,
    /// Reasons (names).
    pub reasons: Vec<String>,
    /// The history.
    pub timeline: Vec<TimelineEntry>,
    /// Contact attempts.
    pub contact_attempts: Vec<AttemptView>,
    /// Link workers' notes.
    pub notes: Vec<NoteView>,
    /// Every version of the plan.
    pub plans: Vec<PlanVersion>,
    /// Wellbeing measures.
    pub measures: MeasuresView,
    /// Connections to community groups.
    pub connections: Vec<ConnectionView>,
    /// Corrections made, with the old values.
    pub corrections: Vec<Correction>,
    /// The restriction in force, if any.
    pub restriction: Option<Restriction>,
    /// When and why the personal data was removed, if it was.
    pub anonymised: Option<(NaiveDateTime, String)>,
    /// Messages sent about it.
    pub notifications: Vec<NotificationSent>,
    /// Who viewed or changed it, and when (oldest first).
    pub viewed_by: Vec<Viewing>,
}

/// The answer to a subject access request.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccess {
    /// When it was put together (UTC).
    pub generated_at: NaiveDateTime,
    /// `nhs_number` or `name_and_date_of_birth`.
    pub found_by: &'static str,
    /// Every referral held about the person that the caller may answer for, newest first.
    pub referrals: Vec<ReferralRecord>,
}

fn org_name(conn: &mut DbConnection, id: &str) -> QueryResult<String> {
    organizations::table.find(id).select(organizations::name).first(conn)
}

/// Who viewed or changed a referral, from the audit trail, oldest first.
pub fn viewings(conn: &mut DbConnection, row: &ReferralRow) -> QueryResult<Vec<Viewing>> {
    type Line = (NaiveDateTime, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
    let lines: Vec<Line> = audit_events::table
        .left_join(users::table.on(audit_events::actor_id.eq(users::id.nullable())))
        .left_join(organizations::table.on(users::organization_id.eq(organizations::id)))
        .filter(audit_events::record_type.eq("referral"))
        .filter(audit_events::record_id.eq(&row.id))
        .filter(audit_events::outcome.eq("ok"))
        .order(audit_events::id)
        .select((
            audit_events::at,
            audit_events::action,
            audit_events::actor_role,
            users::name.nullable(),
            users::organization_id.nullable(),
            organizations::name.nullable(),
            audit_events::actor_id,
        ))
        .load(conn)?;
    Ok(lines
        .into_iter()
        .map(|(at, action, role, name, org_id, org_name, _)| Viewing {
            outside_service: !org_id.as_deref().is_some_and(|o| o == row.service_id || o == row.practice_id),
            at,
            action,
            name: name.unwrap_or_default(),
            role: role.unwrap_or_default(),
            organisation: org_name.unwrap_or_default(),
        })
        .collect())
}

fn notifications_about(
    conn: &mut DbConnection,
    row: &ReferralRow,
    connection_ids: &[String],
) -> QueryResult<Vec<NotificationSent>> {
    let mut prefixes = vec![format!("referral:{}:", row.id)];
    prefixes.extend(connection_ids.iter().map(|c| format!("introduction:{c}:")));
    let mut sent = Vec::new();
    for prefix in prefixes {
        type Line = (NaiveDateTime, Option<NaiveDateTime>, String, String, String, String, String);
        let lines: Vec<Line> = notifications::table
            .filter(notifications::idempotency_key.like(format!("{prefix}%")))
            .order(notifications::created_at)
            .select((
                notifications::created_at,
                notifications::sent_at,
                notifications::channel,
                notifications::audience,
                notifications::template,
                notifications::status,
                notifications::recipient,
            ))
            .load(conn)?;
        sent.extend(lines.into_iter().map(|(at, sent_at, channel, audience, template, status, recipient)| {
            NotificationSent {
                recipient: (audience == "person" && !recipient.is_empty()).then_some(recipient),
                at,
                sent_at,
                channel,
                audience,
                template,
                status,
            }
        }));
    }
    sent.sort_by_key(|n| n.at);
    Ok(sent)
}

/// Everything held on one referral.
pub fn record(conn: &mut DbConnection, row: &ReferralRow) -> QueryResult<ReferralRecord> {
    let rules = Thresholds::default();
    let work = work::load(conn, &row.id, &rules)?;
    let connections = connections::for_referral(conn, &row.id, &rules)?;
    let connection_ids: Vec<String> = connections.iter().map(|c| c.id.clone()).collect();
    let plans: Vec<PlanVersion> = referral_plans::table
        .filter(referral_plans::referral_id.eq(&row.id))
        .order(referral_plans::version)
        .select((
            referral_plans::version,
            referral_plans::what_matters,
            referral_plans::goals,
            referral_plans::actions,
            referral_plans::review_date,
            referral_plans::at,
        ))
        .load(conn)?;
    let corrections: Vec<Correction> = referral_corrections::table
        .inner_join(users::table.on(users::id.eq(referral_corrections::actor_id)))
        .filter(referral_corrections::referral_id.eq(&row.id))
        .order(referral_corrections::id)
        .select((
            referral_corrections::at,
            referral_corrections::field,
            referral_corrections::old_value,
            referral_corrections::new_value,
            referral_corrections::reason,
            users::name,
        ))
        .load(conn)?;
    let restriction: Option<Restriction> = referral_restrictions::table
        .inner_join(users::table.on(users::id.eq(referral_restrictions::by_id)))
        .filter(referral_restrictions::referral_id.eq(&row.id))
        .select((referral_restrictions::at, referral_restrictions::reason, users::name))
        .first(conn)
        .optional()?;
    let anonymised = referral_anonymisations::table
        .find(&row.id)
        .select((referral_anonymisations::at, referral_anonymisations::basis))
        .first(conn)
        .optional()?;
    Ok(ReferralRecord {
        id: row.id.clone(),
        status: row.status.clone(),
        urgency: row.urgency.clone(),
        practice: org_name(conn, &row.practice_id)?,
        service: org_name(conn, &row.service_id)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        person: row.person(),
        sex: row.sex.clone(),
        ethnicity: row.ethnicity.clone(),
        referrer_words: row.referrer_words.clone(),
        what_matters: row.what_matters.clone(),
        risk_notes: row.risk_notes.clone(),
        consent_referral: row.consent_referral,
        consent_share: row.consent_share,
        reasons: view::reasons(conn, &row.id)?.into_iter().map(|(_, name)| name).collect(),
        timeline: view::timeline(conn, &row.id)?,
        contact_attempts: work.contact_attempts,
        notes: work.notes,
        plans,
        measures: work::measures(conn, &row.id)?,
        notifications: notifications_about(conn, row, &connection_ids)?,
        connections,
        corrections,
        restriction,
        anonymised,
        viewed_by: viewings(conn, row)?,
    })
}

/// Answers a subject access request: the person's referrals the caller may answer for (a lead,
/// their own service's), each audited as read; nothing found is an empty list.
pub fn subject_access(
    conn: &mut DbConnection,
    user: &CurrentUser,
    query: &PersonQuery,
    ip: Option<&str>,
) -> Result<SubjectAccess, AppError> {
    super::check_allowed(user)?;
    let found = parse(query)?;
    let (found_by, rows): (&'static str, Vec<ReferralRow>) = match &found {
        Found::NhsNumber(nhs) => (
            "nhs_number",
            referrals::table
                .filter(referrals::nhs_number.eq(nhs.as_str()))
                .order(referrals::created_at.desc())
                .select(ReferralRow::as_select())
                .load(conn)?,
        ),
        Found::NameAndBirth(given, family, born) => (
            "name_and_date_of_birth",
            referrals::table
                .filter(referrals::date_of_birth.eq(born))
                .order(referrals::created_at.desc())
                .select(ReferralRow::as_select())
                .load::<ReferralRow>(conn)?
                .into_iter()
                .filter(|r| {
                    r.given_name.trim().to_lowercase() == *given && r.family_name.trim().to_lowercase() == *family
                })
                .collect(),
        ),
    };
    let rows: Vec<ReferralRow> = rows
        .into_iter()
        .filter(|r| allows(user, Action::ExerciseDataRights { service_id: Some(&r.service_id) }))
        .collect();
    let mut records = Vec::new();
    for row in &rows {
        audit::record(conn, &Event::by(user, "data_rights.access", ip).on("referral", &row.id).detail(found_by))?;
        records.push(record(conn, row)?);
    }
    if rows.is_empty() {
        audit::record(conn, &Event::by(user, "data_rights.access", ip).detail("no_match"))?;
    }
    Ok(SubjectAccess { generated_at: Utc::now().naive_utc(), found_by, referrals: records })
}
