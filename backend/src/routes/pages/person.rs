//! The person's own page, without an account: `/my-page` (type the code from a printed plan),
//! `/my-page/{code}` (the date of birth once per device, then the page) and its three forms.
//!
//! Every answer carries `Cache-Control: no-store` and `X-Robots-Tag: noindex`. Unknown codes
//! count against the address's allowance (`person_codes`), so codes cannot be guessed; a link
//! locks after five wrong dates of birth.

use std::collections::BTreeMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::{AppError, PageError};
use crate::person::links::{self, BirthDate, Check, OpenLink, Refusal};
use crate::person::page::{self, ContactChoice, PersonView, SuggestionAnswer, NOT_FOR_ME_REASONS};
use crate::routes::actor::Visitor;
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{render_page, submitted, Submitted};
use crate::routes::session::{cookie_name, csrf_token};
use crate::routes::with_conn;
use crate::state::AppState;

/// The cookie that remembers this device gave the right date of birth.
const DEVICE_COOKIE: &str = "cg-person";

#[derive(Serialize, Default)]
struct PersonPage {
    title: String,
    csrf: String,
    noindex: bool,
    code: String,
    /// Why the code did not open a page.
    refused: Option<&'static str>,
    /// The date-of-birth question (not yet passed on this device).
    ask_birth_date: bool,
    birth_date: BirthDate,
    view: Option<PersonView>,
    reasons: Vec<(&'static str, &'static str)>,
    /// What was just saved, for the banner.
    saved: Option<&'static str>,
    errors: Vec<(String, String)>,
    field_errors: BTreeMap<String, String>,
    /// The connection whose answer was refused, and what was chosen.
    answering: Option<String>,
    answer: SuggestionAnswer,
    contact: ContactChoice,
}

fn private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers
        .insert(header::HeaderName::from_static("x-robots-tag"), header::HeaderValue::from_static("noindex, nofollow"));
    response
}

fn render(
    req: &HttpRequest,
    state: &AppState,
    mut page: PersonPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    page.csrf = csrf;
    page.noindex = true;
    page.reasons = NOT_FOR_ME_REASONS.to_vec();
    let order = ["", "code", "day", "month", "year", "choice", "reason", "words", "preferred_contact", "contact_times"];
    page.errors = order.iter().filter_map(|f| page.field_errors.get(*f).map(|m| (f.to_string(), m.clone()))).collect();
    Ok(private(render_page(state, "pages/person", &page, status, cookie)?))
}

fn refused_page(
    req: &HttpRequest,
    state: &AppState,
    code: String,
    refusal: Refusal,
) -> Result<HttpResponse, PageError> {
    let status = match refusal {
        Refusal::Unknown => StatusCode::NOT_FOUND,
        Refusal::Expired => StatusCode::GONE,
        Refusal::Locked => StatusCode::LOCKED,
    };
    let page = PersonPage { title: "Your page".into(), code, refused: Some(refusal.message()), ..Default::default() };
    render(req, state, page, status)
}

/// Opens the code: the link, or the page saying why not. Well-formed codes that match nothing
/// count against the address, and an address over its allowance is refused before the lookup;
/// a malformed one cannot be a guess at a real code and is turned away without either.
async fn open(state: &AppState, code: &str, ip: Option<String>) -> Result<Result<OpenLink, Refusal>, AppError> {
    if links::normalise(code).is_none() {
        return Ok(Err(Refusal::Unknown));
    }
    let code = code.to_string();
    with_conn(state, move |conn, state| {
        let address = ip.unwrap_or_default();
        if let Some(wait) = state.limits.person_codes.check(conn, &address)? {
            return Err(AppError::TooManyRequests(wait.as_secs()));
        }
        let opened = links::open(conn, &code)?;
        if matches!(opened, Err(Refusal::Unknown)) {
            state.limits.person_codes.hit(conn, &address)?;
        }
        Ok(opened)
    })
    .await
}

fn passed(req: &HttpRequest, state: &AppState, link: &OpenLink) -> bool {
    let cookie = req.cookie(&cookie_name(DEVICE_COOKIE, state.settings.tls()));
    links::device_passed(state.keys.person_key(), &link.id, cookie.as_ref().map(|c| c.value()))
}

async fn show(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    link: OpenLink,
    ip: Option<String>,
    mut page: PersonPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let view = with_conn(state, move |conn, state| page::load(conn, &link, &state.taxonomy(), ip.as_deref())).await?;
    page.title = format!("{}\u{2019}s page", view.first_name);
    if page.contact.preferred_contact.is_empty() {
        page.contact = ContactChoice {
            preferred_contact: view.preferred_contact.clone(),
            contact_times: view.contact_times.clone(),
        };
    }
    page.view = Some(view);
    render(req, state, page, status)
}

/// What a saved form says in the banner, from `?saved=`.
fn saved_banner(req: &HttpRequest) -> Option<&'static str> {
    let query = req.query_string();
    [
        ("saved=answer", "Thank you. Your link worker can see your answer."),
        ("saved=contact", "Thank you. We have changed how we will contact you."),
        ("saved=stopped", "We will not contact you any more. Your link worker can see this. If you change your mind, choose how we can contact you below."),
    ]
    .into_iter()
    .find(|(q, _)| query == *q)
    .map(|(_, words)| words)
}

/// `GET /my-page`: the box to type the code from a printed plan (`?code=` goes to its page).
pub async fn code_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let typed = crate::routes::query_pairs(&req)?.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v);
    if let Some(typed) = typed {
        return match links::normalise(&typed) {
            Some(code) => Ok(super::see_other(&format!("/my-page/{code}"))),
            None => {
                let mut page = PersonPage { title: "Open your page".into(), code: typed, ..Default::default() };
                page.field_errors.insert(
                    "code".into(),
                    "Enter the 12 letters and numbers from your plan, for example K7P2-9XQM-3RTA".into(),
                );
                render(&req, &state, page, StatusCode::UNPROCESSABLE_ENTITY)
            }
        };
    }
    render(&req, &state, PersonPage { title: "Open your page".into(), ..Default::default() }, StatusCode::OK)
}

/// `GET /my-page/{code}`: the date of birth once per device, then the page.
pub async fn person_page(
    req: HttpRequest,
    Visitor { ip, .. }: Visitor,
    code: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let link = match open(&state, &code, ip.clone()).await? {
        Ok(link) => link,
        Err(refusal) => return refused_page(&req, &state, code, refusal),
    };
    if !passed(&req, &state, &link) {
        let page = PersonPage { title: "Check it is you".into(), code, ask_birth_date: true, ..Default::default() };
        return render(&req, &state, page, StatusCode::OK);
    }
    let page = PersonPage { code, saved: saved_banner(&req), ..Default::default() };
    show(&req, &state, link, ip, page, StatusCode::OK).await
}

/// `POST /my-page/{code}/birth-date`: right, and this device is remembered for the link's life;
/// wrong, and the tries left are said; the fifth wrong one locks the link.
pub async fn birth_date_submit(
    req: HttpRequest,
    Visitor { ip, .. }: Visitor,
    code: web::Path<String>,
    PageForm(form): PageForm<BirthDate>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let link = match open(&state, &code, ip.clone()).await? {
        Ok(link) => link,
        Err(refusal) => return refused_page(&req, &state, code, refusal),
    };
    let (checked, given) = (link.clone(), form.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(links::check_birth_date(conn, &checked, &given, ip.as_deref()))).await?;
    let ask_again = |field_errors: BTreeMap<String, String>| PersonPage {
        title: "Check it is you".into(),
        code: code.clone(),
        ask_birth_date: true,
        birth_date: form.clone(),
        field_errors,
        ..Default::default()
    };
    match submitted(result)? {
        Submitted::Saved(Check::Passed) => {
            let secure = state.settings.tls();
            let cookie = Cookie::build(
                cookie_name(DEVICE_COOKIE, secure),
                links::device_mark(state.keys.person_key(), &link.id),
            )
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .max_age(actix_web::cookie::time::Duration::days(state.settings.person_link_days))
            .finish();
            let mut response = private(super::see_other(&format!("/my-page/{code}")));
            response.add_cookie(&cookie).map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(response)
        }
        Submitted::Saved(Check::Wrong(left)) => {
            let message = format!(
                "That is not the date of birth we have for you. Check it and try again. You have {left} {} left.",
                if left == 1 { "try" } else { "tries" }
            );
            render(
                &req,
                &state,
                ask_again(BTreeMap::from([("day".to_string(), message)])),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Submitted::Saved(Check::LockedNow) => refused_page(&req, &state, code, Refusal::Locked),
        Submitted::Refused(problems) => {
            render(&req, &state, ask_again(problems.into_iter().collect()), StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// The link for a form on the page: open, and this device passed the date of birth (else the
/// page's own answer: the refusal, or the question).
async fn link_for_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    code: &str,
    ip: Option<String>,
) -> Result<Result<OpenLink, HttpResponse>, PageError> {
    match open(state, code, ip).await? {
        Err(refusal) => Ok(Err(refused_page(req, state, code.to_string(), refusal)?)),
        Ok(link) if !passed(req, state, &link) => Ok(Err(private(super::see_other(&format!("/my-page/{code}"))))),
        Ok(link) => Ok(Ok(link)),
    }
}

/// `POST /my-page/{code}/suggestions/{connection_id}`: "I'd like to try this" or "not for me".
pub async fn answer_submit(
    req: HttpRequest,
    Visitor { ip, .. }: Visitor,
    path: web::Path<(String, String)>,
    PageForm(form): PageForm<SuggestionAnswer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (code, connection_id) = path.into_inner();
    let link = match link_for_form(&req, &state, &code, ip.clone()).await? {
        Ok(link) => link,
        Err(answer) => return Ok(answer),
    };
    let (on, given, who, id) = (link.clone(), form.clone(), ip.clone(), connection_id.clone());
    let result = with_conn(&state, move |conn, _| Ok(page::answer(conn, &on, &id, &given, who.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(()) => {
            Ok(private(super::see_other(&format!("/my-page/{code}?saved=answer#s-{connection_id}"))))
        }
        Submitted::Refused(problems) => {
            let page = PersonPage {
                code,
                field_errors: problems.into_iter().collect(),
                answering: Some(connection_id),
                answer: form,
                ..Default::default()
            };
            show(&req, &state, link, ip, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /my-page/{code}/contact`: how and when to contact the person.
pub async fn contact_submit(
    req: HttpRequest,
    Visitor { ip, .. }: Visitor,
    code: web::Path<String>,
    PageForm(form): PageForm<ContactChoice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let link = match link_for_form(&req, &state, &code, ip.clone()).await? {
        Ok(link) => link,
        Err(answer) => return Ok(answer),
    };
    let (on, given, who) = (link.clone(), form.clone(), ip.clone());
    let result = with_conn(&state, move |conn, _| Ok(page::change_contact(conn, &on, &given, who.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(()) => Ok(private(super::see_other(&format!("/my-page/{code}?saved=contact#contact")))),
        Submitted::Refused(problems) => {
            let page =
                PersonPage { code, field_errors: problems.into_iter().collect(), contact: form, ..Default::default() };
            show(&req, &state, link, ip, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /my-page/{code}/stop`: stop contacting me.
pub async fn stop_submit(
    req: HttpRequest,
    Visitor { ip, .. }: Visitor,
    code: web::Path<String>,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let link = match link_for_form(&req, &state, &code, ip.clone()).await? {
        Ok(link) => link,
        Err(answer) => return Ok(answer),
    };
    with_conn(&state, move |conn, _| page::stop_contact(conn, &link, ip.as_deref())).await?;
    Ok(private(super::see_other(&format!("/my-page/{code}?saved=stopped#contact"))))
}
