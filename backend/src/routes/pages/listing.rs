//! `GET /services/{id}` (everything a person needs to go) and `/services/{id}/print`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::directory::listing::{self, Listing};
use crate::error::{AppError, PageError};
use crate::ids::ServiceId;
use crate::routes::pages::html;
use crate::routes::with_conn;
use crate::state::AppState;

#[derive(Serialize)]
struct ListingPage {
    title: String,
    listing: Listing,
    needs_review: bool,
    printed_on: String,
}

/// A public listing, or where a merged duplicate's address now leads.
enum Found {
    Page(Box<ListingPage>),
    MergedInto(String),
}

async fn load_public(id: ServiceId, state: &AppState) -> Result<Found, PageError> {
    let found = with_conn(state, move |conn, state| Ok(listing::load(conn, &id, &state.taxonomy())?)).await?;
    if let Some(kept) = found.as_ref().and_then(|l| l.merged_into.clone()) {
        return Ok(Found::MergedInto(kept));
    }
    let now = chrono::Utc::now().naive_utc();
    let listing = found
        .filter(|l| l.is_public(now))
        .ok_or_else(|| AppError::not_found("this listing does not exist or is no longer shown"))?;
    Ok(Found::Page(Box::new(ListingPage {
        title: listing.name.clone(),
        needs_review: listing.freshness != listing::Freshness::Fresh,
        printed_on: now.format("%-d %B %Y").to_string(),
        listing,
    })))
}

/// Renders the page, or sends a merged duplicate's visitors (old bookmarks, printed leaflets)
/// on to the listing kept, permanently.
fn respond(found: Found, state: &AppState, template: &str, suffix: &str) -> Result<HttpResponse, PageError> {
    match found {
        Found::Page(page) => Ok(html(StatusCode::OK, state.templates.render(template, &page)?)),
        Found::MergedInto(kept) => Ok(HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, format!("/services/{kept}{suffix}")))
            .finish()),
    }
}

/// The listing page.
pub async fn listing_page(id: ServiceId, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let found = load_public(id, &state).await?;
    respond(found, &state, "pages/listing", "")
}

/// A one-page print view a link worker can hand to a patient.
pub async fn listing_print(id: ServiceId, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let found = load_public(id, &state).await?;
    respond(found, &state, "pages/listing_print", "/print")
}
