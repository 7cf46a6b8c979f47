//! A listing as people and integrators see it: a service with its organisation, locations,
//! sessions, costs, contacts and vocabularies, loaded in a fixed number of queries per page.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::accounts::organisations::OrganisationView;
use crate::db::schema::{
    contacts, cost_options, location_accessibility, locations, organizations, schedules, service_at_locations,
    service_taxonomy, services,
};
use crate::db::DbConnection;
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::schedule::{Schedule, ValidDates};
use crate::domain::{Approval, AttendingType, Capacity, ListingStatus};

/// Days after which a listing needs review (flagged, ranked lower).
pub const NEEDS_REVIEW_AFTER_DAYS: i64 = 183;
/// Days after which a listing is hidden from the public.
pub const HIDDEN_AFTER_DAYS: i64 = 365;

/// A service row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = services)]
#[allow(missing_docs)]
pub struct ServiceRow {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub status: ListingStatus,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub fees_description: Option<String>,
    pub eligibility_description: Option<String>,
    pub minimum_age: Option<i32>,
    pub maximum_age: Option<i32>,
    pub how_to_access: String,
    pub attending_type: AttendingType,
    pub capacity: Capacity,
    pub languages: String,
    pub keywords: String,
    pub approval: Approval,
    pub last_verified: NaiveDateTime,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub reopens_on: Option<NaiveDate>,
    pub merged_into: Option<String>,
}

/// A vocabulary term on a listing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TermRef {
    /// Slug, as used in filters.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A stored session's columns (also what an Open Referral UK import plans to store).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = schedules)]
pub struct SessionRow {
    /// Id.
    pub id: String,
    /// `WEEKLY` or `MONTHLY`.
    pub freq: String,
    /// `TU,TH`.
    pub byday: String,
    /// `2,4` for monthly sessions.
    pub week_of_month: Option<String>,
    /// `HH:MM`.
    pub opens_at: String,
    /// `HH:MM`.
    pub closes_at: String,
    /// First date.
    pub valid_from: Option<NaiveDate>,
    /// Last date.
    pub valid_to: Option<NaiveDate>,
    /// Notes.
    pub notes: Option<String>,
}

impl SessionRow {
    /// The session as a rule within its dates; `None` when the stored rule does not parse.
    /// Dates stored the wrong way round (never written so; perhaps by hand) are left open.
    pub fn schedule(&self) -> Option<Schedule> {
        let valid = ValidDates::new(self.valid_from, self.valid_to).unwrap_or_default();
        Schedule::parse(&self.freq, &self.byday, self.week_of_month.as_deref(), &self.opens_at, &self.closes_at)
            .ok()
            .map(|s| s.between(valid))
    }

    /// In words ("Every Tuesday, 10:00 to 12:00"), from [`SessionRow::schedule`]; the stored
    /// rule as it is when it does not parse.
    pub fn describe(&self, schedule: Option<&Schedule>) -> String {
        schedule.map_or_else(|| format!("{} {} to {}", self.byday, self.opens_at, self.closes_at), Schedule::describe)
    }
}

/// A stored venue's columns: the one row type every reader of locations selects (listings, the
/// editor's venue, the Open Referral UK export and import).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = locations)]
pub struct LocationRow {
    /// Id.
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
    /// Address given only on request.
    pub masked: bool,
}

/// Where a service happens. Masked locations show only the town and outward code.
#[derive(Debug, Clone, Serialize)]
pub struct LocationView {
    /// Id.
    pub id: String,
    /// Venue name (hidden when masked).
    pub name: String,
    /// Street address (hidden when masked).
    pub address_1: Option<String>,
    /// Town.
    pub city: String,
    /// Postcode (outward code only when masked).
    pub postcode: Option<String>,
    /// Latitude (rounded to about 1 km when masked).
    pub latitude: Option<f64>,
    /// Longitude (rounded to about 1 km when masked).
    pub longitude: Option<f64>,
    /// "Address given on request".
    pub masked: bool,
    /// Accessibility features.
    pub accessibility: Vec<TermRef>,
}

/// A repeating session.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    /// `WEEKLY` or `MONTHLY`.
    pub freq: String,
    /// Days, `MO`..`SU`, comma-separated.
    pub byday: String,
    /// Weeks of the month for monthly sessions (`2,4`, `-1` = last).
    pub week_of_month: Option<String>,
    /// Start, `HH:MM`.
    pub opens_at: String,
    /// End, `HH:MM`.
    pub closes_at: String,
    /// Extra words: "Term time only".
    pub notes: Option<String>,
    /// The first date it runs, if it has one.
    pub valid_from: Option<NaiveDate>,
    /// The last date it runs, if it has one.
    pub valid_to: Option<NaiveDate>,
    /// Plain words: "Every Tuesday, 10:00 to 12:00", with its dates when it has any.
    pub description: String,
}

/// A way to pay (or not).
#[derive(Debug, Clone, Serialize)]
pub struct CostView {
    /// What the price is for.
    pub option: String,
    /// Amount in pounds (0 = free, none = varies).
    pub amount: Option<f64>,
    /// Words about the cost.
    pub amount_description: Option<String>,
}

/// A named contact for a service.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct ContactView {
    /// Id.
    #[serde(skip)]
    pub id: String,
    /// Service id.
    #[serde(skip)]
    pub service_id: String,
    /// Name or role.
    pub name: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// How fresh a listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Confirmed within six months.
    Fresh,
    /// Unconfirmed for six months: flagged and ranked lower.
    NeedsReview,
    /// Unconfirmed for a year: hidden from the public.
    Stale,
}

/// A listing in full.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// Id (UUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// In full.
    pub description: String,
    /// `active`, `inactive`, `defunct`, `temporarily closed`.
    pub status: ListingStatus,
    /// When a temporarily closed activity opens again, if its group said.
    pub reopens_on: Option<NaiveDate>,
    /// The listing this duplicate was merged into (then it is `defunct` and not shown).
    pub merged_into: Option<String>,
    /// Who runs it.
    pub organisation: OrganisationView,
    /// Web page.
    pub url: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// True when at least one way to take part is free.
    pub free: bool,
    /// Words about cost.
    pub fees_description: Option<String>,
    /// Ways to pay.
    pub cost_options: Vec<CostView>,
    /// Who can go.
    pub eligibility_description: Option<String>,
    /// Youngest age.
    pub minimum_age: Option<i32>,
    /// Oldest age.
    pub maximum_age: Option<i32>,
    /// `self_referral`, `link_worker`, `gp_referral`.
    pub how_to_access: Vec<String>,
    /// `in_person`, `online`, `phone`, `hybrid`.
    pub attending_type: AttendingType,
    /// `accepting`, `waitlist`, `full`, `paused`.
    pub capacity: Capacity,
    /// Languages spoken.
    pub languages: Vec<String>,
    /// Extra search words.
    pub keywords: Vec<String>,
    /// `approved`, `pending` or `rejected`.
    pub approval: Approval,
    /// Categories (children and their parents).
    pub categories: Vec<TermRef>,
    /// Who it is for.
    pub audiences: Vec<TermRef>,
    /// Where.
    pub locations: Vec<LocationView>,
    /// Where else it is offered: postcode districts, a county, online, national, home visits.
    pub service_areas: Vec<crate::directory::service_area::Area>,
    /// When.
    pub schedules: Vec<ScheduleView>,
    /// The next session start, if any.
    pub next_session: Option<NaiveDateTime>,
    /// Named contacts.
    pub contacts: Vec<ContactView>,
    /// When someone last confirmed it accurate.
    pub last_verified: NaiveDateTime,
    /// Fresh, needs review, or stale.
    pub freshness: Freshness,
    /// Edit version, for optimistic concurrency.
    pub version: i32,
    /// Last edit.
    pub updated_at: NaiveDateTime,
}

impl Listing {
    /// Whether the public may see it.
    pub fn is_public(&self, now: NaiveDateTime) -> bool {
        self.approval == Approval::Approved
            && self.status.is_shown()
            && (now - self.last_verified).num_days() <= HIDDEN_AFTER_DAYS
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Freshness of a verification date.
pub fn freshness(now: NaiveDateTime, last_verified: NaiveDateTime) -> Freshness {
    let days = (now - last_verified).num_days();
    if days > HIDDEN_AFTER_DAYS {
        Freshness::Stale
    } else if days > NEEDS_REVIEW_AFTER_DAYS {
        Freshness::NeedsReview
    } else {
        Freshness::Fresh
    }
}

fn round_km(v: Option<f64>) -> Option<f64> {
    v.map(|x| (x * 100.0).round() / 100.0)
}

/// Loads listings by id, in the order given; unknown ids are left out.
pub fn load_many(conn: &mut DbConnection, ids: &[String], taxonomy: &Taxonomy) -> QueryResult<Vec<Listing>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ServiceRow> =
        services::table.filter(services::id.eq_any(ids)).select(ServiceRow::as_select()).load(conn)?;
    let org_ids: Vec<&String> = rows.iter().map(|r| &r.organization_id).collect();
    let orgs: HashMap<String, OrganisationView> = organizations::table
        .filter(organizations::id.eq_any(org_ids))
        .select(OrganisationView::as_select())
        .load(conn)?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();

    let mut terms: HashMap<String, Vec<String>> = HashMap::new();
    for (service_id, term_id) in service_taxonomy::table
        .filter(service_taxonomy::service_id.eq_any(ids))
        .select((service_taxonomy::service_id, service_taxonomy::term_id))
        .load::<(String, String)>(conn)?
    {
        terms.entry(service_id).or_default().push(term_id);
    }

    let mut costs: HashMap<String, Vec<CostView>> = HashMap::new();
    for (service_id, option, amount, amount_description) in cost_options::table
        .filter(cost_options::service_id.eq_any(ids))
        .order(cost_options::id)
        .select((
            cost_options::service_id,
            cost_options::option,
            cost_options::amount,
            cost_options::amount_description,
        ))
        .load::<(String, String, Option<f64>, Option<String>)>(conn)?
    {
        costs.entry(service_id).or_default().push(CostView { option, amount, amount_description });
    }

    let mut contacts_by: HashMap<String, Vec<ContactView>> = HashMap::new();
    for c in contacts::table.filter(contacts::service_id.eq_any(ids)).order(contacts::id).load::<ContactView>(conn)? {
        contacts_by.entry(c.service_id.clone()).or_default().push(c);
    }

    let located: Vec<(String, LocationRow)> = service_at_locations::table
        .inner_join(locations::table)
        .filter(service_at_locations::service_id.eq_any(ids))
        .order((service_at_locations::service_id, locations::name))
        .select((service_at_locations::service_id, LocationRow::as_select()))
        .load(conn)?;
    let location_ids: Vec<&String> = located.iter().map(|(_, l)| &l.id).collect();
    let mut access: HashMap<String, Vec<TermRef>> = HashMap::new();
    for (location_id, term_id) in location_accessibility::table
        .filter(location_accessibility::location_id.eq_any(location_ids))
        .select((location_accessibility::location_id, location_accessibility::term_id))
        .load::<(String, String)>(conn)?
    {
        if let Some(t) = taxonomy.by_id(&term_id) {
            access.entry(location_id).or_default().push(TermRef { slug: t.slug.clone(), name: t.name.clone() });
        }
    }
    let mut locations_by: HashMap<String, Vec<LocationView>> = HashMap::new();
    for (service_id, LocationRow { id, name, address_1, city, postcode, latitude, longitude, masked }) in located {
        let accessibility = access.get(&id).cloned().unwrap_or_default();
        let view = if masked {
            LocationView {
                id,
                name: format!("{city} (address given on request)"),
                address_1: None,
                city,
                postcode: postcode.map(|p| p.split(' ').next().unwrap_or_default().to_string()),
                latitude: round_km(latitude),
                longitude: round_km(longitude),
                masked,
                accessibility,
            }
        } else {
            LocationView {
                id,
                name,
                address_1: Some(address_1),
                city,
                postcode,
                latitude,
                longitude,
                masked,
                accessibility,
            }
        };
        locations_by.entry(service_id).or_default().push(view);
    }

    let mut schedules_by: HashMap<String, Vec<(ScheduleView, Option<Schedule>)>> = HashMap::new();
    for (service_id, row) in schedules::table
        .filter(schedules::service_id.eq_any(ids))
        // Weekly sessions first, then by time: the order people read a timetable in.
        .order((schedules::freq.desc(), schedules::opens_at, schedules::id))
        .select((schedules::service_id, SessionRow::as_select()))
        .load::<(String, SessionRow)>(conn)?
    {
        let parsed = row.schedule();
        let description = row.describe(parsed.as_ref());
        let SessionRow { freq, byday, week_of_month, opens_at, closes_at, valid_from, valid_to, notes, .. } = row;
        let view =
            ScheduleView { freq, byday, week_of_month, opens_at, closes_at, notes, valid_from, valid_to, description };
        schedules_by.entry(service_id).or_default().push((view, parsed));
    }

    let mut areas_by = crate::directory::service_area::load_for(conn, ids)?;
    let now = Utc::now().naive_utc();
    let mut by_id: HashMap<String, Listing> = HashMap::new();
    for row in rows {
        let Some(organisation) = orgs.get(&row.organization_id).cloned() else {
            continue;
        };
        let mut categories = Vec::new();
        let mut audiences = Vec::new();
        for term_id in terms.get(&row.id).into_iter().flatten() {
            let Some(term) = taxonomy.by_id(term_id) else {
                continue;
            };
            let r = TermRef { slug: term.slug.clone(), name: term.name.clone() };
            match term.vocabulary.as_str() {
                v if v == Vocabulary::Category.as_str() => categories.push(r),
                v if v == Vocabulary::Audience.as_str() => audiences.push(r),
                _ => {}
            }
        }
        let schedule_pairs = schedules_by.remove(&row.id).unwrap_or_default();
        let next_session = schedule_pairs.iter().filter_map(|(_, s)| s.as_ref()?.next_after(now)).min();
        let cost_options = costs.remove(&row.id).unwrap_or_default();
        let free = cost_options.is_empty() || cost_options.iter().any(|c| c.amount.is_none_or(|a| a <= 0.0));
        let listing = Listing {
            free,
            cost_options,
            organisation,
            categories,
            audiences,
            locations: locations_by.remove(&row.id).unwrap_or_default(),
            service_areas: areas_by.remove(&row.id).unwrap_or_default(),
            schedules: schedule_pairs.into_iter().map(|(v, _)| v).collect(),
            next_session,
            contacts: contacts_by.remove(&row.id).unwrap_or_default(),
            freshness: freshness(now, row.last_verified),
            how_to_access: split_list(&row.how_to_access),
            languages: split_list(&row.languages),
            keywords: split_list(&row.keywords),
            id: row.id,
            name: row.name,
            summary: row.summary,
            description: row.description,
            status: row.status,
            reopens_on: row.reopens_on,
            merged_into: row.merged_into,
            url: row.url,
            email: row.email,
            phone: row.phone,
            fees_description: row.fees_description,
            eligibility_description: row.eligibility_description,
            minimum_age: row.minimum_age,
            maximum_age: row.maximum_age,
            attending_type: row.attending_type,
            capacity: row.capacity,
            approval: row.approval,
            last_verified: row.last_verified,
            version: row.version,
            updated_at: row.updated_at,
        };
        by_id.insert(listing.id.clone(), listing);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Loads one listing.
pub fn load(conn: &mut DbConnection, id: &str, taxonomy: &Taxonomy) -> QueryResult<Option<Listing>> {
    Ok(load_many(conn, &[id.to_string()], taxonomy)?.into_iter().next())
}

/// Every service id, for rebuilding the index.
pub fn all_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    services::table.select(services::id).order(services::id).load(conn)
}

/// Every service id in map order (see `search_index::GeoPoint::map_order`) of its locations,
/// those without a location last: the order a search index rebuild adds them in, so a radius
/// search finds an area's listings in runs.
pub fn all_ids_in_map_order(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let located: Vec<(String, Option<f64>, Option<f64>)> = service_at_locations::table
        .inner_join(locations::table.on(locations::id.eq(service_at_locations::location_id)))
        .select((service_at_locations::service_id, locations::latitude, locations::longitude))
        .load(conn)?;
    let mut keys: HashMap<String, u64> = HashMap::new();
    for (id, lat, lon) in located {
        let Some(point) = lat.zip(lon).and_then(|(lat, lon)| search_index::GeoPoint::new(lat, lon).ok()) else {
            continue;
        };
        let key = keys.entry(id).or_insert(u64::MAX);
        *key = (*key).min(point.map_order());
    }
    let mut ids = all_ids(conn)?;
    ids.sort_by_cached_key(|id| (keys.get(id).copied().unwrap_or(u64::MAX), id.clone()));
    Ok(ids)
}
