//! Merging a duplicate listing into the one kept (admins). Both listings are checked in the
//! transaction that writes, with their rows held, so two merges at once (A into B while B goes
//! into C) cannot leave A pointing at a merged listing; listings merged into the duplicate
//! earlier follow it to the one kept.

use chrono::{NaiveDateTime, Utc};
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
use crate::ids::ServiceId;

/// Merges a duplicate listing into the one kept (admins): the duplicate becomes `defunct`,
/// leaves search, and points at the kept one, so its old address leads there. Listings merged
/// into the duplicate earlier now point at the one kept too, so no address leads to a merged
/// listing. Its history, connections and introductions stay where they happened. `version` is
/// the duplicate's, as read (a listing changed meanwhile is not merged on a stale view); `None`
/// merges it as it is now, for an admin who named both listings this moment.
pub fn merge(
    conn: &mut DbConnection,
    user: &CurrentUser,
    duplicate: &ServiceId,
    keep: &ServiceId,
    version: Option<i32>,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where they came in; the queries below take their text.
    let (duplicate, keep) = (duplicate.as_str(), keep.as_str());
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators merge listings".into()));
    }
    // Both listings are checked inside the transaction that writes: checked before it, a merge
    // of the kept listing elsewhere (B into C while A goes into B) could commit in between and
    // leave A pointing at a merged listing.
    db::write(conn, |conn| -> Result<i32, AppError> {
        lock_listings(conn, &[duplicate, keep])?;
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
        follow_to_kept(conn, user, duplicate, keep, now, ip)?;
        Ok(next)
    })
}

/// Points the listings merged into `duplicate` at `keep`, each with its version and audit row
/// (inside the merge's transaction).
fn follow_to_kept(
    conn: &mut DbConnection,
    user: &CurrentUser,
    duplicate: &str,
    keep: &str,
    now: NaiveDateTime,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let followers: Vec<(String, i32)> = services::table
        .filter(services::merged_into.eq(duplicate))
        .select((services::id, services::version))
        .load(conn)?;
    for (id, version) in followers {
        let updated =
            diesel::update(services::table.filter(services::id.eq(&id)).filter(services::version.eq(version)))
                .set((services::merged_into.eq(keep), services::version.eq(version + 1), services::updated_at.eq(now)))
                .execute(conn)?;
        saved_once(updated)?;
        record_version(conn, &id, version + 1, now, user, "edit", &json!({ "merged_into": [duplicate, keep] }))?;
        audit::record(conn, &Event::by(user, "listing.merge", ip).on("service", &id).detail(keep))?;
    }
    Ok(())
}

/// Holds the listings' rows until the transaction ends. On PostgreSQL a row lock, taken in id
/// order so two merges naming the same listings cannot deadlock; SQLite's `BEGIN IMMEDIATE`
/// already lets one writer at a time in.
fn lock_listings(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        services::table
            .filter(services::id.eq_any(ids))
            .order(services::id)
            .select(services::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}
