//! New listings from community groups: checked field by field, pending until the directory
//! team approves them (not public until then), and the moderation that approves or rejects.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::editing::{safe_url, valid_phone};
use super::outbox;
use super::search::FieldErrors;
use super::taxonomy::{Taxonomy, Vocabulary};
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{users, CurrentUser, Role};
use crate::db::schema::{contacts, organizations, schedules, service_taxonomy, services};
use crate::db::{self, DbConnection};
use crate::domain::schedule::{Schedule, ValidDates};
use crate::domain::{Approval, ListingStatus};
use crate::error::AppError;

/// Where a new listing happens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    /// Venue name.
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Town or village.
    pub town: String,
    /// Postcode (must be found).
    pub postcode: String,
    /// Accessibility feature slugs.
    #[serde(default)]
    pub accessibility: Vec<String>,
    /// Show the address only on request.
    #[serde(default)]
    pub masked: bool,
}

/// A session, as the friendly editor sends it: "every Tuesday 10:00-12:00" is
/// `{freq: weekly, days: [TU], opens_at: "10:00", closes_at: "12:00"}`; "2nd Thursday of the
/// month" adds `week_of_month: [2]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// `weekly` or `monthly`.
    pub freq: String,
    /// `MO`..`SU`.
    pub days: Vec<String>,
    /// For monthly sessions: 1-4, or -1 for the last.
    #[serde(default)]
    pub week_of_month: Vec<i8>,
    /// `HH:MM`.
    pub opens_at: String,
    /// `HH:MM`, after opening.
    pub closes_at: String,
    /// "Term time only", "Not in August".
    pub notes: Option<String>,
    /// The first date it runs (`YYYY-MM-DD`; none or empty: no start date).
    #[serde(default)]
    pub valid_from: Option<String>,
    /// The last date it runs (`YYYY-MM-DD`, not before `valid_from`; none or empty: no end).
    #[serde(default)]
    pub valid_to: Option<String>,
}

/// A new listing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewListing {
    /// For admins: the organisation it belongs to (editors: always their own).
    pub organisation_id: Option<String>,
    /// Name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// In full.
    #[serde(default)]
    pub description: String,
    /// Category slugs (at least one).
    pub categories: Vec<String>,
    /// Audience slugs.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// `in_person`, `online`, `phone`, `hybrid`.
    pub attending_type: String,
    /// Web page.
    pub url: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Who can go.
    pub eligibility_description: Option<String>,
    /// Free to take part.
    #[serde(default)]
    pub free: bool,
    /// Words about cost.
    pub fees_description: Option<String>,
    /// Youngest age.
    pub minimum_age: Option<i32>,
    /// Oldest age.
    pub maximum_age: Option<i32>,
    /// `self_referral`, `link_worker`, `gp_referral`.
    #[serde(default)]
    pub how_to_access: Vec<String>,
    /// Where (required unless online or by phone).
    pub location: Option<NewLocation>,
    /// When.
    #[serde(default)]
    pub sessions: Vec<NewSession>,
}

fn too_long(errors: &mut FieldErrors, name: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.insert(name.into(), format!("at most {max} characters"));
    }
}

/// Creates a listing (pending approval unless an admin creates it); answers its id.
pub fn create(
    conn: &mut DbConnection,
    user: &CurrentUser,
    taxonomy: &Taxonomy,
    new: &NewListing,
    ip: Option<&str>,
) -> Result<String, AppError> {
    let organisation_id = match user.role {
        Role::GroupEditor => user.organisation_id.clone(),
        Role::Admin => new
            .organisation_id
            .clone()
            .ok_or_else(|| AppError::invalid("organisation_id", "choose the organisation"))?,
        _ => return Err(AppError::Forbidden("listings are created by community groups and the directory team".into())),
    };
    if !allows(user, Action::EditListings { organisation_id: &organisation_id }) {
        return Err(AppError::Forbidden("not your organisation".into()));
    }
    let mut errors = FieldErrors::new();
    if new.name.trim().is_empty() {
        errors.insert("name".into(), "this is required".into());
    }
    too_long(&mut errors, "name", &new.name, 200);
    if new.summary.trim().is_empty() {
        errors.insert("summary".into(), "say in one sentence what it is".into());
    }
    too_long(&mut errors, "summary", &new.summary, 500);
    too_long(&mut errors, "description", &new.description, super::editing::MAX_DESCRIPTION);
    if new.categories.is_empty() {
        errors.insert("categories".into(), "choose at least one category".into());
    }
    let term_ids = resolve_terms(taxonomy, &new.categories, &new.audiences, &mut errors);
    let attending = super::venue::check_access(Some(&new.attending_type), Some(&new.how_to_access), &mut errors);
    if new.url.as_deref().is_some_and(|u| !u.trim().is_empty() && !safe_url(u)) {
        errors.insert("url".into(), "must be a web address starting with https:// or http://".into());
    }
    if new.email.as_deref().is_some_and(|m| !m.trim().is_empty() && !users::valid_email(m)) {
        errors.insert("email".into(), "enter an e-mail address like name@example.org".into());
    }
    if new.phone.as_deref().is_some_and(|p| !p.trim().is_empty() && !valid_phone(p)) {
        errors.insert("phone".into(), "enter a UK phone number like 01632 960123".into());
    }
    if let (Some(lo), Some(hi)) = (new.minimum_age, new.maximum_age) {
        if lo > hi {
            errors.insert("maximum_age".into(), "must not be below the minimum age".into());
        }
    }
    for (name, age) in [("minimum_age", new.minimum_age), ("maximum_age", new.maximum_age)] {
        if age.is_some_and(|a| !(0..=120).contains(&a)) {
            errors.insert(name.into(), "must be between 0 and 120".into());
        }
    }
    let sessions = check_sessions(&new.sessions, &mut errors);
    let place = match (&new.location, attending) {
        (None, Some(attending)) if !attending.needs_venue() => None,
        (None, _) => {
            errors.insert("location".into(), "say where it happens".into());
            None
        }
        (Some(loc), _) => super::venue::check(conn, loc, taxonomy, &mut errors)?,
    };
    // A way of attending that did not parse is among the errors.
    let (Some(attending), true) = (attending, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };

    let id = crate::ids::new_id();
    let now = Utc::now().naive_utc();
    let approval = if user.role == Role::Admin { Approval::Approved } else { Approval::Pending };
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(services::table)
            .values((
                services::id.eq(&id),
                services::organization_id.eq(&organisation_id),
                services::name.eq(new.name.trim()),
                services::summary.eq(new.summary.trim()),
                services::description.eq(new.description.trim()),
                services::status.eq(ListingStatus::Active),
                services::url.eq(clean(&new.url)),
                services::email.eq(clean(&new.email)),
                services::phone.eq(clean(&new.phone)),
                services::fees_description.eq(clean(&new.fees_description)),
                services::eligibility_description.eq(clean(&new.eligibility_description)),
                services::minimum_age.eq(new.minimum_age),
                services::maximum_age.eq(new.maximum_age),
                services::how_to_access.eq(new.how_to_access.join(",")),
                services::attending_type.eq(attending),
                services::approval.eq(approval),
                services::last_verified.eq(now),
                services::created_at.eq(now),
                services::updated_at.eq(now),
            ))
            .execute(conn)?;
        for term in &term_ids {
            diesel::insert_into(service_taxonomy::table)
                .values((service_taxonomy::service_id.eq(&id), service_taxonomy::term_id.eq(term)))
                .execute(conn)?;
        }
        super::venue::write_cost(conn, &id, new.free, clean(&new.fees_description).as_deref())?;
        if new.email.is_some() || new.phone.is_some() {
            diesel::insert_into(contacts::table)
                .values((
                    contacts::id.eq(crate::ids::new_id()),
                    contacts::service_id.eq(&id),
                    contacts::name.eq(Some("Group organiser")),
                    contacts::email.eq(clean(&new.email)),
                    contacts::phone.eq(clean(&new.phone)),
                ))
                .execute(conn)?;
        }
        if let Some(place) = &place {
            super::venue::write_venue(conn, &id, &organisation_id, None, place, now)?;
        }
        insert_sessions(conn, &id, &sessions)?;
        outbox::enqueue(conn, &id)?;
        audit::record(conn, &Event::by(user, "listing.create", ip).on("service", &id).detail(approval.as_str()))?;
        Ok(())
    })?;
    Ok(id)
}

/// A listing waiting for the directory team.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct PendingListing {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Organisation.
    pub organisation: String,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
}

/// Listings pending approval, oldest first (admins).
pub fn pending(conn: &mut DbConnection, user: &CurrentUser) -> Result<Vec<PendingListing>, AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators only".into()));
    }
    Ok(services::table
        .inner_join(organizations::table)
        .filter(services::approval.eq(Approval::Pending))
        .order(services::created_at)
        .select((services::id, services::name, organizations::name, services::created_at))
        .load(conn)?)
}

/// Approves or rejects a pending listing (admins); approval makes it public within a second.
pub fn moderate(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &str,
    approve: bool,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators only".into()));
    }
    let approval: Option<Approval> = services::table.find(id).select(services::approval).first(conn).optional()?;
    match approval {
        None => return Err(AppError::not_found("no listing with that id")),
        Some(Approval::Pending) => {}
        Some(other) => {
            return Err(AppError::Conflict { message: format!("this listing is already {other}"), allowed: Vec::new() })
        }
    }
    let decision = if approve { Approval::Approved } else { Approval::Rejected };
    db::write(conn, |conn| -> Result<(), AppError> {
        // Still pending when written: of two admins deciding at once, the second is told.
        let updated = diesel::update(
            services::table.filter(services::id.eq(id)).filter(services::approval.eq(Approval::Pending)),
        )
        .set((services::approval.eq(decision), services::updated_at.eq(Utc::now().naive_utc())))
        .execute(conn)?;
        if updated != 1 {
            return Err(AppError::Conflict {
                message: "another administrator decided on this listing at the same moment".into(),
                allowed: Vec::new(),
            });
        }
        outbox::enqueue(conn, id)?;
        audit::record(conn, &Event::by(user, "listing.moderate", ip).on("service", id).detail(decision.as_str()))?;
        Ok(())
    })
}

/// The vocabulary term ids for a listing's chosen categories (each with its parent, so a search
/// for "gardening" finds "allotments") and audiences, sorted; unknown slugs are field errors.
pub fn resolve_terms(
    taxonomy: &Taxonomy,
    categories: &[String],
    audiences: &[String],
    errors: &mut FieldErrors,
) -> Vec<String> {
    let mut term_ids = Vec::new();
    for slug in categories {
        match taxonomy.by_slug(Vocabulary::Category, slug) {
            Some(term) => {
                term_ids.push(term.id.clone());
                term_ids.extend(term.parent_id.clone());
            }
            None => {
                errors.insert(
                    "categories".into(),
                    format!("unknown category {:?}", slug.chars().take(40).collect::<String>()),
                );
            }
        }
    }
    for slug in audiences {
        match taxonomy.by_slug(Vocabulary::Audience, slug) {
            Some(term) => term_ids.push(term.id.clone()),
            None => {
                errors.insert(
                    "audiences".into(),
                    format!("unknown audience {:?}", slug.chars().take(40).collect::<String>()),
                );
            }
        }
    }
    term_ids.sort();
    term_ids.dedup();
    term_ids
}

/// Most sessions a listing may have: a group meets a handful of times a week at most.
const MAX_SESSIONS: usize = 20;

/// A session that passed its checks, ready to store.
#[derive(Debug)]
pub struct CheckedSession {
    freq: String,
    byday: String,
    week_of_month: Option<String>,
    opens_at: String,
    closes_at: String,
    notes: Option<String>,
    valid: ValidDates,
    /// In plain words ("Every Tuesday, 10:00 to 12:00", with its dates when it has any).
    pub description: String,
}

/// A session as a listing's history records it: its plain words (with its dates), and its
/// notes in brackets, so changing only the notes or the dates is a change too.
pub fn session_line(description: &str, notes: Option<&str>) -> String {
    match notes {
        Some(notes) => format!("{description} ({notes})"),
        None => description.to_string(),
    }
}

impl CheckedSession {
    /// How the listing's history records it ([`session_line`]).
    pub fn line(&self) -> String {
        session_line(&self.description, self.notes.as_deref())
    }
}

/// Checks sessions for a new listing or a replacement (closing after opening, no "5th Tuesday",
/// dates written `YYYY-MM-DD` with the last not before the first, at most 20, notes of at most
/// 200 characters); errors are named `sessions[i]`.
pub fn check_sessions(sessions: &[NewSession], errors: &mut FieldErrors) -> Vec<CheckedSession> {
    if sessions.len() > MAX_SESSIONS {
        errors.insert("sessions".into(), format!("at most {MAX_SESSIONS} sessions"));
        return Vec::new();
    }
    let mut checked = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let freq = s.freq.to_ascii_uppercase();
        let byday = s.days.join(",");
        let weeks = (!s.week_of_month.is_empty())
            .then(|| s.week_of_month.iter().map(i8::to_string).collect::<Vec<_>>().join(","));
        let notes = s.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        if notes.as_deref().is_some_and(|n| n.chars().count() > 200) {
            errors.insert(format!("sessions[{i}]"), "notes: at most 200 characters".into());
            continue;
        }
        let checked_schedule =
            Schedule::parse(&freq, &byday, weeks.as_deref(), &s.opens_at, &s.closes_at).and_then(|schedule| {
                ValidDates::parse(s.valid_from.as_deref(), s.valid_to.as_deref()).map(|dates| schedule.between(dates))
            });
        match checked_schedule {
            Ok(schedule) => checked.push(CheckedSession {
                description: schedule.describe(),
                freq,
                byday,
                week_of_month: weeks,
                opens_at: s.opens_at.trim().to_string(),
                closes_at: s.closes_at.trim().to_string(),
                notes,
                valid: schedule.valid,
            }),
            Err(e) => {
                errors.insert(format!("sessions[{i}]"), e.to_string());
            }
        }
    }
    checked
}

/// Stores checked sessions for a listing (inside the caller's transaction; at most 20 rows, one
/// statement each: diesel's batch insert is not available over the two-engine connection).
pub fn insert_sessions(conn: &mut DbConnection, service_id: &str, sessions: &[CheckedSession]) -> QueryResult<()> {
    for s in sessions {
        diesel::insert_into(schedules::table)
            .values((
                schedules::id.eq(crate::ids::new_id()),
                schedules::service_id.eq(service_id),
                schedules::freq.eq(&s.freq),
                schedules::byday.eq(&s.byday),
                schedules::week_of_month.eq(&s.week_of_month),
                schedules::opens_at.eq(&s.opens_at),
                schedules::closes_at.eq(&s.closes_at),
                schedules::notes.eq(&s.notes),
                schedules::valid_from.eq(s.valid.from),
                schedules::valid_to.eq(s.valid.to),
            ))
            .execute(conn)?;
    }
    Ok(())
}
