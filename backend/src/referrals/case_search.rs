//! Searching the directory from inside a referral: the public search, measured from the
//! person's postcode, starting from the categories that fit the referral's reasons. Each search
//! is recorded without the person (what was searched, the categories, the area as an outward
//! code, the radius and how many fit closely) for the unmet-need report. A search whose matches
//! are all partial ("stop smoking" finding only a gardening group that mentions a bus stop)
//! records 0 found, as a search that finds nothing does: the need was not met.

use chrono::Utc;
use diesel::prelude::*;

use super::load_workable;
use super::view::reasons;
use crate::accounts::CurrentUser;
use crate::db::schema::referral_searches;
use crate::db::DbConnection;
use crate::directory::listing_cache::ListingCache;
use crate::directory::search::{self, SearchOutcome, SearchParams};
use crate::directory::taxonomy::Taxonomy;
use crate::error::AppError;
use crate::ids::ReferralId;

/// The directory categories that are a sensible first search for a referral reason.
pub fn starting_categories(reason: &str) -> &'static [&'static str] {
    match reason {
        "loneliness" | "frequent-attendance" => &["befriending-and-loneliness", "social-groups"],
        "low-mood" => &["mental-wellbeing", "mental-health-peer-support"],
        "long-term-condition" => &["health-conditions", "long-term-condition-peer-support"],
        "physical-activity" => &["walking-and-physical-activity"],
        "weight-and-diabetes-prevention" => &["diabetes-education", "cooking-and-nutrition", "walking-groups"],
        "money-and-debt" => &["money-and-debt-advice"],
        "housing" => &["housing-advice"],
        "carer-support" => &["carers-support"],
        "bereavement" => &["bereavement"],
        "employment" => &["employment-and-skills"],
        "substance-use" => &["recovery-peer-support"],
        "digital-skills" => &["digital-inclusion"],
        _ => &[],
    }
}

/// Runs the search for a referral and records it (without the person).
pub fn search_for(
    conn: &mut DbConnection,
    index: &search_index::SearchIndex,
    taxonomy: &Taxonomy,
    listings: &ListingCache,
    user: &CurrentUser,
    id: &ReferralId,
    mut params: SearchParams,
) -> Result<SearchOutcome, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let row = load_workable(conn, user, id)?;
    let (Some(lat), Some(lon)) = (row.latitude, row.longitude) else {
        return Err(AppError::invalid("near", "this referral has no location"));
    };
    params.near.clear();
    params.lat = lat.to_string();
    params.lon = lon.to_string();
    if params.q.trim().is_empty() && params.category.is_empty() {
        let mut categories: Vec<String> = reasons(conn, id)?
            .iter()
            .flat_map(|(slug, _)| starting_categories(slug).iter().map(|c| c.to_string()))
            .collect();
        categories.sort();
        categories.dedup();
        params.category = categories;
    }
    let outcome = search::search(conn, index, taxonomy, listings, &params, true)?;
    let radius = outcome.origin.as_ref().map(|o| o.radius_km);
    diesel::insert_into(referral_searches::table)
        .values((
            referral_searches::at.eq(Utc::now().naive_utc()),
            referral_searches::service_org_id.eq(&row.service_id),
            referral_searches::query.eq(outcome.text.chars().take(200).collect::<String>()),
            referral_searches::categories.eq(params.category.join(",")),
            referral_searches::outward_code.eq(Some(&row.outward_code)),
            referral_searches::radius_km.eq(radius),
            referral_searches::results.eq(i32::try_from(outcome.close_total).unwrap_or(i32::MAX)),
        ))
        .execute(conn)?;
    Ok(outcome)
}
