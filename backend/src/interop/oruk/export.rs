//! The directory's public listings as Open Referral UK records: which listings are public (as
//! the public search: approved, active or temporarily closed, not merged, verified within 12
//! months), the filters of the profile's API, and the mapping of our tables to its records.
//! Children are loaded for a whole page at once (a fixed number of queries per page).

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{
    Accessibility, Address, ApiInfo, Attribute, Contact, CostOption, Language, Location, Organization,
    OrganizationIdentifier, Page, Phone, Schedule, Service, ServiceAtLocation, Taxonomy as OrukTaxonomy, TaxonomyTerm,
};
use super::query::{ListQuery, Paging, ServiceFilter, TermFilter};
use super::{derived_id, taxonomy_id, PUBLISHED_VOCABULARIES};
use crate::db::schema::{
    contacts, cost_options, location_accessibility, locations, organizations, schedules, service_at_locations,
    service_taxonomy, services, taxonomy_terms,
};
use crate::db::DbConnection;
use crate::directory::listing::{LocationRow, ServiceRow, SessionRow, HIDDEN_AFTER_DAYS};
use crate::directory::taxonomy::{Taxonomy, Term, Vocabulary};
use crate::domain::{Approval, ListingStatus};
use crate::error::AppError;

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both engines.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What `GET /oruk/` answers.
pub fn api_info() -> ApiInfo {
    ApiInfo {
        version: "3.0",
        profile: "https://github.com/openreferral/uk-profile",
        openapi_url: "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json",
    }
}

/// A vocabulary's taxonomy name and description.
fn vocabulary_words(vocabulary: Vocabulary) -> (&'static str, &'static str) {
    match vocabulary {
        Vocabulary::Category => ("Common Ground categories", "What a community activity is about, in two levels"),
        Vocabulary::Audience => ("Common Ground audiences", "Who a community activity is for"),
        Vocabulary::Accessibility => ("Common Ground accessibility features", "Accessibility features of a venue"),
        Vocabulary::ReferralReason => ("Common Ground referral reasons", "Why a person is referred"),
    }
}

fn published(term: &Term) -> Option<Vocabulary> {
    PUBLISHED_VOCABULARIES.into_iter().find(|v| v.as_str() == term.vocabulary)
}

/// A term of a published vocabulary as an ORUK taxonomy term.
pub fn taxonomy_term(term: &Term) -> Option<TaxonomyTerm> {
    let vocabulary = published(term)?;
    Some(TaxonomyTerm {
        id: term.id.clone(),
        name: term.name.clone(),
        description: term.name.clone(),
        parent_id: term.parent_id.clone(),
        taxonomy: vocabulary_words(vocabulary).0.to_string(),
        taxonomy_id: taxonomy_id(vocabulary),
        term: term.slug.clone(),
    })
}

fn oruk_taxonomy(taxonomy: &Taxonomy, vocabulary: Vocabulary, with_terms: bool) -> OrukTaxonomy {
    let (name, description) = vocabulary_words(vocabulary);
    OrukTaxonomy {
        id: taxonomy_id(vocabulary),
        name: name.to_string(),
        description: description.to_string(),
        taxonomy_terms: with_terms.then(|| taxonomy.terms(vocabulary).filter_map(taxonomy_term).collect()),
    }
}

fn page_of<T: Clone>(all: &[T], paging: Paging) -> Page<T> {
    let contents = all.iter().skip(paging.offset()).take(paging.per_page).cloned().collect();
    Page::new(contents, all.len(), paging.page, paging.per_page)
}

/// Our published vocabularies as taxonomies (without their terms).
pub fn taxonomies(taxonomy: &Taxonomy, paging: Paging) -> Page<OrukTaxonomy> {
    let all: Vec<OrukTaxonomy> =
        PUBLISHED_VOCABULARIES.into_iter().map(|v| oruk_taxonomy(taxonomy, v, false)).collect();
    page_of(&all, paging)
}

/// One taxonomy with its terms.
pub fn taxonomy(taxonomy: &Taxonomy, id: &str) -> Option<OrukTaxonomy> {
    PUBLISHED_VOCABULARIES.into_iter().find(|v| taxonomy_id(*v) == id).map(|v| oruk_taxonomy(taxonomy, v, true))
}

/// Every term of the published vocabularies, vocabulary by vocabulary in display order.
pub fn taxonomy_terms(taxonomy: &Taxonomy, paging: Paging) -> Page<TaxonomyTerm> {
    let all: Vec<TaxonomyTerm> =
        PUBLISHED_VOCABULARIES.into_iter().flat_map(|v| taxonomy.terms(v).filter_map(taxonomy_term)).collect();
    page_of(&all, paging)
}

/// One term.
pub fn taxonomy_term_by_id(taxonomy: &Taxonomy, id: &str) -> Option<TaxonomyTerm> {
    taxonomy.by_id(id).and_then(taxonomy_term)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Service ids whose location has one of these accessibility terms (any, when `None`).
fn ids_with_accessibility(conn: &mut DbConnection, term: Option<&str>) -> QueryResult<Vec<String>> {
    let mut located = location_accessibility::table.select(location_accessibility::location_id).into_boxed();
    if let Some(term) = term {
        located = located.filter(location_accessibility::term_id.eq(term.to_string()));
    }
    let location_ids: Vec<String> = located.distinct().load(conn)?;
    service_at_locations::table
        .filter(service_at_locations::location_id.eq_any(location_ids))
        .select(service_at_locations::service_id)
        .distinct()
        .load(conn)
}

fn ids_with_term(conn: &mut DbConnection, filter: &TermFilter) -> QueryResult<Vec<String>> {
    match filter {
        TermFilter::Term(id, Vocabulary::Accessibility) => ids_with_accessibility(conn, Some(id)),
        TermFilter::Vocabulary(Vocabulary::Accessibility) => ids_with_accessibility(conn, None),
        TermFilter::Term(id, _) => service_taxonomy::table
            .filter(service_taxonomy::term_id.eq(id))
            .select(service_taxonomy::service_id)
            .distinct()
            .load(conn),
        TermFilter::Vocabulary(vocabulary) => service_taxonomy::table
            .inner_join(taxonomy_terms::table)
            .filter(taxonomy_terms::vocabulary.eq(vocabulary.as_str()))
            .select(service_taxonomy::service_id)
            .distinct()
            .load(conn),
    }
}

/// The ids of the public services matching the filter, by name.
pub fn public_service_ids(conn: &mut DbConnection, filter: &ServiceFilter) -> QueryResult<Vec<String>> {
    // Public as `Listing::is_public`: verified within the last HIDDEN_AFTER_DAYS whole days.
    let cutoff = Utc::now().naive_utc() - Duration::days(HIDDEN_AFTER_DAYS + 1);
    let mut query = services::table
        .filter(services::approval.eq(Approval::Approved))
        .filter(services::status.eq_any(ListingStatus::SHOWN))
        .filter(services::merged_into.is_null())
        .filter(services::last_verified.gt(cutoff))
        .select(services::id)
        .order((services::name, services::id))
        .into_boxed();
    for word in &filter.search {
        let pattern = format!("%{}%", escape_like(word));
        query = query.filter(
            lower(services::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(services::summary).like(pattern.clone()).escape('\\'))
                .or(lower(services::description).like(pattern).escape('\\')),
        );
    }
    if let Some(moment) = filter.modified_after {
        query = query.filter(services::updated_at.ge(moment));
    }
    if let Some(id) = &filter.organization_id {
        query = query.filter(services::organization_id.eq(id.clone()));
    }
    if let Some(age) = filter.minimum_age {
        query = query.filter(services::minimum_age.ge(age));
    }
    if let Some(age) = filter.maximum_age {
        query = query.filter(services::maximum_age.le(age));
    }
    for term in &filter.terms {
        let ids = ids_with_term(conn, term)?;
        query = query.filter(services::id.eq_any(ids));
    }
    if filter.has_session_filter() {
        // One session must meet every session condition.
        let mut sessions = schedules::table.select(schedules::service_id).distinct().into_boxed();
        if let Some(day) = &filter.day {
            sessions = sessions.filter(schedules::byday.like(format!("%{day}%")));
        }
        if let Some(start) = &filter.start_time {
            sessions = sessions.filter(schedules::opens_at.ge(start.clone()));
        }
        if let Some(end) = &filter.end_time {
            sessions = sessions.filter(schedules::closes_at.le(end.clone()));
        }
        let ids: Vec<String> = sessions.load(conn)?;
        query = query.filter(services::id.eq_any(ids));
    }
    query.load(conn)
}

/// A page of public services in the list form.
pub fn services_page(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    filter: &ServiceFilter,
    paging: Paging,
) -> QueryResult<Page<Service>> {
    let ids = public_service_ids(conn, filter)?;
    let page_ids: Vec<String> = ids.iter().skip(paging.offset()).take(paging.per_page).cloned().collect();
    let contents = build_services(conn, taxonomy, &page_ids, false)?;
    Ok(Page::new(contents, ids.len(), paging.page, paging.per_page))
}

fn is_public(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let cutoff = Utc::now().naive_utc() - Duration::days(HIDDEN_AFTER_DAYS + 1);
    let found: i64 = services::table
        .filter(services::id.eq(id))
        .filter(services::approval.eq(Approval::Approved))
        .filter(services::status.eq_any(ListingStatus::SHOWN))
        .filter(services::merged_into.is_null())
        .filter(services::last_verified.gt(cutoff))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// One public service, fully nested (`None` when unknown or not public).
pub fn service(conn: &mut DbConnection, taxonomy: &Taxonomy, id: &str) -> QueryResult<Option<Service>> {
    if !is_public(conn, id)? {
        return Ok(None);
    }
    Ok(build_services(conn, taxonomy, &[id.to_string()], true)?.into_iter().next())
}

/// Services of the public directory, fully nested, for any ids (public or not): what the
/// import compares a record with.
pub fn services_as_stored(conn: &mut DbConnection, taxonomy: &Taxonomy, ids: &[String]) -> QueryResult<Vec<Service>> {
    build_services(conn, taxonomy, ids, true)
}

/// A page of service-at-locations: nearest first when a postcode is given (within `proximity`
/// metres when that is given too), otherwise by service name then venue.
pub fn service_at_locations_page(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    query: &ListQuery,
    paging: Paging,
) -> Result<Page<ServiceAtLocation>, AppError> {
    let origin = match &query.near {
        None => None,
        Some(near) => match crate::directory::geocode::geocode(conn, &near.postcode) {
            Ok(found) => Some((found.lat, found.lon, near.within_m)),
            Err(crate::directory::geocode::GeocodeError::Db(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::invalid("postcode", e.to_string())),
        },
    };
    let ids = public_service_ids(conn, &query.filter)?;
    let rank: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let rows = load_locations(conn, taxonomy, Some(&ids), None, false)?;
    // (distance in metres, service rank, venue, id) for each; distances from the published
    // coordinates (rounded for a masked venue), so what is shown is what was measured.
    let mut entries: Vec<(Option<f64>, usize, String, String)> = rows
        .iter()
        .map(|sal| {
            let distance = origin
                .and_then(|(lat, lon, _)| Some(distance_m(lat, lon, sal.location.latitude?, sal.location.longitude?)));
            (
                distance,
                rank.get(sal.service_id.as_str()).copied().unwrap_or(usize::MAX),
                sal.location.name.clone(),
                sal.id.clone(),
            )
        })
        .collect();
    if let Some((_, _, within)) = origin {
        if let Some(limit) = within {
            entries.retain(|(d, ..)| d.is_some_and(|d| d <= limit));
        }
        entries.sort_by(|a, b| {
            let (da, db) = (a.0.unwrap_or(f64::MAX), b.0.unwrap_or(f64::MAX));
            da.total_cmp(&db).then(a.1.cmp(&b.1)).then(a.3.cmp(&b.3))
        });
    } else {
        entries.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)).then(a.3.cmp(&b.3)));
    }
    let total = entries.len();
    let page_ids: Vec<String> =
        entries.into_iter().skip(paging.offset()).take(paging.per_page).map(|(.., id)| id).collect();
    let mut by_id: HashMap<String, ServiceAtLocation> = rows.into_iter().map(|s| (s.id.clone(), s)).collect();
    let mut page: Vec<ServiceAtLocation> = page_ids.iter().filter_map(|id| by_id.remove(id)).collect();
    let service_ids: Vec<String> = page.iter().map(|s| s.service_id.clone()).collect();
    let mut services_by: HashMap<String, Service> =
        build_services(conn, taxonomy, &service_ids, false)?.into_iter().map(|s| (s.id.clone(), s)).collect();
    for sal in &mut page {
        sal.service = services_by.get(&sal.service_id).cloned().map(Box::new);
    }
    services_by.clear();
    Ok(Page::new(page, total, paging.page, paging.per_page))
}

/// One service at location of a public service, with its location and service in full.
pub fn service_at_location(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    id: &str,
) -> QueryResult<Option<ServiceAtLocation>> {
    let Some(mut sal) = load_locations(conn, taxonomy, None, Some(&[id.to_string()]), true)?.into_iter().next() else {
        return Ok(None);
    };
    if !is_public(conn, &sal.service_id)? {
        return Ok(None);
    }
    let mut service = build_services(conn, taxonomy, &[sal.service_id.clone()], true)?.into_iter().next();
    if let Some(s) = &mut service {
        s.service_at_locations = None;
    }
    sal.service = service.map(Box::new);
    Ok(Some(sal))
}

fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine::distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `HH:MM` as `HH:MM:SS`.
fn clock(t: &str) -> String {
    match crate::interop::oruk::query::parse_time(t) {
        Some(hm) => format!("{hm}:00"),
        None => t.to_string(),
    }
}

fn phone(owner: &str, number: Option<String>) -> Vec<Phone> {
    number
        .filter(|n| !n.trim().is_empty())
        .map(|n| vec![Phone { id: derived_id("phone", &format!("{owner}/{n}")), number: n }])
        .unwrap_or_default()
}

/// `byday` with the week of the month for monthly sessions: `2TH,4TH`, `-1FR`.
pub fn rrule_byday(freq: &str, byday: &str, week_of_month: Option<&str>) -> String {
    let days: Vec<&str> = byday.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    let weeks: Vec<&str> = week_of_month.unwrap_or("").split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
    if !freq.eq_ignore_ascii_case("MONTHLY") || weeks.is_empty() {
        return days.join(",");
    }
    weeks.iter().flat_map(|w| days.iter().map(move |d| format!("{w}{d}"))).collect::<Vec<_>>().join(",")
}

type OrgTuple = (String, String, String, Option<String>, Option<String>, Option<String>, Option<String>);

fn organization((id, name, description, website, email, phone_number, charity): OrgTuple) -> Organization {
    Organization {
        organization_identifiers: charity
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                vec![OrganizationIdentifier {
                    id: derived_id("organization_identifier", &format!("{id}/GB-CHC")),
                    organization_id: id.clone(),
                    identifier_scheme: "GB-CHC".into(),
                    identifier_type: "Charity number".into(),
                    identifier: c,
                }]
            })
            .unwrap_or_default(),
        phones: phone(&id, phone_number),
        id,
        name,
        description,
        email,
        website,
        logo: None,
        uri: None,
        parent_organization_id: None,
    }
}

/// Builds services in the order of `ids` (unknown ids left out); `full` adds the arrays.
fn build_services(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    ids: &[String],
    full: bool,
) -> QueryResult<Vec<Service>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ServiceRow> =
        services::table.filter(services::id.eq_any(ids)).select(ServiceRow::as_select()).load(conn)?;
    let org_ids: Vec<String> = rows.iter().map(|r| r.organization_id.clone()).collect();
    let kept_orgs = super::kept::load_organizations(conn, &org_ids)?;
    let kept_services = super::kept::load_services(conn, ids)?;
    let mut typed_areas = if full { crate::directory::service_area::load_for(conn, ids)? } else { HashMap::new() };
    let mut orgs: HashMap<String, Organization> = organizations::table
        .filter(organizations::id.eq_any(org_ids))
        .select((
            organizations::id,
            organizations::name,
            organizations::description,
            organizations::website,
            organizations::email,
            organizations::phone,
            organizations::charity_number,
        ))
        .load::<OrgTuple>(conn)?
        .into_iter()
        .map(|o| (o.0.clone(), organization(o)))
        .collect();
    for (id, org) in &mut orgs {
        if let Some(kept) = kept_orgs.get(id) {
            super::kept::apply_to_organization(org, kept);
        }
    }
    let mut children = if full { Some(Children::load(conn, taxonomy, ids)?) } else { None };
    let mut by_id: HashMap<String, Service> = HashMap::new();
    for row in rows {
        let Some(org) = orgs.get(&row.organization_id).cloned() else { continue };
        let description = if row.description.trim().is_empty() { row.summary.clone() } else { row.description.clone() };
        let alert = (row.status == ListingStatus::TemporarilyClosed).then(|| match row.reopens_on {
            Some(d) => format!("Temporarily closed; reopens on {}", date(d)),
            None => "Temporarily closed".to_string(),
        });
        let mut service = Service {
            id: row.id.clone(),
            organization_id: row.organization_id.clone(),
            name: row.name.clone(),
            description,
            url: row.url.clone(),
            email: row.email.clone(),
            status: row.status,
            fees: row.fees_description.clone(),
            minimum_age: row.minimum_age,
            maximum_age: row.maximum_age,
            assured_date: date(row.last_verified.date()),
            alert,
            last_modified: timestamp(row.updated_at),
            organization: org,
            schedules: None,
            service_at_locations: None,
            languages: None,
            cost_options: None,
            contacts: None,
            phones: None,
            attributes: None,
            assurer_email: None,
            accreditations: None,
            funding: None,
            service_areas: None,
        };
        if let Some(children) = &mut children {
            children.fill(&mut service, &row);
        }
        if let Some(kept) = kept_services.get(&row.id) {
            super::kept::apply_to_service(&mut service, kept, full);
        }
        // Areas a group set here (an import's are published as they came, above).
        if full && service.service_areas.as_ref().is_none_or(Vec::is_empty) {
            let areas = typed_areas.remove(&row.id).unwrap_or_default();
            service.service_areas = Some(
                areas
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| super::model::ServiceArea {
                        id: derived_id("service_area", &format!("{}/{i}", row.id)),
                        service_id: row.id.clone(),
                        name: Some(a.label.clone()),
                        service_area: Some(a.label),
                        extent: None,
                        extent_type: None,
                        uri: None,
                    })
                    .collect(),
            );
        }
        by_id.insert(row.id, service);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The arrays of a page of full services, loaded together.
struct Children {
    attributes: HashMap<String, Vec<Attribute>>,
    costs: HashMap<String, Vec<CostOption>>,
    contacts: HashMap<String, Vec<Contact>>,
    schedules: HashMap<String, Vec<Schedule>>,
    locations: HashMap<String, Vec<ServiceAtLocation>>,
}

impl Children {
    fn load(conn: &mut DbConnection, taxonomy: &Taxonomy, ids: &[String]) -> QueryResult<Self> {
        let mut attributes: HashMap<String, Vec<Attribute>> = HashMap::new();
        for (service_id, term_id) in service_taxonomy::table
            .filter(service_taxonomy::service_id.eq_any(ids))
            .select((service_taxonomy::service_id, service_taxonomy::term_id))
            .load::<(String, String)>(conn)?
        {
            let Some(term) = taxonomy.by_id(&term_id).and_then(taxonomy_term) else { continue };
            attributes.entry(service_id.clone()).or_default().push(Attribute {
                id: derived_id("attribute", &format!("{service_id}/{term_id}")),
                link_id: service_id,
                link_type: "service".into(),
                taxonomy_term_id: term_id,
                taxonomy_term: term,
            });
        }
        for list in attributes.values_mut() {
            list.sort_by(|a, b| {
                (&a.taxonomy_term.taxonomy, &a.taxonomy_term.name)
                    .cmp(&(&b.taxonomy_term.taxonomy, &b.taxonomy_term.name))
            });
        }

        let mut costs: HashMap<String, Vec<CostOption>> = HashMap::new();
        for (id, service_id, option, amount, currency, amount_description) in cost_options::table
            .filter(cost_options::service_id.eq_any(ids))
            .order(cost_options::id)
            .select((
                cost_options::id,
                cost_options::service_id,
                cost_options::option,
                cost_options::amount,
                cost_options::currency,
                cost_options::amount_description,
            ))
            .load::<(String, String, String, Option<f64>, String, Option<String>)>(conn)?
        {
            costs.entry(service_id.clone()).or_default().push(CostOption {
                id,
                service_id,
                option,
                amount,
                currency,
                amount_description,
                valid_from: None,
                valid_to: None,
            });
        }

        let mut contacts_by: HashMap<String, Vec<Contact>> = HashMap::new();
        for (id, service_id, name, title, email, phone_number) in contacts::table
            .filter(contacts::service_id.eq_any(ids))
            .order(contacts::id)
            .select((
                contacts::id,
                contacts::service_id,
                contacts::name,
                contacts::title,
                contacts::email,
                contacts::phone,
            ))
            .load::<(String, String, Option<String>, Option<String>, Option<String>, Option<String>)>(conn)?
        {
            contacts_by.entry(service_id.clone()).or_default().push(Contact {
                phones: phone(&id, phone_number),
                id,
                service_id,
                name,
                title,
                email,
            });
        }

        let mut schedules_by: HashMap<String, Vec<Schedule>> = HashMap::new();
        for (service_id, row) in schedules::table
            .filter(schedules::service_id.eq_any(ids))
            .order((schedules::freq.desc(), schedules::opens_at, schedules::id))
            .select((schedules::service_id, SessionRow::as_select()))
            .load::<(String, SessionRow)>(conn)?
        {
            let description = row.describe(row.schedule().as_ref());
            let SessionRow { id, freq, byday, week_of_month, opens_at, closes_at, valid_from, valid_to, notes } = row;
            schedules_by.entry(service_id.clone()).or_default().push(Schedule {
                id,
                service_id,
                byday: rrule_byday(&freq, &byday, week_of_month.as_deref()),
                freq,
                valid_from: valid_from.map(date),
                valid_to: valid_to.map(date),
                opens_at: clock(&opens_at),
                closes_at: clock(&closes_at),
                description,
                notes,
                dtstart: None,
                interval: None,
                attending_type: None,
            });
        }

        let mut locations_by: HashMap<String, Vec<ServiceAtLocation>> = HashMap::new();
        for sal in load_locations(conn, taxonomy, Some(ids), None, true)? {
            locations_by.entry(sal.service_id.clone()).or_default().push(sal);
        }
        Ok(Children { attributes, costs, contacts: contacts_by, schedules: schedules_by, locations: locations_by })
    }

    fn fill(&mut self, service: &mut Service, row: &ServiceRow) {
        let id = &row.id;
        service.attributes = Some(self.attributes.remove(id).unwrap_or_default());
        service.cost_options = Some(self.costs.remove(id).unwrap_or_default());
        service.contacts = Some(self.contacts.remove(id).unwrap_or_default());
        service.schedules = Some(self.schedules.remove(id).unwrap_or_default());
        service.service_at_locations = Some(self.locations.remove(id).unwrap_or_default());
        service.phones = Some(phone(id, row.phone.clone()));
        service.languages = Some(
            row.languages
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|name| Language {
                    id: derived_id("language", &format!("{id}/{name}")),
                    service_id: id.clone(),
                    name: name.to_string(),
                })
                .collect(),
        );
    }
}

/// A service at a location: its id, the service's id and the location.
type LocationTuple = (String, String, LocationRow);

fn round_km(v: Option<f64>) -> Option<f64> {
    v.map(|x| (x * 100.0).round() / 100.0)
}

/// Service-at-locations (without their service) of these services or with these ids, ordered
/// by venue name; `full` adds addresses and accessibility. A masked venue shows the town only,
/// with coordinates rounded to about 1 km, and no address.
fn load_locations(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    service_ids: Option<&[String]>,
    sal_ids: Option<&[String]>,
    full: bool,
) -> QueryResult<Vec<ServiceAtLocation>> {
    let mut query = service_at_locations::table
        .inner_join(locations::table)
        .select((service_at_locations::id, service_at_locations::service_id, LocationRow::as_select()))
        .order((locations::name, service_at_locations::id))
        .into_boxed();
    if let Some(ids) = service_ids {
        query = query.filter(service_at_locations::service_id.eq_any(ids.to_vec()));
    }
    if let Some(ids) = sal_ids {
        query = query.filter(service_at_locations::id.eq_any(ids.to_vec()));
    }
    let rows: Vec<LocationTuple> = query.load(conn)?;
    let mut access: HashMap<String, Vec<Term>> = HashMap::new();
    if full {
        let location_ids: Vec<&String> = rows.iter().map(|r| &r.2.id).collect();
        for (location_id, term_id) in location_accessibility::table
            .filter(location_accessibility::location_id.eq_any(location_ids))
            .select((location_accessibility::location_id, location_accessibility::term_id))
            .load::<(String, String)>(conn)?
        {
            if let Some(term) = taxonomy.by_id(&term_id) {
                access.entry(location_id).or_default().push(term.clone());
            }
        }
        for terms in access.values_mut() {
            terms.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    Ok(rows
        .into_iter()
        .map(
            |(sal_id, service_id, LocationRow { id, name, address_1, city, postcode, latitude, longitude, masked })| {
                let terms = access.get(&id).cloned().unwrap_or_default();
                let (name, latitude, longitude, address) = if masked {
                    (format!("{city} (address given on request)"), round_km(latitude), round_km(longitude), None)
                } else {
                    let has_address = !address_1.trim().is_empty() || postcode.is_some();
                    let address = has_address.then(|| Address {
                        id: derived_id("address", &id),
                        location_id: id.clone(),
                        address_1,
                        city,
                        state_province: String::new(),
                        postal_code: postcode.unwrap_or_default(),
                        country: "GB".into(),
                        address_type: "physical".into(),
                    });
                    (name, latitude, longitude, address)
                };
                let location = Location {
                    location_type: "physical".into(),
                    name,
                    latitude,
                    longitude,
                    addresses: full.then(|| address.into_iter().collect()),
                    accessibility: full.then(|| {
                        terms
                            .iter()
                            .map(|t| Accessibility {
                                id: derived_id("accessibility", &format!("{id}/{}", t.id)),
                                location_id: id.clone(),
                                description: t.name.clone(),
                            })
                            .collect()
                    }),
                    attributes: full.then(|| {
                        terms
                            .iter()
                            .filter_map(|t| {
                                Some(Attribute {
                                    id: derived_id("attribute", &format!("{id}/{}", t.id)),
                                    link_id: id.clone(),
                                    link_type: "location".into(),
                                    taxonomy_term_id: t.id.clone(),
                                    taxonomy_term: taxonomy_term(t)?,
                                })
                            })
                            .collect()
                    }),
                    id: id.clone(),
                };
                ServiceAtLocation { id: sal_id, service_id, location_id: id, location, service: None }
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::rrule_byday;

    #[test]
    fn monthly_sessions_carry_the_week_in_byday() {
        assert_eq!(rrule_byday("WEEKLY", "TU,TH", None), "TU,TH");
        assert_eq!(rrule_byday("MONTHLY", "TH", Some("2,4")), "2TH,4TH");
        assert_eq!(rrule_byday("MONTHLY", "FR", Some("-1")), "-1FR");
    }
}
