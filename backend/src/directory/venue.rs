//! Where a listing happens, what it costs and how people go: the part of an edit that changes
//! the venue (geocoded from its postcode), the cost option, the attending type and the ways in.
//! Checked with the rest of the edit and written in its transaction, with the before and after
//! in the listing's version.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::geocode::{self, GeocodeError};
use super::listing::LocationRow;
use super::listing_input::NewLocation;
use super::taxonomy::{Taxonomy, Vocabulary};
use crate::db::schema::{cost_options, location_accessibility, locations, service_at_locations};
use crate::db::DbConnection;
use crate::domain::{AttendingType, FieldErrors, Postcode};
use crate::error::AppError;

/// Ways in.
pub const WAYS_IN: [&str; 3] = ["self_referral", "link_worker", "gp_referral"];

/// A listing's venue as its editors see it (never masked: they keep it true).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Venue {
    /// Venue name.
    pub name: String,
    /// Street address.
    pub address: String,
    /// Town or village.
    pub town: String,
    /// Postcode.
    pub postcode: String,
    /// Accessibility feature slugs, sorted.
    pub accessibility: Vec<String>,
    /// Show the address only on request.
    pub masked: bool,
}

/// The listing's first venue and whether it is free, as stored.
pub struct Current {
    /// Location id and the venue.
    pub venue: Option<(String, Venue)>,
    /// Whether the cost option says free.
    pub free: bool,
}

/// Reads the listing's venue and cost.
pub fn current(conn: &mut DbConnection, service_id: &str, taxonomy: &Taxonomy) -> QueryResult<Current> {
    let mut all = current_many(conn, &[service_id.to_string()], taxonomy)?;
    Ok(all.remove(service_id).unwrap_or(Current { venue: None, free: false }))
}

/// Reads the venue and cost of several listings in three queries (an editor's page).
pub fn current_many(
    conn: &mut DbConnection,
    service_ids: &[String],
    taxonomy: &Taxonomy,
) -> QueryResult<HashMap<String, Current>> {
    let rows: Vec<(String, LocationRow)> = service_at_locations::table
        .inner_join(locations::table)
        .filter(service_at_locations::service_id.eq_any(service_ids))
        .order((locations::created_at, locations::id))
        .select((service_at_locations::service_id, LocationRow::as_select()))
        .load(conn)?;
    let location_ids: Vec<&String> = rows.iter().map(|(_, l)| &l.id).collect();
    let features: Vec<(String, String)> = location_accessibility::table
        .filter(location_accessibility::location_id.eq_any(location_ids))
        .select((location_accessibility::location_id, location_accessibility::term_id))
        .load(conn)?;
    let costs: Vec<(String, Option<f64>)> = cost_options::table
        .filter(cost_options::service_id.eq_any(service_ids))
        .select((cost_options::service_id, cost_options::amount))
        .load(conn)?;
    let mut out: HashMap<String, Current> = service_ids
        .iter()
        .map(|id| {
            let free = costs.iter().any(|(s, amount)| s == id && *amount == Some(0.0));
            (id.clone(), Current { venue: None, free })
        })
        .collect();
    // The first venue of each listing (rows are oldest first).
    for (service, LocationRow { id, name, address_1: address, city: town, postcode, masked, .. }) in rows {
        let Some(entry) = out.get_mut(&service).filter(|c| c.venue.is_none()) else { continue };
        let mut accessibility: Vec<String> = features
            .iter()
            .filter(|(location, _)| *location == id)
            .filter_map(|(_, term)| taxonomy.by_id(term))
            .map(|t| t.slug.clone())
            .collect();
        accessibility.sort();
        entry.venue =
            Some((id, Venue { name, address, town, postcode: postcode.unwrap_or_default(), accessibility, masked }));
    }
    Ok(out)
}

/// A venue checked: the venue, its coordinates and its accessibility term ids.
pub struct CheckedVenue {
    /// As given, trimmed, the postcode formatted.
    pub venue: Venue,
    /// Where the postcode is.
    pub lat: f64,
    /// Where the postcode is.
    pub lon: f64,
    /// Accessibility term ids.
    pub terms: Vec<String>,
}

fn too_long(errors: &mut FieldErrors, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        errors.insert(field.into(), "this cannot be empty".into());
    } else if value.trim().chars().count() > max {
        errors.insert(field.into(), format!("at most {max} characters"));
    }
}

/// Checks a new venue: names not empty or too long, the postcode found, features known.
pub fn check(
    conn: &mut DbConnection,
    location: &NewLocation,
    taxonomy: &Taxonomy,
    errors: &mut FieldErrors,
) -> Result<Option<CheckedVenue>, AppError> {
    too_long(errors, "location.name", &location.name, 200, true);
    too_long(errors, "location.address", &location.address, 200, false);
    too_long(errors, "location.town", &location.town, 100, true);
    let mut terms = Vec::new();
    let mut slugs = Vec::new();
    for slug in &location.accessibility {
        match taxonomy.by_slug(Vocabulary::Accessibility, slug) {
            Some(term) if !terms.contains(&term.id) => {
                terms.push(term.id.clone());
                slugs.push(term.slug.clone());
            }
            Some(_) => {}
            None => {
                errors.insert(
                    "location.accessibility".into(),
                    format!("unknown feature {:?}", slug.chars().take(40).collect::<String>()),
                );
            }
        }
    }
    slugs.sort();
    let found = match Postcode::parse(&location.postcode) {
        Ok(postcode) => match geocode::geocode(conn, postcode.as_str()) {
            Ok(found) => Some((postcode, found)),
            Err(GeocodeError::Db(e)) => return Err(e.into()),
            Err(e) => {
                errors.insert("location.postcode".into(), e.to_string());
                None
            }
        },
        Err(e) => {
            errors.insert("location.postcode".into(), e.to_string());
            None
        }
    };
    Ok(found.map(|(postcode, found)| CheckedVenue {
        venue: Venue {
            name: location.name.trim().to_string(),
            address: location.address.trim().to_string(),
            town: location.town.trim().to_string(),
            postcode: postcode.as_str().to_string(),
            accessibility: slugs,
            masked: location.masked,
        },
        lat: found.lat,
        lon: found.lon,
        terms,
    }))
}

/// Checks the attending type (answered when given and known) and the ways in.
pub fn check_access(
    attending_type: Option<&str>,
    ways_in: Option<&[String]>,
    errors: &mut FieldErrors,
) -> Option<AttendingType> {
    let attending = attending_type.and_then(AttendingType::parse);
    if attending_type.is_some() && attending.is_none() {
        errors.insert("attending_type".into(), "must be in_person, online, phone or hybrid".into());
    }
    if let Some(bad) = ways_in.into_iter().flatten().find(|w| !WAYS_IN.contains(&w.as_str())) {
        errors.insert("how_to_access".into(), format!("unknown way in {:?}", bad.chars().take(40).collect::<String>()));
    }
    attending
}

/// The venue as a version records it.
pub fn as_json(venue: Option<&Venue>) -> Value {
    venue.map_or(Value::Null, |v| json!(v))
}

/// Writes the new venue: updated in place when only this listing uses it (the hall was
/// renamed), otherwise a new location for this listing (it moved; the others stay).
pub fn write_venue(
    conn: &mut DbConnection,
    service_id: &str,
    organisation_id: &str,
    current: Option<&str>,
    checked: &CheckedVenue,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let shared = match current {
        Some(id) => {
            service_at_locations::table
                .filter(service_at_locations::location_id.eq(id))
                .filter(service_at_locations::service_id.ne(service_id))
                .count()
                .get_result::<i64>(conn)?
                > 0
        }
        None => true,
    };
    let v = &checked.venue;
    let location_id = match (current, shared) {
        (Some(id), false) => {
            diesel::update(locations::table.find(id))
                .set((
                    locations::name.eq(&v.name),
                    locations::address_1.eq(&v.address),
                    locations::city.eq(&v.town),
                    locations::postcode.eq(Some(&v.postcode)),
                    locations::latitude.eq(Some(checked.lat)),
                    locations::longitude.eq(Some(checked.lon)),
                    locations::masked.eq(v.masked),
                    locations::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::delete(location_accessibility::table.filter(location_accessibility::location_id.eq(id)))
                .execute(conn)?;
            id.to_string()
        }
        _ => {
            let id = crate::ids::new_id();
            diesel::insert_into(locations::table)
                .values((
                    locations::id.eq(&id),
                    locations::organization_id.eq(Some(organisation_id)),
                    locations::name.eq(&v.name),
                    locations::address_1.eq(&v.address),
                    locations::city.eq(&v.town),
                    locations::postcode.eq(Some(&v.postcode)),
                    locations::latitude.eq(Some(checked.lat)),
                    locations::longitude.eq(Some(checked.lon)),
                    locations::masked.eq(v.masked),
                    locations::created_at.eq(now),
                    locations::updated_at.eq(now),
                ))
                .execute(conn)?;
            if let Some(old) = current {
                diesel::delete(
                    service_at_locations::table
                        .filter(service_at_locations::service_id.eq(service_id))
                        .filter(service_at_locations::location_id.eq(old)),
                )
                .execute(conn)?;
            }
            diesel::insert_into(service_at_locations::table)
                .values((
                    service_at_locations::id.eq(crate::ids::new_id()),
                    service_at_locations::service_id.eq(service_id),
                    service_at_locations::location_id.eq(&id),
                ))
                .execute(conn)?;
            id
        }
    };
    for term in &checked.terms {
        diesel::insert_into(location_accessibility::table)
            .values((location_accessibility::location_id.eq(&location_id), location_accessibility::term_id.eq(term)))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces the cost option: free, or paid as the fees words say.
pub fn write_cost(conn: &mut DbConnection, service_id: &str, free: bool, fees: Option<&str>) -> QueryResult<()> {
    diesel::delete(cost_options::table.filter(cost_options::service_id.eq(service_id))).execute(conn)?;
    diesel::insert_into(cost_options::table)
        .values((
            cost_options::id.eq(crate::ids::new_id()),
            cost_options::service_id.eq(service_id),
            cost_options::option.eq(if free { "Free" } else { "Per session" }),
            cost_options::amount.eq(if free { Some(0.0) } else { None }),
            cost_options::amount_description.eq(fees),
        ))
        .execute(conn)?;
    Ok(())
}
