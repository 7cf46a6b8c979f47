//! Server-rendered pages: they work without JavaScript, on a phone, and in print.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod coverage;
pub mod data_rights;
pub mod join;
pub mod listing;
pub mod listings;
pub mod notifications;
pub mod person;
pub mod refer_yourself;
pub mod referrals;
pub mod reports;
pub mod search;
pub mod shortlist;
pub mod triage;
pub mod withdraw;

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

/// What a page form came to: saved, or refused with what to fix.
#[derive(Debug)]
pub enum Submitted<R> {
    /// Saved: answer "go back" ([`see_other`]).
    Saved(R),
    /// Refused: show the form again (422) with what was typed and these problems, each a
    /// field's id and what to do about it; the id is empty for a problem with the whole form
    /// (someone else saved it first, or the move is not allowed from where it is now).
    Refused(Vec<(String, String)>),
}

/// Sorts a use-case's answer to a page form the one way every page does: field problems and
/// conflicts are [`Submitted::Refused`]; any other failure (not allowed, gone, a fault) is its
/// error page.
pub fn submitted<R>(result: Result<R, AppError>) -> Result<Submitted<R>, PageError> {
    match result {
        Ok(saved) => Ok(Submitted::Saved(saved)),
        Err(AppError::Invalid(fields)) => Ok(Submitted::Refused(fields.into_iter().collect())),
        Err(conflict @ AppError::Conflict { .. }) => {
            Ok(Submitted::Refused(vec![(String::new(), conflict.public_message())]))
        }
        Err(other) => Err(other.into()),
    }
}

/// "Saved, go back": a 303 to a path of this site.
pub fn see_other(path: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, path.to_string())).finish()
}
