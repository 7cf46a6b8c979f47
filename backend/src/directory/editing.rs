//! Community groups keep their listings true: edits (versioned, with what changed, refused when
//! stale and shown what the other person changed), the one-click "still accurate", the history,
//! and the lists of listings that need review. Every change goes to the search outbox in its
//! transaction, so search reflects it within a second.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::listing::{freshness, Freshness, ServiceRow, NEEDS_REVIEW_AFTER_DAYS};
use super::listing_input::{check_ages, check_contacts, check_text, resolve_terms, NewLocation};
pub use super::listing_input::{safe_url, valid_phone, MAX_DESCRIPTION};
use super::outbox;
use super::sessions::{self, NewSession};
use super::taxonomy::{Taxonomy, Vocabulary};
use super::venue;
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, Role};
use crate::db::schema::{organizations, service_taxonomy, service_versions, services, taxonomy_terms, users};
use crate::db::{self, DbConnection};
use crate::domain::{Approval, Capacity, FieldErrors, ListingStatus};
use crate::error::AppError;

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

/// Loads a listing the caller may edit (404 otherwise: its editors are not public knowledge).
fn load_editable(conn: &mut DbConnection, user: &CurrentUser, id: &str) -> Result<ServiceRow, AppError> {
    let row: Option<ServiceRow> = services::table.find(id).select(ServiceRow::as_select()).first(conn).optional()?;
    match row {
        Some(row) if allows(user, Action::EditListings { organisation_id: &row.organization_id }) => Ok(row),
        _ => Err(AppError::not_found("no listing with that id that you can edit")),
    }
}

/// Applies an edit; answers the new version.
pub fn edit(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &str,
    e: &ListingEdit,
    taxonomy: &Taxonomy,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    save(conn, user, id, e, taxonomy, ip, Kind::Edit)
}

/// Why a listing changed: an editor's edit, or an admin going back to an earlier version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Edit,
    Revert,
}

/// Checks and saves an edit as one transaction: the listing, its version row (of `kind`), the
/// search outbox and the audit. Returns the new version (the same one when nothing changed).
fn save(
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

/// The name of the edit field for a vocabulary's terms.
fn terms_field(vocabulary: Vocabulary) -> &'static str {
    if vocabulary == Vocabulary::Category {
        "categories"
    } else {
        "audiences"
    }
}

/// A listing's categories and audiences before an edit, and the ones chosen (when given).
struct ChosenTerms {
    /// (term id, vocabulary) now on the listing.
    current: Vec<(String, String)>,
    /// Per vocabulary the edit replaces: the term ids chosen.
    chosen: Vec<(Vocabulary, Vec<String>)>,
}

impl ChosenTerms {
    fn read(
        conn: &mut DbConnection,
        id: &str,
        taxonomy: &Taxonomy,
        e: &ListingEdit,
        errors: &mut FieldErrors,
    ) -> QueryResult<Self> {
        let current: Vec<(String, String)> = service_taxonomy::table
            .inner_join(taxonomy_terms::table)
            .filter(service_taxonomy::service_id.eq(id))
            .select((taxonomy_terms::id, taxonomy_terms::vocabulary))
            .load(conn)?;
        let mut chosen = Vec::new();
        if let Some(categories) = &e.categories {
            if categories.is_empty() {
                errors.insert("categories".into(), "choose at least one category".into());
            }
            chosen.push((Vocabulary::Category, resolve_terms(taxonomy, categories, &[], errors)));
        }
        if let Some(audiences) = &e.audiences {
            chosen.push((Vocabulary::Audience, resolve_terms(taxonomy, &[], audiences, errors)));
        }
        Ok(ChosenTerms { current, chosen })
    }

    /// The slugs before and after, sorted, for the version's record of what changed.
    fn slugs(&self, vocabulary: Vocabulary, taxonomy: &Taxonomy) -> (Vec<String>, Vec<String>) {
        let slug = |id: &String| taxonomy.by_id(id).map(|t| t.slug.clone()).unwrap_or_else(|| id.clone());
        let mut before: Vec<String> =
            self.current.iter().filter(|(_, v)| v == vocabulary.as_str()).map(|(id, _)| slug(id)).collect();
        before.sort();
        let after = match self.chosen.iter().find(|(v, _)| *v == vocabulary) {
            Some((_, ids)) => {
                let mut after: Vec<String> = ids.iter().map(slug).collect();
                after.sort();
                after
            }
            None => before.clone(),
        };
        (before, after)
    }

    /// Replaces the listing's terms of each vocabulary the edit chose.
    fn write(&self, conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        for (vocabulary, ids) in &self.chosen {
            let old: Vec<&String> =
                self.current.iter().filter(|(_, v)| v == vocabulary.as_str()).map(|(id, _)| id).collect();
            diesel::delete(
                service_taxonomy::table
                    .filter(service_taxonomy::service_id.eq(id))
                    .filter(service_taxonomy::term_id.eq_any(old)),
            )
            .execute(conn)?;
            for term in ids {
                diesel::insert_into(service_taxonomy::table)
                    .values((service_taxonomy::service_id.eq(id), service_taxonomy::term_id.eq(term)))
                    .execute(conn)?;
            }
        }
        Ok(())
    }
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

/// A versioned update touched its one row, or another save won the race since it was read.
fn saved_once(updated: usize) -> Result<(), AppError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict {
            message: "someone else saved this listing at the same moment; reload it".into(),
            allowed: Vec::new(),
        })
    }
}

fn record_version(
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
fn stale(conn: &mut DbConnection, id: &str, current: i32, read: i32) -> Result<AppError, AppError> {
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

/// "Still accurate": sets last verified to now (a change for search ranking too).
pub fn verify(conn: &mut DbConnection, user: &CurrentUser, id: &str, ip: Option<&str>) -> Result<i32, AppError> {
    let row = load_editable(conn, user, id)?;
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
        audit::record(conn, &Event::by(user, "listing.verify", ip).on("service", id))?;
        Ok(next)
    })
}

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
pub fn history(conn: &mut DbConnection, user: &CurrentUser, id: &str) -> Result<Vec<VersionView>, AppError> {
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
    pub sessions: Vec<super::listing::ScheduleView>,
    /// When it reopens, if temporarily closed (filled for the editor's page).
    pub reopens_on: Option<NaiveDate>,
}

/// id, name, organisation, status, capacity, last verified, version, organisation id.
type SummaryRow = (String, String, String, ListingStatus, Capacity, NaiveDateTime, i32, String);

/// Listings of the editor's organisation (or, for admins, those needing review: unverified for
/// six months), oldest-verified first.
pub fn my_listings(
    conn: &mut DbConnection,
    user: &CurrentUser,
    needs_review_only: bool,
) -> Result<Vec<ListingSummary>, AppError> {
    let mut query = services::table
        .inner_join(organizations::table)
        .select((
            services::id,
            services::name,
            organizations::name,
            services::status,
            services::capacity,
            services::last_verified,
            services::version,
            services::organization_id,
        ))
        .into_boxed();
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
    Ok(rows
        .into_iter()
        .map(|(id, name, organisation, status, capacity, last_verified, version, _)| ListingSummary {
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
        })
        .collect())
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

/// Reverts a listing to an earlier version (admins): the fields changed since then get their
/// earlier values back, recorded as a new version of kind `revert`.
pub fn revert(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &str,
    to_version: i32,
    taxonomy: &Taxonomy,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators revert listings".into()));
    }
    let row = load_editable(conn, user, id)?;
    if to_version < 1 || to_version >= row.version {
        return Err(AppError::invalid("version", format!("choose a version from 1 to {}", row.version - 1)));
    }
    let later: Vec<String> = service_versions::table
        .filter(service_versions::service_id.eq(id))
        .filter(service_versions::version.gt(to_version))
        .order(service_versions::version.desc())
        .select(service_versions::changes)
        .load(conn)?;
    // Walking back from the newest change, the earliest "before" of each field wins.
    let mut before = serde_json::Map::new();
    for changes in later {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&changes) {
            for (field, pair) in map {
                if let Some(old) = pair.get(0) {
                    before.insert(field, old.clone());
                }
            }
        }
    }
    let text = |f: &str| before.get(f).map(|v| v.as_str().unwrap_or("").to_string());
    let number = |f: &str| before.get(f).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
    let list = |f: &str| {
        before
            .get(f)
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
    };
    let edit = ListingEdit {
        version: row.version,
        name: text("name"),
        summary: text("summary"),
        description: text("description"),
        status: text("status"),
        reopens_on: text("reopens_on"),
        capacity: text("capacity"),
        url: text("url"),
        email: text("email"),
        phone: text("phone"),
        eligibility_description: text("eligibility_description"),
        fees_description: text("fees_description"),
        minimum_age: number("minimum_age"),
        maximum_age: number("maximum_age"),
        categories: list("categories"),
        audiences: list("audiences"),
        attending_type: text("attending_type"),
        how_to_access: list("how_to_access"),
        free: before.get("free").and_then(Value::as_bool),
        // A listing that had no venue keeps its current one: there is nothing to go back to.
        location: before.get("location").and_then(|v| serde_json::from_value(v.clone()).ok()),
    };
    let version = save(conn, user, id, &edit, taxonomy, ip, Kind::Revert)?;
    if version == row.version {
        return Err(AppError::invalid("version", "the listing already reads as it did then; nothing to go back"));
    }
    Ok(version)
}

/// Listings whose organisation has no active group editor (so nobody keeps them true).
pub fn without_editor(conn: &mut DbConnection, user: &CurrentUser) -> Result<Vec<ListingSummary>, AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators only".into()));
    }
    let with_editor = users::table
        .filter(users::role.eq("group_editor"))
        .filter(users::status.eq("active"))
        .select(users::organization_id);
    let now = Utc::now().naive_utc();
    let rows: Vec<(String, String, String, ListingStatus, Capacity, NaiveDateTime, i32)> = services::table
        .inner_join(organizations::table)
        .filter(services::organization_id.ne_all(with_editor))
        .order((organizations::name, services::name))
        .select((
            services::id,
            services::name,
            organizations::name,
            services::status,
            services::capacity,
            services::last_verified,
            services::version,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, organisation, status, capacity, last_verified, version)| ListingSummary {
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
        })
        .collect())
}

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
    id: &str,
    e: &SessionsEdit,
    ip: Option<&str>,
) -> Result<i32, AppError> {
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
    let taxonomy = super::taxonomy::Taxonomy::load(conn)?;
    let before: Vec<String> = super::listing::load(conn, id, &taxonomy)?
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
