//! `/join`: a community group signs itself up, no account needed. A refused form comes back
//! (422) with what was typed, except the password; too many sign-ups from one address come
//! back (429) the same way. An accepted sign-up, and one from an address that already has an
//! account, lead to the same "thank you".

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::sign_up::{self, SignUp, MAX_DESCRIPTION, RECEIVED};
use crate::accounts::CurrentUser;
use crate::error::{AppError, PageError};
use crate::routes::actor::Visitor;
use crate::routes::input;
use crate::routes::pages::{field, render_page};
use crate::routes::session::{check_csrf, csrf_token};
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize, Default)]
struct JoinPage {
    title: &'static str,
    csrf: String,
    user: Option<CurrentUser>,
    /// What was typed (never the password).
    values: SignUp,
    /// For the error summary, in the form's order.
    errors: Vec<(String, String)>,
    /// The same, by field, for the message next to each field.
    field_errors: BTreeMap<String, String>,
    /// A problem that is not one field's (too many sign-ups).
    problem: Option<String>,
    /// The sign-up was received: the thank-you page.
    received: Option<&'static str>,
    max_description: usize,
}

/// The form's fields in the order the page shows them (the error summary follows it).
const FIELDS: [&str; 8] = [
    "organisation_name",
    "organisation_description",
    "website",
    "organisation_email",
    "organisation_phone",
    "name",
    "email",
    "password",
];

fn render(
    req: &HttpRequest,
    state: &AppState,
    mut page: JoinPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    page.csrf = csrf;
    page.title = if page.received.is_some() { "Thank you" } else { "List your community group" };
    page.max_description = MAX_DESCRIPTION;
    page.errors = FIELDS.iter().filter_map(|f| page.field_errors.get(*f).map(|m| (f.to_string(), m.clone()))).collect();
    render_page(state, "pages/join", &page, status, cookie)
}

/// `GET /join` (and `?sent=1`, the thank-you page after a sign-up).
pub async fn join_page(
    req: HttpRequest,
    Visitor { user, .. }: Visitor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let sent = query_pairs(&req)?.iter().any(|(k, v)| k == "sent" && v == "1");
    let page = JoinPage { user, received: sent.then_some(RECEIVED), ..Default::default() };
    render(&req, &state, page, StatusCode::OK)
}

/// `POST /join`: the sign-up form.
pub async fn join_submit(
    req: HttpRequest,
    Visitor { user, ip }: Visitor,
    form: input::Form<Vec<(String, String)>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form.into_inner();
    check_csrf(&req, &field(&pairs, "csrf"))?;
    let answers = SignUp {
        organisation_name: field(&pairs, "organisation_name"),
        organisation_description: field(&pairs, "organisation_description"),
        website: field(&pairs, "website"),
        organisation_email: field(&pairs, "organisation_email"),
        organisation_phone: field(&pairs, "organisation_phone"),
        name: field(&pairs, "name"),
        email: field(&pairs, "email"),
        password: field(&pairs, "password"),
    };
    let sent = answers.clone();
    let result =
        with_conn(&state, move |conn, state| Ok(sign_up::sign_up(conn, &sent, ip.as_deref(), &state.limits.sign_ups)))
            .await?;
    let (field_errors, problem, status) = match result {
        Ok(()) => return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/join?sent=1")).finish()),
        Err(AppError::Invalid(fields)) => (fields, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::TooManyRequests(secs)) => {
            let minutes = secs.div_ceil(60).max(1);
            let problem = format!(
                "Several groups have been signed up from this connection in the last hour. \
                 Please try again in {minutes} minutes: what you typed is kept below."
            );
            (BTreeMap::new(), Some(problem), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(other) => return Err(other.into()),
    };
    let page = JoinPage { user, values: answers, field_errors, problem, ..Default::default() };
    render(&req, &state, page, status)
}
