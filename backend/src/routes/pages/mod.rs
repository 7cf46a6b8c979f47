//! Server-rendered pages: they work without JavaScript, on a phone, and in print.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod listing;
pub mod listings;
pub mod referrals;
pub mod search;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use crate::error::{AppError, PageError};
use crate::state::AppState;

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
}

/// Renders a page template, setting the CSRF cookie when `csrf_token` made a new one (the
/// page's forms carry the same token, so it must come from the same call).
pub fn render_page<T: Serialize>(
    state: &AppState,
    template: &str,
    page: &T,
    status: StatusCode,
    csrf_cookie: Option<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let mut response = html(status, state.templates.render(template, page)?);
    if let Some(cookie) = csrf_cookie {
        response.add_cookie(&cookie).map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(response)
}
