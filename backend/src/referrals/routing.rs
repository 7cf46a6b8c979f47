//! Routing by area: each link worker service covers postcode districts (`GL7`) or sectors
//! (`GL7 1`) and serves practices. A referral from a practice goes to the practice's service;
//! any other goes to the service covering the person's postcode (a sector beats its district).
//! Outside every coverage the answer names where to go instead, before anything is written.
//! Administrators edit a service's coverage; each change and its audit row commit together.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, OrgKind};
use crate::db::schema::{organizations, practice_services, service_coverage};
use crate::db::{self, DbConnection};
use crate::domain::{FieldErrors, Postcode};
use crate::error::AppError;

/// Most areas one service may cover.
const MAX_AREAS: usize = 500;

/// Where to go instead, for a postcode no service here covers.
pub fn outside_coverage(postcode: &Postcode) -> String {
    format!(
        "No link worker service here covers {} yet. Ask your GP practice to refer you to the social \
         prescribing service for your area, or search \"social prescribing\" on nhs.uk. If you need help \
         now, call NHS 111; in an emergency, call 999.",
        postcode.outward().as_str()
    )
}

/// The sector of a postcode (`GL7 1`).
fn sector(postcode: &Postcode) -> String {
    let text = postcode.as_str();
    text.get(..text.len().saturating_sub(2)).unwrap_or(text).to_string()
}

/// The service covering a postcode, if any: its sector's, else its district's (active link
/// worker services only).
pub fn covering_service(conn: &mut DbConnection, postcode: &Postcode) -> QueryResult<Option<String>> {
    for area in [sector(postcode), postcode.outward().as_str().to_string()] {
        let found: Option<String> = service_coverage::table
            .inner_join(organizations::table.on(organizations::id.eq(service_coverage::service_id)))
            .filter(service_coverage::area.eq(&area))
            .filter(organizations::kind.eq(OrgKind::LinkWorkerService.as_str()))
            .filter(organizations::status.eq("active"))
            .select(service_coverage::service_id)
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Reads an area as written by people: `gl7`, `GL7 1`, `ox143` (a sector without its space,
/// when the letters cannot be a district).
pub fn parse_area(text: &str) -> Option<String> {
    use crate::domain::OutwardCode;
    let words: Vec<String> = text.split_whitespace().map(str::to_ascii_uppercase).collect();
    match words.as_slice() {
        // "GL7 1": a sector, written with its space.
        [outward, digit] if digit.len() == 1 && digit.chars().all(|c| c.is_ascii_digit()) => {
            OutwardCode::parse(outward).ok().map(|o| format!("{} {digit}", o.as_str()))
        }
        [one] if one.is_ascii() && one.len() <= 5 => {
            if let Ok(district) = OutwardCode::parse(one) {
                return Some(district.as_str().to_string());
            }
            let (outward, last) = one.split_at(one.len().checked_sub(1)?);
            let digit = !last.is_empty() && last.chars().all(|c| c.is_ascii_digit());
            if digit {
                OutwardCode::parse(outward).ok().map(|o| format!("{} {last}", o.as_str()))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A service's coverage as an administrator edits it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageInput {
    /// Postcode districts (`GL7`) and sectors (`GL7 1`).
    #[serde(default)]
    pub areas: Vec<String>,
    /// The GP practices it serves (ids); a practice served by another service moves here.
    #[serde(default)]
    pub practices: Vec<String>,
}

/// One service's coverage, for the admin page and the API.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The link worker service.
    pub service_id: String,
    /// Its name.
    pub service_name: String,
    /// Districts and sectors, sorted.
    pub areas: Vec<String>,
    /// Practices it serves: (id, name).
    pub practices: Vec<(String, String)>,
}

/// Every link worker service's coverage, by name.
pub fn list(conn: &mut DbConnection, user: &CurrentUser) -> Result<Vec<Coverage>, AppError> {
    if !allows(user, Action::EditCoverage) {
        return Err(AppError::Forbidden("only administrators edit coverage".into()));
    }
    let services: Vec<(String, String)> = organizations::table
        .filter(organizations::kind.eq(OrgKind::LinkWorkerService.as_str()))
        .order(organizations::name)
        .select((organizations::id, organizations::name))
        .load(conn)?;
    let areas: Vec<(String, String)> = service_coverage::table
        .order(service_coverage::area)
        .select((service_coverage::service_id, service_coverage::area))
        .load(conn)?;
    let practices: Vec<(String, String, String)> = practice_services::table
        .inner_join(organizations::table.on(organizations::id.eq(practice_services::practice_id)))
        .order(organizations::name)
        .select((practice_services::service_id, organizations::id, organizations::name))
        .load(conn)?;
    Ok(services
        .into_iter()
        .map(|(id, name)| Coverage {
            areas: areas.iter().filter(|(s, _)| *s == id).map(|(_, a)| a.clone()).collect(),
            practices: practices.iter().filter(|(s, ..)| *s == id).map(|(_, p, n)| (p.clone(), n.clone())).collect(),
            service_id: id,
            service_name: name,
        })
        .collect())
}

/// Every GP practice: (id, name), for the admin page's checkboxes.
pub fn practices(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    organizations::table
        .filter(organizations::kind.eq(OrgKind::GpPractice.as_str()))
        .order(organizations::name)
        .select((organizations::id, organizations::name))
        .load(conn)
}

/// Replaces a service's coverage (areas and practices served), checking every area and
/// practice first: an area covered by another service is refused naming it, and nothing is
/// written unless all of it is right.
pub fn set(
    conn: &mut DbConnection,
    user: &CurrentUser,
    service_id: &str,
    input: &CoverageInput,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if !allows(user, Action::EditCoverage) {
        return Err(AppError::Forbidden("only administrators edit coverage".into()));
    }
    let service: Option<String> = organizations::table
        .find(service_id)
        .filter(organizations::kind.eq(OrgKind::LinkWorkerService.as_str()))
        .select(organizations::name)
        .first(conn)
        .optional()?;
    if service.is_none() {
        return Err(AppError::not_found("no link worker service with that id"));
    }
    let mut errors = FieldErrors::new();
    let mut areas = Vec::new();
    for raw in input.areas.iter().flat_map(|a| a.split([',', '\n', ';'])).map(str::trim).filter(|a| !a.is_empty()) {
        match parse_area(raw) {
            Some(area) => areas.push(area),
            None => {
                errors.entry("areas".into()).or_insert_with(|| {
                    format!(
                        "{:?} is not a postcode district (like GL7) or sector (like GL7 1)",
                        raw.chars().take(20).collect::<String>()
                    )
                });
            }
        }
    }
    areas.sort();
    areas.dedup();
    if areas.len() > MAX_AREAS {
        errors.insert("areas".into(), format!("at most {MAX_AREAS} districts and sectors"));
    }
    if !errors.contains_key("areas") {
        let taken: Vec<(String, String)> = service_coverage::table
            .inner_join(organizations::table.on(organizations::id.eq(service_coverage::service_id)))
            .filter(service_coverage::area.eq_any(&areas))
            .filter(service_coverage::service_id.ne(service_id))
            .select((service_coverage::area, organizations::name))
            .load(conn)?;
        if let Some((area, other)) = taken.first() {
            errors.insert("areas".into(), format!("{area} is already covered by {other}"));
        }
    }
    let mut practice_ids: Vec<String> =
        input.practices.iter().map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()).collect();
    practice_ids.sort();
    practice_ids.dedup();
    let known = practices(conn)?;
    if practice_ids.iter().any(|p| !known.iter().any(|(id, _)| id == p)) {
        errors.insert("practices".into(), "choose GP practices from the list".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::delete(service_coverage::table.filter(service_coverage::service_id.eq(service_id))).execute(conn)?;
        for area in &areas {
            diesel::insert_into(service_coverage::table)
                .values((service_coverage::service_id.eq(service_id), service_coverage::area.eq(area)))
                .execute(conn)?;
        }
        diesel::delete(
            practice_services::table
                .filter(practice_services::service_id.eq(service_id))
                .filter(practice_services::practice_id.ne_all(&practice_ids)),
        )
        .execute(conn)?;
        for practice in &practice_ids {
            diesel::delete(practice_services::table.filter(practice_services::practice_id.eq(practice)))
                .execute(conn)?;
            diesel::insert_into(practice_services::table)
                .values((practice_services::practice_id.eq(practice), practice_services::service_id.eq(service_id)))
                .execute(conn)?;
        }
        audit::record(
            conn,
            &Event::by(user, "coverage.update", ip).on("organisation", service_id).detail(&format!(
                "{} areas, {} practices",
                areas.len(),
                practice_ids.len()
            )),
        )?;
        Ok(())
    })
}

/// Gives a service the areas it covers when it has none (the demo seed).
pub fn seed_areas(conn: &mut DbConnection, service_id: &str, areas: &[&str]) -> QueryResult<()> {
    let has: i64 =
        service_coverage::table.filter(service_coverage::service_id.eq(service_id)).count().get_result(conn)?;
    if has > 0 {
        return Ok(());
    }
    for area in areas {
        let taken: i64 = service_coverage::table.filter(service_coverage::area.eq(area)).count().get_result(conn)?;
        if taken == 0 {
            diesel::insert_into(service_coverage::table)
                .values((service_coverage::service_id.eq(service_id), service_coverage::area.eq(area)))
                .execute(conn)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_districts_or_sectors() {
        for (text, want) in [
            ("gl7", Some("GL7")),
            ("GL7 1", Some("GL7 1")),
            ("gl71", Some("GL71")),
            ("OX143", Some("OX14 3")),
            (" GL5 ", Some("GL5")),
            ("OX14", Some("OX14")),
            ("OX14 3", Some("OX14 3")),
            ("SW1A", Some("SW1A")),
            ("SW1A 1", Some("SW1A 1")),
            ("GL7 1AB", None),
            ("", None),
            ("7GL", None),
            ("GL", None),
            ("GL7 X", None),
        ] {
            assert_eq!(parse_area(text).as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn a_sector_is_the_postcode_without_its_last_two_letters() {
        let p = Postcode::parse("gl7 1ab").unwrap();
        assert_eq!(sector(&p), "GL7 1");
        assert_eq!(p.outward().as_str(), "GL7");
    }
}
