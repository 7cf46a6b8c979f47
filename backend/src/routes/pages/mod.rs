//! Server-rendered pages: they work without JavaScript, on a phone, and in print.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod join;
pub mod listing;
pub mod listings;
pub mod referrals;
pub mod reports;
pub mod search;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
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

/// A submitted form's fields as pairs (repeated keys kept, for checkboxes), once its CSRF token
/// is the one for this session or browser.
pub fn form_pairs(req: &HttpRequest, body: &web::Bytes) -> Result<Vec<(String, String)>, AppError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    crate::routes::session::check_csrf(req, &field(&pairs, "csrf"))?;
    Ok(pairs)
}

/// A field's first value, if the form sent it (sent empty is `Some("")`: "clear it").
pub fn sent(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A field's first value, empty when not sent.
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    sent(pairs, name).unwrap_or_default()
}

/// A field's value, or `None` when missing or blank.
pub fn optional(pairs: &[(String, String)], name: &str) -> Option<String> {
    sent(pairs, name).filter(|v| !v.trim().is_empty())
}

/// Every value of a repeated field (checkboxes).
pub fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}
