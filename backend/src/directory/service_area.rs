//! Where a listing is offered besides (or instead of) its venues: postcode districts (`GL5`),
//! a county (as the places list names it), online, national, or home visits within N km of a
//! base. A search from a place includes a listing whose area covers that place, labelled
//! ("covers GL5") and ranked without a distance ([`covering_hits`]). Areas come in from Open
//! Referral UK `service_areas` ([`from_oruk_text`]) and are indexed as `area/...` facet terms.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{places, postcodes, service_areas};
use crate::db::DbConnection;
use crate::domain::{OutwardCode, Postcode};

/// Largest home-visit radius.
pub const MAX_HOME_KM: f64 = 100.0;
/// The facet dimension areas are indexed under.
pub const FACET: &str = "area";
/// Ranking multiplier of a listing offered online or nationally when it joins a local search:
/// the distance multiplier of a venue 8 km away (the blend's distance scale), so a local
/// listing that fits as well comes first. A listing whose local area covers the place gets 1.
pub const EVERYWHERE_FACTOR: f64 = 0.56;

/// What kind of area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// A postcode district (outward code).
    PostcodeDistrict,
    /// A county.
    County,
    /// Online, from anywhere.
    Online,
    /// Anywhere in the country.
    National,
    /// Home visits within a radius of a base.
    HomeVisits,
}

impl AreaKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AreaKind::PostcodeDistrict => "postcode_district",
            AreaKind::County => "county",
            AreaKind::Online => "online",
            AreaKind::National => "national",
            AreaKind::HomeVisits => "home_visits",
        }
    }

    /// From storage.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::PostcodeDistrict, Self::County, Self::Online, Self::National, Self::HomeVisits]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// One area of a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Area {
    /// What kind.
    pub kind: AreaKind,
    /// `GL5`, `Gloucestershire`, or the home-visit base in words; empty for online and national.
    pub value: String,
    /// Home visits: how far, km.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius_km: Option<f64>,
    /// Home visits: the base.
    #[serde(skip)]
    pub base: Option<(f64, f64)>,
    /// For people: "GL5", "Gloucestershire", "Online", "Anywhere in the country", "Home visits
    /// within 10 km of GL5 1HE".
    pub label: String,
}

impl Area {
    fn new(kind: AreaKind, value: String, radius_km: Option<f64>, base: Option<(f64, f64)>) -> Self {
        let label = match kind {
            AreaKind::PostcodeDistrict | AreaKind::County => value.clone(),
            AreaKind::Online => "Online".into(),
            AreaKind::National => "Anywhere in the country".into(),
            AreaKind::HomeVisits => {
                format!("Home visits within {} km of {value}", radius_km.map_or(0.0, |r| (r * 10.0).round() / 10.0))
            }
        };
        Area { kind, value, radius_km, base, label }
    }

    /// The facet value it is indexed under (`area/<value>`).
    pub fn facet_value(&self, service_id: &str) -> String {
        match self.kind {
            AreaKind::PostcodeDistrict => format!("outward-{}", self.value.to_ascii_lowercase()),
            AreaKind::County => format!("county-{}", slug(&self.value)),
            AreaKind::Online => "online".into(),
            AreaKind::National => "national".into(),
            // A radius is not a term: the search works out which home-visit listings reach the
            // place and asks for them by id.
            AreaKind::HomeVisits => format!("listing-{service_id}"),
        }
    }
}

fn slug(text: &str) -> String {
    text.trim().to_lowercase().split_whitespace().collect::<Vec<_>>().join("-")
}

fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let (dp, dl) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}

/// Reads an area from the words of an ORUK service area (its `name` or `service_area`).
/// `Ok(areas)` when every part is understood; `Err` says what is understood (postcode
/// districts, a county, online, national, home visits within N km).
pub fn from_oruk_text(
    conn: &mut DbConnection,
    text: &str,
    venue: Option<(String, f64, f64)>,
) -> QueryResult<Result<Vec<Area>, String>> {
    let t = text.trim();
    let lower = t.to_lowercase();
    let expected = "not an area we can search by: postcode districts (GL5, GL6), a county (Gloucestershire), \
                    online, national, or home visits within N km (of a postcode)";
    if ["online", "on-line", "online only"].contains(&lower.as_str()) {
        return Ok(Ok(vec![Area::new(AreaKind::Online, String::new(), None, None)]));
    }
    if ["national", "nationwide", "uk-wide", "uk wide", "england", "united kingdom", "anywhere in the country"]
        .contains(&lower.as_str())
    {
        return Ok(Ok(vec![Area::new(AreaKind::National, String::new(), None, None)]));
    }
    if let Some(rest) = lower.strip_prefix("home visits within ") {
        // "home visits within 10 km" (of the venue) or "... km of GL5 1HE".
        let mut words = rest.split_whitespace();
        let km = words.next().and_then(|n| n.trim_end_matches("km").parse::<f64>().ok());
        let Some(km) = km.filter(|k| k.is_finite() && *k > 0.0 && *k <= MAX_HOME_KM) else {
            return Ok(Err(format!("home visits need a distance above 0 and at most {MAX_HOME_KM} km")));
        };
        let after: Vec<&str> = words.skip_while(|w| *w == "km").collect();
        let base_text = match after.as_slice() {
            ["of", place @ ..] if !place.is_empty() => Some(place.join(" ")),
            [] => None,
            _ => return Ok(Err(expected.into())),
        };
        let base = match base_text {
            Some(place) => match crate::directory::geocode::geocode(conn, &place) {
                Ok(found) => (found.label, found.lat, found.lon),
                Err(crate::directory::geocode::GeocodeError::Db(e)) => return Err(e),
                Err(e) => return Ok(Err(format!("home visits from {place:?}: {e}"))),
            },
            None => match venue {
                Some(v) => v,
                None => return Ok(Err("home visits need a base: \"within N km of <postcode>\", or a venue".into())),
            },
        };
        return Ok(Ok(vec![Area::new(AreaKind::HomeVisits, base.0, Some(km), Some((base.1, base.2)))]));
    }
    // A county the places list knows.
    let counties: Vec<String> = places::table.select(places::county).distinct().load(conn)?;
    let bare = lower.trim_start_matches("all of ").trim_end_matches(" county");
    if let Some(county) = counties.iter().find(|c| c.to_lowercase() == bare) {
        return Ok(Ok(vec![Area::new(AreaKind::County, county.clone(), None, None)]));
    }
    // Postcode districts: "GL5", "GL5, GL6 and GL10".
    let parts: Vec<&str> =
        t.split([',', ';', '/']).flat_map(|p| p.split(" and ")).map(str::trim).filter(|p| !p.is_empty()).collect();
    let mut areas = Vec::new();
    for part in &parts {
        match OutwardCode::parse(part) {
            Ok(code) if Postcode::parse(part).is_err() => {
                let value = code.as_str().to_string();
                if !areas.iter().any(|a: &Area| a.value == value) {
                    areas.push(Area::new(AreaKind::PostcodeDistrict, value, None, None));
                }
            }
            _ => return Ok(Err(expected.into())),
        }
    }
    if areas.is_empty() {
        return Ok(Err(expected.into()));
    }
    Ok(Ok(areas))
}

/// The areas of these listings, by listing.
pub fn load_for(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, Vec<Area>>> {
    type Row = (String, String, String, Option<f64>, Option<f64>, Option<f64>);
    let rows: Vec<Row> = service_areas::table
        .filter(service_areas::service_id.eq_any(ids))
        .order((service_areas::service_id, service_areas::position))
        .select((
            service_areas::service_id,
            service_areas::kind,
            service_areas::value,
            service_areas::radius_km,
            service_areas::latitude,
            service_areas::longitude,
        ))
        .load(conn)?;
    let mut by: HashMap<String, Vec<Area>> = HashMap::new();
    for (service_id, kind, value, radius_km, lat, lon) in rows {
        let Some(kind) = AreaKind::parse(&kind) else { continue };
        by.entry(service_id).or_default().push(Area::new(kind, value, radius_km, lat.zip(lon)));
    }
    Ok(by)
}

/// Replaces a listing's areas (call inside the write's transaction).
pub fn replace(conn: &mut DbConnection, service_id: &str, areas: &[Area]) -> QueryResult<()> {
    diesel::delete(service_areas::table.filter(service_areas::service_id.eq(service_id))).execute(conn)?;
    for (i, area) in areas.iter().enumerate() {
        diesel::insert_into(service_areas::table)
            .values((
                service_areas::id.eq(crate::ids::stable_id(&format!("service_area/{service_id}/{i}"))),
                service_areas::service_id.eq(service_id),
                service_areas::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
                service_areas::kind.eq(area.kind.as_str()),
                service_areas::value.eq(&area.value),
                service_areas::radius_km.eq(area.radius_km),
                service_areas::latitude.eq(area.base.map(|b| b.0)),
                service_areas::longitude.eq(area.base.map(|b| b.1)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Where a search's place lies, in the terms areas use.
#[derive(Debug, Clone, Default)]
pub struct PlaceAreas {
    /// The point.
    pub point: (f64, f64),
    /// Its postcode district (of the postcode given, or the nearest postcode).
    pub outward: Option<String>,
    /// Its county (of the nearest town or village).
    pub county: Option<String>,
}

/// Whether any listing has an area of this kind (a search skips the work when none does).
fn any_of(conn: &mut DbConnection, kind: AreaKind) -> QueryResult<bool> {
    let found: Option<String> = service_areas::table
        .filter(service_areas::kind.eq(kind.as_str()))
        .select(service_areas::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Whether any listing has an area at all.
pub fn any(conn: &mut DbConnection) -> QueryResult<bool> {
    let found: Option<String> = service_areas::table.select(service_areas::id).first(conn).optional()?;
    Ok(found.is_some())
}

/// Works out the postcode district and county of a search's place.
pub fn place_areas(conn: &mut DbConnection, lat: f64, lon: f64, label: &str) -> QueryResult<PlaceAreas> {
    let outward = match Postcode::parse(label).map(|p| p.outward().as_str().to_string()) {
        Ok(o) => Some(o),
        Err(_) => match OutwardCode::parse(label.trim_end_matches(" (area)")) {
            Ok(o) => Some(o.as_str().to_string()),
            Err(_) if any_of(conn, AreaKind::PostcodeDistrict)? => nearest_outward(conn, lat, lon)?,
            Err(_) => None,
        },
    };
    let towns: Vec<(String, f64, f64)> =
        places::table.select((places::county, places::latitude, places::longitude)).load(conn)?;
    let county = towns
        .into_iter()
        .map(|(county, la, lo)| (haversine_km((lat, lon), (la, lo)), county))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(d, _)| *d <= 15.0)
        .map(|(_, c)| c);
    Ok(PlaceAreas { point: (lat, lon), outward, county })
}

fn nearest_outward(conn: &mut DbConnection, lat: f64, lon: f64) -> QueryResult<Option<String>> {
    // About 3 km around the point.
    let (dlat, dlon) = (0.03, 0.045);
    let near: Vec<(String, f64, f64)> = postcodes::table
        .filter(postcodes::latitude.between(lat - dlat, lat + dlat))
        .filter(postcodes::longitude.between(lon - dlon, lon + dlon))
        .select((postcodes::outward, postcodes::latitude, postcodes::longitude))
        .limit(5_000)
        .load(conn)?;
    Ok(near
        .into_iter()
        .map(|(o, la, lo)| (haversine_km((lat, lon), (la, lo)), o))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o))
}

/// The facet values (`area/<value>`) a listing must have to cover the place: its district,
/// its county, online, national, and the home-visit listings that reach it.
pub fn covering_values(conn: &mut DbConnection, place: &PlaceAreas) -> QueryResult<Vec<String>> {
    let mut values = vec!["online".to_string(), "national".to_string()];
    if let Some(o) = &place.outward {
        values.push(format!("outward-{}", o.to_ascii_lowercase()));
    }
    if let Some(c) = &place.county {
        values.push(format!("county-{}", slug(c)));
    }
    type HomeRow = (String, Option<f64>, Option<f64>, Option<f64>);
    let homes: Vec<HomeRow> = service_areas::table
        .filter(service_areas::kind.eq(AreaKind::HomeVisits.as_str()))
        .select((
            service_areas::service_id,
            service_areas::radius_km,
            service_areas::latitude,
            service_areas::longitude,
        ))
        .load(conn)?;
    for (service_id, radius, lat, lon) in homes {
        if let (Some(r), Some(la), Some(lo)) = (radius, lat, lon) {
            if haversine_km(place.point, (la, lo)) <= r {
                values.push(format!("listing-{service_id}"));
            }
        }
    }
    values.sort();
    values.dedup();
    Ok(values)
}

/// Why a listing with these areas covers the place, for people ("covers GL5"), with its
/// ranking multiplier; `None` when it does not.
pub fn covers(areas: &[Area], place: &PlaceAreas) -> Option<(String, f64)> {
    let local = areas.iter().find_map(|a| match a.kind {
        AreaKind::PostcodeDistrict if place.outward.as_deref() == Some(a.value.as_str()) => {
            Some(format!("covers {}", a.value))
        }
        AreaKind::County if place.county.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&a.value)) => {
            Some(format!("covers {}", a.value))
        }
        AreaKind::HomeVisits => {
            let (r, base) = (a.radius_km?, a.base?);
            (haversine_km(place.point, base) <= r).then(|| format!("home visits within {r} km"))
        }
        _ => None,
    });
    if let Some(label) = local {
        return Some((label, 1.0));
    }
    areas.iter().find_map(|a| match a.kind {
        AreaKind::Online => Some(("online".to_string(), EVERYWHERE_FACTOR)),
        AreaKind::National => Some(("anywhere in the country".to_string(), EVERYWHERE_FACTOR)),
        _ => None,
    })
}

/// A listing found because its area covers the place.
#[derive(Debug, Clone)]
pub struct Covering {
    /// The index's hit (scored without a distance), its score times the area's multiplier.
    pub hit: search_index::Hit,
    /// "covers GL5".
    pub label: String,
}

/// The listings whose area covers the search's place and that match its words and filters,
/// leaving out those the radius search finds anyway (a venue within the radius); best first.
pub fn covering_hits(
    conn: &mut DbConnection,
    index: &search_index::SearchIndex,
    request: &search_index::SearchRequest,
    place: &PlaceAreas,
) -> Result<Vec<Covering>, crate::directory::search::SearchFailure> {
    let mut filters: BTreeMap<String, Vec<String>> = request.filters.clone();
    filters.insert(FACET.into(), covering_values(conn, place)?);
    let wide = search_index::SearchRequest {
        origin: None,
        radius_km: None,
        filters,
        sort: search_index::Sort::Relevance,
        offset: 0,
        limit: 1_000,
        facets: false,
        ..request.clone()
    };
    let found = index.search(&wide)?;
    if found.hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = found.hits.iter().map(|h| h.id.clone()).collect();
    let areas = load_for(conn, &ids)?;
    let near = with_venue_within(conn, &ids, place.point, request.radius_km.unwrap_or(0.0))?;
    let mut out: Vec<Covering> = found
        .hits
        .into_iter()
        .filter(|h| !near.contains(&h.id))
        .filter_map(|mut hit| {
            let (label, factor) = covers(areas.get(&hit.id)?, place)?;
            hit.score *= factor;
            hit.distance_km = None;
            if let Some(why) = &mut hit.explain {
                why.distance = factor;
            }
            Some(Covering { hit, label })
        })
        .collect();
    let close = f64::from(search_index::close_fit());
    let words = !request.text.trim().is_empty();
    out.sort_by(|a, b| {
        let (ca, cb) = (!words || a.hit.fit >= close, !words || b.hit.fit >= close);
        cb.cmp(&ca).then(b.hit.score.total_cmp(&a.hit.score)).then(a.hit.id.cmp(&b.hit.id))
    });
    Ok(out)
}

/// The radius search's first hits and the covering ones in one order: by relevance, close
/// matches before partial ones and then by score; in another order, the covering ones (which
/// have no distance) after the others.
pub fn merge(
    venues: Vec<search_index::Hit>,
    covering: Vec<search_index::Hit>,
    by_relevance: bool,
    words: bool,
) -> Vec<search_index::Hit> {
    let mut all: Vec<(bool, search_index::Hit)> =
        venues.into_iter().map(|h| (false, h)).chain(covering.into_iter().map(|h| (true, h))).collect();
    if by_relevance {
        let close = f64::from(search_index::close_fit());
        // Stable: each list keeps its own order among equals.
        all.sort_by(|(_, a), (_, b)| {
            let (ca, cb) = (!words || a.fit >= close, !words || b.fit >= close);
            cb.cmp(&ca).then(b.score.total_cmp(&a.score))
        });
    } else {
        all.sort_by_key(|(covering, _)| *covering);
    }
    all.into_iter().map(|(_, h)| h).collect()
}

fn with_venue_within(
    conn: &mut DbConnection,
    ids: &[String],
    point: (f64, f64),
    radius_km: f64,
) -> QueryResult<Vec<String>> {
    use crate::db::schema::{locations, service_at_locations};
    let rows: Vec<(String, Option<f64>, Option<f64>)> = service_at_locations::table
        .inner_join(locations::table)
        .filter(service_at_locations::service_id.eq_any(ids))
        .select((service_at_locations::service_id, locations::latitude, locations::longitude))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, la, lo)| la.zip(*lo).is_some_and(|p| haversine_km(point, p) <= radius_km))
        .map(|(id, ..)| id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(kind: AreaKind, value: &str, r: Option<f64>, base: Option<(f64, f64)>) -> Area {
        Area::new(kind, value.into(), r, base)
    }

    #[test]
    fn labels_and_cover() {
        let stroud = PlaceAreas {
            point: (51.7446, -2.2155),
            outward: Some("GL5".into()),
            county: Some("Gloucestershire".into()),
        };
        assert_eq!(
            covers(&[area(AreaKind::PostcodeDistrict, "GL5", None, None)], &stroud),
            Some(("covers GL5".into(), 1.0))
        );
        assert_eq!(covers(&[area(AreaKind::PostcodeDistrict, "GL1", None, None)], &stroud), None);
        assert_eq!(
            covers(&[area(AreaKind::County, "Gloucestershire", None, None)], &stroud).map(|c| c.0),
            Some("covers Gloucestershire".into())
        );
        let home = area(AreaKind::HomeVisits, "GL5 1HE", Some(5.0), Some((51.745, -2.217)));
        assert_eq!(home.label, "Home visits within 5 km of GL5 1HE");
        assert!(covers(std::slice::from_ref(&home), &stroud).is_some());
        let oxford =
            PlaceAreas { point: (51.752, -1.2577), outward: Some("OX1".into()), county: Some("Oxfordshire".into()) };
        assert_eq!(covers(&[home], &oxford), None);
        assert_eq!(
            covers(&[area(AreaKind::Online, "", None, None)], &oxford),
            Some(("online".into(), EVERYWHERE_FACTOR))
        );
        assert_eq!(area(AreaKind::PostcodeDistrict, "GL5", None, None).facet_value("x"), "outward-gl5");
        assert_eq!(area(AreaKind::County, "West Berkshire", None, None).facet_value("x"), "county-west-berkshire");
    }
}
