//! `/refer-yourself`: a person refers themselves, no account and no JavaScript needed. A refused
//! form comes back (422) with what was typed and each problem next to its field; too many from
//! one address come back (429) the same way. Every referral taken in, and a bot's, lead to the
//! same "thank you".

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::CurrentUser;
use crate::error::{AppError, PageError};
use crate::referrals::self_referral::{self, SelfReferral, RECEIVED};
use crate::routes::actor::Visitor;
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize, Default)]
struct ReferPage {
    title: &'static str,
    csrf: String,
    user: Option<CurrentUser>,
    /// What was typed.
    values: SelfReferral,
    /// For the error summary, in the form's order.
    errors: Vec<(String, String)>,
    /// The same, by field, for the message next to each field.
    field_errors: BTreeMap<String, String>,
    /// A problem that is not one field's (too many from this connection).
    problem: Option<String>,
    /// The thank-you page.
    received: Option<&'static str>,
}

/// The form's fields in the order the page shows them (the error summary follows it).
const FIELDS: [&str; 12] = [
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "postcode",
    "preferred_contact",
    "phone",
    "email",
    "contact_times",
    "language",
    "what_matters",
    "consent_referral",
];

fn render(
    req: &HttpRequest,
    state: &AppState,
    mut page: ReferPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    page.csrf = csrf;
    page.title = if page.received.is_some() { "Thank you" } else { "Ask for help from a link worker" };
    page.errors = FIELDS.iter().filter_map(|f| page.field_errors.get(*f).map(|m| (f.to_string(), m.clone()))).collect();
    // A problem with a field the page does not show (none today) still reaches the summary.
    for (field, message) in &page.field_errors {
        if !FIELDS.contains(&field.as_str()) {
            page.errors.push((String::new(), message.clone()));
        }
    }
    render_page(state, "pages/refer_yourself", &page, status, cookie)
}

/// `GET /refer-yourself` (and `?sent=1`, the thank-you page).
pub async fn refer_page(
    req: HttpRequest,
    Visitor { user, .. }: Visitor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let sent = query_pairs(&req)?.iter().any(|(k, v)| k == "sent" && v == "1");
    let values = SelfReferral { preferred_contact: "phone".into(), ..Default::default() };
    let page = ReferPage { user, values, received: sent.then_some(RECEIVED), ..Default::default() };
    render(&req, &state, page, StatusCode::OK)
}

/// `POST /refer-yourself`.
pub async fn refer_submit(
    req: HttpRequest,
    Visitor { user, ip }: Visitor,
    PageForm(answers): PageForm<SelfReferral>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let sent = answers.clone();
    let result = with_conn(&state, move |conn, state| {
        Ok(self_referral::refer(conn, &state.taxonomy(), &sent, ip.as_deref(), &state.limits.self_referrals))
    })
    .await?;
    let result = match result {
        Err(AppError::TooManyRequests(secs)) => {
            let minutes = secs.div_ceil(60).max(1);
            let problem = format!(
                "A lot of forms have been sent from this connection in the last hour. Please try again in \
                 {minutes} minutes. What you typed is kept below. If you need help now, call NHS 111."
            );
            let page = ReferPage { user, values: answers, problem: Some(problem), ..Default::default() };
            return render(&req, &state, page, StatusCode::TOO_MANY_REQUESTS);
        }
        other => other,
    };
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/refer-yourself?sent=1")),
        Submitted::Refused(problems) => {
            let page =
                ReferPage { user, values: answers, field_errors: problems.into_iter().collect(), ..Default::default() };
            render(&req, &state, page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
