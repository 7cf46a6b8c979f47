//! `commonground import-oruk PATH`: merges an Open Referral UK file (a `/services` page, a list
//! of full services, or one full service) into the directory. Each record is read and checked
//! ([`record`]), compared with what is stored (unchanged records write nothing) and written in
//! its own transaction with its organisation, venues, sessions, costs and contacts, a version
//! row, a search outbox row and an audit row, as an administrator named on the command line.
//! Records are matched by id (our id is the ORUK id when that is a UUID, otherwise a stable id
//! derived from it), so a second run creates nothing twice. Imported listings are approved.

pub mod record;

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{json, Value};

use self::record::{Plan, PlannedContact, PlannedCost, PlannedLocation, PlannedService};
use super::kept;
use crate::accounts::audit::{self, Event};
use crate::accounts::organisations::OrganisationView;
use crate::accounts::policy::{allows, Action};
use crate::accounts::{users, CurrentUser};
use crate::db::schema::{
    contacts, cost_options, location_accessibility, locations, organizations, schedules, service_at_locations,
    service_taxonomy, service_versions, services,
};
use crate::db::{self, DbConnection};
use crate::directory::listing::{LocationRow, ServiceRow, SessionRow};
use crate::directory::outbox;
use crate::directory::taxonomy::Taxonomy;
use crate::domain::{Approval, AttendingType};
use crate::error::AppError;

/// Largest file imported unless told otherwise (50 MB).
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Over the size limit (checked before reading).
    #[error("{path} is {size} bytes, over the import limit of {limit} bytes; split it into smaller files")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not JSON.
    #[error("{path} is not JSON: {message}")]
    NotJson {
        /// The file.
        path: String,
        /// The parser's words (line and column).
        message: String,
    },
    /// JSON, but not ORUK services.
    #[error("{path} is not an ORUK /services page (an object with contents), a list of services or one service")]
    NotOruk {
        /// The file.
        path: String,
    },
    /// The importing account is not an active administrator.
    #[error("{0}")]
    NotAllowed(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new listing.
    Created,
    /// An existing listing changed.
    Updated,
    /// The listing already read so; nothing written.
    Unchanged,
    /// Not imported, with the reasons.
    Skipped(Vec<String>),
}

/// One record's line in the summary.
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// Position in the file, from 1.
    pub position: usize,
    /// The record's id as written, if any.
    pub oruk_id: Option<String>,
    /// Our id, when imported.
    pub id: Option<String>,
    /// The record's name, if any.
    pub name: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Parts left out or changed on the way in.
    pub warnings: Vec<String>,
}

/// What an import did, record by record.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// In file order.
    pub records: Vec<RecordReport>,
}

impl ImportSummary {
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.records.iter().filter(|r| f(&r.outcome)).count()
    }

    /// Listings created.
    pub fn created(&self) -> usize {
        self.count(|o| *o == Outcome::Created)
    }

    /// Listings updated.
    pub fn updated(&self) -> usize {
        self.count(|o| *o == Outcome::Updated)
    }

    /// Records that changed nothing.
    pub fn unchanged(&self) -> usize {
        self.count(|o| *o == Outcome::Unchanged)
    }

    /// Records not imported.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    /// The summary for people: a totals line, then one line per record with its reasons and
    /// warnings indented beneath.
    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} record(s): {} created, {} updated, {} unchanged, {} skipped",
            self.records.len(),
            self.created(),
            self.updated(),
            self.unchanged(),
            self.skipped()
        )?;
        for r in &self.records {
            let word = match &r.outcome {
                Outcome::Created => "created",
                Outcome::Updated => "updated",
                Outcome::Unchanged => "unchanged",
                Outcome::Skipped(_) => "skipped",
            };
            let id = r.id.as_deref().or(r.oruk_id.as_deref()).unwrap_or("(no id)");
            writeln!(out, "  #{:<4} {word:<9} {id} {}", r.position, r.name.as_deref().unwrap_or(""))?;
            if let Outcome::Skipped(reasons) = &r.outcome {
                for reason in reasons {
                    writeln!(out, "          reason: {reason}")?;
                }
            }
            for warning in &r.warnings {
                writeln!(out, "          warning: {warning}")?;
            }
        }
        Ok(())
    }
}

/// The importing administrator, by sign-in e-mail.
pub fn importer(conn: &mut DbConnection, email: &str) -> Result<CurrentUser, ImportError> {
    let user = users::by_email(conn, email)?;
    let current = match user {
        Some(u) => users::current(conn, &u)?,
        None => None,
    };
    match current {
        Some(user) if allows(&user, Action::Administer) => Ok(user),
        _ => Err(ImportError::NotAllowed(format!(
            "{email} is not an active administrator here; imports are made as one (--as EMAIL)"
        ))),
    }
}

/// Imports a file no larger than `max_bytes` (checked before reading it).
pub fn import_file(
    conn: &mut DbConnection,
    actor: &CurrentUser,
    path: &Path,
    max_bytes: u64,
) -> Result<ImportSummary, ImportError> {
    let shown = path.display().to_string();
    let read_error = |e: std::io::Error| ImportError::Read { path: shown.clone(), message: e.to_string() };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > max_bytes {
        return Err(ImportError::TooLarge { path: shown, size, limit: max_bytes });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ImportError::NotJson { path: shown.clone(), message: e.to_string() })?;
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    import_value(conn, actor, &value, &source).map_err(|e| match e {
        ImportError::NotOruk { .. } => ImportError::NotOruk { path: shown },
        other => other,
    })
}

/// The records of a file: a page's `contents`, a list, or one service.
fn records(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Object(map) => match map.get("contents") {
            Some(Value::Array(list)) => Some(list),
            Some(_) => None,
            None if map.contains_key("id") || map.contains_key("name") => Some(std::slice::from_ref(value)),
            None => None,
        },
        Value::Array(list) => Some(list),
        _ => None,
    }
}

/// Imports parsed JSON; `source` names the file in the version history.
#[tracing::instrument(skip(conn, actor, value), fields(actor.id = %actor.id))]
pub fn import_value(
    conn: &mut DbConnection,
    actor: &CurrentUser,
    value: &Value,
    source: &str,
) -> Result<ImportSummary, ImportError> {
    let list = records(value).ok_or_else(|| ImportError::NotOruk { path: source.to_string() })?;
    let taxonomy = Taxonomy::load(conn)?;
    let mut summary = ImportSummary::default();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let position = i + 1;
        let oruk_id = item.get("id").and_then(Value::as_str).map(str::to_string);
        let name = item.get("name").and_then(Value::as_str).map(str::to_string);
        let mut report = RecordReport {
            position,
            oruk_id: oruk_id.clone(),
            id: None,
            name,
            outcome: Outcome::Unchanged,
            warnings: Vec::new(),
        };
        if let Some(raw) = &oruk_id {
            let ours = record::our_id("service", raw);
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == ours) {
                report.outcome = Outcome::Skipped(vec![format!("duplicate id: record #{first} has the same id")]);
                summary.records.push(report);
                continue;
            }
            seen.push((ours, position));
        }
        report.outcome = match record::read(conn, &taxonomy, item, &mut report.warnings) {
            Err(reasons) => Outcome::Skipped(reasons),
            Ok(plan) => {
                report.id = Some(plan.service.id.clone());
                let id = plan.service.id.clone();
                match merge(conn, actor, &taxonomy, plan, source, &mut report.warnings) {
                    Ok(Outcome::Skipped(reasons)) => Outcome::Skipped(reasons),
                    Ok(outcome) => {
                        warn_dropped(conn, &taxonomy, item, &id, &mut report.warnings);
                        outcome
                    }
                    Err(e) => Outcome::Skipped(vec![format!("not written: {e}")]),
                }
            }
        };
        tracing::debug!(record = position, outcome = ?report.outcome, "oruk record");
        summary.records.push(report);
    }
    Ok(summary)
}

/// Names, in one warning, every field of the record that `/oruk` does not now publish back
/// for it (what the import did not keep, or left out with a warning above).
fn warn_dropped(conn: &mut DbConnection, taxonomy: &Taxonomy, given: &Value, id: &str, warnings: &mut Vec<String>) {
    let published = match super::export::services_as_stored(conn, taxonomy, &[id.to_string()]) {
        Ok(found) => found.into_iter().next().and_then(|s| serde_json::to_value(s).ok()),
        Err(e) => {
            tracing::warn!(service.id = %id, error = %e, "could not read back an imported service");
            None
        }
    };
    let Some(published) = published else { return };
    let dropped = kept::dropped_fields(given, &published);
    if !dropped.is_empty() {
        warnings.push(format!("not kept here ({} field(s)): {}", dropped.len(), dropped.join(", ")));
    }
}

/// What is stored for a plan's records, in the plan's shape.
fn stored(conn: &mut DbConnection, plan: &Plan) -> QueryResult<Option<(Plan, ServiceRow)>> {
    let Some(row) = services::table.find(&plan.service.id).select(ServiceRow::as_select()).first(conn).optional()?
    else {
        return Ok(None);
    };
    let org = match &plan.org {
        None => None,
        Some(_) => organizations::table
            .find(&row.organization_id)
            .select(OrganisationView::as_select())
            .first(conn)
            .optional()?,
    };
    let mut terms: Vec<String> = service_taxonomy::table
        .filter(service_taxonomy::service_id.eq(&row.id))
        .select(service_taxonomy::term_id)
        .load(conn)?;
    terms.sort();
    let mut located = Vec::new();
    for (sal_id, LocationRow { id, name, address_1, city, postcode, latitude, longitude, .. }) in
        service_at_locations::table
            .inner_join(locations::table)
            .filter(service_at_locations::service_id.eq(&row.id))
            .order(service_at_locations::id)
            .select((service_at_locations::id, LocationRow::as_select()))
            .load::<(String, LocationRow)>(conn)?
    {
        let mut accessibility: Vec<String> = location_accessibility::table
            .filter(location_accessibility::location_id.eq(&id))
            .select(location_accessibility::term_id)
            .load(conn)?;
        accessibility.sort();
        located.push(PlannedLocation {
            sal_id,
            id,
            name,
            address_1,
            city,
            postcode,
            latitude,
            longitude,
            accessibility,
        });
    }
    let schedules_stored = schedules::table
        .filter(schedules::service_id.eq(&row.id))
        .order(schedules::id)
        .select(SessionRow::as_select())
        .load(conn)?;
    let costs_stored = cost_options::table
        .filter(cost_options::service_id.eq(&row.id))
        .order(cost_options::id)
        .select((
            cost_options::id,
            cost_options::option,
            cost_options::amount,
            cost_options::currency,
            cost_options::amount_description,
        ))
        .load::<(String, String, Option<f64>, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, option, amount, currency, amount_description)| PlannedCost {
            id,
            option,
            amount,
            currency,
            amount_description,
        })
        .collect();
    let contacts_stored = contacts::table
        .filter(contacts::service_id.eq(&row.id))
        .order(contacts::id)
        .select((contacts::id, contacts::name, contacts::title, contacts::email, contacts::phone))
        .load::<(String, Option<String>, Option<String>, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, title, email, phone)| PlannedContact { id, name, title, email, phone })
        .collect();
    let plan = Plan {
        org,
        org_id: row.organization_id.clone(),
        service: PlannedService {
            id: row.id.clone(),
            name: row.name.clone(),
            summary: row.summary.clone(),
            description: row.description.clone(),
            status: row.status,
            url: row.url.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            fees_description: row.fees_description.clone(),
            minimum_age: row.minimum_age,
            maximum_age: row.maximum_age,
            languages: row.languages.clone(),
            last_verified: Some(row.last_verified),
        },
        terms,
        locations: located,
        schedules: schedules_stored,
        costs: costs_stored,
        contacts: contacts_stored,
        kept: kept::load_services(conn, std::slice::from_ref(&row.id))?.remove(&row.id).unwrap_or_default(),
        areas: crate::directory::service_area::load_for(conn, std::slice::from_ref(&row.id))?
            .remove(&row.id)
            .unwrap_or_default(),
        org_kept: match &plan.org {
            None => None,
            Some(_) => Some(
                kept::load_organizations(conn, std::slice::from_ref(&row.organization_id))?
                    .remove(&row.organization_id)
                    .unwrap_or_default(),
            ),
        },
    };
    Ok(Some((plan, row)))
}

/// Id, name, address, town, postcode, latitude, longitude.
/// Venues kept as they are here: those whose address is given only on request (an import
/// never unmasks one; it cannot know).
fn keep_masked(conn: &mut DbConnection, plan: &mut Plan, warnings: &mut Vec<String>) -> QueryResult<()> {
    let ids: Vec<&String> = plan.locations.iter().map(|l| &l.id).collect();
    let masked: Vec<LocationRow> = locations::table
        .filter(locations::id.eq_any(ids))
        .filter(locations::masked.eq(true))
        .select(LocationRow::as_select())
        .load(conn)?;
    for LocationRow { id, name, address_1, city, postcode, latitude, longitude, .. } in masked {
        let accessibility: Vec<String> = {
            let mut a: Vec<String> = location_accessibility::table
                .filter(location_accessibility::location_id.eq(&id))
                .select(location_accessibility::term_id)
                .load(conn)?;
            a.sort();
            a
        };
        if let Some(l) = plan.locations.iter_mut().find(|l| l.id == id) {
            *l = PlannedLocation {
                sal_id: l.sal_id.clone(),
                id,
                name,
                address_1,
                city,
                postcode,
                latitude,
                longitude,
                accessibility,
            };
            warnings.push(format!("location {} gives its address on request here; left as it is", l.id));
        }
    }
    Ok(())
}

/// Compares with what is stored and writes the differences in one transaction.
fn merge(
    conn: &mut DbConnection,
    actor: &CurrentUser,
    taxonomy: &Taxonomy,
    mut plan: Plan,
    source: &str,
    warnings: &mut Vec<String>,
) -> Result<Outcome, AppError> {
    keep_masked(conn, &mut plan, warnings)?;
    free_child_ids(conn, &mut plan)?;
    let before = stored(conn, &plan)?;
    if let Some((old, row)) = &before {
        if let Some(kept) = &row.merged_into {
            return Ok(Outcome::Skipped(vec![format!("merged into {kept} here; import into the listing kept")]));
        }
        // Our summary is not in ORUK: keep ours while the description reads the same.
        let exported =
            if old.service.description.trim().is_empty() { &old.service.summary } else { &old.service.description };
        if *exported == plan.service.description {
            plan.service.summary = old.service.summary.clone();
            plan.service.description = old.service.description.clone();
        }
        // Last verified goes forward only: a later confirmation here is not undone by the file.
        plan.service.last_verified = match (old.service.last_verified, plan.service.last_verified) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if *old == plan {
            return Ok(Outcome::Unchanged);
        }
    }
    let now = Utc::now().naive_utc();
    let last_verified = plan.service.last_verified.unwrap_or(now);
    if (now - last_verified).num_days() > crate::directory::listing::HIDDEN_AFTER_DAYS {
        warnings.push(format!(
            "assured_date {} is over 12 months ago: the listing stays hidden from the public until someone confirms it",
            last_verified.date()
        ));
    }
    let outcome = if before.is_some() { Outcome::Updated } else { Outcome::Created };
    let changes = describe_changes(before.as_ref().map(|(p, _)| p), &plan, taxonomy, source);
    db::write(conn, |conn| -> Result<(), AppError> {
        write_org(conn, &plan, now)?;
        if let Some(org_kept) = &plan.org_kept {
            kept::save_organization(conn, &plan.org_id, org_kept)?;
        }
        let version = write_service(conn, &plan, before.as_ref().map(|(_, r)| r), last_verified, now)?;
        let id = plan.service.id.as_str();
        diesel::delete(service_taxonomy::table.filter(service_taxonomy::service_id.eq(id))).execute(conn)?;
        for term in &plan.terms {
            diesel::insert_into(service_taxonomy::table)
                .values((service_taxonomy::service_id.eq(id), service_taxonomy::term_id.eq(term)))
                .execute(conn)?;
        }
        write_children(conn, &plan)?;
        kept::save_service(conn, id, &plan.kept)?;
        crate::directory::service_area::replace(conn, id, &plan.areas)?;
        write_locations(conn, &plan, now)?;
        diesel::insert_into(service_versions::table)
            .values((
                service_versions::service_id.eq(id),
                service_versions::version.eq(version),
                service_versions::at.eq(now),
                service_versions::actor_id.eq(&actor.id),
                service_versions::kind.eq("edit"),
                service_versions::changes.eq(changes.to_string()),
            ))
            .execute(conn)?;
        outbox::enqueue(conn, id)?;
        let detail = if outcome == Outcome::Created { "created" } else { "updated" };
        audit::record(conn, &Event::by(actor, "listing.import", None).on("service", id).detail(detail))?;
        Ok(())
    })?;
    Ok(outcome)
}

/// Field to [before, after], as the version history keeps it; `oruk_import` names the file.
fn describe_changes(before: Option<&Plan>, after: &Plan, taxonomy: &Taxonomy, source: &str) -> Value {
    let mut changes = serde_json::Map::new();
    changes.insert("oruk_import".into(), json!([Value::Null, source]));
    let Some(old) = before else { return Value::Object(changes) };
    let mut note = |field: &str, a: Value, b: Value| {
        if a != b {
            changes.insert(field.into(), json!([a, b]));
        }
    };
    let (o, n) = (&old.service, &after.service);
    note("name", json!(o.name), json!(n.name));
    note("summary", json!(o.summary), json!(n.summary));
    note("description", json!(o.description), json!(n.description));
    note("status", json!(o.status), json!(n.status));
    note("url", json!(o.url), json!(n.url));
    note("email", json!(o.email), json!(n.email));
    note("phone", json!(o.phone), json!(n.phone));
    note("fees_description", json!(o.fees_description), json!(n.fees_description));
    note("minimum_age", json!(o.minimum_age), json!(n.minimum_age));
    note("maximum_age", json!(o.maximum_age), json!(n.maximum_age));
    note("languages", json!(o.languages), json!(n.languages));
    note("last_verified", json!(o.last_verified), json!(n.last_verified));
    for vocabulary in
        [crate::directory::taxonomy::Vocabulary::Category, crate::directory::taxonomy::Vocabulary::Audience]
    {
        let slugs = |ids: &[String]| -> Vec<String> {
            let mut s: Vec<String> = ids
                .iter()
                .filter_map(|id| taxonomy.by_id(id))
                .filter(|t| t.vocabulary == vocabulary.as_str())
                .map(|t| t.slug.clone())
                .collect();
            s.sort();
            s
        };
        let field =
            if vocabulary == crate::directory::taxonomy::Vocabulary::Category { "categories" } else { "audiences" };
        note(field, json!(slugs(&old.terms)), json!(slugs(&after.terms)));
    }
    if old.org != after.org && after.org.is_some() {
        note("organisation", json!(old.org.as_ref().map(|o| &o.name)), json!(after.org.as_ref().map(|o| &o.name)));
    }
    let names = |l: &[PlannedLocation]| json!(l.iter().map(|l| &l.name).collect::<Vec<_>>());
    if old.locations != after.locations {
        changes.insert("locations".into(), json!([names(&old.locations), names(&after.locations)]));
    }
    let sessions = |s: &[SessionRow]| {
        json!(s.iter().map(|s| format!("{} {} {}-{}", s.freq, s.byday, s.opens_at, s.closes_at)).collect::<Vec<_>>())
    };
    if old.schedules != after.schedules {
        changes.insert("sessions".into(), json!([sessions(&old.schedules), sessions(&after.schedules)]));
    }
    if old.costs != after.costs {
        let c = |c: &[PlannedCost]| json!(c.iter().map(|c| (&c.option, c.amount)).collect::<Vec<_>>());
        changes.insert("cost_options".into(), json!([c(&old.costs), c(&after.costs)]));
    }
    if old.areas != after.areas {
        let labels = |a: &[crate::directory::service_area::Area]| json!(a.iter().map(|a| &a.label).collect::<Vec<_>>());
        changes.insert("service_areas".into(), json!([labels(&old.areas), labels(&after.areas)]));
    }
    if old.kept != after.kept || (after.org_kept.is_some() && old.org_kept != after.org_kept) {
        changes.insert("oruk_fields".into(), json!([json!(old.kept), json!(after.kept)]));
    }
    if old.contacts != after.contacts {
        let c = |c: &[PlannedContact]| json!(c.iter().map(|c| &c.name).collect::<Vec<_>>());
        changes.insert("contacts".into(), json!([c(&old.contacts), c(&after.contacts)]));
    }
    Value::Object(changes)
}

fn write_org(conn: &mut DbConnection, plan: &Plan, now: chrono::NaiveDateTime) -> QueryResult<()> {
    let Some(org) = &plan.org else { return Ok(()) };
    let exists = organizations::table.find(&org.id).count().get_result::<i64>(conn)? > 0;
    let fields = (
        organizations::name.eq(&org.name),
        organizations::description.eq(&org.description),
        organizations::website.eq(&org.website),
        organizations::email.eq(&org.email),
        organizations::phone.eq(&org.phone),
        organizations::charity_number.eq(&org.charity_number),
        organizations::updated_at.eq(now),
    );
    if exists {
        diesel::update(organizations::table.find(&org.id)).set(fields).execute(conn)?;
    } else {
        diesel::insert_into(organizations::table)
            .values((
                organizations::id.eq(&org.id),
                fields,
                organizations::kind.eq("community_org"),
                organizations::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Inserts or updates the service row; answers the version the change is recorded as.
fn write_service(
    conn: &mut DbConnection,
    plan: &Plan,
    before: Option<&ServiceRow>,
    last_verified: chrono::NaiveDateTime,
    now: chrono::NaiveDateTime,
) -> Result<i32, AppError> {
    let s = &plan.service;
    let fields = (
        services::organization_id.eq(&plan.org_id),
        services::name.eq(&s.name),
        services::summary.eq(&s.summary),
        services::description.eq(&s.description),
        services::status.eq(&s.status),
        services::url.eq(&s.url),
        services::email.eq(&s.email),
        services::phone.eq(&s.phone),
        services::fees_description.eq(&s.fees_description),
        services::minimum_age.eq(s.minimum_age),
        services::maximum_age.eq(s.maximum_age),
        services::languages.eq(&s.languages),
        services::last_verified.eq(last_verified),
        services::updated_at.eq(now),
    );
    match before {
        Some(row) => {
            let next = row.version + 1;
            // Still the version read: an edit made meanwhile is not overwritten.
            let updated = diesel::update(
                services::table.filter(services::id.eq(&s.id)).filter(services::version.eq(row.version)),
            )
            .set((fields, services::version.eq(next)))
            .execute(conn)?;
            if updated != 1 {
                return Err(AppError::Conflict {
                    message: "the listing changed while it was imported; run the import again".into(),
                    allowed: Vec::new(),
                });
            }
            Ok(next)
        }
        None => {
            let in_person = if plan.locations.is_empty() { AttendingType::Online } else { AttendingType::InPerson };
            diesel::insert_into(services::table)
                .values((
                    services::id.eq(&s.id),
                    fields,
                    services::attending_type.eq(in_person),
                    services::approval.eq(Approval::Approved),
                    services::version.eq(1),
                    services::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(1)
        }
    }
}

/// The ids among `$ids` that a row of `$table` belonging to another service than `$sid` holds.
/// (A macro because diesel's tables are distinct types with no trait for "has a service".)
macro_rules! taken_by_others {
    ($conn:expr, $table:ident, $ids:expr, $sid:expr) => {
        $table::table
            .filter($table::id.eq_any($ids.collect::<Vec<String>>()))
            .filter($table::service_id.ne($sid))
            .select($table::id)
            .load::<String>($conn)?
            .into_iter()
            .collect::<HashSet<String>>()
    };
}

/// Gives a session, cost, contact or venue link whose id another listing already uses an id of
/// its own (derived from the listing's, so the same on every run).
fn free_child_ids(conn: &mut DbConnection, plan: &mut Plan) -> QueryResult<()> {
    let sid = plan.service.id.clone();
    let remap = |ids: Vec<&mut String>, taken: HashSet<String>, kind: &str| {
        for id in ids.into_iter().filter(|id| taken.contains(id.as_str())) {
            *id = super::derived_id(kind, &format!("{sid}/{id}"));
        }
    };
    let taken = taken_by_others!(conn, cost_options, plan.costs.iter().map(|c| c.id.clone()), &sid);
    kept::follow_new_ids(&mut plan.kept.cost_options, &taken, "cost_option", &sid);
    remap(plan.costs.iter_mut().map(|c| &mut c.id).collect(), taken, "cost_option");
    let taken = taken_by_others!(conn, contacts, plan.contacts.iter().map(|c| c.id.clone()), &sid);
    remap(plan.contacts.iter_mut().map(|c| &mut c.id).collect(), taken, "contact");
    let taken = taken_by_others!(conn, schedules, plan.schedules.iter().map(|s| s.id.clone()), &sid);
    kept::follow_new_ids(&mut plan.kept.schedules, &taken, "schedule", &sid);
    remap(plan.schedules.iter_mut().map(|s| &mut s.id).collect(), taken, "schedule");
    let taken = taken_by_others!(conn, service_at_locations, plan.locations.iter().map(|l| l.sal_id.clone()), &sid);
    remap(plan.locations.iter_mut().map(|l| &mut l.sal_id).collect(), taken, "service_at_location");
    plan.costs.sort_by(|a, b| a.id.cmp(&b.id));
    plan.contacts.sort_by(|a, b| a.id.cmp(&b.id));
    plan.schedules.sort_by(|a, b| a.id.cmp(&b.id));
    plan.locations.sort_by(|a, b| a.sal_id.cmp(&b.sal_id));
    Ok(())
}

fn write_children(conn: &mut DbConnection, plan: &Plan) -> QueryResult<()> {
    let id = plan.service.id.as_str();
    diesel::delete(cost_options::table.filter(cost_options::service_id.eq(id))).execute(conn)?;
    diesel::delete(contacts::table.filter(contacts::service_id.eq(id))).execute(conn)?;
    diesel::delete(schedules::table.filter(schedules::service_id.eq(id))).execute(conn)?;

    for c in &plan.costs {
        diesel::insert_into(cost_options::table)
            .values((
                cost_options::id.eq(&c.id),
                cost_options::service_id.eq(id),
                cost_options::option.eq(&c.option),
                cost_options::amount.eq(c.amount),
                cost_options::currency.eq(&c.currency),
                cost_options::amount_description.eq(&c.amount_description),
            ))
            .execute(conn)?;
    }
    for c in &plan.contacts {
        diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(&c.id),
                contacts::service_id.eq(id),
                contacts::name.eq(&c.name),
                contacts::title.eq(&c.title),
                contacts::email.eq(&c.email),
                contacts::phone.eq(&c.phone),
            ))
            .execute(conn)?;
    }
    for s in &plan.schedules {
        diesel::insert_into(schedules::table)
            .values((
                schedules::id.eq(&s.id),
                schedules::service_id.eq(id),
                schedules::freq.eq(&s.freq),
                schedules::byday.eq(&s.byday),
                schedules::week_of_month.eq(&s.week_of_month),
                schedules::opens_at.eq(&s.opens_at),
                schedules::closes_at.eq(&s.closes_at),
                schedules::valid_from.eq(s.valid_from),
                schedules::valid_to.eq(s.valid_to),
                schedules::notes.eq(&s.notes),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn write_locations(conn: &mut DbConnection, plan: &Plan, now: chrono::NaiveDateTime) -> QueryResult<()> {
    let service_id = plan.service.id.as_str();
    diesel::delete(service_at_locations::table.filter(service_at_locations::service_id.eq(service_id)))
        .execute(conn)?;
    for l in &plan.locations {
        let existing: Option<bool> = locations::table.find(&l.id).select(locations::masked).first(conn).optional()?;
        let fields = (
            locations::name.eq(&l.name),
            locations::address_1.eq(&l.address_1),
            locations::city.eq(&l.city),
            locations::postcode.eq(&l.postcode),
            locations::latitude.eq(l.latitude),
            locations::longitude.eq(l.longitude),
            locations::updated_at.eq(now),
        );
        match existing {
            // A masked venue was left as it is (see keep_masked).
            Some(true) => {}
            Some(false) => {
                diesel::update(locations::table.find(&l.id)).set(fields).execute(conn)?;
            }
            None => {
                diesel::insert_into(locations::table)
                    .values((
                        locations::id.eq(&l.id),
                        locations::organization_id.eq(Some(&plan.org_id)),
                        fields,
                        locations::masked.eq(false),
                        locations::created_at.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
        if existing != Some(true) {
            diesel::delete(location_accessibility::table.filter(location_accessibility::location_id.eq(&l.id)))
                .execute(conn)?;
            for term in &l.accessibility {
                diesel::insert_into(location_accessibility::table)
                    .values((location_accessibility::location_id.eq(&l.id), location_accessibility::term_id.eq(term)))
                    .execute(conn)?;
            }
        }
    }
    for l in &plan.locations {
        diesel::insert_into(service_at_locations::table)
            .values((
                service_at_locations::id.eq(&l.sal_id),
                service_at_locations::service_id.eq(service_id),
                service_at_locations::location_id.eq(&l.id),
            ))
            .execute(conn)?;
    }
    Ok(())
}
