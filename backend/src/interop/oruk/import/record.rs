//! One ORUK service record read into what would be stored here (a [`Plan`]): checked field by
//! field. A record that cannot be a listing (no id, name or organisation, a status outside the
//! profile's enum, impossible ages) is refused with its reasons; a part that cannot be kept (a
//! venue with coordinates out of range, a schedule we cannot represent, an unknown taxonomy
//! term) is left out with a warning, and the rest is imported.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::accounts::organisations::OrganisationView;
use crate::db::DbConnection;
use crate::directory::geocode;
use crate::directory::listing::SessionRow;
use crate::directory::listing_input::MAX_DESCRIPTION;
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::contact::safe_url;
use crate::domain::schedule::{Schedule, ValidDates};
use crate::domain::{GeoPoint, ListingStatus, Postcode};
use crate::interop::oruk::derived_id;
use crate::interop::oruk::kept::{self, KeptOrganization, KeptService};
use crate::interop::oruk::query::parse_time;

/// Most sessions kept for one listing (as the editor allows).
const MAX_SESSIONS: usize = 20;

/// The service row's fields that ORUK carries.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedService {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// In full.
    pub description: String,
    /// Status.
    pub status: ListingStatus,
    /// Web page.
    pub url: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Words about cost.
    pub fees_description: Option<String>,
    /// Youngest age.
    pub minimum_age: Option<i32>,
    /// Oldest age.
    pub maximum_age: Option<i32>,
    /// Languages, comma-separated.
    pub languages: String,
    /// Last verified (the record's `assured_date`), if given.
    pub last_verified: Option<NaiveDateTime>,
}

/// A venue and the link to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLocation {
    /// The service at location id.
    pub sal_id: String,
    /// The location id.
    pub id: String,
    /// Venue name.
    pub name: String,
    /// Street address.
    pub address_1: String,
    /// Town.
    pub city: String,
    /// Postcode.
    pub postcode: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Accessibility term ids, sorted.
    pub accessibility: Vec<String>,
}

/// A session.
/// A cost option.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCost {
    /// Id.
    pub id: String,
    /// What for.
    pub option: String,
    /// Amount.
    pub amount: Option<f64>,
    /// Currency.
    pub currency: String,
    /// Words.
    pub amount_description: Option<String>,
}

/// A contact.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedContact {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// Everything one record would store; compared with what is stored to tell "unchanged".
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The organisation (`None`: an existing one named by `organization_id`, left as it is).
    pub org: Option<OrganisationView>,
    /// Its id.
    pub org_id: String,
    /// The service.
    pub service: PlannedService,
    /// Category and audience term ids, sorted.
    pub terms: Vec<String>,
    /// Venues, by service at location id.
    pub locations: Vec<PlannedLocation>,
    /// Sessions, by id.
    pub schedules: Vec<SessionRow>,
    /// Costs, by id.
    pub costs: Vec<PlannedCost>,
    /// Contacts, by id.
    pub contacts: Vec<PlannedContact>,
    /// ORUK fields kept for the service (service areas, funding, schedule and cost dates, ...).
    pub kept: KeptService,
    /// ORUK fields kept for the organisation, when the record carries it.
    pub org_kept: Option<KeptOrganization>,
    /// The service areas a search can test (from `service_areas` it understands).
    pub areas: Vec<crate::directory::service_area::Area>,
}

/// Our id for an ORUK id: the same when it is a UUID, otherwise a stable UUID derived from it.
pub fn our_id(kind: &str, raw: &str) -> String {
    if crate::ids::is_id(raw) {
        raw.to_ascii_lowercase()
    } else {
        derived_id(kind, raw)
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn shown(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    format!("{short:?}")
}

fn first_phone(v: &Value) -> Option<String> {
    v.get("phones").and_then(Value::as_array)?.iter().find_map(|p| text(p, "number"))
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// An age field: absent or null is none; otherwise a whole number from 0 to 120.
fn age(record: &Value, key: &str, reasons: &mut Vec<String>) -> Option<i32> {
    match record.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(n) if n.fract() == 0.0 && (0.0..=120.0).contains(&n) => Some(n as i32),
            _ => {
                reasons.push(format!("{key} {v} is not a whole number of years from 0 to 120"));
                None
            }
        },
    }
}

/// The first sentence of a description, for our one-sentence summary.
pub fn summary_of(description: &str) -> String {
    let first = description.split_inclusive(['.', '!', '?']).next().unwrap_or(description).trim();
    let mut summary: String = first.chars().take(500).collect();
    if summary.is_empty() {
        summary = description.chars().take(500).collect();
    }
    summary
}

/// Reads a record. `Err` holds the reasons it is refused; warnings are added to `warnings`.
pub fn read(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    record: &Value,
    warnings: &mut Vec<String>,
) -> Result<Plan, Vec<String>> {
    let mut reasons = Vec::new();
    if !record.is_object() {
        return Err(vec!["not a JSON object".into()]);
    }
    let raw_id = text(record, "id");
    if raw_id.is_none() {
        reasons.push("id is missing".into());
    }
    let name = text(record, "name");
    match &name {
        None => reasons.push("name is missing".into()),
        Some(n) if n.chars().count() > 200 => reasons.push("name is over 200 characters".into()),
        Some(_) => {}
    }
    let status = match text(record, "status") {
        Some(s) => {
            let status = ListingStatus::parse(&s);
            if status.is_none() {
                let names: Vec<&str> = ListingStatus::ALL.iter().map(|s| s.as_str()).collect();
                reasons.push(format!("status {} is not one of {}", shown(&s), names.join(", ")));
            }
            status
        }
        None => {
            reasons.push("status is missing".into());
            None
        }
    };
    let minimum_age = age(record, "minimum_age", &mut reasons);
    let maximum_age = age(record, "maximum_age", &mut reasons);
    if let (Some(lo), Some(hi)) = (minimum_age, maximum_age) {
        if lo > hi {
            reasons.push(format!("minimum_age {lo} is above maximum_age {hi}"));
        }
    }
    let description = text(record, "description").unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        reasons.push(format!("description is over {MAX_DESCRIPTION} characters"));
    }
    let (org, org_id) = organisation(conn, record, &mut reasons);
    let (Some(raw_id), Some(name), Some(status), Some(org_id), true) =
        (raw_id, name, status, org_id, reasons.is_empty())
    else {
        return Err(reasons);
    };
    let id = our_id("service", &raw_id);

    let url = text(record, "url").filter(|u| {
        let ok = safe_url(u);
        if !ok {
            warnings.push(format!("url {} is not an http(s) address; left out", shown(u)));
        }
        ok
    });
    let email = checked_email(text(record, "email"), "email", warnings);
    let last_verified = text(record, "assured_date").and_then(|d| {
        let date = NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d").ok();
        if date.is_none() {
            warnings.push(format!("assured_date {} is not a date; ignored", shown(&d)));
        }
        date.and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    let mut languages: Vec<String> = array(record, "languages").filter_map(|l| text(l, "name")).collect();
    if array(record, "languages").any(|l| text(l, "name").is_none()) {
        warnings.push("languages without a name (the UK profile has none) are left out".into());
    }
    languages.dedup();
    let service = PlannedService {
        summary: summary_of(&description),
        description,
        id: id.clone(),
        name,
        status,
        url,
        email,
        phone: first_phone(record),
        fees_description: text(record, "fees"),
        minimum_age,
        maximum_age,
        languages: languages.join(", "),
        last_verified,
    };
    let mut plan = Plan {
        org,
        org_id,
        terms: terms(taxonomy, record, warnings),
        locations: locations(conn, taxonomy, &id, record, warnings),
        schedules: schedules(&id, record, warnings),
        costs: costs(&id, record, warnings),
        contacts: contacts(&id, record, warnings),
        kept: KeptService::default(),
        org_kept: None,
        areas: Vec::new(),
        service,
    };
    let schedule_ids: Vec<String> = plan.schedules.iter().map(|s| s.id.clone()).collect();
    let cost_ids: Vec<String> = plan.costs.iter().map(|c| c.id.clone()).collect();
    plan.kept = kept::read_service(record, &id, &schedule_ids, &cost_ids, warnings);
    plan.areas = searchable_areas(conn, &plan, warnings);
    if plan.org.is_some() {
        if let Some(org) = record.get("organization").filter(|o| o.is_object()) {
            plan.org_kept = Some(kept::read_organization(org, &plan.org_id, warnings));
        }
    }
    plan.locations.sort_by(|a, b| a.sal_id.cmp(&b.sal_id));
    plan.schedules.sort_by(|a, b| a.id.cmp(&b.id));
    plan.costs.sort_by(|a, b| a.id.cmp(&b.id));
    plan.contacts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(plan)
}

/// The kept `service_areas` a search can test: each one's `name` (or `service_area`) read as
/// postcode districts, a county, online, national or home visits; one that is not is kept as
/// written (published back) with a warning that searches cannot use it.
fn searchable_areas(
    conn: &mut DbConnection,
    plan: &Plan,
    warnings: &mut Vec<String>,
) -> Vec<crate::directory::service_area::Area> {
    let venue = plan
        .locations
        .iter()
        .find_map(|l| Some((l.postcode.clone().unwrap_or(l.name.clone()), l.latitude?, l.longitude?)));
    let mut areas: Vec<crate::directory::service_area::Area> = Vec::new();
    for (i, area) in plan.kept.service_areas.iter().enumerate() {
        let Some(words) = area.name.as_deref().or(area.service_area.as_deref()) else { continue };
        match crate::directory::service_area::from_oruk_text(conn, words, venue.clone()) {
            Ok(Ok(found)) => {
                for a in found {
                    if !areas.contains(&a) {
                        areas.push(a);
                    }
                }
            }
            Ok(Err(why)) => warnings.push(format!("service_areas[{i}]: {why}; kept as written, not used by searches")),
            Err(e) => warnings.push(format!("service_areas[{i}]: database: {e}")),
        }
    }
    areas
}

fn checked_email(email: Option<String>, what: &str, warnings: &mut Vec<String>) -> Option<String> {
    email.filter(|m| {
        let ok = crate::accounts::users::valid_email(m);
        if !ok {
            warnings.push(format!("{what} {} is not an e-mail address; left out", shown(m)));
        }
        ok
    })
}

/// The organisation: the record's `organization` (id and name required), or an existing one
/// named by `organization_id`.
fn organisation(
    conn: &mut DbConnection,
    record: &Value,
    reasons: &mut Vec<String>,
) -> (Option<OrganisationView>, Option<String>) {
    use crate::db::schema::organizations;
    use diesel::prelude::*;
    if let Some(org) = record.get("organization").filter(|o| o.is_object()) {
        let (Some(raw), Some(name)) = (text(org, "id"), text(org, "name")) else {
            reasons.push("organization needs an id and a name".into());
            return (None, None);
        };
        let id = our_id("organization", &raw);
        let mut ignored = Vec::new();
        let charity_number = array(org, "organization_identifiers")
            .find(|i| {
                text(i, "identifier_scheme").is_some_and(|s| s.eq_ignore_ascii_case("GB-CHC"))
                    || text(i, "identifier_type").is_some_and(|t| t.to_lowercase().contains("charity"))
            })
            .and_then(|i| text(i, "identifier"));
        let planned = OrganisationView {
            id: id.clone(),
            name,
            description: text(org, "description").unwrap_or_default(),
            website: text(org, "website").filter(|u| safe_url(u)),
            email: checked_email(text(org, "email"), "organization email", &mut ignored),
            phone: first_phone(org),
            charity_number,
        };
        return (Some(planned), Some(id));
    }
    let Some(raw) = text(record, "organization_id") else {
        reasons.push("organization is missing (neither organization nor organization_id)".into());
        return (None, None);
    };
    let id = our_id("organization", &raw);
    let known: Result<i64, _> = organizations::table.find(&id).count().get_result(conn);
    match known {
        Ok(n) if n > 0 => (None, Some(id)),
        Ok(_) => {
            reasons
                .push(format!("organization_id {} is not known here and the record has no organization", shown(&raw)));
            (None, None)
        }
        Err(e) => {
            reasons.push(format!("database: {e}"));
            (None, None)
        }
    }
}

/// A taxonomy term named by an attribute: by id, then by code (`term`), then by name.
fn find_term<'a>(
    taxonomy: &'a Taxonomy,
    attribute: &Value,
    vocabularies: &[Vocabulary],
) -> Result<&'a crate::directory::taxonomy::Term, String> {
    let term = attribute.get("taxonomy_term").cloned().unwrap_or(Value::Null);
    let id = text(attribute, "taxonomy_term_id").or_else(|| text(&term, "id"));
    let in_scope = |t: &&crate::directory::taxonomy::Term| vocabularies.iter().any(|v| v.as_str() == t.vocabulary);
    if let Some(found) = id.as_deref().and_then(|id| taxonomy.by_id(&id.to_ascii_lowercase())).filter(in_scope) {
        return Ok(found);
    }
    for v in vocabularies {
        if let Some(found) = text(&term, "term").and_then(|slug| taxonomy.by_slug(*v, &slug)) {
            return Ok(found);
        }
        if let Some(name) = text(&term, "name") {
            if let Some(found) = taxonomy.terms(*v).find(|t| t.name.eq_ignore_ascii_case(&name)) {
                return Ok(found);
            }
        }
    }
    Err(text(&term, "name").or(text(&term, "term")).or(id).unwrap_or_else(|| "(unnamed)".into()))
}

fn terms(taxonomy: &Taxonomy, record: &Value, warnings: &mut Vec<String>) -> Vec<String> {
    let mut ids = Vec::new();
    for attribute in array(record, "attributes") {
        match find_term(taxonomy, attribute, &[Vocabulary::Category, Vocabulary::Audience]) {
            Ok(term) => {
                ids.push(term.id.clone());
                ids.extend(term.parent_id.clone());
            }
            Err(name) => warnings.push(format!("taxonomy term {} is not one of ours; not linked", shown(&name))),
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

fn coordinate(location: &Value, key: &str) -> Result<Option<f64>, String> {
    match location.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| format!("{key} {v} is not a number")),
    }
}

fn locations(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    service_id: &str,
    record: &Value,
    warnings: &mut Vec<String>,
) -> Vec<PlannedLocation> {
    let mut planned: Vec<PlannedLocation> = Vec::new();
    for (i, sal) in array(record, "service_at_locations").enumerate() {
        let Some(location) = sal.get("location").filter(|l| l.is_object()) else {
            warnings.push(format!("service_at_locations[{i}] has no location; left out"));
            continue;
        };
        let Some(raw_id) = text(location, "id") else {
            warnings.push(format!("service_at_locations[{i}]: the location has no id; left out"));
            continue;
        };
        let label = format!("location {}", shown(&raw_id));
        if text(location, "location_type").as_deref() == Some("virtual") {
            warnings.push(format!("{label} is virtual, not a venue; left out"));
            continue;
        }
        let (lat, lon) = match (coordinate(location, "latitude"), coordinate(location, "longitude")) {
            (Ok(lat), Ok(lon)) => (lat, lon),
            (Err(e), _) | (_, Err(e)) => {
                warnings.push(format!("{label}: {e}; location left out"));
                continue;
            }
        };
        let address = array(location, "addresses")
            .find(|a| text(a, "address_type").as_deref() != Some("postal"))
            .or_else(|| array(location, "addresses").next())
            .cloned()
            .unwrap_or(Value::Null);
        let raw_postcode = text(&address, "postal_code");
        let postcode = raw_postcode.as_deref().map(|p| Postcode::parse(p).map(|p| p.as_str().to_string()));
        let (latitude, longitude) = match (lat, lon) {
            (Some(la), Some(lo)) => match GeoPoint::new(la, lo) {
                Ok(p) => (Some(p.lat()), Some(p.lon())),
                Err(e) => {
                    warnings.push(format!("{label}: {e} (latitude {la}, longitude {lo}); location left out"));
                    continue;
                }
            },
            (None, None) => match &postcode {
                Some(Ok(p)) => match geocode::geocode(conn, p) {
                    Ok(found) => (Some(found.lat), Some(found.lon)),
                    Err(_) => {
                        warnings.push(format!("{label}: no coordinates, and postcode {p} is not found"));
                        (None, None)
                    }
                },
                _ => {
                    warnings.push(format!("{label}: no coordinates; it will not be found by distance"));
                    (None, None)
                }
            },
            _ => {
                warnings.push(format!("{label}: latitude and longitude must come together; location left out"));
                continue;
            }
        };
        if let Some(Err(_)) = &postcode {
            warnings.push(format!(
                "{label}: {} is not a UK postcode; kept as written",
                shown(raw_postcode.as_deref().unwrap_or(""))
            ));
        }
        let mut accessibility = Vec::new();
        for attribute in array(location, "attributes") {
            match find_term(taxonomy, attribute, &[Vocabulary::Accessibility]) {
                Ok(term) => accessibility.push(term.id.clone()),
                Err(name) => warnings.push(format!("{label}: accessibility term {} is not one of ours", shown(&name))),
            }
        }
        for entry in array(location, "accessibility") {
            let words = text(entry, "description").or_else(|| text(entry, "accessibility")).unwrap_or_default();
            match taxonomy.terms(Vocabulary::Accessibility).find(|t| t.name.eq_ignore_ascii_case(&words)) {
                Some(term) => accessibility.push(term.id.clone()),
                None => warnings.push(format!("{label}: accessibility {} is not one of our features", shown(&words))),
            }
        }
        accessibility.sort();
        accessibility.dedup();
        let id = our_id("location", &raw_id);
        let sal_id = match text(sal, "id") {
            Some(raw) => our_id("service_at_location", &raw),
            None => derived_id("service_at_location", &format!("{service_id}/{id}")),
        };
        if planned.iter().any(|p| p.id == id) {
            warnings.push(format!("{label} is named twice; kept once"));
            continue;
        }
        planned.push(PlannedLocation {
            sal_id,
            name: text(location, "name")
                .or_else(|| text(&address, "address_1"))
                .unwrap_or_else(|| "Venue".into())
                .chars()
                .take(200)
                .collect(),
            address_1: text(&address, "address_1").unwrap_or_default(),
            city: text(&address, "city").unwrap_or_default(),
            postcode: match postcode {
                Some(Ok(p)) => Some(p),
                Some(Err(_)) => raw_postcode,
                None => None,
            },
            latitude,
            longitude,
            accessibility,
            id,
        });
    }
    planned
}

/// `byday` tokens as (weeks, days): `TU,TH` is weekly; `2TH,4TH` the 2nd and 4th Thursday.
fn split_byday(byday: &str) -> Option<(Vec<String>, Vec<String>)> {
    let mut weeks = Vec::new();
    let mut days = Vec::new();
    let mut pairs = Vec::new();
    for token in byday.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let token = token.to_ascii_uppercase();
        let split = token.len().checked_sub(2)?;
        let (week, day) = token.split_at(split);
        crate::domain::schedule::parse_day(day)?;
        if !week.is_empty() {
            week.parse::<i8>().ok()?;
        }
        pairs.push((week.to_string(), day.to_string()));
        if !weeks.contains(&week.to_string()) {
            weeks.push(week.to_string());
        }
        if !days.contains(&day.to_string()) {
            days.push(day.to_string());
        }
    }
    // Every week with every day, or it is not one of our sessions.
    (pairs.len() == weeks.len() * days.len()).then_some((weeks, days))
}

fn schedules(service_id: &str, record: &Value, warnings: &mut Vec<String>) -> Vec<SessionRow> {
    let mut planned = Vec::new();
    for (i, s) in array(record, "schedules").enumerate() {
        let label = format!("schedules[{i}]");
        let id = match text(s, "id") {
            Some(raw) => our_id("schedule", &raw),
            None => derived_id("schedule", &format!("{service_id}/{i}")),
        };
        let freq = text(s, "freq").unwrap_or_default().to_ascii_uppercase();
        if s.get("interval").and_then(Value::as_f64).is_some_and(|n| n != 1.0) {
            warnings.push(format!("{label}: only an interval of 1 is supported; left out"));
            continue;
        }
        if text(s, "bymonthday").is_some() {
            if freq == "MONTHLY" {
                warnings.push(format!("{label}: days of the month (bymonthday) are not supported; left out"));
                continue;
            }
            warnings.push(format!("{label}: bymonthday ignored for a weekly schedule"));
        }
        let Some((weeks, days)) = split_byday(&text(s, "byday").unwrap_or_default()) else {
            warnings.push(format!("{label}: byday must be days (TU,TH) or weeks and days (2TH,4TH); left out"));
            continue;
        };
        let week_of_month = match (freq.as_str(), weeks.as_slice()) {
            ("WEEKLY", [w]) if w.is_empty() => None,
            ("MONTHLY", ws) if ws.iter().all(|w| !w.is_empty()) => Some(ws.join(",")),
            _ => {
                warnings.push(format!("{label}: freq must be WEEKLY with days or MONTHLY with weeks; left out"));
                continue;
            }
        };
        let byday = days.join(",");
        let (Some(opens_at), Some(closes_at)) =
            (text(s, "opens_at").and_then(|t| parse_time(&t)), text(s, "closes_at").and_then(|t| parse_time(&t)))
        else {
            warnings.push(format!("{label}: opens_at and closes_at must be times; left out"));
            continue;
        };
        if let Err(e) = Schedule::parse(&freq, &byday, week_of_month.as_deref(), &opens_at, &closes_at) {
            warnings.push(format!("{label}: {e}; left out"));
            continue;
        }
        let date = |key: &str| {
            text(s, key).and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d").ok())
        };
        let valid = ValidDates::new(date("valid_from"), date("valid_to")).unwrap_or_else(|e| {
            warnings.push(format!("{label}: {e}; dates left out"));
            ValidDates::default()
        });
        let mut notes = text(s, "notes");
        if notes.as_ref().is_some_and(|n| n.chars().count() > 200) {
            warnings.push(format!("{label}: notes cut to 200 characters"));
            notes = notes.map(|n| n.chars().take(200).collect());
        }
        if planned.len() == MAX_SESSIONS {
            warnings.push(format!("at most {MAX_SESSIONS} sessions are kept; the rest are left out"));
            break;
        }
        planned.push(SessionRow {
            id,
            freq,
            byday,
            week_of_month,
            opens_at,
            closes_at,
            valid_from: valid.from,
            valid_to: valid.to,
            notes,
        });
    }
    planned
}

fn costs(service_id: &str, record: &Value, warnings: &mut Vec<String>) -> Vec<PlannedCost> {
    array(record, "cost_options")
        .enumerate()
        .filter_map(|(i, c)| {
            let amount = match c.get("amount") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_f64() {
                    Some(a) if a >= 0.0 && a.is_finite() => Some(a),
                    _ => {
                        warnings.push(format!("cost_options[{i}]: amount {v} is not a price; left out"));
                        return None;
                    }
                },
            };
            Some(PlannedCost {
                id: text(c, "id").map_or_else(
                    || derived_id("cost_option", &format!("{service_id}/{i}")),
                    |r| our_id("cost_option", &r),
                ),
                option: text(c, "option").unwrap_or_default(),
                amount,
                currency: text(c, "currency").filter(|c| c.len() == 3).unwrap_or_else(|| "GBP".into()),
                amount_description: text(c, "amount_description"),
            })
        })
        .collect()
}

fn contacts(service_id: &str, record: &Value, warnings: &mut Vec<String>) -> Vec<PlannedContact> {
    array(record, "contacts")
        .enumerate()
        .map(|(i, c)| PlannedContact {
            id: text(c, "id")
                .map_or_else(|| derived_id("contact", &format!("{service_id}/{i}")), |r| our_id("contact", &r)),
            name: text(c, "name"),
            title: text(c, "title"),
            email: checked_email(text(c, "email"), &format!("contacts[{i}] email"), warnings),
            phone: first_phone(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byday_tokens() {
        assert_eq!(split_byday("TU,TH"), Some((vec![String::new()], vec!["TU".into(), "TH".into()])));
        assert_eq!(split_byday("2TH,4TH"), Some((vec!["2".into(), "4".into()], vec!["TH".into()])));
        assert_eq!(split_byday("-1FR"), Some((vec!["-1".into()], vec!["FR".into()])));
        assert_eq!(split_byday("2TH,4FR"), None, "not every week with every day");
        assert_eq!(split_byday("XX"), None);
    }

    #[test]
    fn summaries_are_the_first_sentence() {
        assert_eq!(summary_of("A shed. With tools."), "A shed.");
        assert_eq!(summary_of("No full stop"), "No full stop");
        assert_eq!(our_id("service", "AC148810-D857-441C-9679-408F346DE14B"), "ac148810-d857-441c-9679-408f346de14b");
        assert!(crate::ids::is_id(&our_id("service", "local-42")));
        assert_eq!(our_id("service", "local-42"), our_id("service", "local-42"));
    }

    #[test]
    fn schedule_dates_are_kept_unless_the_wrong_way_round() {
        let session = |from: &str, to: &str| {
            serde_json::json!({"freq": "WEEKLY", "byday": "TU", "opens_at": "10:00", "closes_at": "12:00",
                "valid_from": from, "valid_to": to})
        };
        let record = serde_json::json!({"schedules": [session("2027-06-01", "2027-08-31"), session("2027-08-31", "2027-06-01")]});
        let mut warnings = Vec::new();
        let planned = schedules("service", &record, &mut warnings);
        let summer = NaiveDate::from_ymd_opt(2027, 6, 1).zip(NaiveDate::from_ymd_opt(2027, 8, 31));
        assert_eq!(planned[0].valid_from.zip(planned[0].valid_to), summer);
        assert_eq!((planned[1].valid_from, planned[1].valid_to), (None, None), "imported, without its dates");
        assert_eq!(warnings, ["schedules[1]: the last date must not be before the first; dates left out"]);
    }
}
