//! The rows a report is computed from: the referrals received in the range (the cohort) and
//! what hangs off them, read once with plain queries both engines run the same way, then
//! counted in Rust. A service's year is thousands of referrals, which this reads in
//! milliseconds; it never reads clinical free text.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::filter::{Filter, Scope};
use crate::db::schema::{
    connections, organizations, outcome_measures, referral_reasons, referral_searches, referrals, service_taxonomy,
    services,
};
use crate::db::DbConnection;
use crate::error::AppError;

/// Ids per `IN (...)` list: well under both engines' limits on bound parameters.
const CHUNK: usize = 500;

/// A referral, without anything that names the person.
#[derive(Debug, Clone, Queryable)]
pub struct ReferralRow {
    pub id: String,
    pub practice_id: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub first_contact_at: Option<NaiveDateTime>,
    pub date_of_birth: NaiveDate,
    pub sex: Option<String>,
    pub ethnicity: Option<String>,
    /// The kind of organisation that referred (`gp_practice`, `housing`, `the_public`, ...).
    pub source_kind: String,
}

/// A recorded measure.
#[derive(Debug, Clone, Queryable)]
pub struct MeasureRow {
    pub referral_id: String,
    pub instrument: String,
    pub timepoint: String,
    pub answers: String,
}

/// A connection with its community service.
#[derive(Debug, Clone, Queryable)]
pub struct ConnectionRow {
    pub service_id: String,
    pub service_name: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub status: String,
    pub introduced_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub person_choice: Option<String>,
    pub person_reason: Option<String>,
}

/// A search made inside a referral (never the person: the area is an outward code).
#[derive(Debug, Clone, Queryable)]
pub struct SearchRow {
    pub query: String,
    pub categories: String,
    pub outward_code: Option<String>,
    pub results: i32,
}

/// Everything the reports count, for one filter and scope.
#[derive(Debug, Default)]
pub struct Data {
    pub referrals: Vec<ReferralRow>,
    pub practice_names: HashMap<String, String>,
    /// (referral id, reason term id).
    pub reasons: Vec<(String, String)>,
    pub measures: Vec<MeasureRow>,
    pub connections: Vec<ConnectionRow>,
    /// (community service id, category term id) for the services connected to.
    pub service_terms: Vec<(String, String)>,
    pub searches: Vec<SearchRow>,
    /// (referral id, flag kind) of the cohort's risk and safeguarding flags.
    pub flags: Vec<(String, String)>,
    /// When the report was made: "unanswered for N days" is measured to here.
    pub now: NaiveDateTime,
}

/// Which parts a report needs (`all` for the overview).
fn needs(report: &str, part: &str) -> bool {
    report == "all"
        || match part {
            "reasons" => report == "referrals-by-reason",
            "measures" => report == "outcomes",
            "connections" => report.starts_with("connections-") || report == "group-response" || report == "choices",
            "searches" => report == "unmet-need",
            "flags" => report == "risk-flags",
            _ => false,
        }
}

fn chunked<T>(ids: &[String], mut query: impl FnMut(&[String]) -> QueryResult<Vec<T>>) -> QueryResult<Vec<T>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(query(chunk)?);
    }
    Ok(out)
}

impl Data {
    /// Reads what `report` needs.
    pub fn load(conn: &mut DbConnection, scope: &Scope, filter: &Filter, report: &str) -> Result<Data, AppError> {
        let start = filter.from.and_time(chrono::NaiveTime::MIN);
        let end = (filter.to + Duration::days(1)).and_time(chrono::NaiveTime::MIN);
        let mut data = Data { now: chrono::Utc::now().naive_utc(), ..Data::default() };

        if report != "unmet-need" {
            let mut query = referrals::table
                .filter(referrals::created_at.ge(start))
                .filter(referrals::created_at.lt(end))
                // Entered in error never happened: it is not counted anywhere.
                .filter(referrals::status.ne("entered_in_error"))
                .select((
                    referrals::id,
                    referrals::practice_id,
                    referrals::status,
                    referrals::created_at,
                    referrals::first_contact_at,
                    referrals::date_of_birth,
                    referrals::sex,
                    referrals::ethnicity,
                    referrals::source_kind,
                ))
                .order(referrals::created_at)
                .into_boxed();
            if let Some(service) = &scope.service_id {
                query = query.filter(referrals::service_id.eq(service.clone()));
            }
            if let Some(practice) = &filter.practice_id {
                query = query.filter(referrals::practice_id.eq(practice.clone()));
            }
            data.referrals = query.load(conn)?;
            let practice_ids: BTreeSet<&String> = data.referrals.iter().map(|r| &r.practice_id).collect();
            let practice_ids: Vec<String> = practice_ids.into_iter().cloned().collect();
            data.practice_names = chunked(&practice_ids, |ids| {
                organizations::table
                    .filter(organizations::id.eq_any(ids))
                    .select((organizations::id, organizations::name))
                    .load::<(String, String)>(conn)
            })?
            .into_iter()
            .collect();
        }
        let ids: Vec<String> = data.referrals.iter().map(|r| r.id.clone()).collect();
        if needs(report, "flags") {
            data.flags = crate::referrals::risk_flags::kinds_for(conn, &ids)?;
        }
        if needs(report, "reasons") {
            data.reasons = chunked(&ids, |ids| {
                referral_reasons::table
                    .filter(referral_reasons::referral_id.eq_any(ids))
                    .select((referral_reasons::referral_id, referral_reasons::term_id))
                    .load(conn)
            })?;
        }
        if needs(report, "measures") {
            data.measures = chunked(&ids, |ids| {
                outcome_measures::table
                    .filter(outcome_measures::referral_id.eq_any(ids))
                    .select((
                        outcome_measures::referral_id,
                        outcome_measures::instrument,
                        outcome_measures::timepoint,
                        outcome_measures::answers,
                    ))
                    .order(outcome_measures::at)
                    .load(conn)
            })?;
        }
        if needs(report, "connections") {
            data.connections = chunked(&ids, |ids| {
                connections::table
                    .inner_join(services::table.inner_join(organizations::table))
                    .filter(connections::referral_id.eq_any(ids))
                    .select((
                        services::id,
                        services::name,
                        organizations::id,
                        organizations::name,
                        connections::status,
                        connections::introduced_at,
                        connections::answered_at,
                        connections::person_choice,
                        connections::person_reason,
                    ))
                    .load(conn)
            })?;
            let service_ids: BTreeSet<&String> = data.connections.iter().map(|c| &c.service_id).collect();
            let service_ids: Vec<String> = service_ids.into_iter().cloned().collect();
            data.service_terms = chunked(&service_ids, |ids| {
                service_taxonomy::table
                    .filter(service_taxonomy::service_id.eq_any(ids))
                    .select((service_taxonomy::service_id, service_taxonomy::term_id))
                    .load(conn)
            })?;
        }
        if needs(report, "searches") {
            let mut query = referral_searches::table
                .filter(referral_searches::at.ge(start))
                .filter(referral_searches::at.lt(end))
                .select((
                    referral_searches::query,
                    referral_searches::categories,
                    referral_searches::outward_code,
                    referral_searches::results,
                ))
                .into_boxed();
            if let Some(service) = &scope.service_id {
                query = query.filter(referral_searches::service_org_id.eq(service.clone()));
            }
            data.searches = query.load(conn)?;
        }
        Ok(data)
    }
}
