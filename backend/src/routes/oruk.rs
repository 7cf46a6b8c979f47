//! `/oruk/...`: the Open Referral UK 3.0 API, read-only and open to anyone. The handlers check
//! the parameters ([`query`]) and answer what [`export`] builds from the public directory.
//! Every answer carries `Access-Control-Allow-Origin: *` and `OPTIONS` answers a CORS
//! preflight, so a finder running in a browser on another site can read the feed.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{ApiError, AppError};
use crate::interop::oruk::query::{self, ListKind};
use crate::interop::oruk::{export, model::Page};
use crate::routes::{parse_record_id, query_pairs, with_conn};
use crate::state::AppState;

/// The header every ORUK answer carries: anyone's page may read it (no cookies are used).
pub fn cors_headers() -> DefaultHeaders {
    DefaultHeaders::new().add((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
}

/// `OPTIONS /oruk/...`: a CORS preflight. Reading is allowed from anywhere, with the headers
/// the browser asks for; nothing here can be written.
pub async fn preflight(req: HttpRequest) -> HttpResponse {
    let mut answer = HttpResponse::NoContent();
    answer
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .insert_header((header::ALLOW, "GET, HEAD, OPTIONS"));
    if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        answer.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone()));
    }
    answer.finish()
}

fn paged(req: &HttpRequest, kind: ListKind, state: &AppState) -> Result<query::ListQuery, AppError> {
    query::parse(&query_pairs(req)?, kind, &state.taxonomy())
}

fn page_json<T: serde::Serialize>(page: Page<T>) -> HttpResponse {
    HttpResponse::Ok().json(page)
}

/// `GET /oruk/`: what this API is and which profile it follows.
pub async fn api_info() -> HttpResponse {
    HttpResponse::Ok().json(export::api_info())
}

/// `GET /oruk/services`: public services, one-to-one fields, paged and filtered.
pub async fn list_services(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let q = paged(&req, ListKind::Services, &state)?;
    let paging = q.paging.unwrap_or(query::Paging { page: 1, per_page: query::DEFAULT_PER_PAGE });
    let page =
        with_conn(&state, move |conn, state| Ok(export::services_page(conn, &state.taxonomy(), &q.filter, paging)?))
            .await?;
    Ok(page_json(page))
}

/// `GET /oruk/services/{id}`: one public service, fully nested.
pub async fn get_service(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_record_id(&path.into_inner(), "service")?;
    let found = with_conn(&state, move |conn, state| Ok(export::service(conn, &state.taxonomy(), &id)?)).await?;
    found
        .map(|s| HttpResponse::Ok().json(s))
        .ok_or_else(|| AppError::not_found("no public service with that id").into())
}

/// `GET /oruk/taxonomies`: our vocabularies as taxonomies.
pub async fn list_taxonomies(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let q = paged(&req, ListKind::PagingOnly, &state)?;
    let paging = q.paging.unwrap_or(query::Paging { page: 1, per_page: query::DEFAULT_PER_PAGE });
    Ok(page_json(export::taxonomies(&state.taxonomy(), paging)))
}

/// `GET /oruk/taxonomies/{id}`: one taxonomy with its terms.
pub async fn get_taxonomy(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_record_id(&path.into_inner(), "taxonomy")?;
    export::taxonomy(&state.taxonomy(), &id)
        .map(|t| HttpResponse::Ok().json(t))
        .ok_or_else(|| AppError::not_found("no taxonomy with that id").into())
}

/// `GET /oruk/taxonomy_terms`: every published term.
pub async fn list_taxonomy_terms(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let q = paged(&req, ListKind::PagingOnly, &state)?;
    let paging = q.paging.unwrap_or(query::Paging { page: 1, per_page: query::DEFAULT_PER_PAGE });
    Ok(page_json(export::taxonomy_terms(&state.taxonomy(), paging)))
}

/// `GET /oruk/taxonomy_terms/{id}`: one term.
pub async fn get_taxonomy_term(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_record_id(&path.into_inner(), "taxonomy term")?;
    export::taxonomy_term_by_id(&state.taxonomy(), &id)
        .map(|t| HttpResponse::Ok().json(t))
        .ok_or_else(|| AppError::not_found("no taxonomy term with that id").into())
}

/// `GET /oruk/service_at_locations`: where public services happen, paged, filtered, and
/// nearest first from a `postcode` (within `proximity` metres).
pub async fn list_service_at_locations(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let q = paged(&req, ListKind::ServiceAtLocations, &state)?;
    let paging = q.paging.unwrap_or(query::Paging { page: 1, per_page: query::DEFAULT_PER_PAGE });
    let page =
        with_conn(&state, move |conn, state| export::service_at_locations_page(conn, &state.taxonomy(), &q, paging))
            .await?;
    Ok(page_json(page))
}

/// `GET /oruk/service_at_locations/{id}`: one, with its location and service in full.
pub async fn get_service_at_location(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_record_id(&path.into_inner(), "service at location")?;
    let found =
        with_conn(&state, move |conn, state| Ok(export::service_at_location(conn, &state.taxonomy(), &id)?)).await?;
    found
        .map(|s| HttpResponse::Ok().json(s))
        .ok_or_else(|| AppError::not_found("no service at location with that id").into())
}
