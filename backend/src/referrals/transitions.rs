//! Moving a referral: the status machine decides, the version the caller read must still be
//! current (optimistic concurrency: a stale change is refused, nothing overwritten), and the
//! move, its history row and its audit row commit together.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{load_visible, mover};
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::may_own_referral;
use crate::accounts::CurrentUser;
use crate::db::schema::{referral_events, referrals, users};
use crate::db::{self, DbConnection};
use crate::domain::referral_status::{check_move, MoveError, ReferralStatus};
use crate::error::AppError;
use crate::ids::ReferralId;

/// A requested move.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The status to move to.
    pub to: String,
    /// Why (required for rejected, on hold, cancelled).
    pub reason: Option<String>,
    /// A note (the closing summary for completed).
    pub note: Option<String>,
    /// The version the caller read.
    pub version: i32,
    /// On accepting: the link worker who owns it (defaults to the caller).
    pub owner_id: Option<String>,
}

/// Why a move could not be made; becomes 409 or 422.
pub fn refused(error: MoveError) -> AppError {
    match error {
        MoveError::NotAllowed { from, to, allowed } => AppError::Conflict {
            message: format!("a referral that is {from} cannot move to {to}"),
            allowed: allowed.iter().map(|s| s.as_str().to_string()).collect(),
        },
        MoveError::NotYourMove { .. } => AppError::Forbidden(error.to_string()),
        MoveError::ReasonRequired(_) => AppError::invalid("reason", error.to_string()),
        MoveError::NoteRequired(_) => AppError::invalid("note", error.to_string()),
    }
}

/// Makes the move; answers the new version.
pub fn apply(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    t: &Transition,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_visible(conn, user, id)?;
    crate::data_rights::check_not_restricted(conn, id)?;
    let to = ReferralStatus::parse(t.to.trim()).ok_or_else(|| AppError::invalid("to", "not a referral status"))?;
    let from = ReferralStatus::parse(&row.status)
        .ok_or_else(|| AppError::Internal(format!("stored status {}", row.status)))?;
    let who = mover(user).ok_or_else(|| AppError::Forbidden("community groups cannot move referrals".into()))?;
    if who == crate::domain::referral_status::Mover::LinkWorker && user.organisation_id != row.service_id {
        return Err(AppError::not_found("no referral with that id"));
    }
    for (field, value) in [("reason", &t.reason), ("note", &t.note)] {
        if value.as_deref().is_some_and(|v| v.chars().count() > 5000) {
            return Err(AppError::invalid(field, "at most 5000 characters"));
        }
    }
    check_move(from, to, who, t.reason.as_deref(), t.note.as_deref()).map_err(refused)?;
    if t.version != row.version {
        return Err(stale(row.version));
    }
    let owner = if to == ReferralStatus::Accepted {
        let owner = t.owner_id.clone().unwrap_or_else(|| user.id.clone());
        let ok: Option<(String, String)> =
            users::table.find(&owner).select((users::organization_id, users::role)).first(conn).optional()?;
        let is_worker = ok.is_some_and(|(org, role)| may_own_referral(&org, &role, &row.service_id));
        if !is_worker {
            return Err(AppError::invalid("owner_id", "must be a link worker of this service"));
        }
        Some(owner)
    } else {
        row.owner_id.clone()
    };
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<i32, AppError> {
        // Only if nobody changed it since it was read: two link workers accepting at once
        // cannot both win.
        let updated =
            diesel::update(referrals::table.filter(referrals::id.eq(id)).filter(referrals::version.eq(t.version)))
                .set((
                    referrals::status.eq(to.as_str()),
                    referrals::owner_id.eq(&owner),
                    referrals::version.eq(t.version + 1),
                    referrals::updated_at.eq(now),
                ))
                .execute(conn)?;
        if updated != 1 {
            return Err(stale(t.version + 1));
        }
        diesel::insert_into(referral_events::table)
            .values((
                referral_events::referral_id.eq(id),
                referral_events::at.eq(now),
                referral_events::actor_id.eq(&user.id),
                referral_events::from_status.eq(Some(from.as_str())),
                referral_events::to_status.eq(to.as_str()),
                referral_events::reason.eq(t.reason.as_deref().map(str::trim)),
                referral_events::note.eq(t.note.as_deref().map(str::trim)),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.transition", ip).on("referral", id).detail(to.as_str()))?;
        crate::notifications::events::referral_moved(conn, id, to, t.reason.as_deref())?;
        Ok(t.version + 1)
    })
}

/// The answer to a stale version.
pub fn stale(current: i32) -> AppError {
    AppError::Conflict {
        message: format!("someone else changed this referral since you read it (it is now at version {current}); reload it and try again"),
        allowed: Vec::new(),
    }
}

/// A change of owner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The link worker who takes it over.
    pub owner_id: String,
    /// The version the caller read.
    pub version: i32,
}

/// Assigns or reassigns a referral to a link worker of its service (recorded in the timeline).
pub fn assign(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    a: &Assignment,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = super::load_workable(conn, user, id)?;
    let status = ReferralStatus::parse(&row.status)
        .ok_or_else(|| AppError::Internal(format!("stored status {}", row.status)))?;
    if status == ReferralStatus::Received || status.is_terminal() {
        return Err(AppError::Conflict {
            message: format!("a referral that is {status} cannot be assigned (accept it first)"),
            allowed: Vec::new(),
        });
    }
    let owner: Option<(String, String, String)> = users::table
        .find(&a.owner_id)
        .select((users::organization_id, users::role, users::name))
        .first(conn)
        .optional()?;
    let Some((_, _, name)) = owner.filter(|(org, role, _)| may_own_referral(org, role, &row.service_id)) else {
        return Err(AppError::invalid("owner_id", "must be a link worker of this service"));
    };
    if a.version != row.version {
        return Err(stale(row.version));
    }
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<i32, AppError> {
        let updated =
            diesel::update(referrals::table.filter(referrals::id.eq(id)).filter(referrals::version.eq(a.version)))
                .set((
                    referrals::owner_id.eq(Some(&a.owner_id)),
                    referrals::version.eq(a.version + 1),
                    referrals::updated_at.eq(now),
                ))
                .execute(conn)?;
        if updated != 1 {
            return Err(stale(a.version + 1));
        }
        diesel::insert_into(referral_events::table)
            .values((
                referral_events::referral_id.eq(id),
                referral_events::at.eq(now),
                referral_events::actor_id.eq(&user.id),
                referral_events::from_status.eq(Some(status.as_str())),
                referral_events::to_status.eq(status.as_str()),
                referral_events::note.eq(Some(format!("Assigned to {name}"))),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.assign", ip).on("referral", id))?;
        Ok(a.version + 1)
    })
}
