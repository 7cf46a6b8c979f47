//! Community groups keep their listings true: edits (versioned, with what changed, refused when
//! stale and shown what the other person changed), the one-click "still accurate", the history,
//! going back to a version, replacing sessions, merging duplicates and the lists of listings
//! that need review; one use-case a file. Every change goes to the search outbox in its
//! transaction, so search reflects it within a second. This module holds what they share:
//! loading a listing its editor may change, the version row and the answer to a stale edit.

mod areas;
mod edit;
mod history;
mod lists;
mod merge;
mod replace_sessions;
mod revert;
mod terms;
mod verify;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

pub use self::areas::{replace_areas, AreasEdit};
pub use self::edit::{edit, ListingEdit};
pub use self::history::{history, VersionView};
pub use self::lists::{my_listings, reminders_csv, without_editor, ListingSummary};
pub use self::merge::merge;
pub use self::replace_sessions::{replace_sessions, SessionsEdit};
pub use self::revert::revert;
pub use self::verify::{verify, verify_version};
use super::listing::ServiceRow;
use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::db::schema::{service_versions, services, users};
use crate::db::DbConnection;
use crate::error::AppError;

/// Loads a listing the caller may edit (404 otherwise: its editors are not public knowledge).
pub(super) fn load_editable(conn: &mut DbConnection, user: &CurrentUser, id: &str) -> Result<ServiceRow, AppError> {
    let row: Option<ServiceRow> = services::table.find(id).select(ServiceRow::as_select()).first(conn).optional()?;
    match row {
        Some(row) if allows(user, Action::EditListings { organisation_id: &row.organization_id }) => Ok(row),
        _ => Err(AppError::not_found("no listing with that id that you can edit")),
    }
}

/// A versioned update touched its one row, or another save won the race since it was read.
pub(super) fn saved_once(updated: usize) -> Result<(), AppError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict {
            message: "someone else saved this listing at the same moment; reload it".into(),
            allowed: Vec::new(),
        })
    }
}

pub(super) fn record_version(
    conn: &mut DbConnection,
    id: &str,
    version: i32,
    at: NaiveDateTime,
    user: &CurrentUser,
    kind: &str,
    changes: &Value,
) -> QueryResult<()> {
    diesel::insert_into(service_versions::table)
        .values((
            service_versions::service_id.eq(id),
            service_versions::version.eq(version),
            service_versions::at.eq(at),
            service_versions::actor_id.eq(&user.id),
            service_versions::kind.eq(kind),
            service_versions::changes.eq(changes.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The answer to a stale edit: 409 with what changed since the version the editor read.
pub(super) fn stale(conn: &mut DbConnection, id: &str, current: i32, read: i32) -> Result<AppError, AppError> {
    // A version never issued is a broken form or client, not someone else's edit.
    if read < 1 || read > current {
        return Ok(AppError::invalid("version", format!("send the version you read (now {current}); reload the page")));
    }
    let since: Vec<(i32, String, String)> = service_versions::table
        .inner_join(users::table.on(users::id.eq(service_versions::actor_id)))
        .filter(service_versions::service_id.eq(id))
        .filter(service_versions::version.gt(read))
        .order(service_versions::version)
        .select((service_versions::version, users::name, service_versions::changes))
        .load(conn)?;
    let mut what: Vec<String> = Vec::new();
    for (_, who, changes) in &since {
        let fields: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(changes)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        what.push(format!("{who} changed {}", if fields.is_empty() { "it".to_string() } else { fields.join(", ") }));
    }
    Ok(AppError::Conflict {
        message: format!(
            "this listing changed since you opened it (now version {current}): {}. Reload it to see their changes; nothing was overwritten.",
            if what.is_empty() { "another edit".into() } else { what.join("; ") }
        ),
        allowed: Vec::new(),
    })
}
