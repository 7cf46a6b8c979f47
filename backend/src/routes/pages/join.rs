//! `/join`: a community group signs itself up, no account needed. A refused form comes back
//! (422) with what was typed, except the password; too many sign-ups from one address come
//! back (429) the same way. An accepted sign-up, and one from an address that already has an
//! account, lead to the same "thank you".

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::sign_up::{self, SignUp, MAX_DESCRIPTION, RECEIVED};
use crate::accounts::CurrentUser;
use crate::error::{AppError, PageError};
use crate::routes::actor::Visitor;
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
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
    PageForm(answers): PageForm<SignUp>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let sent = answers.clone();
    let result =
        with_conn(&state, move |conn, state| Ok(sign_up::sign_up(conn, &sent, ip.as_deref(), &state.limits.sign_ups)))
            .await?;
    // Too many sign-ups from one connection is said above the form, which keeps what was typed.
    let result = match result {
        Err(AppError::TooManyRequests(secs)) => {
            let minutes = secs.div_ceil(60).max(1);
            let problem = format!(
                "Several groups have been signed up from this connection in the last hour. \
                 Please try again in {minutes} minutes: what you typed is kept below."
            );
            let page = JoinPage { user, values: answers, problem: Some(problem), ..Default::default() };
            return render(&req, &state, page, StatusCode::TOO_MANY_REQUESTS);
        }
        other => other,
    };
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/join?sent=1")),
        Submitted::Refused(problems) => {
            let page =
                JoinPage { user, values: answers, field_errors: problems.into_iter().collect(), ..Default::default() };
            render(&req, &state, page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
