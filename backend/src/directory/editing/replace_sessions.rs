//! Replacing a listing's sessions: checked like a new listing's, saved as one version with the
//! sessions before and after in words.

use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::{load_editable, record_version, saved_once, stale};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::services;
use crate::db::{self, DbConnection};
use crate::directory::sessions::{self, NewSession};
use crate::directory::{listing, outbox, taxonomy};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::ServiceId;

/// New sessions for a listing, replacing the old ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsEdit {
    /// The version the editor read.
    pub version: i32,
    /// The sessions (none: "get in touch to arrange").
    pub sessions: Vec<NewSession>,
}

/// Replaces a listing's sessions; answers the new version.
pub fn replace_sessions(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ServiceId,
    e: &SessionsEdit,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    use crate::db::schema::schedules;
    let row = load_editable(conn, user, id)?;
    let mut errors = FieldErrors::new();
    let parsed = sessions::check_sessions(&e.sessions, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if e.version != row.version {
        return Err(stale(conn, id, row.version, e.version)?);
    }
    let taxonomy = taxonomy::Taxonomy::load(conn)?;
    let before: Vec<String> = listing::load(conn, id, &taxonomy)?
        .map(|l| l.schedules.iter().map(|s| sessions::session_line(&s.description, s.notes.as_deref())).collect())
        .unwrap_or_default();
    let after: Vec<String> = parsed.iter().map(sessions::CheckedSession::line).collect();
    if before == after {
        return Ok(row.version);
    }
    let now = Utc::now().naive_utc();
    let next = row.version + 1;
    db::write(conn, |conn| -> Result<i32, AppError> {
        let updated =
            diesel::update(services::table.filter(services::id.eq(id)).filter(services::version.eq(row.version)))
                .set((services::version.eq(next), services::updated_at.eq(now)))
                .execute(conn)?;
        saved_once(updated)?;
        diesel::delete(schedules::table.filter(schedules::service_id.eq(id))).execute(conn)?;
        sessions::insert_sessions(conn, id, &parsed)?;
        record_version(conn, id, next, now, user, "edit", &json!({"sessions": [before, after]}))?;
        outbox::enqueue(conn, id)?;
        audit::record(conn, &Event::by(user, "listing.edit", ip).on("service", id).detail("sessions"))?;
        Ok(next)
    })
}
