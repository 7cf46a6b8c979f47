//! The directory search use-case, shared by the API, the public pages and (later) the search a
//! link worker runs inside a referral: parse and check the parameters, resolve "where", ask the
//! index, load the listings of the page from the database.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::DbConnection;
use crate::directory::geocode::{self, Geocoded, Precision};
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::directory::{listing::Listing, listing_cache::ListingCache};
use crate::error::AppError;

/// Longest text query accepted.
pub const MAX_Q_LEN: usize = 200;
/// Largest radius.
pub const MAX_RADIUS_KM: f64 = 200.0;
/// Radius used when a place is given without one.
pub const DEFAULT_RADIUS_KM: f64 = 10.0;
/// Results per page unless asked.
pub const DEFAULT_PER_PAGE: usize = 20;
/// Most results per page.
pub const MAX_PER_PAGE: usize = 100;
/// Most values in one filter.
const MAX_FILTER_VALUES: usize = 20;

use crate::domain::FieldErrors;

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchFailure {
    /// Parameters that do not make sense; each named.
    #[error("invalid search")]
    Invalid(FieldErrors),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// The index failed.
    #[error("search index: {0}")]
    Index(#[from] search_index::SearchError),
}

impl From<SearchFailure> for AppError {
    fn from(e: SearchFailure) -> Self {
        match e {
            SearchFailure::Invalid(fields) => AppError::Invalid(fields),
            SearchFailure::Db(e) => e.into(),
            SearchFailure::Index(e) => e.into(),
        }
    }
}

/// A search, as typed (everything optional, all text until checked).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchParams {
    /// What.
    pub q: String,
    /// Where: a postcode, outward code, town or village.
    pub near: String,
    /// Or where, as coordinates.
    pub lat: String,
    /// Or where, as coordinates.
    pub lon: String,
    /// How far, km.
    pub radius_km: String,
    /// Category slugs.
    pub category: Vec<String>,
    /// Audience slugs.
    pub audience: Vec<String>,
    /// Accessibility feature slugs.
    pub accessibility: Vec<String>,
    /// `free` for free only.
    pub cost: String,
    /// Days, `MO`..`SU` (or day names).
    pub day: Vec<String>,
    /// `in_person`, `online`, `phone`, `hybrid`.
    pub attendance: Vec<String>,
    /// `accepting`, `waitlist`, `full`, `paused`.
    pub capacity: Vec<String>,
    /// `relevance`, `distance`, `last_verified`, `name`.
    pub sort: String,
    /// Page number from 1.
    pub page: String,
    /// Results per page.
    pub per_page: String,
    /// `1` (or `true`) to explain each result's rank (admins only).
    pub explain: String,
}

impl SearchParams {
    /// Whether the caller asked for explanations.
    pub fn wants_explain(&self) -> bool {
        matches!(self.explain.trim(), "1" | "true" | "yes")
    }
}

impl SearchParams {
    /// From query-string pairs; repeated keys and comma-separated values both add to a list.
    /// Unknown keys are ignored (pages carry their own).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut p = SearchParams::default();
        for (key, value) in pairs {
            let list = |target: &mut Vec<String>| {
                target.extend(value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string));
            };
            match key.as_str() {
                "q" => p.q = value,
                "near" => p.near = value,
                "lat" => p.lat = value,
                "lon" => p.lon = value,
                "radius_km" => p.radius_km = value,
                "category" => list(&mut p.category),
                "audience" => list(&mut p.audience),
                "accessibility" => list(&mut p.accessibility),
                "cost" => p.cost = value,
                "day" => list(&mut p.day),
                "attendance" => list(&mut p.attendance),
                "capacity" => list(&mut p.capacity),
                "sort" => p.sort = value,
                "page" => p.page = value,
                "per_page" => p.per_page = value,
                "explain" => p.explain = value,
                _ => {}
            }
        }
        p
    }
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// The listing in full.
    #[serde(flatten)]
    pub listing: Listing,
    /// Km from the origin to the nearest location.
    pub distance_km: Option<f64>,
    /// Set when the listing is here because its area covers the place rather than a venue
    /// within the radius: "covers GL5", "home visits within 10 km", "online".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covers: Option<String>,
    /// The description with matched words in `<b>`; HTML-escaped otherwise.
    pub snippet_html: Option<String>,
    /// `close` when the listing covers the need (or no words were given), `partial` when it
    /// matches only part of it; partial matches come after every close one.
    pub fit: &'static str,
    /// Why it ranks here (admins asking `explain=1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explanation>,
}

/// Why a result ranks where it does: the index's explanation (fit, each word's evidence and
/// the distance, freshness and availability multipliers) with the score they make.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// What the index found.
    #[serde(flatten)]
    pub why: search_index::Explanation,
    /// The ranking score: fit × distance × freshness × availability.
    pub score: f64,
}

/// A facet value with its count.
#[derive(Debug, Clone, Serialize)]
pub struct FacetValue {
    /// Slug (the filter value).
    pub value: String,
    /// Display name.
    pub name: String,
    /// Matching listings.
    pub count: u32,
}

/// A wider search that finds something, for "nothing found" answers.
#[derive(Debug, Clone, Serialize)]
pub struct WiderSearch {
    /// `radius`, `without_filter` or `spelling`.
    pub kind: &'static str,
    /// For people: "Search within 25 km (4 results)".
    pub label: String,
    /// The changed parameter: radius in km, the dimension to drop, or the corrected text.
    pub value: String,
    /// How many it finds.
    pub total: usize,
}

/// Why nothing was found.
#[derive(Debug, Clone, Serialize)]
pub struct ZeroResultHelp {
    /// A sentence for people.
    pub reason: String,
    /// What would find something.
    pub wider: Vec<WiderSearch>,
}

/// The checked request and where it is measured from.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    /// The point.
    #[serde(flatten)]
    pub place: Geocoded,
    /// The radius, km.
    pub radius_km: f64,
}

/// What a search answers.
#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    /// The words searched for (without a place taken from them, as in "... near Stroud").
    pub text: String,
    /// Matching listings in all.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Results per page.
    pub per_page: usize,
    /// Pages in all.
    pub pages: usize,
    /// Where distances are measured from.
    pub origin: Option<Origin>,
    /// This page of results.
    pub results: Vec<SearchResult>,
    /// Counts per filter value for this search.
    pub facets: BTreeMap<String, Vec<FacetValue>>,
    /// Set when nothing was found, or when nothing found fits closely.
    pub help: Option<ZeroResultHelp>,
    /// `close` when some listing fits the words closely (or no words were given), `weak` when
    /// listings match only part of them, `none` when nothing matches.
    pub match_strength: &'static str,
    /// How many of `total` fit closely.
    pub close_total: usize,
    /// For people, when the matches are weak: "Nothing close matches ‘stop smoking’".
    pub notice: Option<String>,
}

/// The day codes with their names.
pub const DAYS: [(&str, &str); 7] = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
];
/// Ways of attending with their names.
pub const ATTENDANCE: [(&str, &str); 4] = {
    use crate::domain::AttendingType::{Hybrid, InPerson, Online, Phone};
    [
        (InPerson.as_str(), InPerson.label()),
        (Online.as_str(), Online.label()),
        (Phone.as_str(), Phone.label()),
        (Hybrid.as_str(), Hybrid.label()),
    ]
};
/// Capacity states with their names.
pub const CAPACITY: [(&str, &str); 4] = {
    use crate::domain::Capacity::{Accepting, Full, Paused, Waitlist};
    [
        (Accepting.as_str(), Accepting.label()),
        (Waitlist.as_str(), Waitlist.label()),
        (Full.as_str(), Full.label()),
        (Paused.as_str(), Paused.label()),
    ]
};
/// Sorts with their names.
pub const SORTS: [(&str, &str); 4] =
    [("relevance", "Best match"), ("distance", "Nearest"), ("last_verified", "Recently checked"), ("name", "Name")];

fn day_code(input: &str) -> Option<&'static str> {
    let lower = input.trim().to_lowercase();
    DAYS.iter()
        .find(|(code, name)| {
            code.eq_ignore_ascii_case(&lower) || name.to_lowercase() == lower || name[..3].to_lowercase() == lower
        })
        .map(|(c, _)| *c)
}

/// Checks the parameters and runs the search (without explanations).
pub fn search(
    conn: &mut DbConnection,
    index: &search_index::SearchIndex,
    taxonomy: &Taxonomy,
    listings: &ListingCache,
    params: &SearchParams,
    public_only: bool,
) -> Result<SearchOutcome, SearchFailure> {
    search_with(conn, index, taxonomy, listings, params, public_only, false)
}

/// Checks the parameters and runs the search; `explain` (for callers the policy allows) says
/// why each result ranks where it does.
pub fn search_with(
    conn: &mut DbConnection,
    index: &search_index::SearchIndex,
    taxonomy: &Taxonomy,
    listings: &ListingCache,
    params: &SearchParams,
    public_only: bool,
    explain: bool,
) -> Result<SearchOutcome, SearchFailure> {
    let mut errors = FieldErrors::new();
    let q = params.q.trim().to_string();
    if q.chars().count() > MAX_Q_LEN {
        errors.insert("q".into(), format!("at most {MAX_Q_LEN} characters"));
    }

    // Where.
    let mut place: Option<Geocoded> = None;
    let mut q = q;
    let (lat, lon) = (params.lat.trim(), params.lon.trim());
    if params.near.trim().is_empty() && lat.is_empty() && lon.is_empty() && q.chars().count() <= MAX_Q_LEN {
        if let Some((rest, found)) = place_in_text(conn, &q)? {
            q = rest;
            place = Some(found);
        }
    }
    if !lat.is_empty() || !lon.is_empty() {
        if !params.near.trim().is_empty() {
            errors.insert("near".into(), "give a place or lat and lon, not both".into());
        }
        match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(la), Ok(lo)) => match crate::domain::GeoPoint::new(la, lo) {
                Ok(p) => {
                    place = Some(Geocoded {
                        lat: p.lat(),
                        lon: p.lon(),
                        label: format!("{la:.4}, {lo:.4}"),
                        precision: Precision::Coordinates,
                    })
                }
                Err(crate::domain::geo_point::GeoPointError::Latitude) => {
                    errors.insert("lat".into(), "latitude must be between -90 and 90".into());
                }
                Err(crate::domain::geo_point::GeoPointError::Longitude) => {
                    errors.insert("lon".into(), "longitude must be between -180 and 180".into());
                }
            },
            (la, lo) => {
                if la.is_err() {
                    errors.insert("lat".into(), "latitude must be a number (with lon)".into());
                }
                if lo.is_err() {
                    errors.insert("lon".into(), "longitude must be a number (with lat)".into());
                }
            }
        }
    } else if !params.near.trim().is_empty() {
        match geocode::geocode(conn, &params.near) {
            Ok(found) => place = Some(found),
            Err(geocode::GeocodeError::Db(e)) => return Err(SearchFailure::Db(e)),
            Err(e) => {
                errors.insert("near".into(), e.to_string());
            }
        }
    }
    let radius_km = if params.radius_km.trim().is_empty() {
        DEFAULT_RADIUS_KM
    } else {
        match params.radius_km.trim().parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 && r <= MAX_RADIUS_KM => r,
            _ => {
                errors.insert("radius_km".into(), format!("must be a number above 0 and at most {MAX_RADIUS_KM}"));
                DEFAULT_RADIUS_KM
            }
        }
    };
    if !params.radius_km.trim().is_empty()
        && place.is_none()
        && !errors.contains_key("near")
        && !errors.contains_key("lat")
    {
        errors.insert("radius_km".into(), "needs a place (near) or lat and lon".into());
    }

    // Filters.
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, vocabulary, values) in [
        ("category", Vocabulary::Category, &params.category),
        ("audience", Vocabulary::Audience, &params.audience),
        ("accessibility", Vocabulary::Accessibility, &params.accessibility),
    ] {
        check_list(&mut errors, &mut filters, name, values, |v| {
            taxonomy.by_slug(vocabulary, v).map(|t| t.slug.clone())
        });
    }
    check_list(&mut errors, &mut filters, "day", &params.day, |v| day_code(v).map(str::to_string));
    check_list(&mut errors, &mut filters, "attendance", &params.attendance, |v| {
        ATTENDANCE.iter().find(|(c, _)| *c == v).map(|(c, _)| c.to_string())
    });
    check_list(&mut errors, &mut filters, "capacity", &params.capacity, |v| {
        CAPACITY.iter().find(|(c, _)| *c == v).map(|(c, _)| c.to_string())
    });
    match params.cost.trim() {
        "" | "any" => {}
        "free" => {
            filters.insert("cost".into(), vec!["free".into()]);
        }
        _ => {
            errors.insert("cost".into(), "must be free (or left out)".into());
        }
    }

    let sort = match params.sort.trim() {
        "" | "relevance" => search_index::Sort::Relevance,
        "distance" => search_index::Sort::Distance,
        "last_verified" => search_index::Sort::LastVerified,
        "name" => search_index::Sort::Name,
        _ => {
            errors.insert("sort".into(), "must be relevance, distance, last_verified or name".into());
            search_index::Sort::Relevance
        }
    };
    if sort == search_index::Sort::Distance && place.is_none() && !errors.contains_key("near") {
        errors.insert("sort".into(), "sorting by distance needs a place (near) or lat and lon".into());
    }
    let page = parse_count(&mut errors, "page", &params.page, 1, 1, usize::MAX / 1024, "a whole number from 1");
    let per_page = parse_count(
        &mut errors,
        "per_page",
        &params.per_page,
        DEFAULT_PER_PAGE,
        1,
        MAX_PER_PAGE,
        "a whole number from 1 to 100",
    );
    if !errors.is_empty() {
        return Err(SearchFailure::Invalid(errors));
    }

    let origin_point = place.as_ref().and_then(|p| search_index::GeoPoint::new(p.lat, p.lon).ok());
    let request = search_index::SearchRequest {
        text: q.clone(),
        origin: origin_point,
        radius_km: origin_point.map(|_| radius_km),
        filters,
        sort,
        offset: (page - 1).saturating_mul(per_page),
        limit: per_page,
        public_only,
        now: crate::directory::index_sync::now_secs(),
        facets: true,
        explain,
    };
    let mut found = index.search(&request)?;
    // Listings whose area (not a venue) covers the place join the results, ranked without a
    // distance and labelled ("covers GL5").
    let mut covers: BTreeMap<String, String> = BTreeMap::new();
    let has_areas = place.is_some() && crate::directory::service_area::any(conn)?;
    if let Some(p) = place.as_ref().filter(|_| has_areas) {
        let areas = crate::directory::service_area::place_areas(conn, p.lat, p.lon, &p.label)?;
        let covering = crate::directory::service_area::covering_hits(conn, index, &request, &areas)?;
        if !covering.is_empty() {
            let words = !request.text.trim().is_empty();
            let close = f64::from(search_index::close_fit());
            found.close += covering.iter().filter(|c| !words || c.hit.fit >= close).count();
            found.total += covering.len();
            found.help = None;
            let top = if request.offset == 0 {
                std::mem::take(&mut found.hits)
            } else {
                let first = search_index::SearchRequest {
                    offset: 0,
                    limit: request.offset.saturating_add(request.limit),
                    facets: false,
                    ..request.clone()
                };
                index.search(&first)?.hits
            };
            covers = covering.iter().map(|c| (c.hit.id.clone(), c.label.clone())).collect();
            let merged = crate::directory::service_area::merge(
                top,
                covering.into_iter().map(|c| c.hit).collect(),
                request.sort == search_index::Sort::Relevance,
                words,
            );
            found.hits = merged.into_iter().skip(request.offset).take(request.limit).collect();
        }
    }
    let match_strength = match (found.total, found.close) {
        (0, _) => "none",
        (_, 0) => "weak",
        _ => "close",
    };
    let mut help = found.help.map(explain_help);
    let notice = (match_strength == "weak").then(|| {
        help = Some(weak_help(index, &request));
        format!("Nothing close matches ‘{q}’; these listings match only part of it.")
    });
    let pages = found.total.div_ceil(per_page).max(1);
    if page > pages {
        let mut errors = FieldErrors::new();
        errors.insert(
            "page".into(),
            format!(
                "there {} only {pages} page{} of results",
                if pages == 1 { "is" } else { "are" },
                if pages == 1 { "" } else { "s" }
            ),
        );
        return Err(SearchFailure::Invalid(errors));
    }
    let ids: Vec<String> = found.hits.iter().map(|h| h.id.clone()).collect();
    let listings = listings.load_many(conn, &ids, taxonomy)?;
    let mut by_id: BTreeMap<String, Listing> = listings.into_iter().map(|l| (l.id.clone(), l)).collect();
    // One highlighter for the page: its analyzer's stem cache serves every description.
    let mut highlighter = index.highlighter(&found.highlight, 180);
    let results = found
        .hits
        .iter()
        .filter_map(|hit| {
            let listing = by_id.remove(&hit.id)?;
            let snippet_html = highlighter.snippet(&listing.description);
            let close = hit.fit >= f64::from(search_index::close_fit()) || request.text.trim().is_empty();
            Some(SearchResult {
                listing,
                covers: covers.get(&hit.id).cloned(),
                distance_km: hit.distance_km.map(|d| (d * 10.0).round() / 10.0),
                snippet_html,
                fit: if close { "close" } else { "partial" },
                explain: hit.explain.clone().map(|why| Explanation { why, score: hit.score }),
            })
        })
        .collect();
    Ok(SearchOutcome {
        text: q,
        total: found.total,
        page,
        per_page,
        pages,
        origin: place.map(|p| Origin { place: p, radius_km }),
        results,
        facets: named_facets(found.facets, taxonomy),
        help,
        match_strength,
        close_total: found.close,
        notice,
    })
}

/// Link workers type the place into the query: "walking group near Cirencester", "diabetes
/// education Gloucester", "art GL5 1HE". When the words after "near", "in" or "around", or the
/// last one to three words (a capitalised place name or a postcode), resolve to a place, they
/// become the origin and are taken out of the text. Lower-case trailing words are left alone,
/// so "book reading" stays a search for reading, not for the town.
fn place_in_text(conn: &mut DbConnection, q: &str) -> Result<Option<(String, Geocoded)>, SearchFailure> {
    let words: Vec<&str> = q.split_whitespace().collect();
    let resolve = |conn: &mut DbConnection, candidate: &str| -> Result<Option<Geocoded>, SearchFailure> {
        match geocode::geocode(conn, candidate) {
            Ok(found) => Ok(Some(found)),
            Err(geocode::GeocodeError::Db(e)) => Err(SearchFailure::Db(e)),
            Err(_) => Ok(None),
        }
    };
    if let Some(i) = words.iter().rposition(|w| matches!(w.to_lowercase().as_str(), "near" | "in" | "around")) {
        let candidate = words[i + 1..].join(" ");
        if !candidate.is_empty() {
            if let Some(found) = resolve(conn, &candidate)? {
                return Ok(Some((words[..i].join(" "), found)));
            }
        }
    }
    for take in (1..=3.min(words.len())).rev() {
        let candidate = words[words.len() - take..].join(" ");
        let capitalised = candidate.chars().next().is_some_and(char::is_uppercase);
        let postcode_like =
            candidate.chars().any(|c| c.is_ascii_digit()) && crate::domain::postcode::looks_like_postcode(&candidate);
        if !(capitalised || postcode_like) {
            continue;
        }
        if let Some(found) = resolve(conn, &candidate)? {
            return Ok(Some((words[..words.len() - take].join(" "), found)));
        }
    }
    Ok(None)
}

fn check_list(
    errors: &mut FieldErrors,
    filters: &mut BTreeMap<String, Vec<String>>,
    name: &str,
    values: &[String],
    known: impl Fn(&str) -> Option<String>,
) {
    if values.len() > MAX_FILTER_VALUES {
        errors.insert(name.into(), format!("at most {MAX_FILTER_VALUES} values"));
        return;
    }
    let mut accepted = Vec::new();
    for value in values {
        match known(value.trim()) {
            Some(v) => accepted.push(v),
            None => {
                let shown: String = value.chars().take(40).collect();
                errors.insert(name.into(), format!("unknown {name} {shown:?}"));
                return;
            }
        }
    }
    if !accepted.is_empty() {
        filters.insert(name.into(), accepted);
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_count(
    errors: &mut FieldErrors,
    name: &str,
    text: &str,
    default: usize,
    min: usize,
    max: usize,
    expected: &str,
) -> usize {
    if text.trim().is_empty() {
        return default;
    }
    match text.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => {
            errors.insert(name.into(), format!("must be {expected}"));
            default
        }
    }
}

fn named_facets(facets: search_index::Facets, taxonomy: &Taxonomy) -> BTreeMap<String, Vec<FacetValue>> {
    let mut out = BTreeMap::new();
    for (dimension, counts) in facets {
        let name_of = |value: &str| -> Option<String> {
            let fixed = |table: &[(&str, &str)]| table.iter().find(|(c, _)| *c == value).map(|(_, n)| n.to_string());
            match dimension.as_str() {
                "category" => taxonomy.by_slug(Vocabulary::Category, value).map(|t| t.name.clone()),
                "audience" => taxonomy.by_slug(Vocabulary::Audience, value).map(|t| t.name.clone()),
                "accessibility" => taxonomy.by_slug(Vocabulary::Accessibility, value).map(|t| t.name.clone()),
                "day" => fixed(&DAYS),
                "attendance" => fixed(&ATTENDANCE),
                "capacity" => fixed(&CAPACITY),
                "cost" => Some(if value == "free" { "Free".into() } else { "Costs money".into() }),
                _ => None,
            }
        };
        let mut values: Vec<FacetValue> = counts
            .into_iter()
            .filter_map(|(value, count)| Some(FacetValue { name: name_of(&value)?, value, count }))
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        if !values.is_empty() && dimension != "status" {
            out.insert(dimension, values);
        }
    }
    out
}

/// When every match is partial: wider searches that find a close match (a larger radius, or
/// the words alone without the filters), if any.
fn weak_help(index: &search_index::SearchIndex, request: &search_index::SearchRequest) -> ZeroResultHelp {
    let mut wider = Vec::new();
    let closer = |r: search_index::SearchRequest| -> usize {
        index
            .search(&search_index::SearchRequest { limit: 0, offset: 0, facets: false, explain: false, ..r })
            .map_or(0, |f| f.close)
    };
    if let Some(radius) = request.radius_km.filter(|r| *r < MAX_RADIUS_KM) {
        for wider_km in [25.0, 50.0, MAX_RADIUS_KM] {
            if wider_km <= radius {
                continue;
            }
            let close = closer(search_index::SearchRequest { radius_km: Some(wider_km), ..request.clone() });
            if close > 0 {
                wider.push(WiderSearch {
                    kind: "radius",
                    label: format!("Search within {wider_km} km ({close} close matches)"),
                    value: wider_km.to_string(),
                    total: close,
                });
                break;
            }
        }
    }
    for dimension in request.filters.keys() {
        let mut filters = request.filters.clone();
        filters.remove(dimension);
        let close = closer(search_index::SearchRequest { filters, ..request.clone() });
        if close > 0 {
            wider.push(WiderSearch {
                kind: "without_filter",
                label: format!("Search without the {dimension} filter ({close} close matches)"),
                value: dimension.clone(),
                total: close,
            });
        }
    }
    let reason = if wider.is_empty() {
        "Nothing in the directory fits these words closely; the listings below match only part of them.".to_string()
    } else {
        "Nothing close matches here; a wider search finds closer matches.".to_string()
    };
    ZeroResultHelp { reason, wider }
}

fn explain_help(help: search_index::ZeroResultHelp) -> ZeroResultHelp {
    let wider = help
        .wider
        .into_iter()
        .map(|w| match w {
            search_index::WiderSearch::Radius { radius_km, total } => WiderSearch {
                kind: "radius",
                label: format!("Search within {radius_km} km ({total} found)"),
                value: radius_km.to_string(),
                total,
            },
            search_index::WiderSearch::WithoutFilter { dimension, total } => WiderSearch {
                kind: "without_filter",
                label: format!("Search without the {dimension} filter ({total} found)"),
                value: dimension,
                total,
            },
            search_index::WiderSearch::Spelling { text, total } => WiderSearch {
                kind: "spelling",
                label: format!("Search for “{text}” ({total} found)"),
                value: text,
                total,
            },
        })
        .collect();
    ZeroResultHelp { reason: help.reason, wider }
}
