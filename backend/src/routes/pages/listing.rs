//! `GET /services/{id}` (everything a person needs to go) and `/services/{id}/print`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
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
    /// For the "add to my list" form.
    csrf: String,
    /// Already on the visitor's shortlist.
    on_shortlist: bool,
    /// Just added to it.
    shortlist_added: bool,
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
        csrf: String::new(),
        on_shortlist: false,
        shortlist_added: false,
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

/// The listing page, with "add to my list" (the visitor's shortlist).
pub async fn listing_page(
    req: HttpRequest,
    id: ServiceId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let mut found = load_public(id, &state).await?;
    let mut csrf_cookie = None;
    if let Found::Page(page) = &mut found {
        let (list, _) = super::shortlist::read(&req, &state);
        page.on_shortlist = list.ids().contains(&page.listing.id);
        page.shortlist_added = req.query_string().contains("shortlist=added");
        let (csrf, cookie) = crate::routes::session::csrf_token(&req, state.settings.tls());
        page.csrf = csrf;
        csrf_cookie = cookie;
    }
    let mut response = respond(found, &state, "pages/listing", "")?;
    if let Some(cookie) = csrf_cookie {
        response.add_cookie(&cookie).map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(response)
}

/// A one-page print view a link worker can hand to a patient.
pub async fn listing_print(id: ServiceId, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let found = load_public(id, &state).await?;
    respond(found, &state, "pages/listing_print", "/print")
}
