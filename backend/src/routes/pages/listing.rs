//! `GET /services/{id}` (everything a person needs to go) and `/services/{id}/print`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::directory::listing::{self, Listing};
use crate::error::{AppError, PageError};
use crate::routes::pages::html;
use crate::routes::{parse_id, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct ListingPage {
    title: String,
    listing: Listing,
    needs_review: bool,
    printed_on: String,
}

async fn load_public(id: String, state: &AppState) -> Result<ListingPage, PageError> {
    let id = parse_id(&id)?;
    let found = with_conn(state, move |conn, state| Ok(listing::load(conn, &id, &state.taxonomy())?)).await?;
    let now = chrono::Utc::now().naive_utc();
    let listing = found
        .filter(|l| l.is_public(now))
        .ok_or_else(|| AppError::not_found("this listing does not exist or is no longer shown"))?;
    Ok(ListingPage {
        title: listing.name.clone(),
        needs_review: listing.freshness != listing::Freshness::Fresh,
        printed_on: now.format("%-d %B %Y").to_string(),
        listing,
    })
}

/// The listing page.
pub async fn listing_page(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let page = load_public(path.into_inner(), &state).await?;
    Ok(html(StatusCode::OK, state.templates.render("pages/listing", &page)?))
}

/// A one-page print view a link worker can hand to a patient.
pub async fn listing_print(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let page = load_public(path.into_inner(), &state).await?;
    Ok(html(StatusCode::OK, state.templates.render("pages/listing_print", &page)?))
}
