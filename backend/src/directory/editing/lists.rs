//! Lists of listings to keep true: an editor's own, those due for review, those with nobody to
//! keep them, and the reminders export for a directory team's campaign.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, Role};
use crate::db::schema::{organizations, services, users};
use crate::db::DbConnection;
use crate::directory::listing::{freshness, Freshness, ScheduleView, NEEDS_REVIEW_AFTER_DAYS};
use crate::domain::{Capacity, ListingStatus};
use crate::error::AppError;

/// A listing in an editor's or admin's list.
#[derive(Debug, Clone, Serialize)]
pub struct ListingSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Organisation.
    pub organisation: String,
    /// Status.
    pub status: ListingStatus,
    /// Capacity.
    pub capacity: Capacity,
    /// Last verified.
    pub last_verified: NaiveDateTime,
    /// Fresh, needs review, stale.
    pub freshness: Freshness,
    /// Version, for editing.
    pub version: i32,
    /// Its sessions (filled for the editor's page).
    pub sessions: Vec<ScheduleView>,
    /// When it reopens, if temporarily closed (filled for the editor's page).
    pub reopens_on: Option<NaiveDate>,
}

/// id, name, organisation, status, capacity, last verified, version.
type SummaryRow = (String, String, String, ListingStatus, Capacity, NaiveDateTime, i32);

/// The columns of a [`SummaryRow`], for a query over services joined to their organisation.
macro_rules! summary_columns {
    () => {
        (
            services::id,
            services::name,
            organizations::name,
            services::status,
            services::capacity,
            services::last_verified,
            services::version,
        )
    };
}

/// A summary row as the lists show it, with its freshness as of `now`.
fn summary(now: NaiveDateTime, row: SummaryRow) -> ListingSummary {
    let (id, name, organisation, status, capacity, last_verified, version) = row;
    ListingSummary {
        freshness: freshness(now, last_verified),
        id,
        name,
        organisation,
        status,
        capacity,
        last_verified,
        version,
        sessions: Vec::new(),
        reopens_on: None,
    }
}

/// Listings of the editor's organisation (or, for admins, those needing review: unverified for
/// six months), oldest-verified first.
pub fn my_listings(
    conn: &mut DbConnection,
    user: &CurrentUser,
    needs_review_only: bool,
) -> Result<Vec<ListingSummary>, AppError> {
    let mut query = services::table.inner_join(organizations::table).select(summary_columns!()).into_boxed();
    match user.role {
        Role::GroupEditor => query = query.filter(services::organization_id.eq(user.organisation_id.clone())),
        Role::Admin => {}
        _ => return Err(AppError::Forbidden("listings are kept by community groups and the directory team".into())),
    }
    let now = Utc::now().naive_utc();
    if needs_review_only {
        query = query.filter(services::last_verified.lt(now - chrono::Duration::days(NEEDS_REVIEW_AFTER_DAYS)));
    }
    let rows: Vec<SummaryRow> = query.order(services::last_verified).limit(2000).load(conn)?;
    Ok(rows.into_iter().map(|row| summary(now, row)).collect())
}

/// The reminders export: organisations with listings due for review, their contact, and the
/// listings (CSV, one row per listing), for a directory team's campaign.
pub fn reminders_csv(conn: &mut DbConnection, user: &CurrentUser) -> Result<String, AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators only".into()));
    }
    let cutoff = Utc::now().naive_utc() - chrono::Duration::days(NEEDS_REVIEW_AFTER_DAYS);
    // organisation, its e-mail, its phone, listing, last verified.
    type ReminderRow = (String, Option<String>, Option<String>, String, NaiveDateTime);
    let rows: Vec<ReminderRow> = services::table
        .inner_join(organizations::table)
        .filter(services::last_verified.lt(cutoff))
        .filter(services::status.ne(ListingStatus::Defunct))
        .order((organizations::name, services::name))
        .select((
            organizations::name,
            organizations::email,
            organizations::phone,
            services::name,
            services::last_verified,
        ))
        .load(conn)?;
    let mut out = String::from("organisation,email,phone,listing,last_verified\r\n");
    for (org, email, phone, listing, verified) in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            crate::spreadsheet::field(&org),
            crate::spreadsheet::field(email.as_deref().unwrap_or("")),
            crate::spreadsheet::field(phone.as_deref().unwrap_or("")),
            crate::spreadsheet::field(&listing),
            verified.format("%Y-%m-%d")
        ));
    }
    Ok(out)
}

/// Listings whose organisation has no active group editor (so nobody keeps them true).
pub fn without_editor(conn: &mut DbConnection, user: &CurrentUser) -> Result<Vec<ListingSummary>, AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators only".into()));
    }
    let with_editor = users::table
        .filter(users::role.eq(Role::GroupEditor.as_str()))
        .filter(users::status.eq("active"))
        .select(users::organization_id);
    let now = Utc::now().naive_utc();
    let rows: Vec<SummaryRow> = services::table
        .inner_join(organizations::table)
        .filter(services::organization_id.ne_all(with_editor))
        .order((organizations::name, services::name))
        .select(summary_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(|row| summary(now, row)).collect())
}
