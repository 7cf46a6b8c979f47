//! New listings from community groups: checked field by field, pending until the directory
//! team approves them (not public until then), and the moderation that approves or rejects.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::listing_input::{check_ages, check_contacts, resolve_terms, too_long, NewLocation, MAX_DESCRIPTION};
use super::outbox;
use super::sessions::{check_sessions, insert_sessions, NewSession};
use super::taxonomy::Taxonomy;
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, Role};
use crate::db::schema::{contacts, organizations, service_taxonomy, services};
use crate::db::{self, DbConnection};
use crate::domain::{Approval, FieldErrors, ListingStatus};
use crate::error::AppError;
use crate::ids::ServiceId;

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
    too_long(&mut errors, "description", &new.description, MAX_DESCRIPTION);
    if new.categories.is_empty() {
        errors.insert("categories".into(), "choose at least one category".into());
    }
    let term_ids = resolve_terms(taxonomy, &new.categories, &new.audiences, &mut errors);
    let attending = super::venue::check_access(Some(&new.attending_type), Some(&new.how_to_access), &mut errors);
    check_contacts(&mut errors, new.url.as_deref(), new.email.as_deref(), new.phone.as_deref());
    let ages = (new.minimum_age, new.maximum_age);
    check_ages(&mut errors, ages, ages.0, ages.1);
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
    let approval = if allows(user, Action::PublishWithoutReview) { Approval::Approved } else { Approval::Pending };
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
    id: &ServiceId,
    approve: bool,
    ip: Option<&str>,
) -> Result<(), AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
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
