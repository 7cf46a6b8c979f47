//! The link worker's work on a referral: contact attempts, notes (never shown to groups or the
//! practice), outcome measures, and the plan (every save a new version).

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{load_workable, text_field};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::{contact_attempts, outcome_measures, referral_notes, referral_plans, referrals, users};
use crate::db::{self, DbConnection};
use crate::domain::measures::{Ons4, Swemwbs};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::ReferralId;

/// A contact attempt.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct AttemptView {
    /// When.
    pub at: NaiveDateTime,
    /// How.
    pub method: String,
    /// What happened.
    pub outcome: String,
    /// Note.
    pub note: Option<String>,
}

/// A note.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct NoteView {
    /// When.
    pub at: NaiveDateTime,
    /// Who, by name.
    pub author: String,
    /// What.
    pub body: String,
}

/// The plan (latest version).
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct PlanView {
    /// Version, from 1.
    pub version: i32,
    /// What matters to me.
    pub what_matters: String,
    /// My goals, in my words.
    pub goals: String,
    /// Agreed actions.
    pub actions: String,
    /// Review date.
    pub review_date: Option<NaiveDate>,
    /// Saved at.
    pub at: NaiveDateTime,
}

/// The work visible to link workers.
#[derive(Debug, Clone, Serialize)]
pub struct WorkView {
    /// Contact attempts, oldest first.
    pub contact_attempts: Vec<AttemptView>,
    /// Failed attempts so far.
    pub failed_attempts: usize,
    /// Whether to offer "unable to contact".
    pub offer_unable_to_contact: bool,
    /// Notes, oldest first.
    pub notes: Vec<NoteView>,
    /// The plan.
    pub plan: Option<PlanView>,
}

/// Loads the work on a referral.
pub fn load(conn: &mut DbConnection, id: &str, rules: &super::Thresholds) -> QueryResult<WorkView> {
    let attempts: Vec<AttemptView> = contact_attempts::table
        .filter(contact_attempts::referral_id.eq(id))
        .order(contact_attempts::at)
        .select((contact_attempts::at, contact_attempts::method, contact_attempts::outcome, contact_attempts::note))
        .load(conn)?;
    let failed = attempts.iter().filter(|a| a.outcome != "reached").count();
    let reached = attempts.iter().any(|a| a.outcome == "reached");
    let notes = referral_notes::table
        .inner_join(users::table.on(users::id.eq(referral_notes::author_id)))
        .filter(referral_notes::referral_id.eq(id))
        .order(referral_notes::at)
        .select((referral_notes::at, users::name, referral_notes::body))
        .load(conn)?;
    Ok(WorkView {
        offer_unable_to_contact: !reached && failed >= rules.contact_attempts,
        failed_attempts: failed,
        contact_attempts: attempts,
        notes,
        plan: plan(conn, id)?,
    })
}

/// The latest plan.
pub fn plan(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PlanView>> {
    referral_plans::table
        .filter(referral_plans::referral_id.eq(id))
        .order(referral_plans::version.desc())
        .select((
            referral_plans::version,
            referral_plans::what_matters,
            referral_plans::goals,
            referral_plans::actions,
            referral_plans::review_date,
            referral_plans::at,
        ))
        .first(conn)
        .optional()
}

/// A contact attempt to log.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewAttempt {
    /// `phone`, `text`, `email`, `letter`, `visit`.
    pub method: String,
    /// `reached`, `no_answer`, `left_message`, `wrong_number`, `declined_to_talk`.
    pub outcome: String,
    /// Note.
    pub note: Option<String>,
}

/// Logs a contact attempt; the first one that reaches the person sets first contact.
pub fn add_attempt(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewAttempt,
    rules: &super::Thresholds,
    ip: Option<&str>,
) -> Result<WorkView, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_workable(conn, user, id)?;
    let mut errors = FieldErrors::new();
    if !matches!(new.method.as_str(), "phone" | "text" | "email" | "letter" | "visit") {
        errors.insert("method".into(), "must be phone, text, email, letter or visit".into());
    }
    if !matches!(new.outcome.as_str(), "reached" | "no_answer" | "left_message" | "wrong_number" | "declined_to_talk") {
        errors.insert(
            "outcome".into(),
            "must be reached, no_answer, left_message, wrong_number or declined_to_talk".into(),
        );
    }
    let note = text_field(&mut errors, "note", new.note.as_deref(), false, 2000);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(contact_attempts::table)
            .values((
                contact_attempts::id.eq(crate::ids::new_id()),
                contact_attempts::referral_id.eq(id),
                contact_attempts::at.eq(now),
                contact_attempts::method.eq(&new.method),
                contact_attempts::outcome.eq(&new.outcome),
                contact_attempts::note.eq(&note),
                contact_attempts::by_id.eq(&user.id),
            ))
            .execute(conn)?;
        if new.outcome == "reached" && row.first_contact_at.is_none() {
            diesel::update(referrals::table.find(id)).set(referrals::first_contact_at.eq(Some(now))).execute(conn)?;
        }
        audit::record(conn, &Event::by(user, "referral.contact_attempt", ip).on("referral", id).detail(&new.outcome))?;
        Ok(())
    })?;
    Ok(load(conn, id, rules)?)
}

/// A note to add.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// The note.
    pub body: String,
}

/// Adds a note.
pub fn add_note(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewNote,
    rules: &super::Thresholds,
    ip: Option<&str>,
) -> Result<WorkView, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    load_workable(conn, user, id)?;
    let mut errors = FieldErrors::new();
    let body = text_field(&mut errors, "body", Some(&new.body), true, 10_000);
    let Some(body) = body else { return Err(AppError::Invalid(errors)) };
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(referral_notes::table)
            .values((
                referral_notes::id.eq(crate::ids::new_id()),
                referral_notes::referral_id.eq(id),
                referral_notes::at.eq(Utc::now().naive_utc()),
                referral_notes::author_id.eq(&user.id),
                referral_notes::body.eq(&body),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.note", ip).on("referral", id))?;
        Ok(())
    })?;
    Ok(load(conn, id, rules)?)
}

/// A measure to record.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewMeasure {
    /// `ons4` or `swemwbs`.
    pub instrument: String,
    /// `baseline` or `follow_up`.
    pub timepoint: String,
    /// The answers in order (ONS4: four 0-10; SWEMWBS: seven 1-5).
    pub answers: Vec<i64>,
}

/// One recorded measure.
#[derive(Debug, Clone, Serialize)]
pub struct MeasureView {
    /// `ons4` or `swemwbs`.
    pub instrument: String,
    /// `baseline` or `follow_up`.
    pub timepoint: String,
    /// Answers.
    pub answers: Vec<u8>,
    /// ONS4 bands per item.
    pub bands: Option<Vec<crate::domain::measures::Ons4Band>>,
    /// SWEMWBS metric score.
    pub score: Option<f64>,
    /// When.
    pub at: NaiveDateTime,
}

/// Measures and their change.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MeasuresView {
    /// Every measure recorded.
    pub recorded: Vec<MeasureView>,
    /// ONS4 change per item (follow-up minus baseline), when both exist.
    pub ons4_change: Option<[i8; 4]>,
    /// SWEMWBS metric change, when both exist.
    pub swemwbs_change: Option<f64>,
}

/// Loads the measures of a referral and works out the change.
pub fn measures(conn: &mut DbConnection, id: &str) -> QueryResult<MeasuresView> {
    let rows: Vec<(String, String, String, Option<f64>, NaiveDateTime)> = outcome_measures::table
        .filter(outcome_measures::referral_id.eq(id))
        .order(outcome_measures::at)
        .select((
            outcome_measures::instrument,
            outcome_measures::timepoint,
            outcome_measures::answers,
            outcome_measures::score,
            outcome_measures::at,
        ))
        .load(conn)?;
    let mut view = MeasuresView::default();
    let (mut ons_base, mut ons_follow, mut sw_base, mut sw_follow) = (None, None, None, None);
    for (instrument, timepoint, answers, score, at) in rows {
        let values: Vec<i64> = answers.split(',').filter_map(|a| a.trim().parse().ok()).collect();
        let bands = if instrument == "ons4" {
            let parsed = Ons4::from_answers(&values).ok();
            if let Some(p) = parsed {
                if timepoint == "baseline" {
                    ons_base = Some(p);
                } else {
                    ons_follow = Some(p);
                }
            }
            parsed.map(|p| p.bands().to_vec())
        } else {
            if timepoint == "baseline" {
                sw_base = score;
            } else {
                sw_follow = score;
            }
            None
        };
        view.recorded.push(MeasureView {
            instrument,
            timepoint,
            answers: values.iter().map(|v| *v as u8).collect(),
            bands,
            score,
            at,
        });
    }
    if let (Some(b), Some(f)) = (ons_base, ons_follow) {
        view.ons4_change = Some(f.change_from(&b));
    }
    if let (Some(b), Some(f)) = (sw_base, sw_follow) {
        view.swemwbs_change = Some(((f - b) * 100.0).round() / 100.0);
    }
    Ok(view)
}

/// Records a measure (checked and scored).
pub fn add_measure(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewMeasure,
    ip: Option<&str>,
) -> Result<MeasuresView, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    load_workable(conn, user, id)?;
    if !matches!(new.timepoint.as_str(), "baseline" | "follow_up") {
        return Err(AppError::invalid("timepoint", "must be baseline or follow_up"));
    }
    let score = match new.instrument.as_str() {
        "ons4" => {
            Ons4::from_answers(&new.answers).map_err(|e| AppError::invalid("answers", e.to_string()))?;
            None
        }
        "swemwbs" => {
            Some(Swemwbs::from_answers(&new.answers).map_err(|e| AppError::invalid("answers", e.to_string()))?.metric)
        }
        _ => return Err(AppError::invalid("instrument", "must be ons4 or swemwbs")),
    };
    let answers = new.answers.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(outcome_measures::table)
            .values((
                outcome_measures::id.eq(crate::ids::new_id()),
                outcome_measures::referral_id.eq(id),
                outcome_measures::at.eq(Utc::now().naive_utc()),
                outcome_measures::instrument.eq(&new.instrument),
                outcome_measures::timepoint.eq(&new.timepoint),
                outcome_measures::answers.eq(&answers),
                outcome_measures::score.eq(score),
                outcome_measures::by_id.eq(&user.id),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.measure", ip).on("referral", id).detail(&new.instrument))?;
        Ok(())
    })?;
    Ok(measures(conn, id)?)
}

/// The plan to save.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// What matters to me.
    pub what_matters: String,
    /// My goals.
    pub goals: String,
    /// Agreed actions.
    pub actions: String,
    /// `YYYY-MM-DD`.
    pub review_date: Option<String>,
    /// The plan version the caller read (0 when there was none).
    pub version: i32,
}

/// Saves the plan as a new version (refused when someone saved in between).
pub fn save_plan(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewPlan,
    ip: Option<&str>,
) -> Result<PlanView, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    load_workable(conn, user, id)?;
    let mut errors = FieldErrors::new();
    let what_matters = text_field(&mut errors, "what_matters", Some(&new.what_matters), true, 5000);
    let goals = text_field(&mut errors, "goals", Some(&new.goals), true, 5000);
    let actions = text_field(&mut errors, "actions", Some(&new.actions), true, 5000);
    let review_date = match new.review_date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if d < Utc::now().date_naive() => {
                errors.insert("review_date".into(), "is in the past".into());
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.insert("review_date".into(), "enter a date like 2027-01-31".into());
                None
            }
        },
    };
    let (Some(what_matters), Some(goals), Some(actions)) = (what_matters, goals, actions) else {
        return Err(AppError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let current = plan(conn, id)?.map_or(0, |p| p.version);
    if new.version != current {
        return Err(AppError::Conflict {
            message: format!("the plan was changed by someone else (now version {current}); reload it"),
            allowed: Vec::new(),
        });
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(referral_plans::table)
            .values((
                referral_plans::id.eq(crate::ids::new_id()),
                referral_plans::referral_id.eq(id),
                referral_plans::version.eq(current + 1),
                referral_plans::what_matters.eq(&what_matters),
                referral_plans::goals.eq(&goals),
                referral_plans::actions.eq(&actions),
                referral_plans::review_date.eq(review_date),
                referral_plans::author_id.eq(&user.id),
                referral_plans::at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        diesel::update(referrals::table.find(id))
            .set((referrals::review_date.eq(review_date), referrals::what_matters.eq(Some(&what_matters))))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.plan", ip).on("referral", id))?;
        Ok(())
    })?;
    plan(conn, id)?.ok_or_else(|| AppError::Internal("plan not saved".into()))
}
