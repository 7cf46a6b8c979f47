//! Merging a duplicate listing into the one kept (admins).

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::{load_editable, record_version, saved_once, stale};
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::db::schema::services;
use crate::db::{self, DbConnection};
use crate::directory::outbox;
use crate::domain::{Approval, ListingStatus};
use crate::error::AppError;

/// Merges a duplicate listing into the one kept (admins): the duplicate becomes `defunct`,
/// leaves search, and points at the kept one, so its old address leads there. Its history,
/// connections and introductions stay where they happened. `version` is the duplicate's, as
/// read (a listing changed meanwhile is not merged on a stale view); `None` merges it as it is
/// now, for an admin who named both listings this moment.
pub fn merge(
    conn: &mut DbConnection,
    user: &CurrentUser,
    duplicate: &str,
    keep: &str,
    version: Option<i32>,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators merge listings".into()));
    }
    let row = load_editable(conn, user, duplicate)?;
    if duplicate == keep {
        return Err(AppError::invalid("into", "choose a different listing to keep"));
    }
    if row.merged_into.is_some() || row.status == ListingStatus::Defunct {
        return Err(AppError::invalid("into", "this listing was already merged or removed"));
    }
    let kept: Option<(ListingStatus, Option<String>, Approval)> = services::table
        .find(keep)
        .select((services::status, services::merged_into, services::approval))
        .first(conn)
        .optional()?;
    match kept {
        None => return Err(AppError::invalid("into", "no listing with that id to keep")),
        Some((status, merged, approval))
            if status == ListingStatus::Defunct || merged.is_some() || approval != Approval::Approved =>
        {
            return Err(AppError::invalid("into", "keep a listing that is approved and still in the directory"));
        }
        Some(_) => {}
    }
    if let Some(read) = version.filter(|read| *read != row.version) {
        return Err(stale(conn, duplicate, row.version, read)?);
    }
    let now = Utc::now().naive_utc();
    let next = row.version + 1;
    let changes = json!({ "status": [row.status, ListingStatus::Defunct], "merged_into": [Value::Null, keep] });
    db::write(conn, |conn| -> Result<i32, AppError> {
        let updated = diesel::update(
            services::table.filter(services::id.eq(duplicate)).filter(services::version.eq(row.version)),
        )
        .set((
            services::status.eq(ListingStatus::Defunct),
            services::merged_into.eq(keep),
            services::version.eq(next),
            services::updated_at.eq(now),
        ))
        .execute(conn)?;
        saved_once(updated)?;
        record_version(conn, duplicate, next, now, user, "edit", &changes)?;
        outbox::enqueue(conn, duplicate)?;
        audit::record(conn, &Event::by(user, "listing.merge", ip).on("service", duplicate).detail(keep))?;
        Ok(next)
    })
}
