//! An editor's edit of a listing's fields, categories, venue, cost and ways in: checked field
//! by field, refused when stale, saved with what changed as one version (also how an admin's
//! revert is saved).

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use super::terms::{terms_field, ChosenTerms};
use super::{load_editable, record_version, saved_once, stale};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::services;
use crate::db::{self, DbConnection};
use crate::directory::listing_input::{check_ages, check_contacts, check_text, NewLocation, MAX_DESCRIPTION};
use crate::directory::outbox;
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::directory::venue;
use crate::domain::{Capacity, FieldErrors, ListingStatus};
use crate::error::AppError;
use crate::ids::ServiceId;

/// The fields an editor may change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingEdit {
    /// The version the editor read.
    pub version: i32,
    /// Name.
    pub name: Option<String>,
    /// One sentence.
    pub summary: Option<String>,
    /// In full.
    pub description: Option<String>,
    /// `active`, `inactive` or `temporarily closed`.
    pub status: Option<String>,
    /// When a temporarily closed activity opens again (`YYYY-MM-DD`; empty clears it). Only with
    /// `temporarily closed`; opening again or stopping clears it.
    pub reopens_on: Option<String>,
    /// `accepting`, `waitlist`, `full`, `paused`.
    pub capacity: Option<String>,
    /// Web page (http or https only).
    pub url: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Who can go.
    pub eligibility_description: Option<String>,
    /// Words about cost.
    pub fees_description: Option<String>,
    /// Youngest age.
    pub minimum_age: Option<i32>,
    /// Oldest age.
    pub maximum_age: Option<i32>,
    /// Category slugs (at least one; each brings its parent), replacing the listing's.
    pub categories: Option<Vec<String>>,
    /// Audience slugs (may be empty), replacing the listing's.
    pub audiences: Option<Vec<String>>,
    /// `in_person`, `online`, `phone` or `hybrid`.
    pub attending_type: Option<String>,
    /// Ways in (`self_referral`, `link_worker`, `gp_referral`), replacing the listing's.
    pub how_to_access: Option<Vec<String>>,
    /// Free of charge; otherwise paid, as `fees_description` says. Replaces the cost option.
    pub free: Option<bool>,
    /// Where it happens (the postcode must be found), replacing the listing's venue.
    pub location: Option<NewLocation>,
}

/// Applies an edit; answers the new version.
pub fn edit(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ServiceId,
    e: &ListingEdit,
    taxonomy: &Taxonomy,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    save(conn, user, id, e, taxonomy, ip, Kind::Edit)
}

/// Why a listing changed: an editor's edit, or an admin going back to an earlier version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An editor's edit.
    Edit,
    /// An admin going back to an earlier version.
    Revert,
}

/// Checks and saves an edit as one transaction: the listing, its version row (of `kind`), the
/// search outbox and the audit. Returns the new version (the same one when nothing changed).
pub(super) fn save(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &str,
    e: &ListingEdit,
    taxonomy: &Taxonomy,
    ip: Option<&str>,
    kind: Kind,
) -> Result<i32, AppError> {
    let row = load_editable(conn, user, id)?;
    let mut errors = FieldErrors::new();
    let terms = ChosenTerms::read(conn, id, taxonomy, e, &mut errors)?;
    check_text(&mut errors, "name", &e.name, true, 200);
    check_text(&mut errors, "summary", &e.summary, false, 500);
    check_text(&mut errors, "description", &e.description, false, MAX_DESCRIPTION);
    check_text(&mut errors, "eligibility_description", &e.eligibility_description, false, 2000);
    check_text(&mut errors, "fees_description", &e.fees_description, false, 500);
    let status_given = e.status.as_deref().map(|s| ListingStatus::parse(s).filter(|s| s.editor_may_set()));
    if let Some(None) = status_given {
        errors.insert("status".into(), "must be active, inactive or temporarily closed".into());
    }
    let status = status_given.flatten().unwrap_or(row.status);
    // A status that did not parse is not a closure: a reopening date sent with it is refused.
    let closed =
        status_given.map_or(row.status, |s| s.unwrap_or(ListingStatus::Active)) == ListingStatus::TemporarilyClosed;
    let reopens_on = reopening_date(&mut errors, e, closed, row.reopens_on);
    let capacity_given = e.capacity.as_deref().map(Capacity::parse);
    if let Some(None) = capacity_given {
        errors.insert("capacity".into(), "must be accepting, waitlist, full or paused".into());
    }
    check_contacts(&mut errors, e.url.as_deref(), e.email.as_deref(), e.phone.as_deref());
    let (min, max) = (e.minimum_age.or(row.minimum_age), e.maximum_age.or(row.maximum_age));
    check_ages(&mut errors, (e.minimum_age, e.maximum_age), min, max);
    let attending_given = venue::check_access(e.attending_type.as_deref(), e.how_to_access.as_deref(), &mut errors);
    let place = match &e.location {
        Some(location) => venue::check(conn, location, taxonomy, &mut errors)?,
        None => None,
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if e.version != row.version {
        return Err(stale(conn, id, row.version, e.version)?);
    }
    let venue_now = venue::current(conn, id, taxonomy)?;

    // What changes, before and after.
    let mut changes = serde_json::Map::new();
    let mut note = |field: &str, before: Value, after: Value| {
        if before != after {
            changes.insert(field.into(), json!([before, after]));
        }
    };
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_string);
    let blank_to_none = |v: Option<String>| v.filter(|s| !s.is_empty());
    let name = clean(&e.name).unwrap_or(row.name.clone());
    let summary = clean(&e.summary).unwrap_or(row.summary.clone());
    let description = clean(&e.description).unwrap_or(row.description.clone());
    let capacity = capacity_given.flatten().unwrap_or(row.capacity);
    let url = if e.url.is_some() { blank_to_none(clean(&e.url)) } else { row.url.clone() };
    let email = if e.email.is_some() { blank_to_none(clean(&e.email)) } else { row.email.clone() };
    let phone = if e.phone.is_some() { blank_to_none(clean(&e.phone)) } else { row.phone.clone() };
    let eligibility = if e.eligibility_description.is_some() {
        blank_to_none(clean(&e.eligibility_description))
    } else {
        row.eligibility_description.clone()
    };
    let fees = if e.fees_description.is_some() {
        blank_to_none(clean(&e.fees_description))
    } else {
        row.fees_description.clone()
    };
    note("name", json!(row.name), json!(name));
    note("summary", json!(row.summary), json!(summary));
    note("description", json!(row.description), json!(description));
    note("status", json!(row.status), json!(status));
    note("reopens_on", json!(row.reopens_on), json!(reopens_on));
    note("capacity", json!(row.capacity), json!(capacity));
    note("url", json!(row.url), json!(url));
    note("email", json!(row.email), json!(email));
    note("phone", json!(row.phone), json!(phone));
    note("eligibility_description", json!(row.eligibility_description), json!(eligibility));
    note("fees_description", json!(row.fees_description), json!(fees));
    note("minimum_age", json!(row.minimum_age), json!(min));
    note("maximum_age", json!(row.maximum_age), json!(max));
    for vocabulary in [Vocabulary::Category, Vocabulary::Audience] {
        let (before, after) = terms.slugs(vocabulary, taxonomy);
        note(terms_field(vocabulary), json!(before), json!(after));
    }
    let attending_type = attending_given.unwrap_or(row.attending_type);
    let ways_in = match &e.how_to_access {
        Some(list) => {
            let mut list = list.clone();
            list.sort();
            list.dedup();
            list.join(",")
        }
        None => row.how_to_access.clone(),
    };
    let free = e.free.unwrap_or(venue_now.free);
    let venue_before = venue_now.venue.as_ref().map(|(_, v)| v);
    note("attending_type", json!(row.attending_type), json!(attending_type));
    note("how_to_access", json!(split(&row.how_to_access)), json!(split(&ways_in)));
    note("free", json!(venue_now.free), json!(free));
    if let Some(place) = &place {
        note("location", venue::as_json(venue_before), venue::as_json(Some(&place.venue)));
    }
    let cost_changed = changes.contains_key("free") || (changes.contains_key("fees_description") && !free);
    let venue_changed = changes.contains_key("location");
    if changes.is_empty() {
        return Ok(row.version);
    }
    let now = Utc::now().naive_utc();
    let next = row.version + 1;
    let fields: Vec<String> = changes.keys().cloned().collect();
    db::write(conn, |conn| -> Result<i32, AppError> {
        let updated =
            diesel::update(services::table.filter(services::id.eq(id)).filter(services::version.eq(row.version)))
                .set((
                    services::name.eq(&name),
                    services::summary.eq(&summary),
                    services::description.eq(&description),
                    services::status.eq(status),
                    services::reopens_on.eq(reopens_on),
                    services::capacity.eq(capacity),
                    services::url.eq(&url),
                    services::email.eq(&email),
                    services::phone.eq(&phone),
                    services::eligibility_description.eq(&eligibility),
                    services::fees_description.eq(&fees),
                    services::minimum_age.eq(min),
                    services::maximum_age.eq(max),
                    services::attending_type.eq(attending_type),
                    services::how_to_access.eq(&ways_in),
                    services::version.eq(next),
                    services::updated_at.eq(now),
                ))
                .execute(conn)?;
        saved_once(updated)?;
        terms.write(conn, id)?;
        if cost_changed {
            venue::write_cost(conn, id, free, fees.as_deref())?;
        }
        if let (true, Some(place)) = (venue_changed, &place) {
            let current = venue_now.venue.as_ref().map(|(location_id, _)| location_id.as_str());
            venue::write_venue(conn, id, &row.organization_id, current, place, now)?;
        }
        let (kind, action) = match kind {
            Kind::Edit => ("edit", "listing.edit"),
            Kind::Revert => ("revert", "listing.revert"),
        };
        record_version(conn, id, next, now, user, kind, &Value::Object(changes.clone()))?;
        outbox::enqueue(conn, id)?;
        audit::record(conn, &Event::by(user, action, ip).on("service", id).detail(&fields.join(",")))?;
        Ok(next)
    })
}

fn split(list: &str) -> Vec<&str> {
    let mut items: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    items.sort_unstable();
    items
}

/// The reopening date after this edit: checked (a real date, not past, within two years, only
/// for a temporarily closed activity) and cleared when the activity opens again or stops.
fn reopening_date(
    errors: &mut FieldErrors,
    e: &ListingEdit,
    closed: bool,
    current: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let typed = match e.reopens_on.as_deref().map(str::trim) {
        None => return current.filter(|_| closed),
        Some("") => return None,
        Some(text) => text,
    };
    let Ok(date) = NaiveDate::parse_from_str(typed, "%Y-%m-%d") else {
        errors.insert("reopens_on".into(), "enter a date like 2027-03-01".into());
        return None;
    };
    let today = Utc::now().date_naive();
    if !closed {
        errors.insert("reopens_on".into(), "a reopening date is only for a temporarily closed activity".into());
    } else if date < today {
        errors.insert("reopens_on".into(), "must be today or later".into());
    } else if date > today + chrono::Days::new(731) {
        errors.insert("reopens_on".into(), "must be within two years; mark it stopped if it will not reopen".into());
    }
    Some(date)
}
