//! Connecting a person to community assets, and the loop with the group: the link worker
//! suggests and introduces; the group's editors see the introduction (the person's first name
//! and contact details only with consent to share) and answer; either records attendance.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{load_workable, text_field};
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::db::schema::{connection_events, connections, referral_restrictions, referrals, services};
use crate::db::{self, DbConnection};
use crate::domain::connection_status::{ConnectionMover, ConnectionStatus};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::{ConnectionId, ReferralId};

/// A connection as the link worker and the practice see it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    /// Id.
    pub id: String,
    /// The community asset.
    pub service_id: String,
    /// Its name.
    pub service_name: String,
    /// Status.
    pub status: String,
    /// The link worker's note.
    pub note: Option<String>,
    /// Version, for changes.
    pub version: i32,
    /// When introduced.
    pub introduced_at: Option<NaiveDateTime>,
    /// When the group answered.
    pub answered_at: Option<NaiveDateTime>,
    /// Introduced and unanswered for too long.
    pub overdue: bool,
    /// The link worker's note to the person (shown on their own page).
    pub note_for_person: Option<String>,
    /// The person's answer from their own page: `try` or `not_for_me`.
    pub person_choice: Option<String>,
    /// Their reason for "not for me" (a code of `person::page::NOT_FOR_ME_REASONS`).
    pub person_reason: Option<String>,
    /// In their own words.
    pub person_words: Option<String>,
    /// When they answered.
    pub person_answered_at: Option<NaiveDateTime>,
    /// When the group was reminded of the unanswered introduction.
    pub reminded_at: Option<NaiveDateTime>,
    /// When the link worker was told the group had still not answered (the introduction is
    /// marked from then on).
    pub link_worker_told_at: Option<NaiveDateTime>,
}

type ConnectionTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    i32,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn overdue(status: &str, introduced: Option<NaiveDateTime>, days: i64) -> bool {
    status == "introduced" && introduced.is_some_and(|at| (Utc::now().naive_utc() - at).num_days() >= days)
}

fn view(
    (
        id,
        service_id,
        service_name,
        status,
        note,
        version,
        introduced_at,
        answered_at,
        note_for_person,
        person_choice,
        person_reason,
        person_words,
        person_answered_at,
        reminded_at,
        told_at,
    ): ConnectionTuple,
    days: i64,
) -> ConnectionView {
    ConnectionView {
        note_for_person,
        person_choice,
        person_reason,
        person_words,
        person_answered_at,
        overdue: overdue(&status, introduced_at, days),
        reminded_at,
        link_worker_told_at: told_at,
        id,
        service_id,
        service_name,
        status,
        note,
        version,
        introduced_at,
        answered_at,
    }
}

/// The connections of a referral.
pub fn for_referral(
    conn: &mut DbConnection,
    referral_id: &str,
    rules: &super::Thresholds,
) -> QueryResult<Vec<ConnectionView>> {
    let rows: Vec<ConnectionTuple> = connections::table
        .inner_join(services::table)
        .filter(connections::referral_id.eq(referral_id))
        .order(connections::created_at)
        .select((
            connections::id,
            connections::service_id,
            services::name,
            connections::status,
            connections::note,
            connections::version,
            connections::introduced_at,
            connections::answered_at,
            connections::note_for_person,
            connections::person_choice,
            connections::person_reason,
            connections::person_words,
            connections::person_answered_at,
            connections::reminded_at,
            connections::link_worker_told_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|row| view(row, rules.introduction_days)).collect())
}

/// A connection to add.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// The community asset (a directory service id).
    pub service_id: String,
    /// A note for the group (what the link worker wants them to know).
    pub note: Option<String>,
    /// A note for the person, shown on their own page ("you said you liked being outdoors").
    pub note_for_person: Option<String>,
}

/// Adds a suggested connection.
pub fn add(
    conn: &mut DbConnection,
    user: &CurrentUser,
    referral_id: &ReferralId,
    new: &NewConnection,
    ip: Option<&str>,
) -> Result<ConnectionView, AppError> {
    // Checked where it came in; the queries below take its text.
    let referral_id = referral_id.as_str();
    load_workable(conn, user, referral_id)?;
    let mut errors = FieldErrors::new();
    let note = text_field(&mut errors, "note", new.note.as_deref(), false, 2000);
    let note_for_person = text_field(&mut errors, "note_for_person", new.note_for_person.as_deref(), false, 500);
    let exists = crate::ids::is_id(&new.service_id)
        && services::table.find(&new.service_id).count().get_result::<i64>(conn)? > 0;
    if !exists {
        errors.insert("service_id".into(), "no listing with that id".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let id = crate::ids::new_id();
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(connections::table)
            .values((
                connections::id.eq(&id),
                connections::referral_id.eq(referral_id),
                connections::service_id.eq(&new.service_id),
                connections::status.eq("suggested"),
                connections::note.eq(&note),
                connections::note_for_person.eq(&note_for_person),
                connections::created_at.eq(now),
                connections::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(connection_events::table)
            .values((
                connection_events::connection_id.eq(&id),
                connection_events::at.eq(now),
                connection_events::actor_id.eq(&user.id),
                connection_events::to_status.eq("suggested"),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "connection.create", ip).on("connection", &id))?;
        Ok(())
    })?;
    for_referral(conn, referral_id, &super::Thresholds::default())?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::Internal("connection not saved".into()))
}

/// A requested move of a connection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionTransition {
    /// The status to move to.
    pub to: String,
    /// Why (required to decline).
    pub reason: Option<String>,
    /// The version the caller read.
    pub version: i32,
}

/// Moves a connection; the link worker of the referral's service or an editor of the group.
pub fn transition(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ConnectionId,
    t: &ConnectionTransition,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row: Option<(String, String, i32, String, String)> = connections::table
        .inner_join(services::table)
        .inner_join(referrals::table.on(referrals::id.eq(connections::referral_id)))
        .filter(connections::id.eq(id))
        .select((
            connections::status,
            referrals::service_id,
            connections::version,
            services::organization_id,
            connections::referral_id,
        ))
        .first(conn)
        .optional()?;
    let not_found = || AppError::not_found("no connection with that id");
    let Some((status, referral_service, version, group_org, referral_id)) = row else { return Err(not_found()) };
    let mover = if allows(user, Action::WorkReferral { service_id: &referral_service }) {
        ConnectionMover::LinkWorker
    } else if allows(user, Action::AnswerIntroductions { organisation_id: &group_org })
        && !matches!(status.as_str(), "suggested" | "withdrawn")
    {
        ConnectionMover::Group
    } else {
        return Err(not_found());
    };
    // A restricted referral is out of the group's sight (gone, as if it never was) and frozen
    // for its link workers.
    if crate::data_rights::is_restricted(conn, &referral_id)? {
        return Err(if mover == ConnectionMover::Group { not_found() } else { crate::data_rights::frozen() });
    }
    let from = ConnectionStatus::parse(&status).ok_or_else(|| AppError::Internal(format!("stored status {status}")))?;
    let to = ConnectionStatus::parse(t.to.trim()).ok_or_else(|| AppError::invalid("to", "not a connection status"))?;
    if !from.allowed_moves().contains(&to) {
        return Err(AppError::Conflict {
            message: format!("a connection that is {} cannot move to {}", from.as_str(), to.as_str()),
            allowed: from.allowed_moves().iter().map(|s| s.as_str().to_string()).collect(),
        });
    }
    if !to.moved_by().contains(&mover) {
        return Err(AppError::Forbidden(format!(
            "{} is for the {} to set",
            to.as_str(),
            if mover == ConnectionMover::Group { "link worker" } else { "group" }
        )));
    }
    let reason = t.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if to.needs_reason() && reason.is_none() {
        return Err(AppError::invalid("reason", "say why the group cannot take this person"));
    }
    if reason.is_some_and(|r| r.chars().count() > 2000) {
        return Err(AppError::invalid("reason", "at most 2000 characters"));
    }
    if t.version != version {
        return Err(AppError::Conflict {
            message: "someone else changed this connection; reload it".into(),
            allowed: Vec::new(),
        });
    }
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<i32, AppError> {
        let introduced = (to == ConnectionStatus::Introduced).then_some(now);
        let answered =
            matches!(to, ConnectionStatus::Accepted | ConnectionStatus::Waitlisted | ConnectionStatus::Declined)
                .then_some(now);
        let updated =
            diesel::update(connections::table.filter(connections::id.eq(id)).filter(connections::version.eq(version)))
                .set((
                    connections::status.eq(to.as_str()),
                    connections::version.eq(version + 1),
                    connections::updated_at.eq(now),
                ))
                .execute(conn)?;
        if updated != 1 {
            return Err(AppError::Conflict {
                message: "someone else changed this connection; reload it".into(),
                allowed: Vec::new(),
            });
        }
        if let Some(at) = introduced {
            diesel::update(connections::table.find(id)).set(connections::introduced_at.eq(Some(at))).execute(conn)?;
        }
        if let Some(at) = answered {
            diesel::update(connections::table.find(id)).set(connections::answered_at.eq(Some(at))).execute(conn)?;
        }
        diesel::insert_into(connection_events::table)
            .values((
                connection_events::connection_id.eq(id),
                connection_events::at.eq(now),
                connection_events::actor_id.eq(&user.id),
                connection_events::from_status.eq(Some(from.as_str())),
                connection_events::to_status.eq(to.as_str()),
                connection_events::reason.eq(reason),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "connection.transition", ip).on("connection", id).detail(to.as_str()))?;
        if to == ConnectionStatus::Introduced {
            crate::notifications::events::introduced(conn, id, version + 1)?;
        }
        Ok(version + 1)
    })
}

/// An introduction as the group sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Introduction {
    /// Connection id.
    pub id: String,
    /// The group's listing.
    pub service_name: String,
    /// Status.
    pub status: String,
    /// Version, for answering.
    pub version: i32,
    /// What the link worker wrote.
    pub note: Option<String>,
    /// First name, only with consent to share.
    pub first_name: Option<String>,
    /// Phone, only with consent to share (and not "do not contact directly").
    pub phone: Option<String>,
    /// E-mail, likewise.
    pub email: Option<String>,
    /// When introduced.
    pub introduced_at: Option<NaiveDateTime>,
    /// Unanswered for too long.
    pub overdue: bool,
    /// When the link worker was told the group had not answered.
    pub link_worker_told_at: Option<NaiveDateTime>,
}

/// The introductions to a group editor's organisation's services (never suggestions).
pub fn introductions(
    conn: &mut DbConnection,
    user: &CurrentUser,
    rules: &super::Thresholds,
) -> Result<Vec<Introduction>, AppError> {
    if !allows(user, Action::ViewIntroductions) {
        return Err(AppError::Forbidden("introductions are for community group editors".into()));
    }
    type Row = (
        String,
        String,
        String,
        i32,
        Option<String>,
        Option<NaiveDateTime>,
        bool,
        bool,
        String,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = connections::table
        .inner_join(services::table)
        .inner_join(referrals::table.on(referrals::id.eq(connections::referral_id)))
        .filter(services::organization_id.eq(&user.organisation_id))
        // Only what was introduced: never a suggestion, or one withdrawn before it went out.
        .filter(
            connections::status.ne_all([ConnectionStatus::Suggested.as_str(), ConnectionStatus::Withdrawn.as_str()]),
        )
        .filter(referrals::status.ne("entered_in_error"))
        .filter(diesel::dsl::not(
            referrals::id.eq_any(referral_restrictions::table.select(referral_restrictions::referral_id)),
        ))
        .order(connections::introduced_at.desc())
        .select((
            connections::id,
            services::name,
            connections::status,
            connections::version,
            connections::note,
            connections::introduced_at,
            referrals::consent_share,
            referrals::do_not_contact_directly,
            referrals::given_name,
            referrals::phone,
            referrals::email,
            connections::link_worker_told_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                service_name,
                status,
                version,
                note,
                introduced_at,
                consent,
                no_direct,
                given,
                phone,
                email,
                told,
            )| {
                let days = rules.introduction_days;
                let share = consent && !no_direct;
                Introduction {
                    overdue: overdue(&status, introduced_at, days),
                    id,
                    service_name,
                    status,
                    version,
                    note,
                    first_name: consent.then_some(given),
                    phone: if share { phone } else { None },
                    email: if share { email } else { None },
                    introduced_at,
                    link_worker_told_at: told,
                }
            },
        )
        .collect())
}
