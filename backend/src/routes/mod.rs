//! Thin handlers: parse the request, call one use-case off the async runtime, render JSON or a
//! page. Every route is wired in [`configure`].

pub mod api;
pub mod health;
pub mod pages;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::db::PooledConn;
use crate::error::{self, AppError};
use crate::state::AppState;

/// Largest JSON body accepted (a listing with a long description fits many times over).
pub const JSON_LIMIT: usize = 256 * 1024;

/// Wires every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(|err, _req| {
        let app_error = match &err {
            actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
            | actix_web::error::JsonPayloadError::Overflow { .. } => {
                AppError::PayloadTooLarge(format!("the body is larger than {} kB", JSON_LIMIT / 1024))
            }
            actix_web::error::JsonPayloadError::ContentType => AppError::BadRequest {
                code: "unsupported_content_type",
                message: "send Content-Type: application/json".into(),
                fields: Default::default(),
            },
            other => AppError::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {other}"),
                fields: Default::default(),
            },
        };
        actix_web::error::InternalError::from_response(err, error::json_response(&app_error)).into()
    }))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .service(
        web::scope("/api/v1")
            .route("/services", web::get().to(api::services::search_services))
            .route("/services/{id}", web::get().to(api::services::get_service))
            .route("/taxonomy", web::get().to(api::taxonomy::get_taxonomy))
            .route("/geocode", web::get().to(api::geocode::geocode))
            .default_service(web::to(api_not_found)),
    )
    .route("/", web::get().to(pages::search::search_page))
    .route("/services/{id}", web::get().to(pages::listing::listing_page))
    .route("/services/{id}/print", web::get().to(pages::listing::listing_print))
    .route("/static/{name}", web::get().to(pages::assets::static_asset))
    .default_service(web::to(page_not_found));
}

async fn api_not_found() -> HttpResponse {
    error::json_response(&AppError::not_found("no such API route; see the README's API table"))
}

async fn page_not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return api_not_found().await;
    }
    error::page_response(&AppError::not_found("there is no page at this address"))
}

/// Runs blocking work (diesel, tantivy) on the blocking pool with a database connection.
pub async fn with_conn<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut PooledConn, &AppState) -> Result<T, AppError> + Send + 'static,
{
    let state = state.clone();
    web::block(move || {
        let mut conn = state.pool.get()?;
        f(&mut conn, &state)
    })
    .await?
}

/// The query string as (key, value) pairs, repeated keys kept.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(req.query_string().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Checks a record id from the path: anything but a UUID is a 404 naming the field.
pub fn parse_id(id: &str) -> Result<String, AppError> {
    if crate::ids::is_id(id) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(AppError::NotFound {
            message: "no listing with that id".into(),
            fields: [("id".to_string(), "not a listing id".to_string())].into(),
        })
    }
}
