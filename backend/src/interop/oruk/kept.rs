//! ORUK fields an import is given that the directory does not use itself, kept so that `/oruk`
//! publishes them back: a service's `service_areas`, `funding`, `accreditations`, `alert` and
//! `assurer_email`, its schedules' `dtstart`, `interval` and `attending_type`, its cost options'
//! `valid_from` and `valid_to`, and an organisation's `logo`, `uri`, `parent_organization_id`
//! and `organization_identifiers`. Each is checked as it comes in (a web address must be
//! http(s), an e-mail an e-mail, a date a date, texts bounded); one that fails is left out with
//! a warning naming the field. They are stored as JSON of [`KeptService`] and
//! [`KeptOrganization`], one row a record, and [`dropped_fields`] names whatever else a record
//! held that does not come back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::derived_id;
use super::import::record::our_id;
use super::model::{CostOption, Funding, Organization, OrganizationIdentifier, Schedule, Service, ServiceArea};
use crate::db::schema::{oruk_organization_fields, oruk_service_fields};
use crate::db::DbConnection;
use crate::domain::contact::safe_url;

/// Longest text kept (an alert, accreditations, a funding source, an area in words).
pub const MAX_TEXT: usize = 2_000;
/// Longest area shape kept (`extent`, e.g. GeoJSON).
pub const MAX_EXTENT: usize = 100_000;
/// Most funding sources, service areas or identifiers kept for one record.
pub const MAX_ITEMS: usize = 20;
/// The profile's `extent_type` values.
pub const EXTENT_TYPES: [&str; 4] = ["geojson", "topojson", "kml", "text"];

/// A schedule's kept fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeptSchedule {
    /// The first session's date, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
    /// Every how many (only 1: other intervals are not sessions we can hold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// How to attend, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attending_type: Option<String>,
}

/// A cost option's kept fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeptCost {
    /// From, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Until, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

/// A service's kept fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeptService {
    /// A short-term notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// Who last confirmed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assurer_email: Option<String>,
    /// Accreditations in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accreditations: Option<String>,
    /// Funding sources.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub funding: Vec<Funding>,
    /// Areas it is offered in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_areas: Vec<ServiceArea>,
    /// By schedule id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub schedules: BTreeMap<String, KeptSchedule>,
    /// By cost option id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cost_options: BTreeMap<String, KeptCost>,
}

/// An organisation's kept fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeptOrganization {
    /// A logo's web address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// A persistent identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The parent's id (ours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_organization_id: Option<String>,
    /// Registered numbers, as given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organization_identifiers: Vec<OrganizationIdentifier>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn shown(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    format!("{short:?}")
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// A text of at most `max` characters, without control characters other than line breaks and
/// tabs; anything else (a number, a longer text) is left out with a warning.
fn bounded(v: &Value, key: &str, max: usize, label: &str, warnings: &mut Vec<String>) -> Option<String> {
    let Some(found) = text(v, key) else {
        if v.get(key).is_some_and(|x| !x.is_null() && !x.is_string()) {
            warnings.push(format!("{label}{key} is not text; left out"));
        }
        return None;
    };
    if found.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        warnings.push(format!("{label}{key} holds control characters; left out"));
        return None;
    }
    if found.chars().count() > max {
        warnings.push(format!("{label}{key} is over {max} characters; left out"));
        return None;
    }
    Some(found)
}

/// A date (`YYYY-MM-DD`, or the date part of a date-time).
fn date(v: &Value, key: &str, label: &str, warnings: &mut Vec<String>) -> Option<String> {
    let found = bounded(v, key, 40, label, warnings)?;
    match chrono::NaiveDate::parse_from_str(found.get(..10).unwrap_or(&found), "%Y-%m-%d") {
        Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
        Err(_) => {
            warnings.push(format!("{label}{key} {} is not a date; left out", shown(&found)));
            None
        }
    }
}

/// An http(s) address.
fn web_address(v: &Value, key: &str, label: &str, warnings: &mut Vec<String>) -> Option<String> {
    let found = bounded(v, key, MAX_TEXT, label, warnings)?;
    if safe_url(&found) {
        Some(found)
    } else {
        warnings.push(format!("{label}{key} {} is not an http(s) address; left out", shown(&found)));
        None
    }
}

/// The id a schedule or cost option at `index` gets on import (as [`super::import::record`]
/// gives it).
fn child_id(kind: &str, item: &Value, service_id: &str, index: usize) -> String {
    text(item, "id").map_or_else(|| derived_id(kind, &format!("{service_id}/{index}")), |raw| our_id(kind, &raw))
}

/// Reads a service record's kept fields. `schedule_ids` and `cost_ids` are those of the
/// schedules and cost options the import keeps (a left-out one keeps nothing).
pub fn read_service(
    record: &Value,
    service_id: &str,
    schedule_ids: &[String],
    cost_ids: &[String],
    warnings: &mut Vec<String>,
) -> KeptService {
    let mut kept = KeptService {
        alert: bounded(record, "alert", MAX_TEXT, "", warnings),
        accreditations: bounded(record, "accreditations", MAX_TEXT, "", warnings),
        assurer_email: bounded(record, "assurer_email", 320, "", warnings).filter(|m| {
            let ok = crate::accounts::users::valid_email(m);
            if !ok {
                warnings.push(format!("assurer_email {} is not an e-mail address; left out", shown(m)));
            }
            ok
        }),
        ..KeptService::default()
    };
    for (i, f) in array(record, "funding").enumerate() {
        let label = format!("funding[{i}].");
        if kept.funding.len() == MAX_ITEMS {
            warnings.push(format!("at most {MAX_ITEMS} funding sources are kept; the rest are left out"));
            break;
        }
        let Some(source) = bounded(f, "source", MAX_TEXT, &label, warnings) else {
            warnings.push(format!("funding[{i}] has no source; left out"));
            continue;
        };
        kept.funding.push(Funding { id: child_id("funding", f, service_id, i), service_id: service_id.into(), source });
    }
    for (i, a) in array(record, "service_areas").enumerate() {
        let label = format!("service_areas[{i}].");
        if kept.service_areas.len() == MAX_ITEMS {
            warnings.push(format!("at most {MAX_ITEMS} service areas are kept; the rest are left out"));
            break;
        }
        let extent_type = text(a, "extent_type").map(|t| t.to_ascii_lowercase()).filter(|t| {
            let ok = EXTENT_TYPES.contains(&t.as_str());
            if !ok {
                warnings.push(format!(
                    "{label}extent_type {} is not one of {}; left out",
                    shown(t),
                    EXTENT_TYPES.join(", ")
                ));
            }
            ok
        });
        let area = ServiceArea {
            id: child_id("service_area", a, service_id, i),
            service_id: service_id.into(),
            name: bounded(a, "name", MAX_TEXT, &label, warnings),
            service_area: bounded(a, "service_area", MAX_TEXT, &label, warnings),
            extent: bounded(a, "extent", MAX_EXTENT, &label, warnings),
            extent_type,
            uri: web_address(a, "uri", &label, warnings),
        };
        if area.name.is_none() && area.service_area.is_none() && area.extent.is_none() && area.uri.is_none() {
            warnings.push(format!("service_areas[{i}] says no area (name, service_area, extent or uri); left out"));
            continue;
        }
        kept.service_areas.push(area);
    }
    for (i, s) in array(record, "schedules").enumerate() {
        let id = child_id("schedule", s, service_id, i);
        if !schedule_ids.contains(&id) {
            continue;
        }
        let label = format!("schedules[{i}].");
        let one = KeptSchedule {
            dtstart: date(s, "dtstart", &label, warnings),
            // Only 1 gets this far (other intervals leave the schedule out).
            interval: s.get("interval").and_then(Value::as_f64).filter(|n| *n == 1.0).map(|_| 1),
            attending_type: bounded(s, "attending_type", MAX_TEXT, &label, warnings),
        };
        if one != KeptSchedule::default() {
            kept.schedules.insert(id, one);
        }
    }
    for (i, c) in array(record, "cost_options").enumerate() {
        let id = child_id("cost_option", c, service_id, i);
        if !cost_ids.contains(&id) {
            continue;
        }
        let label = format!("cost_options[{i}].");
        let one = KeptCost {
            valid_from: date(c, "valid_from", &label, warnings),
            valid_to: date(c, "valid_to", &label, warnings),
        };
        if let (Some(from), Some(to)) = (&one.valid_from, &one.valid_to) {
            if to < from {
                warnings.push(format!("{label}valid_to is before valid_from; dates left out"));
                continue;
            }
        }
        if one != KeptCost::default() {
            kept.cost_options.insert(id, one);
        }
    }
    kept
}

/// Reads an organisation's kept fields (`organization` of a record; `org_id` is ours).
pub fn read_organization(org: &Value, org_id: &str, warnings: &mut Vec<String>) -> KeptOrganization {
    let mut kept = KeptOrganization {
        logo: web_address(org, "logo", "organization.", warnings),
        uri: web_address(org, "uri", "organization.", warnings),
        parent_organization_id: text(org, "parent_organization_id")
            .map(|raw| our_id("organization", &raw))
            .filter(|parent| parent != org_id),
        organization_identifiers: Vec::new(),
    };
    for (i, item) in array(org, "organization_identifiers").enumerate() {
        let label = format!("organization.organization_identifiers[{i}].");
        if kept.organization_identifiers.len() == MAX_ITEMS {
            warnings.push(format!("at most {MAX_ITEMS} organisation identifiers are kept; the rest are left out"));
            break;
        }
        let scheme = bounded(item, "identifier_scheme", 100, &label, warnings).unwrap_or_default();
        let kind = bounded(item, "identifier_type", 200, &label, warnings).or_else(|| Some(scheme.clone()));
        let (Some(identifier), Some(kind)) =
            (bounded(item, "identifier", 200, &label, warnings), kind.filter(|k| !k.is_empty()))
        else {
            warnings
                .push(format!("organization.organization_identifiers[{i}] needs an identifier and its type; left out"));
            continue;
        };
        let id = text(item, "id").map_or_else(
            || derived_id("organization_identifier", &format!("{org_id}/{scheme}/{identifier}")),
            |raw| our_id("organization_identifier", &raw),
        );
        kept.organization_identifiers.push(OrganizationIdentifier {
            id,
            organization_id: org_id.into(),
            identifier_scheme: scheme,
            identifier_type: kind,
            identifier,
        });
    }
    kept
}

/// Gives kept schedule or cost fields the new id when the import gives the child a new one
/// (as `free_child_ids` does: derived from the listing's id and the old one).
pub fn follow_new_ids<T>(map: &mut BTreeMap<String, T>, taken: &HashSet<String>, kind: &str, service_id: &str) {
    let moved: Vec<String> = map.keys().filter(|k| taken.contains(*k)).cloned().collect();
    for old in moved {
        if let Some(value) = map.remove(&old) {
            map.insert(derived_id(kind, &format!("{service_id}/{old}")), value);
        }
    }
}

/// The kept fields of these services (a row that does not parse is logged and skipped).
pub fn load_services(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, KeptService>> {
    let rows: Vec<(String, String)> = oruk_service_fields::table
        .filter(oruk_service_fields::service_id.eq_any(ids))
        .select((oruk_service_fields::service_id, oruk_service_fields::fields))
        .load(conn)?;
    Ok(parse_rows(rows, "service"))
}

/// The kept fields of these organisations.
pub fn load_organizations(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, KeptOrganization>> {
    let rows: Vec<(String, String)> = oruk_organization_fields::table
        .filter(oruk_organization_fields::organization_id.eq_any(ids))
        .select((oruk_organization_fields::organization_id, oruk_organization_fields::fields))
        .load(conn)?;
    Ok(parse_rows(rows, "organization"))
}

fn parse_rows<T: serde::de::DeserializeOwned>(rows: Vec<(String, String)>, kind: &str) -> HashMap<String, T> {
    rows.into_iter()
        .filter_map(|(id, json)| match serde_json::from_str(&json) {
            Ok(kept) => Some((id, kept)),
            Err(e) => {
                tracing::warn!(record.kind = kind, record.id = %id, error = %e, "kept oruk fields do not parse; skipped");
                None
            }
        })
        .collect()
}

/// Stores a service's kept fields (none: the row is removed).
pub fn save_service(conn: &mut DbConnection, id: &str, kept: &KeptService) -> QueryResult<()> {
    diesel::delete(oruk_service_fields::table.find(id)).execute(conn)?;
    if *kept != KeptService::default() {
        let json = serde_json::to_string(kept).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        diesel::insert_into(oruk_service_fields::table)
            .values((oruk_service_fields::service_id.eq(id), oruk_service_fields::fields.eq(json)))
            .execute(conn)?;
    }
    Ok(())
}

/// Stores an organisation's kept fields (none: the row is removed).
pub fn save_organization(conn: &mut DbConnection, id: &str, kept: &KeptOrganization) -> QueryResult<()> {
    diesel::delete(oruk_organization_fields::table.find(id)).execute(conn)?;
    if *kept != KeptOrganization::default() {
        let json = serde_json::to_string(kept).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        diesel::insert_into(oruk_organization_fields::table)
            .values((oruk_organization_fields::organization_id.eq(id), oruk_organization_fields::fields.eq(json)))
            .execute(conn)?;
    }
    Ok(())
}

/// Puts a service's kept fields into its ORUK record. Our own temporary-closure alert stands
/// over a kept one (it is newer); the arrays go in the full form only.
pub fn apply_to_service(service: &mut Service, kept: &KeptService, full: bool) {
    if service.alert.is_none() {
        service.alert.clone_from(&kept.alert);
    }
    service.assurer_email.clone_from(&kept.assurer_email);
    service.accreditations.clone_from(&kept.accreditations);
    if !full {
        return;
    }
    service.funding = Some(kept.funding.clone());
    service.service_areas = Some(kept.service_areas.clone());
    for schedule in service.schedules.iter_mut().flatten() {
        apply_to_schedule(schedule, kept.schedules.get(&schedule.id));
    }
    for cost in service.cost_options.iter_mut().flatten() {
        apply_to_cost(cost, kept.cost_options.get(&cost.id));
    }
}

fn apply_to_schedule(schedule: &mut Schedule, kept: Option<&KeptSchedule>) {
    let Some(kept) = kept else { return };
    schedule.dtstart.clone_from(&kept.dtstart);
    schedule.interval = kept.interval;
    schedule.attending_type.clone_from(&kept.attending_type);
}

fn apply_to_cost(cost: &mut CostOption, kept: Option<&KeptCost>) {
    let Some(kept) = kept else { return };
    cost.valid_from.clone_from(&kept.valid_from);
    cost.valid_to.clone_from(&kept.valid_to);
}

/// Puts an organisation's kept fields into its ORUK record. The charity number held here
/// stays as it is published; a kept identifier with the same number is not repeated.
pub fn apply_to_organization(org: &mut Organization, kept: &KeptOrganization) {
    org.logo.clone_from(&kept.logo);
    org.uri.clone_from(&kept.uri);
    org.parent_organization_id.clone_from(&kept.parent_organization_id);
    let held: Vec<String> = org.organization_identifiers.iter().map(|i| i.identifier.clone()).collect();
    org.organization_identifiers.extend(
        kept.organization_identifiers.iter().filter(|i| !held.contains(&i.identifier)).cloned().map(|mut i| {
            i.organization_id.clone_from(&org.id);
            i
        }),
    );
}

/// Every field of a record that holds a value, by path (`schedules[].dtstart`).
pub fn field_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, path: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    walk(v, &here, out);
                }
            }
            Value::Array(items) => {
                for v in items {
                    walk(v, &format!("{path}[]"), out);
                }
            }
            Value::Null => {}
            Value::String(s) if s.trim().is_empty() => {}
            _ => {
                out.insert(path.to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

/// The fields of `given` (an imported record) that `published` (what `/oruk` now says for it)
/// does not have: what the import did not keep.
pub fn dropped_fields(given: &Value, published: &Value) -> Vec<String> {
    let back = field_paths(published);
    field_paths(given).into_iter().filter(|p| !back.contains(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kept_fields_are_checked_and_named_when_left_out() {
        let record = json!({
            "alert": "Closed in August",
            "assurer_email": "not an address",
            "accreditations": "x".repeat(MAX_TEXT + 1),
            "funding": [{"id": "f1", "source": "The council"}, {"id": "f2"}],
            "service_areas": [
                {"id": "a1", "name": "Stroud district", "extent_type": "shapefile", "uri": "javascript:alert(1)"},
                {"id": "a2"}
            ],
            "schedules": [{"id": "s1", "dtstart": "2026-13-01", "interval": 1, "attending_type": "In person"}],
            "cost_options": [{"id": "c1", "valid_from": "2027-01-01", "valid_to": "2026-01-01"}]
        });
        let mut warnings = Vec::new();
        let s1 = our_id("schedule", "s1");
        let c1 = our_id("cost_option", "c1");
        let kept = read_service(&record, "svc", std::slice::from_ref(&s1), &[c1], &mut warnings);
        assert_eq!(kept.alert.as_deref(), Some("Closed in August"));
        assert_eq!(kept.assurer_email, None);
        assert_eq!(kept.accreditations, None);
        assert_eq!(kept.funding.len(), 1);
        assert_eq!(kept.service_areas.len(), 1);
        assert_eq!(kept.service_areas[0].extent_type, None);
        assert_eq!(kept.service_areas[0].uri, None);
        assert_eq!(
            kept.schedules[&s1],
            KeptSchedule { dtstart: None, interval: Some(1), attending_type: Some("In person".into()) }
        );
        assert!(kept.cost_options.is_empty());
        for field in [
            "assurer_email",
            "accreditations",
            "funding[1]",
            "service_areas[0].extent_type",
            "service_areas[0].uri",
            "service_areas[1]",
            "schedules[0].dtstart",
            "cost_options[0].valid_to",
        ] {
            assert!(warnings.iter().any(|w| w.starts_with(field)), "{field} named in {warnings:#?}");
        }
    }

    #[test]
    fn dropped_fields_are_those_not_published_back() {
        let given = json!({"id": "x", "schedules": [{"bymonthday": "2", "freq": "WEEKLY"}], "empty": "", "none": null});
        let published = json!({"id": "x", "schedules": [{"freq": "WEEKLY"}]});
        assert_eq!(dropped_fields(&given, &published), ["schedules[].bymonthday"]);
    }
}
