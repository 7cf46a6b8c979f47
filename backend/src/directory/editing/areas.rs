//! Replacing where else a listing is offered (its service areas): each line read as postcode
//! districts, a county, online, national or home visits within N km; saved as one version
//! with the areas before and after in words.

use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::{load_editable, record_version, saved_once, stale};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::{locations, service_at_locations, services};
use crate::db::{self, DbConnection};
use crate::directory::outbox;
use crate::directory::service_area::{self, Area};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::ServiceId;

/// Most area lines for one listing.
pub const MAX_AREAS: usize = 10;
/// Longest area line.
pub const MAX_AREA_LEN: usize = 200;

/// New areas for a listing, replacing the old ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreasEdit {
    /// The version the editor read.
    pub version: i32,
    /// One area a line: "GL5, GL6", "Gloucestershire", "online", "national", "home visits
    /// within 5 km of GL5 1HE" (none: only where its venue is).
    pub areas: Vec<String>,
}

/// Replaces a listing's service areas; answers the new version.
pub fn replace_areas(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ServiceId,
    e: &AreasEdit,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    let id = id.as_str();
    let row = load_editable(conn, user, id)?;
    let lines: Vec<&str> = e.areas.iter().map(|a| a.trim()).filter(|a| !a.is_empty()).collect();
    let mut errors = FieldErrors::new();
    if lines.len() > MAX_AREAS {
        errors.insert("areas".into(), format!("at most {MAX_AREAS} areas"));
    }
    let venue: Option<(String, f64, f64)> = service_at_locations::table
        .inner_join(locations::table)
        .filter(service_at_locations::service_id.eq(id))
        .select((locations::name, locations::postcode, locations::latitude, locations::longitude))
        .load::<(String, Option<String>, Option<f64>, Option<f64>)>(conn)?
        .into_iter()
        .find_map(|(name, postcode, lat, lon)| Some((postcode.unwrap_or(name), lat?, lon?)));
    let mut areas: Vec<Area> = Vec::new();
    for (i, line) in lines.iter().enumerate().take(MAX_AREAS) {
        if line.chars().count() > MAX_AREA_LEN {
            errors.insert(format!("areas[{i}]"), format!("at most {MAX_AREA_LEN} characters"));
            continue;
        }
        match service_area::from_oruk_text(conn, line, venue.clone())? {
            Ok(found) => {
                for area in found {
                    if !areas.contains(&area) {
                        areas.push(area);
                    }
                }
            }
            Err(why) => {
                let shown: String = line.chars().take(40).collect();
                errors.insert(format!("areas[{i}]"), format!("{shown:?}: {why}"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if e.version != row.version {
        return Err(stale(conn, id, row.version, e.version)?);
    }
    let labels = |a: &[Area]| a.iter().map(|a| a.label.clone()).collect::<Vec<_>>();
    let before = service_area::load_for(conn, &[id.to_string()])?.remove(id).unwrap_or_default();
    if before == areas {
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
        service_area::replace(conn, id, &areas)?;
        // The group's areas replace what an import said (published as written until now).
        let mut kept =
            crate::interop::oruk::kept::load_services(conn, &[id.to_string()])?.remove(id).unwrap_or_default();
        if !kept.service_areas.is_empty() {
            kept.service_areas.clear();
            crate::interop::oruk::kept::save_service(conn, id, &kept)?;
        }
        record_version(
            conn,
            id,
            next,
            now,
            user,
            "edit",
            &json!({"service_areas": [labels(&before), labels(&areas)]}),
        )?;
        outbox::enqueue(conn, id)?;
        audit::record(conn, &Event::by(user, "listing.edit", ip).on("service", id).detail("service_areas"))?;
        Ok(next)
    })
}
