//! "Still accurate": an editor confirms a listing as it is, which moves its last verified date
//! (and its search ranking) on.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;

use super::{load_editable, record_version, saved_once};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::services;
use crate::db::{self, DbConnection};
use crate::directory::outbox;
use crate::error::AppError;
use crate::ids::ServiceId;

/// "Still accurate": sets last verified to now (a change for search ranking too).
pub fn verify(conn: &mut DbConnection, user: &CurrentUser, id: &ServiceId, ip: Option<&str>) -> Result<i32, AppError> {
    verify_version(conn, user, id, None, "listing.verify", ip)
}

/// "Still accurate", only while the listing is at `expected` (when given): what a signed link
/// from a reminder does, so it works once and not after the listing changed. `action` names it
/// in the audit trail.
pub fn verify_version(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ServiceId,
    expected: Option<i32>,
    action: &'static str,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_editable(conn, user, id)?;
    if expected.is_some_and(|v| v != row.version) {
        return Err(AppError::Conflict {
            message: "This listing has been confirmed or changed since this link was sent. Nothing has been changed."
                .into(),
            allowed: Vec::new(),
        });
    }
    let now = Utc::now().naive_utc();
    let next = row.version + 1;
    db::write(conn, |conn| -> Result<i32, AppError> {
        // "Still accurate" needs no form version, but two at once must not both write `next`.
        let updated =
            diesel::update(services::table.filter(services::id.eq(id)).filter(services::version.eq(row.version)))
                .set((services::last_verified.eq(now), services::version.eq(next), services::updated_at.eq(now)))
                .execute(conn)?;
        saved_once(updated)?;
        record_version(conn, id, next, now, user, "verify", &json!({"last_verified": [row.last_verified, now]}))?;
        outbox::enqueue(conn, id)?;
        audit::record(conn, &Event::by(user, action, ip).on("service", id))?;
        Ok(next)
    })
}
