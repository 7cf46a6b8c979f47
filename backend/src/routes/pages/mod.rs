//! Server-rendered pages: they work without JavaScript, on a phone, and in print.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod listing;
pub mod listings;
pub mod referrals;
pub mod search;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
}
