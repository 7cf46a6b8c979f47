//! The person's data rights under UK GDPR, for admins and the service's lead (see
//! [`crate::accounts::policy`]), each audited:
//!
//! - access ([`access`]): everything held about a person, found by NHS number or by name and
//!   date of birth, as a printable page and a JSON file, with who viewed each record and the
//!   notifications sent;
//! - rectification, restriction, consent withdrawn and erasure ([`actions`]);
//! - removing a referral's personal data while keeping what reports count ([`anonymise`]),
//!   used by erasure and by retention.
//!
//! A referral the caller may not exercise rights on answers 404, as if it did not exist.

pub mod access;
pub mod actions;
pub mod anonymise;

use diesel::prelude::*;

use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::db::schema::{referral_anonymisations, referral_restrictions, referrals};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::referrals::model::ReferralRow;

/// Refuses, as "not found", anyone who may not exercise data rights at all.
pub fn check_allowed(user: &CurrentUser) -> Result<(), AppError> {
    if allows(user, Action::ExerciseDataRights { service_id: None }) {
        Ok(())
    } else {
        Err(AppError::not_found("there is nothing here for you"))
    }
}

/// Loads a referral the caller may exercise the person's rights on, or answers 404.
pub fn load(conn: &mut DbConnection, user: &CurrentUser, id: &str) -> Result<ReferralRow, AppError> {
    let row: Option<ReferralRow> = referrals::table.find(id).select(ReferralRow::as_select()).first(conn).optional()?;
    match row {
        Some(row) if allows(user, Action::ExerciseDataRights { service_id: Some(&row.service_id) }) => Ok(row),
        _ => Err(AppError::not_found("no referral with that id")),
    }
}

/// Whether a referral is restricted (frozen until the restriction is lifted).
pub fn is_restricted(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    Ok(referral_restrictions::table.find(id).count().get_result::<i64>(conn)? > 0)
}

/// Whether a referral's personal data has been removed.
pub fn is_anonymised(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    Ok(referral_anonymisations::table.find(id).count().get_result::<i64>(conn)? > 0)
}

/// The answer for a change to a restricted referral: it is read-only until lifted.
pub fn frozen() -> AppError {
    AppError::Conflict {
        message: "this referral is restricted at the person's request: it is read-only until the restriction is \
                  lifted"
            .into(),
        allowed: Vec::new(),
    }
}

/// Refuses a change to a restricted referral.
pub fn check_not_restricted(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    if is_restricted(conn, id)? {
        Err(frozen())
    } else {
        Ok(())
    }
}

/// Who viewed or changed a referral, for admins and its service's lead (audited as read).
pub fn viewings(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &crate::ids::ReferralId,
    ip: Option<&str>,
) -> Result<Vec<access::Viewing>, AppError> {
    let row = load(conn, user, id.as_str())?;
    let list = access::viewings(conn, &row)?;
    crate::accounts::audit::record(
        conn,
        &crate::accounts::audit::Event::by(user, "data_rights.viewings", ip).on("referral", &row.id),
    )?;
    Ok(list)
}
