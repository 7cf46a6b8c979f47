//! The seed region (`seed-data/`, embedded in the binary): vocabularies, places, postcodes,
//! organisations and community assets. Every record's id derives from its key, so loading twice
//! updates in place and leaves one copy.

use std::io::{Read, Write};

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::db::schema::{
    contacts, cost_options, location_accessibility, locations, organizations, places, schedules, seed_state,
    service_at_locations, service_taxonomy, services, taxonomy_terms,
};
use crate::db::{self, DbConnection};
use crate::directory::geocode::place_key;
use crate::directory::taxonomy::{term_id, Vocabulary};
use crate::directory::{outbox, postcodes};
use crate::domain::schedule::Schedule;
use crate::domain::Postcode;
use crate::ids::stable_id;

/// The files of `seed-data/`, embedded at build time (read from disk in debug builds).
#[derive(RustEmbed)]
#[folder = "../seed-data/"]
#[exclude = "*.md"]
pub struct SeedFiles;

/// Why the seed could not be loaded. The seed ships with the binary, so any of these is a bug
/// in `seed-data/`, caught by a test.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A file is missing from the build.
    #[error("seed file {0} is missing")]
    Missing(&'static str),
    /// A file does not parse.
    #[error("seed file {file}: {message}")]
    Invalid {
        /// The file.
        file: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The database refused a row.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// What the seed loaded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedSummary {
    /// Vocabulary terms.
    pub terms: usize,
    /// Top-level categories.
    pub top_categories: usize,
    /// Towns and villages.
    pub places: usize,
    /// Postcodes with coordinates.
    pub postcodes: u64,
    /// Organisations.
    pub organisations: usize,
    /// Community assets.
    pub services: usize,
}

#[derive(Debug, Deserialize)]
struct SeedTerm {
    slug: String,
    name: String,
    #[serde(default)]
    children: Vec<SeedTerm>,
}

#[derive(Debug, Deserialize)]
struct SeedTaxonomy {
    categories: Vec<SeedTerm>,
    audiences: Vec<SeedTerm>,
    accessibility: Vec<SeedTerm>,
    referral_reasons: Vec<SeedTerm>,
}

/// An organisation in `organisations.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrganisation {
    key: String,
    name: String,
    description: String,
    website: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    charity_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedCost {
    free: bool,
    amount: Option<f64>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedLocation {
    name: String,
    address: String,
    town: String,
    postcode: String,
    #[serde(default)]
    accessibility: Vec<String>,
    #[serde(default)]
    masked: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedSchedule {
    freq: String,
    days: Vec<String>,
    #[serde(default)]
    week_of_month: Vec<i8>,
    opens_at: String,
    closes_at: String,
    notes: Option<String>,
}

/// A community asset in `services.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedService {
    key: String,
    organisation: String,
    name: String,
    summary: String,
    description: String,
    categories: Vec<String>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    status: String,
    url: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    how_to_access: Vec<String>,
    eligibility: Option<String>,
    minimum_age: Option<i32>,
    maximum_age: Option<i32>,
    attending_type: String,
    capacity: String,
    #[serde(default)]
    languages: Vec<String>,
    cost: SeedCost,
    verified_days_ago: i64,
    #[serde(default)]
    locations: Vec<SeedLocation>,
    #[serde(default)]
    schedules: Vec<SeedSchedule>,
}

fn file_text(name: &'static str) -> Result<String, SeedError> {
    let file = SeedFiles::get(name).ok_or(SeedError::Missing(name))?;
    String::from_utf8(file.data.into_owned()).map_err(|e| SeedError::Invalid { file: name, message: e.to_string() })
}

fn json<T: serde::de::DeserializeOwned>(name: &'static str) -> Result<T, SeedError> {
    serde_json::from_str(&file_text(name)?).map_err(|e| SeedError::Invalid { file: name, message: e.to_string() })
}

/// The seed's organisations (parsed with the same code the loader uses; tests check them).
pub fn organisations() -> Result<Vec<SeedOrganisation>, SeedError> {
    json("organisations.json")
}

/// The seed's services.
pub fn services() -> Result<Vec<SeedService>, SeedError> {
    json("services.json")
}

/// The `seed_state` step that marks the whole first-start seed as done.
const COMPLETE: &str = "complete";

/// True when the first-start seed has completed. The marker, not the presence of a vocabulary,
/// decides: a start killed half-way through the seed leaves rows but no marker.
pub fn is_done(conn: &mut DbConnection) -> QueryResult<bool> {
    Ok(seed_state::table.find(COMPLETE).count().get_result::<i64>(conn)? > 0)
}

/// Records that the first-start seed is done. Call it in the same transaction as the seed, so
/// the marker exists exactly when everything before it was committed.
pub fn mark_done(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::delete(seed_state::table.find(COMPLETE)).execute(conn)?;
    diesel::insert_into(seed_state::table)
        .values((seed_state::step.eq(COMPLETE), seed_state::done_at.eq(Utc::now().naive_utc())))
        .execute(conn)?;
    Ok(())
}

/// Loads the seed, printing progress. Each part is a [`db::write`] (a savepoint when the caller
/// already holds a transaction, as the first start does); rerunning is safe.
/// Reference data (vocabularies, postcodes, places) always loads; the demo directory of
/// organisations and community assets only when `demo_directory` is set (development).
pub fn load_all(
    conn: &mut DbConnection,
    demo_directory: bool,
    progress: &mut dyn Write,
) -> Result<SeedSummary, SeedError> {
    let mut summary = SeedSummary::default();
    let (terms, tops) = db::write(conn, load_taxonomy)?;
    summary.terms = terms;
    summary.top_categories = tops;
    let _ = writeln!(progress, "  vocabularies: {terms} terms, {tops} top-level categories");

    let gz = SeedFiles::get("postcodes.csv.gz").ok_or(SeedError::Missing("postcodes.csv.gz"))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.data.as_ref())
        .read_to_string(&mut text)
        .map_err(|e| SeedError::Invalid { file: "postcodes.csv.gz", message: e.to_string() })?;
    let loaded = db::write(conn, |c| postcodes::load_converted(c, &text))?;
    summary.postcodes = loaded.loaded;
    let _ =
        writeln!(progress, "  postcodes: {} (Contains OS data © Crown copyright and database right)", loaded.loaded);

    summary.places = db::write(conn, load_places)?;
    let _ = writeln!(progress, "  towns and villages: {}", summary.places);

    if !demo_directory {
        return Ok(summary);
    }
    let orgs = organisations()?;
    let svcs = services()?;
    summary.organisations = orgs.len();
    summary.services = svcs.len();
    db::write(conn, |c| load_directory(c, &orgs, &svcs))?;
    let _ = writeln!(progress, "  community assets: {} run by {} organisations", svcs.len(), orgs.len());
    Ok(summary)
}

fn load_taxonomy(conn: &mut DbConnection) -> Result<(usize, usize), SeedError> {
    let taxonomy: SeedTaxonomy = json("taxonomy.json")?;
    let mut count = 0;
    let mut upsert = |conn: &mut DbConnection,
                      vocabulary: Vocabulary,
                      term: &SeedTerm,
                      parent: Option<String>,
                      position: i32|
     -> QueryResult<()> {
        let id = term_id(vocabulary, &term.slug);
        let exists = taxonomy_terms::table.find(&id).count().get_result::<i64>(conn)? > 0;
        if exists {
            diesel::update(taxonomy_terms::table.find(&id))
                .set((
                    taxonomy_terms::name.eq(&term.name),
                    taxonomy_terms::parent_id.eq(&parent),
                    taxonomy_terms::position.eq(position),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(taxonomy_terms::table)
                .values((
                    taxonomy_terms::id.eq(&id),
                    taxonomy_terms::vocabulary.eq(vocabulary.as_str()),
                    taxonomy_terms::slug.eq(&term.slug),
                    taxonomy_terms::name.eq(&term.name),
                    taxonomy_terms::parent_id.eq(&parent),
                    taxonomy_terms::position.eq(position),
                ))
                .execute(conn)?;
        }
        count += 1;
        Ok(())
    };
    let mut position = 0;
    for top in &taxonomy.categories {
        position += 1;
        upsert(conn, Vocabulary::Category, top, None, position)?;
        for child in &top.children {
            position += 1;
            upsert(conn, Vocabulary::Category, child, Some(term_id(Vocabulary::Category, &top.slug)), position)?;
        }
    }
    for (vocabulary, terms) in [
        (Vocabulary::Audience, &taxonomy.audiences),
        (Vocabulary::Accessibility, &taxonomy.accessibility),
        (Vocabulary::ReferralReason, &taxonomy.referral_reasons),
    ] {
        for (i, term) in terms.iter().enumerate() {
            upsert(conn, vocabulary, term, None, i as i32 + 1)?;
        }
    }
    Ok((count, taxonomy.categories.len()))
}

fn load_places(conn: &mut DbConnection) -> Result<usize, SeedError> {
    let text = file_text("places.csv")?;
    let mut count = 0;
    for (n, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad =
            |message: &str| SeedError::Invalid { file: "places.csv", message: format!("line {}: {message}", n + 1) };
        let [name, county, lat, lon] = cols.as_slice() else {
            return Err(bad("expected name,county,lat,lon"));
        };
        let lat: f64 = lat.parse().map_err(|_| bad("latitude"))?;
        let lon: f64 = lon.parse().map_err(|_| bad("longitude"))?;
        crate::domain::GeoPoint::new(lat, lon).map_err(|e| bad(&e.to_string()))?;
        let key = place_key(name);
        let id = stable_id(&format!("place/{key}"));
        diesel::delete(places::table.filter(places::name_key.eq(&key))).execute(conn)?;
        diesel::insert_into(places::table)
            .values((
                places::id.eq(&id),
                places::name.eq(name),
                places::name_key.eq(&key),
                places::county.eq(county),
                places::latitude.eq(lat),
                places::longitude.eq(lon),
            ))
            .execute(conn)?;
        count += 1;
    }
    Ok(count)
}

fn org_id(key: &str) -> String {
    stable_id(&format!("organisation/{key}"))
}

/// The id a seeded service gets.
pub fn service_id(key: &str) -> String {
    stable_id(&format!("service/{key}"))
}

fn load_directory(conn: &mut DbConnection, orgs: &[SeedOrganisation], svcs: &[SeedService]) -> Result<(), SeedError> {
    let now = Utc::now().naive_utc();
    for org in orgs {
        let id = org_id(&org.key);
        let values = (
            organizations::name.eq(&org.name),
            organizations::description.eq(&org.description),
            organizations::website.eq(&org.website),
            organizations::email.eq(&org.email),
            organizations::phone.eq(&org.phone),
            organizations::charity_number.eq(&org.charity_number),
            organizations::updated_at.eq(now),
        );
        if organizations::table.find(&id).count().get_result::<i64>(conn)? > 0 {
            diesel::update(organizations::table.find(&id)).set(values).execute(conn)?;
        } else {
            diesel::insert_into(organizations::table)
                .values((
                    organizations::id.eq(&id),
                    organizations::kind.eq("community_org"),
                    organizations::created_at.eq(now),
                    values,
                ))
                .execute(conn)?;
        }
    }
    for svc in svcs {
        load_service(conn, svc, now)?;
    }
    Ok(())
}

fn invalid(svc: &SeedService, message: impl std::fmt::Display) -> SeedError {
    SeedError::Invalid { file: "services.json", message: format!("{}: {message}", svc.key) }
}

fn load_service(conn: &mut DbConnection, svc: &SeedService, now: NaiveDateTime) -> Result<(), SeedError> {
    let id = service_id(&svc.key);
    let last_verified = now - Duration::days(svc.verified_days_ago);
    let values = (
        services::organization_id.eq(org_id(&svc.organisation)),
        services::name.eq(&svc.name),
        services::summary.eq(&svc.summary),
        services::description.eq(&svc.description),
        services::status.eq(&svc.status),
        services::url.eq(&svc.url),
        services::email.eq(&svc.email),
        services::phone.eq(&svc.phone),
        services::fees_description.eq(&svc.cost.description),
        services::eligibility_description.eq(&svc.eligibility),
        services::minimum_age.eq(svc.minimum_age),
        services::maximum_age.eq(svc.maximum_age),
        services::how_to_access.eq(svc.how_to_access.join(",")),
        services::attending_type.eq(&svc.attending_type),
        services::capacity.eq(&svc.capacity),
        services::languages.eq(svc.languages.join(",")),
        services::keywords.eq(svc.keywords.join(",")),
        services::last_verified.eq(last_verified),
        services::updated_at.eq(now),
    );
    if services::table.find(&id).count().get_result::<i64>(conn)? > 0 {
        diesel::update(services::table.find(&id)).set(values).execute(conn)?;
    } else {
        diesel::insert_into(services::table)
            .values((
                services::id.eq(&id),
                services::approval.eq(crate::domain::Approval::Approved),
                services::created_at.eq(now),
                values,
            ))
            .execute(conn)?;
    }

    // Children are replaced wholesale: simpler than diffing, and the seed owns these rows.
    diesel::delete(service_taxonomy::table.filter(service_taxonomy::service_id.eq(&id))).execute(conn)?;
    diesel::delete(cost_options::table.filter(cost_options::service_id.eq(&id))).execute(conn)?;
    diesel::delete(contacts::table.filter(contacts::service_id.eq(&id))).execute(conn)?;
    diesel::delete(schedules::table.filter(schedules::service_id.eq(&id))).execute(conn)?;
    diesel::delete(service_at_locations::table.filter(service_at_locations::service_id.eq(&id))).execute(conn)?;

    let mut term_ids: Vec<String> = Vec::new();
    for slug in &svc.categories {
        let tid = term_id(Vocabulary::Category, slug);
        let parent: Option<Option<String>> =
            taxonomy_terms::table.find(&tid).select(taxonomy_terms::parent_id).first(conn).optional()?;
        let Some(parent) = parent else {
            return Err(invalid(svc, format!("unknown category {slug}")));
        };
        term_ids.push(tid);
        term_ids.extend(parent);
    }
    for slug in &svc.audiences {
        let tid = term_id(Vocabulary::Audience, slug);
        if taxonomy_terms::table.find(&tid).count().get_result::<i64>(conn)? == 0 {
            return Err(invalid(svc, format!("unknown audience {slug}")));
        }
        term_ids.push(tid);
    }
    term_ids.sort();
    term_ids.dedup();
    for tid in &term_ids {
        diesel::insert_into(service_taxonomy::table)
            .values((service_taxonomy::service_id.eq(&id), service_taxonomy::term_id.eq(tid)))
            .execute(conn)?;
    }

    let amount = if svc.cost.free { Some(0.0) } else { svc.cost.amount };
    diesel::insert_into(cost_options::table)
        .values((
            cost_options::id.eq(stable_id(&format!("cost/{}", svc.key))),
            cost_options::service_id.eq(&id),
            cost_options::option.eq(if svc.cost.free { "Free" } else { "Per session" }),
            cost_options::amount.eq(amount),
            cost_options::amount_description.eq(&svc.cost.description),
        ))
        .execute(conn)?;

    if svc.email.is_some() || svc.phone.is_some() {
        diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(stable_id(&format!("contact/{}", svc.key))),
                contacts::service_id.eq(&id),
                contacts::name.eq(Some("Group organiser")),
                contacts::email.eq(&svc.email),
                contacts::phone.eq(&svc.phone),
            ))
            .execute(conn)?;
    }

    for (i, loc) in svc.locations.iter().enumerate() {
        let postcode = Postcode::parse(&loc.postcode).map_err(|e| invalid(svc, e))?;
        let coords: Option<(f64, f64)> = crate::db::schema::postcodes::table
            .find(postcode.as_str())
            .select((crate::db::schema::postcodes::latitude, crate::db::schema::postcodes::longitude))
            .first(conn)
            .optional()?;
        let Some((lat, lon)) = coords else {
            return Err(invalid(svc, format!("postcode {postcode} not found")));
        };
        let location_id = stable_id(&format!("location/{}/{i}", svc.key));
        diesel::delete(location_accessibility::table.filter(location_accessibility::location_id.eq(&location_id)))
            .execute(conn)?;
        let values = (
            locations::organization_id.eq(Some(org_id(&svc.organisation))),
            locations::name.eq(&loc.name),
            locations::address_1.eq(&loc.address),
            locations::city.eq(&loc.town),
            locations::postcode.eq(Some(postcode.as_str())),
            locations::latitude.eq(Some(lat)),
            locations::longitude.eq(Some(lon)),
            locations::masked.eq(loc.masked),
            locations::updated_at.eq(now),
        );
        if locations::table.find(&location_id).count().get_result::<i64>(conn)? > 0 {
            diesel::update(locations::table.find(&location_id)).set(values).execute(conn)?;
        } else {
            diesel::insert_into(locations::table)
                .values((locations::id.eq(&location_id), locations::created_at.eq(now), values))
                .execute(conn)?;
        }
        for slug in &loc.accessibility {
            let tid = term_id(Vocabulary::Accessibility, slug);
            if taxonomy_terms::table.find(&tid).count().get_result::<i64>(conn)? == 0 {
                return Err(invalid(svc, format!("unknown accessibility feature {slug}")));
            }
            diesel::insert_into(location_accessibility::table)
                .values((
                    location_accessibility::location_id.eq(&location_id),
                    location_accessibility::term_id.eq(&tid),
                ))
                .execute(conn)?;
        }
        diesel::insert_into(service_at_locations::table)
            .values((
                service_at_locations::id.eq(stable_id(&format!("service_at_location/{}/{i}", svc.key))),
                service_at_locations::service_id.eq(&id),
                service_at_locations::location_id.eq(&location_id),
            ))
            .execute(conn)?;
    }

    for (i, s) in svc.schedules.iter().enumerate() {
        let freq = s.freq.to_ascii_uppercase();
        let byday = s.days.join(",");
        let weeks = (!s.week_of_month.is_empty())
            .then(|| s.week_of_month.iter().map(i8::to_string).collect::<Vec<_>>().join(","));
        Schedule::parse(&freq, &byday, weeks.as_deref(), &s.opens_at, &s.closes_at).map_err(|e| invalid(svc, e))?;
        diesel::insert_into(schedules::table)
            .values((
                schedules::id.eq(stable_id(&format!("schedule/{}/{i}", svc.key))),
                schedules::service_id.eq(&id),
                schedules::freq.eq(&freq),
                schedules::byday.eq(&byday),
                schedules::week_of_month.eq(&weeks),
                schedules::opens_at.eq(&s.opens_at),
                schedules::closes_at.eq(&s.closes_at),
                schedules::notes.eq(&s.notes),
            ))
            .execute(conn)?;
    }
    outbox::enqueue(conn, &id)?;
    Ok(())
}
