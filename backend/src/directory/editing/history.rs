//! A listing's history: each version, who made it, when, and what changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::load_editable;
use crate::accounts::CurrentUser;
use crate::db::schema::{service_versions, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::ServiceId;

/// One version in a listing's history.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    /// Version number.
    pub version: i32,
    /// When.
    pub at: NaiveDateTime,
    /// Who, by name.
    pub by: String,
    /// `edit`, `verify` or `revert`.
    pub kind: String,
    /// Field to [before, after].
    pub changes: Value,
}

/// The history of a listing, newest first (its editors and admins).
pub fn history(conn: &mut DbConnection, user: &CurrentUser, id: &ServiceId) -> Result<Vec<VersionView>, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    load_editable(conn, user, id)?;
    let rows: Vec<(i32, NaiveDateTime, String, String, String)> = service_versions::table
        .inner_join(users::table.on(users::id.eq(service_versions::actor_id)))
        .filter(service_versions::service_id.eq(id))
        .order(service_versions::version.desc())
        .select((
            service_versions::version,
            service_versions::at,
            users::name,
            service_versions::kind,
            service_versions::changes,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(version, at, by, kind, changes)| VersionView {
            version,
            at,
            by,
            kind,
            changes: serde_json::from_str(&changes).unwrap_or(Value::Null),
        })
        .collect())
}
