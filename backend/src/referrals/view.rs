//! Reading referrals: one with its timeline (what each caller may see), and the lists: a
//! practice's referrals, a service's caseload with filters, and "needs attention".

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};
use diesel::prelude::*;
use serde::Serialize;

use super::model::{PersonView, ReferralRow};
use super::{load_visible, work};
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, Role};
use crate::db::schema::{organizations, referral_events, referral_reasons, referrals, taxonomy_terms, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::ReferralId;

/// One move in the history.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct TimelineEntry {
    /// When.
    pub at: NaiveDateTime,
    /// From.
    pub from_status: Option<String>,
    /// To.
    pub to_status: String,
    /// Why.
    pub reason: Option<String>,
    /// Note (e.g. the closing summary).
    pub note: Option<String>,
    /// Who, by name.
    pub by: String,
    /// Who, by account id: for references between records (FHIR Provenance), never shown.
    #[serde(skip)]
    pub by_id: String,
}

/// A referral as one caller sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralView {
    /// Id.
    pub id: String,
    /// Status.
    pub status: String,
    /// For optimistic concurrency: send it back with a change.
    pub version: i32,
    /// `routine`, `soon`, `urgent`.
    pub urgency: String,
    /// Referring practice (or agency; "Self-referral" for the person themselves).
    pub practice: String,
    /// Where the referral came from: the kind of organisation (`gp_practice`, `housing`, ...,
    /// `the_public` for a self-referral).
    pub source_kind: String,
    /// The same for people: "GP practice", "Housing", "Self-referral".
    pub source: String,
    /// Link worker service.
    pub service: String,
    /// The owning link worker, by name.
    pub owner: Option<String>,
    /// Reasons (slugs and names).
    pub reasons: Vec<(String, String)>,
    /// The person (not shown to administrators).
    pub person: Option<PersonView>,
    /// Age in years (shown to everyone who sees the referral).
    pub age: i32,
    /// Outward code of the postcode.
    pub area: String,
    /// Clinical free text (referrers and link workers only).
    pub clinical: Option<ClinicalText>,
    /// Consent to share details with community groups.
    pub consent_share: bool,
    /// The history, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Why it was not taken on, and where to go instead, for the referrer (when rejected).
    pub rejection: Option<Rejection>,
    /// The open case this referral joined (the person already had one), if it did.
    pub joined_case: Option<String>,
    /// Risk and safeguarding flags on the person: shown as a banner wherever the referral is
    /// (those who may read its clinical text; never admins or groups).
    pub flags: Vec<super::risk_flags::FlagView>,
    /// The safeguarding log (the service's link workers).
    pub safeguarding: Vec<super::risk_flags::LogEntry>,
    /// The referrals that joined this case: "also referred by Housing, 3 December".
    pub also_referred: Vec<super::matching::AlsoReferred>,
    /// Other open cases of the service that may be the same person (its link workers only):
    /// offered to merge, never merged without them.
    pub possible_matches: Vec<super::matching::PossibleMatch>,
    /// The link worker's work (link workers of the service only).
    pub work: Option<work::WorkView>,
    /// Measures and their change (everyone who sees the referral).
    pub measures: work::MeasuresView,
    /// Connections to community assets.
    pub connections: Vec<super::connections::ConnectionView>,
    /// The next meeting the link worker booked with the person (link workers of the service).
    pub next_meeting: Option<super::meeting::MeetingView>,
    /// Moves the caller could make now.
    pub allowed_moves: Vec<String>,
    /// When first contact was made.
    pub first_contact_at: Option<NaiveDateTime>,
    /// Next review.
    pub review_date: Option<NaiveDate>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// When the person asked, on their own page, not to be contacted any more (for those who
    /// see the person).
    pub contact_stopped_at: Option<NaiveDateTime>,
}

/// Why a referral was rejected and the link worker's suggestion, as the referrer reads them.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    /// The reason.
    pub reason: Option<String>,
    /// Where the referrer could go instead.
    pub suggestion: Option<String>,
}

/// The clinical free text of a referral.
#[derive(Debug, Clone, Serialize)]
pub struct ClinicalText {
    /// Why, in the referrer's words.
    pub referrer_words: String,
    /// What matters to the person.
    pub what_matters: Option<String>,
    /// Risk or safeguarding notes.
    pub risk_notes: Option<String>,
}

/// A referral source's kind, for people.
pub fn source_label(kind: &str) -> String {
    crate::accounts::OrgKind::parse(kind).map(|k| k.label().to_string()).unwrap_or_else(|| kind.to_string())
}

fn org_name(conn: &mut DbConnection, id: &str) -> QueryResult<String> {
    organizations::table.find(id).select(organizations::name).first(conn)
}

fn user_name(conn: &mut DbConnection, id: &str) -> QueryResult<String> {
    users::table.find(id).select(users::name).first(conn)
}

/// Reason slugs and names of a referral.
pub fn reasons(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<(String, String)>> {
    referral_reasons::table
        .inner_join(taxonomy_terms::table.on(taxonomy_terms::id.eq(referral_reasons::term_id)))
        .filter(referral_reasons::referral_id.eq(id))
        .order(taxonomy_terms::position)
        .select((taxonomy_terms::slug, taxonomy_terms::name))
        .load(conn)
}

/// The history of a referral, oldest first.
pub fn timeline(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<TimelineEntry>> {
    referral_events::table
        .inner_join(users::table.on(users::id.eq(referral_events::actor_id)))
        .filter(referral_events::referral_id.eq(id))
        .order(referral_events::id)
        .select((
            referral_events::at,
            referral_events::from_status,
            referral_events::to_status,
            referral_events::reason,
            referral_events::note,
            users::name,
            users::id,
        ))
        .load(conn)
}

/// Builds the view a caller may see (the row already checked as visible to them).
pub fn build(
    conn: &mut DbConnection,
    user: &CurrentUser,
    row: &ReferralRow,
    rules: &super::Thresholds,
) -> Result<ReferralView, AppError> {
    let clinical_allowed =
        allows(user, Action::ViewClinicalText { practice_id: &row.practice_id, service_id: &row.service_id });
    let works = allows(user, Action::WorkReferral { service_id: &row.service_id });
    let status = crate::domain::ReferralStatus::parse(&row.status);
    let allowed_moves = match (status, super::mover(user)) {
        (Some(s), Some(m)) => s
            .allowed_moves()
            .into_iter()
            .filter(|to| to.set_by().contains(&m))
            .map(|s| s.as_str().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let person_visible = allows(user, Action::ViewPersonIdentity);
    let history = timeline(conn, &row.id)?;
    Ok(ReferralView {
        id: row.id.clone(),
        status: row.status.clone(),
        version: row.version,
        urgency: row.urgency.clone(),
        practice: org_name(conn, &row.practice_id)?,
        source_kind: row.source_kind.clone(),
        source: source_label(&row.source_kind),
        service: org_name(conn, &row.service_id)?,
        owner: row.owner_id.as_deref().map(|o| user_name(conn, o)).transpose()?,
        reasons: reasons(conn, &row.id)?,
        person: person_visible.then(|| row.person()),
        age: row.age_on(Utc::now().date_naive()),
        area: row.outward_code.clone(),
        clinical: clinical_allowed.then(|| ClinicalText {
            referrer_words: row.referrer_words.clone(),
            what_matters: row.what_matters.clone(),
            risk_notes: row.risk_notes.clone(),
        }),
        consent_share: row.consent_share,
        rejection: (row.status == "rejected")
            .then(|| history.iter().rev().find(|e| e.to_status == "rejected"))
            .flatten()
            .map(|e| Rejection { reason: e.reason.clone(), suggestion: e.note.clone() }),
        timeline: history,
        joined_case: row.case_id.clone(),
        flags: if clinical_allowed { super::risk_flags::flags(conn, &row.id)? } else { Vec::new() },
        safeguarding: if works { super::risk_flags::log(conn, &row.id)? } else { Vec::new() },
        also_referred: if works { super::matching::also_referred(conn, &row.id)? } else { Vec::new() },
        possible_matches: if works { super::matching::possible_matches(conn, row)? } else { Vec::new() },
        work: if works { Some(work::load(conn, &row.id, rules)?) } else { None },
        measures: work::measures(conn, &row.id)?,
        connections: super::connections::for_referral(conn, &row.id, rules)?,
        next_meeting: if works { super::meeting::next(conn, &row.id)? } else { None },
        allowed_moves,
        first_contact_at: row.first_contact_at,
        review_date: row.review_date,
        created_at: row.created_at,
        contact_stopped_at: row.contact_stopped_at.filter(|_| person_visible),
    })
}

/// One referral, audited as read.
pub fn get(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    rules: &super::Thresholds,
    ip: Option<&str>,
) -> Result<ReferralView, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_visible(conn, user, id)?;
    let view = build(conn, user, &row, rules)?;
    audit::record(conn, &Event::by(user, "referral.read", ip).on("referral", id))?;
    Ok(view)
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this owner (user id), or `none` for unassigned.
    pub owner: Option<String>,
    /// Only this practice.
    pub practice: Option<String>,
    /// Only this reason (slug).
    pub reason: Option<String>,
    /// Only this urgency.
    pub urgency: Option<String>,
    /// Only those needing attention.
    pub needs_attention: bool,
}

/// A row of a list.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralSummary {
    /// Id.
    pub id: String,
    /// Status.
    pub status: String,
    /// Urgency.
    pub urgency: String,
    /// The person's name (not for administrators).
    pub name: Option<String>,
    /// Age.
    pub age: i32,
    /// Outward code.
    pub area: String,
    /// Practice id (the referring organisation).
    pub practice_id: String,
    /// Where it came from, for people: "GP practice", "Housing", "Self-referral".
    pub source: String,
    /// Owner id.
    pub owner_id: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// First contact.
    pub first_contact_at: Option<NaiveDateTime>,
    /// Review date.
    pub review_date: Option<NaiveDate>,
    /// Why this needs attention, if it does.
    pub attention: Option<String>,
    /// Referrals that joined this case: "Housing, 3 December".
    pub also_referred: Vec<String>,
    /// The case this referral joined, if it did.
    pub joined_case: Option<String>,
    /// Its flags, for those who may read its clinical text ("Lone-working caution: ...").
    pub flags: Vec<&'static str>,
}

/// Adds working days (Monday to Friday) to a moment.
pub fn add_working_days(start: NaiveDateTime, days: i64) -> NaiveDateTime {
    let mut at = start;
    let mut left = days;
    while left > 0 {
        at += Duration::days(1);
        if !matches!(at.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    at
}

/// Why a referral needs attention now, if it does.
pub fn attention(row: &ReferralRow, now: NaiveDateTime, rules: &super::Thresholds) -> Option<String> {
    match row.status.as_str() {
        "received" => Some("not yet accepted".into()),
        "accepted" | "contacting"
            if row.first_contact_at.is_none() && add_working_days(row.created_at, rules.first_contact_days) < now =>
        {
            Some(format!("no first contact within {} working days", rules.first_contact_days))
        }
        "in_progress" | "on_hold" if row.review_date.is_some_and(|d| d <= now.date()) => Some("review due".into()),
        _ => None,
    }
}

/// The referrals a caller may list: their practice's (referrers), their service's (link
/// workers and leads), all (admins). Entered-in-error and restricted referrals are left out.
pub fn list(
    conn: &mut DbConnection,
    user: &CurrentUser,
    filter: &ListFilter,
    rules: &super::Thresholds,
) -> Result<Vec<ReferralSummary>, AppError> {
    let mut query =
        referrals::table.select(ReferralRow::as_select()).filter(referrals::status.ne("entered_in_error")).into_boxed();
    // Restricted at the person's request: out of every named list until lifted.
    query = query.filter(diesel::dsl::not(referrals::id.eq_any(
        crate::db::schema::referral_restrictions::table.select(crate::db::schema::referral_restrictions::referral_id),
    )));
    query = match user.role {
        Role::Referrer => query.filter(referrals::practice_id.eq(user.organisation_id.clone())),
        // A referral that joined a case is seen on the case, not as a second one.
        Role::LinkWorker | Role::LinkWorkerLead => {
            query.filter(referrals::service_id.eq(user.organisation_id.clone())).filter(referrals::case_id.is_null())
        }
        Role::Admin => query,
        Role::GroupEditor => {
            return Err(AppError::Forbidden("community groups see introductions, not referrals".into()))
        }
    };
    if let Some(status) = &filter.status {
        query = query.filter(referrals::status.eq(status.clone()));
    }
    match filter.owner.as_deref() {
        Some("none") => query = query.filter(referrals::owner_id.is_null()),
        Some(owner) => query = query.filter(referrals::owner_id.eq(owner.to_string())),
        None => {}
    }
    if let Some(practice) = &filter.practice {
        query = query.filter(referrals::practice_id.eq(practice.clone()));
    }
    if let Some(urgency) = &filter.urgency {
        query = query.filter(referrals::urgency.eq(urgency.clone()));
    }
    if let Some(reason) = &filter.reason {
        let term = crate::directory::taxonomy::term_id(crate::directory::taxonomy::Vocabulary::ReferralReason, reason);
        let with_reason =
            referral_reasons::table.filter(referral_reasons::term_id.eq(term)).select(referral_reasons::referral_id);
        query = query.filter(referrals::id.eq_any(with_reason));
    }
    let rows: Vec<ReferralRow> = query.order(referrals::created_at.desc()).limit(1000).load(conn)?;
    let now = Utc::now().naive_utc();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let labels = super::matching::also_referred_labels(conn, &ids)?;
    let flag_kinds = super::risk_flags::kinds_for(conn, &ids)?;
    Ok(rows
        .iter()
        .map(|row| ReferralSummary {
            id: row.id.clone(),
            status: row.status.clone(),
            urgency: row.urgency.clone(),
            name: allows(user, Action::ViewPersonIdentity).then(|| format!("{} {}", row.given_name, row.family_name)),
            age: row.age_on(now.date()),
            area: row.outward_code.clone(),
            practice_id: row.practice_id.clone(),
            source: source_label(&row.source_kind),
            owner_id: row.owner_id.clone(),
            created_at: row.created_at,
            first_contact_at: row.first_contact_at,
            review_date: row.review_date,
            attention: attention(row, now, rules),
            also_referred: labels.iter().filter(|(case, _)| *case == row.id).map(|(_, l)| l.clone()).collect(),
            joined_case: row.case_id.clone(),
            flags: if allows(
                user,
                Action::ViewClinicalText { practice_id: &row.practice_id, service_id: &row.service_id },
            ) {
                let mut kinds: Vec<&str> =
                    flag_kinds.iter().filter(|(r, _)| *r == row.id).map(|(_, k)| k.as_str()).collect();
                kinds.sort_by_key(|k| super::risk_flags::position(k));
                kinds.dedup();
                kinds.into_iter().map(super::risk_flags::label).collect()
            } else {
                Vec::new()
            },
        })
        .filter(|s| !filter.needs_attention || s.attention.is_some())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::add_working_days;
    use chrono::NaiveDate;

    #[test]
    fn working_days_skip_weekends() {
        // Friday 2026-11-20 plus 5 working days is Friday 2026-11-27.
        let friday = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap().and_hms_opt(9, 0, 0).unwrap();
        assert_eq!(add_working_days(friday, 5).date(), NaiveDate::from_ymd_opt(2026, 11, 27).unwrap());
        assert_eq!(add_working_days(friday, 1).date(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
    }
}
