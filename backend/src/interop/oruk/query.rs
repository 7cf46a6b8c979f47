//! The query parameters of the ORUK API (the profile's `openapi.json`), checked: each problem
//! is a 422 naming the parameter, never a 500 and never silently ignored.

use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::FieldErrors;
use crate::domain::{OutwardCode, Postcode};
use crate::error::AppError;

use super::{taxonomy_id, PUBLISHED_VOCABULARIES};

/// Records per page unless asked.
pub const DEFAULT_PER_PAGE: usize = 50;
/// Most records per page.
pub const MAX_PER_PAGE: usize = 100;
/// Largest `proximity`, in metres (as the directory search's largest radius).
pub const MAX_PROXIMITY_M: f64 = 200_000.0;
/// Longest `search` text.
pub const MAX_SEARCH_LEN: usize = 200;
/// Largest age accepted in `minimum_age` and `maximum_age`.
pub const MAX_AGE: i32 = 150;

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// From 1.
    pub page: usize,
    /// 1 to [`MAX_PER_PAGE`].
    pub per_page: usize,
}

impl Paging {
    /// Records to skip.
    pub fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// What a term filter names: a term, or every term of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermFilter {
    /// One term (id) of a vocabulary.
    Term(String, Vocabulary),
    /// Any term of the vocabulary.
    Vocabulary(Vocabulary),
}

/// The filters of `/services` and `/service_at_locations`, checked.
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Words that must each appear in the name, summary or description (any case).
    pub search: Vec<String>,
    /// `taxonomy_term_id` and `taxonomy_id`, each to match.
    pub terms: Vec<TermFilter>,
    /// Services whose minimum age is at least this.
    pub minimum_age: Option<i32>,
    /// Services whose maximum age is at most this.
    pub maximum_age: Option<i32>,
    /// A session on this day (`MO`..`SU`).
    pub day: Option<String>,
    /// A session opening at or after this (`HH:MM`).
    pub start_time: Option<String>,
    /// A session closing at or before this (`HH:MM`).
    pub end_time: Option<String>,
    /// Services changed here on or after this moment (UTC): HSDS's `modified_after`.
    pub modified_after: Option<chrono::NaiveDateTime>,
    /// Services run by this organisation (id, lower case): HSDS's `organization_id`.
    pub organization_id: Option<String>,
}

impl ServiceFilter {
    /// Whether any session filter is set.
    pub fn has_session_filter(&self) -> bool {
        self.day.is_some() || self.start_time.is_some() || self.end_time.is_some()
    }
}

/// "Near here" for `/service_at_locations`.
#[derive(Debug, Clone, PartialEq)]
pub struct Proximity {
    /// The postcode or outward code, normalised.
    pub postcode: String,
    /// Within this many metres, if given (otherwise nearest first, no limit).
    pub within_m: Option<f64>,
}

/// The checked parameters of a list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Paging (defaults: page 1, 50 a page).
    pub paging: Option<Paging>,
    /// Service filters.
    pub filter: ServiceFilter,
    /// Postcode and proximity.
    pub near: Option<Proximity>,
}

/// Which parameters a list accepts besides paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Taxonomies and terms: paging only.
    PagingOnly,
    /// `/services`: paging and service filters.
    Services,
    /// `/service_at_locations`: those and postcode, proximity.
    ServiceAtLocations,
}

fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

fn whole(errors: &mut FieldErrors, name: &str, text: &str, min: i64, max: i64, expected: &str) -> Option<i64> {
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.insert(name.into(), format!("must be {expected}"));
            None
        }
    }
}

/// `HH:MM` or `HH:MM:SS`, as `HH:MM`.
pub fn parse_time(text: &str) -> Option<String> {
    let t = text.trim();
    let parsed = chrono::NaiveTime::parse_from_str(t, "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M"))
        .ok()?;
    Some(parsed.format("%H:%M").to_string())
}

fn day_code(text: &str) -> Option<&'static str> {
    let lower = text.trim().to_lowercase();
    crate::directory::search::DAYS
        .iter()
        .find(|(code, name)| code.eq_ignore_ascii_case(&lower) || name.to_lowercase() == lower)
        .map(|(code, _)| *code)
}

/// A moment as HSDS's `modified_after` takes it, in UTC: RFC 3339 (`2026-01-31T09:00:00Z`,
/// or with an offset), the same without a zone (taken as UTC), or a date (its midnight).
pub fn parse_moment(text: &str) -> Option<chrono::NaiveDateTime> {
    let t = text.trim();
    if let Ok(with_zone) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(with_zone.naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(moment) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Some(moment);
        }
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Checks the query string of a list request. Unknown parameters are ignored (the profile
/// has more, such as `full` or `format`, that this API does not offer).
pub fn parse(pairs: &[(String, String)], kind: ListKind, taxonomy: &Taxonomy) -> Result<ListQuery, AppError> {
    let mut errors = FieldErrors::new();
    let page = last(pairs, "page")
        .filter(|t| !t.is_empty())
        .map_or(Some(1), |t| whole(&mut errors, "page", t, 1, 1_000_000, "a whole number from 1"));
    let per_page = last(pairs, "per_page").filter(|t| !t.is_empty()).map_or(Some(DEFAULT_PER_PAGE as i64), |t| {
        whole(&mut errors, "per_page", t, 1, MAX_PER_PAGE as i64, &format!("a whole number from 1 to {MAX_PER_PAGE}"))
    });
    let mut query = ListQuery::default();
    if let (Some(page), Some(per_page)) = (page, per_page) {
        query.paging = Some(Paging { page: page as usize, per_page: per_page as usize });
    }
    if kind != ListKind::PagingOnly {
        query.filter = parse_filter(pairs, taxonomy, &mut errors);
    }
    if kind == ListKind::ServiceAtLocations {
        query.near = parse_near(pairs, &mut errors);
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn parse_filter(pairs: &[(String, String)], taxonomy: &Taxonomy, errors: &mut FieldErrors) -> ServiceFilter {
    let mut filter = ServiceFilter::default();
    if let Some(text) = last(pairs, "search") {
        if text.chars().count() > MAX_SEARCH_LEN {
            errors.insert("search".into(), format!("at most {MAX_SEARCH_LEN} characters"));
        }
        filter.search = text.split_whitespace().map(str::to_lowercase).take(10).collect();
    }
    if let Some(id) = last(pairs, "taxonomy_term_id").filter(|t| !t.is_empty()) {
        let published = taxonomy.by_id(&id.to_ascii_lowercase()).and_then(|term| {
            PUBLISHED_VOCABULARIES.into_iter().find(|v| v.as_str() == term.vocabulary).map(|v| (term, v))
        });
        match published {
            Some((term, vocabulary)) => filter.terms.push(TermFilter::Term(term.id.clone(), vocabulary)),
            None if !crate::ids::is_id(id) => {
                errors.insert("taxonomy_term_id".into(), "not a taxonomy term id (a UUID)".into());
            }
            None => {
                errors.insert(
                    "taxonomy_term_id".into(),
                    "no taxonomy term with this id; see /oruk/taxonomy_terms".into(),
                );
            }
        }
    }
    if let Some(id) = last(pairs, "taxonomy_id").filter(|t| !t.is_empty()) {
        let id = id.to_ascii_lowercase();
        match PUBLISHED_VOCABULARIES.into_iter().find(|v| taxonomy_id(*v) == id) {
            Some(vocabulary) => filter.terms.push(TermFilter::Vocabulary(vocabulary)),
            None if !crate::ids::is_id(&id) => {
                errors.insert("taxonomy_id".into(), "not a taxonomy id (a UUID)".into());
            }
            None => {
                errors.insert("taxonomy_id".into(), "no taxonomy with this id; see /oruk/taxonomies".into());
            }
        }
    }
    let age_expected = format!("a whole number of years from 0 to {MAX_AGE}");
    for (name, target) in [("minimum_age", &mut filter.minimum_age), ("maximum_age", &mut filter.maximum_age)] {
        if let Some(text) = last(pairs, name).filter(|t| !t.is_empty()) {
            *target = whole(errors, name, text, 0, i64::from(MAX_AGE), &age_expected).map(|n| n as i32);
        }
    }
    if let Some(text) = last(pairs, "day").filter(|t| !t.is_empty()) {
        match day_code(text) {
            Some(code) => filter.day = Some(code.to_string()),
            None => {
                errors.insert("day".into(), "must be a day: MO, TU, WE, TH, FR, SA, SU (or its name)".into());
            }
        }
    }
    for (name, target) in [("start_time", &mut filter.start_time), ("end_time", &mut filter.end_time)] {
        if let Some(text) = last(pairs, name).filter(|t| !t.is_empty()) {
            match parse_time(text) {
                Some(time) => *target = Some(time),
                None => {
                    errors.insert(name.into(), "must be a 24-hour time, HH:MM or HH:MM:SS".into());
                }
            }
        }
    }
    if let Some(text) = last(pairs, "modified_after").filter(|t| !t.is_empty()) {
        match parse_moment(text) {
            Some(moment) => filter.modified_after = Some(moment),
            None => {
                errors.insert(
                    "modified_after".into(),
                    "must be a date-time like 2026-01-31T09:00:00Z (RFC 3339) or a date like 2026-01-31".into(),
                );
            }
        }
    }
    if let Some(id) = last(pairs, "organization_id").filter(|t| !t.is_empty()) {
        match uuid::Uuid::parse_str(id) {
            Ok(uuid) => filter.organization_id = Some(uuid.hyphenated().to_string()),
            Err(_) => {
                errors.insert("organization_id".into(), "not an organization id (a UUID)".into());
            }
        }
    }
    filter
}

fn parse_near(pairs: &[(String, String)], errors: &mut FieldErrors) -> Option<Proximity> {
    let postcode = last(pairs, "postcode").filter(|t| !t.is_empty());
    let proximity = last(pairs, "proximity").filter(|t| !t.is_empty());
    let within_m = match proximity {
        None => None,
        Some(text) => match text.parse::<f64>() {
            Ok(m) if m.is_finite() && m > 0.0 && m <= MAX_PROXIMITY_M => Some(m),
            _ => {
                errors.insert(
                    "proximity".into(),
                    format!("must be a distance in metres above 0 and at most {MAX_PROXIMITY_M}"),
                );
                None
            }
        },
    };
    let Some(text) = postcode else {
        if proximity.is_some() {
            errors.insert("proximity".into(), "needs a postcode to measure from".into());
        }
        return None;
    };
    let normalised = match Postcode::parse(text) {
        Ok(p) => p.as_str().to_string(),
        Err(_) => match OutwardCode::parse(text) {
            Ok(o) => o.as_str().to_string(),
            Err(_) => {
                let shown: String = text.chars().take(20).collect();
                errors.insert("postcode".into(), format!("{shown:?} is not a valid UK postcode (like GL5 1HE)"));
                return None;
            }
        },
    };
    Some(Proximity { postcode: normalised, within_m })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn paging_is_checked() {
        let taxonomy = Taxonomy::default();
        let ok = parse(&pairs(&[("page", "2"), ("per_page", "100")]), ListKind::PagingOnly, &taxonomy).unwrap();
        assert_eq!(ok.paging, Some(Paging { page: 2, per_page: 100 }));
        for (name, value) in [("per_page", "0"), ("per_page", "10000"), ("page", "-1"), ("page", "abc"), ("page", "0")]
        {
            match parse(&pairs(&[(name, value)]), ListKind::PagingOnly, &taxonomy) {
                Err(AppError::Invalid(fields)) => assert!(fields.contains_key(name), "{name}={value}"),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn times_days_and_postcodes() {
        assert_eq!(parse_time("9:30"), Some("09:30".into()));
        assert_eq!(parse_time("10:00:00"), Some("10:00".into()));
        assert_eq!(parse_time("25:00"), None);
        assert_eq!(day_code("tuesday"), Some("TU"));
        assert_eq!(day_code("TU"), Some("TU"));
        assert_eq!(day_code("Tue"), None);
        let taxonomy = Taxonomy::default();
        let near =
            parse(&pairs(&[("postcode", "gl51he"), ("proximity", "5000")]), ListKind::ServiceAtLocations, &taxonomy)
                .unwrap()
                .near
                .unwrap();
        assert_eq!(near, Proximity { postcode: "GL5 1HE".into(), within_m: Some(5000.0) });
        assert!(parse(&pairs(&[("postcode", "not a postcode")]), ListKind::ServiceAtLocations, &taxonomy).is_err());
        assert!(parse(&pairs(&[("proximity", "5000")]), ListKind::ServiceAtLocations, &taxonomy).is_err());
    }

    #[test]
    fn modified_after_and_organization_id() {
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(parse_moment("2026-01-31T09:00:00Z"), Some(at("2026-01-31 09:00:00")));
        assert_eq!(parse_moment("2026-01-31T10:00:00+01:00"), Some(at("2026-01-31 09:00:00")));
        assert_eq!(
            parse_moment("2026-01-31T09:00:00.250"),
            Some(at("2026-01-31 09:00:00") + chrono::Duration::milliseconds(250))
        );
        assert_eq!(parse_moment("2026-01-31"), Some(at("2026-01-31 00:00:00")));
        for bad in ["yesterday", "2026-02-30", "2026-01-31T25:00:00Z", "31/01/2026", "1706691600"] {
            assert_eq!(parse_moment(bad), None, "{bad}");
        }
        let taxonomy = Taxonomy::default();
        let id = "6F1C3E52-2B7A-4F0E-9C1D-2A3B4C5D6E7F";
        let ok = parse(&pairs(&[("organization_id", id)]), ListKind::Services, &taxonomy).unwrap();
        assert_eq!(ok.filter.organization_id.as_deref(), Some("6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f"));
        for (name, value) in [("organization_id", "42"), ("modified_after", "soon")] {
            match parse(&pairs(&[(name, value)]), ListKind::Services, &taxonomy) {
                Err(AppError::Invalid(fields)) => assert!(fields.contains_key(name), "{name}={value}"),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
