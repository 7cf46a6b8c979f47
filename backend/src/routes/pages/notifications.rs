//! Pages about what leaves the service: `/answer/{token}`, where a group answers an
//! introduction from the link in its e-mail without signing in, `/still-accurate/{token}`,
//! where an editor confirms a listing from a reminder, `/admin/notifications`, the recent
//! messages with their delivery state (never their bodies), and `/admin/reminders`, where each
//! listing stands in its reminder cycle.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::CurrentUser;
use crate::domain::connection_status::ConnectionStatus;
use crate::error::{AppError, PageError};
use crate::notifications::answer::{self, LinkAnswer, LinkedIntroduction};
use crate::notifications::due::{self, ReviewCycle};
use crate::notifications::preferences;
use crate::notifications::review::{self, LinkedListing};
use crate::notifications::{self as outbox_view, NotificationSummary};
use crate::routes::actor::{Authorized, ViewNotifications, Visitor};
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{html, render_page, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::with_conn;
use crate::state::AppState;

#[derive(Serialize)]
struct AnswerPage {
    title: &'static str,
    csrf: String,
    user: Option<CurrentUser>,
    token: String,
    introduction: LinkedIntroduction,
    values: LinkAnswer,
    errors: Vec<(String, String)>,
    field_errors: BTreeMap<String, String>,
    /// Answered: the thank-you.
    done: Option<String>,
}

impl AnswerPage {
    /// The page for a link that works, showing `values` in the form.
    fn new(user: Option<CurrentUser>, token: String, introduction: LinkedIntroduction, values: LinkAnswer) -> Self {
        AnswerPage {
            title: "Answer an introduction",
            csrf: String::new(),
            user,
            token,
            introduction,
            values,
            errors: Vec::new(),
            field_errors: BTreeMap::new(),
            done: None,
        }
    }
}

fn render(
    req: &HttpRequest,
    state: &AppState,
    mut page: AnswerPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    page.csrf = csrf;
    // A problem with the whole answer (its empty field id) first, then the fields in order.
    page.errors = ["", "answer", "reason"]
        .iter()
        .filter_map(|f| page.field_errors.get(*f).map(|m| (f.to_string(), m.clone())))
        .collect();
    render_page(state, "pages/answer", &page, status, cookie)
}

/// `GET /answer/{token}`: the introduction and the three answers, if the link still works; a
/// page saying why not otherwise.
pub async fn answer_page(
    req: HttpRequest,
    Visitor { user, .. }: Visitor,
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let sent = token.clone();
    let introduction =
        with_conn(&state, move |conn, state| answer::open(conn, state.keys.answer_link_key(), &sent)).await?;
    render(&req, &state, AnswerPage::new(user, token, introduction, LinkAnswer::default()), StatusCode::OK)
}

/// What the group is told once it has answered.
fn thanks(status: &str) -> &'static str {
    match ConnectionStatus::parse(status) {
        Some(ConnectionStatus::Accepted) => {
            "You said you can take them. The link worker will be in touch to arrange the first visit."
        }
        Some(ConnectionStatus::Waitlisted) => {
            "You said they can join your waiting list. The link worker will let the person know."
        }
        _ => "You said you cannot take them. The link worker will look for something else with the person.",
    }
}

/// `POST /answer/{token}`: the answer. Expired, altered or already answered: the error page
/// says so, and nothing changed.
pub async fn answer_submit(
    req: HttpRequest,
    Visitor { user, ip }: Visitor,
    token: web::Path<String>,
    PageForm(form): PageForm<LinkAnswer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let (sent, answers) = (token.clone(), form.clone());
    let result = with_conn(&state, move |conn, state| {
        Ok(answer::answer(conn, state.keys.answer_link_key(), &sent, &answers, ip.as_deref()))
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved(introduction) => {
            let done = thanks(&introduction.status);
            let page = AnswerPage {
                title: "Thank you",
                done: Some(done.into()),
                ..AnswerPage::new(user, token, introduction, form)
            };
            render(&req, &state, page, StatusCode::OK)
        }
        // A field to fix: the form again, with what was chosen and typed.
        Submitted::Refused(problems) => {
            let sent = token.clone();
            let introduction =
                with_conn(&state, move |conn, state| answer::open(conn, state.keys.answer_link_key(), &sent)).await?;
            let page = AnswerPage {
                field_errors: problems.into_iter().collect(),
                ..AnswerPage::new(user, token, introduction, form)
            };
            render(&req, &state, page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(Serialize)]
struct NotificationsPage {
    title: &'static str,
    user: CurrentUser,
    notifications: Vec<NotificationSummary>,
    counts: Vec<(String, i64)>,
    status: Option<String>,
}

/// Reads `?status=` (one of the delivery states) and `?limit=`.
pub fn list_filter(req: &HttpRequest) -> Result<(Option<String>, i64), AppError> {
    let mut status = None;
    let mut limit = 100;
    for (key, value) in crate::routes::query_pairs(req)? {
        match key.as_str() {
            "status" if value.is_empty() => {}
            "status" => {
                if !outbox_view::status::ALL.contains(&value.as_str()) {
                    return Err(AppError::invalid("status", "one of queued, sending, sent, failed, gave_up"));
                }
                status = Some(value);
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| AppError::invalid("limit", "a number from 1 to 500"))?
            }
            _ => {}
        }
    }
    Ok((status, limit))
}

/// `GET /admin/notifications`.
pub async fn notifications_page(
    req: HttpRequest,
    Authorized { user, .. }: Authorized<ViewNotifications>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (status, limit) = list_filter(&req)?;
    let wanted = status.clone();
    let (notifications, counts) = with_conn(&state, move |conn, _| {
        Ok((outbox_view::recent(conn, wanted.as_deref(), limit)?, outbox_view::counts(conn)?))
    })
    .await?;
    let page = NotificationsPage { title: "Notifications", user, notifications, counts, status };
    Ok(html(StatusCode::OK, state.templates.render("pages/notifications", &page)?))
}

#[derive(Serialize)]
struct StillAccuratePage {
    title: &'static str,
    csrf: String,
    user: Option<CurrentUser>,
    token: String,
    listing: LinkedListing,
    /// Confirmed: the thank-you.
    done: bool,
}

/// `GET /still-accurate/{token}`: the listing and one button, if the link still works; a page
/// saying why not otherwise. Opening the link changes nothing (mail scanners open links).
pub async fn still_accurate_page(
    req: HttpRequest,
    Visitor { user, .. }: Visitor,
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let sent = token.clone();
    let listing = with_conn(&state, move |conn, state| review::open(conn, state.keys.answer_link_key(), &sent)).await?;
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = StillAccuratePage { title: "Is your listing still accurate?", csrf, user, token, listing, done: false };
    render_page(&state, "pages/still_accurate", &page, StatusCode::OK, cookie)
}

/// `POST /still-accurate/{token}`: confirms it, once. Expired, altered, used, or the listing
/// changed since: the error page says so, and nothing changed.
pub async fn still_accurate_submit(
    req: HttpRequest,
    Visitor { user, ip }: Visitor,
    token: web::Path<String>,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let sent = token.clone();
    let listing =
        with_conn(&state, move |conn, state| review::confirm(conn, state.keys.answer_link_key(), &sent, ip.as_deref()))
            .await?;
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = StillAccuratePage { title: "Thank you", csrf, user, token, listing, done: true };
    render_page(&state, "pages/still_accurate", &page, StatusCode::OK, cookie)
}

#[derive(Serialize)]
struct RemindersPage {
    title: &'static str,
    user: CurrentUser,
    cycles: Vec<ReviewCycle>,
    reminders: i64,
    every: i64,
}

/// `GET /admin/reminders`: each listing in its "keeping listings true" cycle: reminders sent,
/// the next, and when it ranks lower and is hidden.
pub async fn reminders_page(
    Authorized { user, .. }: Authorized<ViewNotifications>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let cycles = with_conn(&state, move |conn, state| {
        Ok(due::review_cycles(conn, &state.settings, chrono::Utc::now().naive_utc())?)
    })
    .await?;
    let page = RemindersPage {
        title: "Listing reminders",
        user,
        cycles,
        reminders: state.settings.notifications.listing_reminders,
        every: state.settings.notifications.listing_reminder_days,
    };
    Ok(html(StatusCode::OK, state.templates.render("pages/reminders", &page)?))
}

#[derive(Serialize)]
struct UnsubscribePage {
    title: &'static str,
    csrf: String,
    user: Option<CurrentUser>,
    token: String,
    /// The address, partly hidden (`m•••@example.org`).
    address: String,
    /// Unsubscribed (now, or before).
    done: bool,
}

/// `m•••@example.org`: enough to recognise one's own address, not to read someone else's.
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
        None => "•••".into(),
    }
}

fn unsubscribe_address(state: &AppState, token: &str) -> Result<String, AppError> {
    crate::notifications::links::verify_unsubscribe(state.keys.answer_link_key(), token).ok_or_else(|| {
        AppError::not_found(
            "This link is not valid. It may not have been copied in full: try the link in the e-mail again.",
        )
    })
}

/// `GET /unsubscribe/{token}`: one button that stops every e-mail to the address. Opening the
/// link changes nothing (mail scanners open links).
pub async fn unsubscribe_page(
    req: HttpRequest,
    Visitor { user, .. }: Visitor,
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let address = unsubscribe_address(&state, &token)?;
    let lookup = address.clone();
    let done = with_conn(&state, move |conn, _| Ok(preferences::opted_out_at(conn, &lookup)?.is_some())).await?;
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = UnsubscribePage { title: "Stop e-mails", csrf, user, token, address: masked(&address), done };
    render_page(&state, "pages/unsubscribe", &page, StatusCode::OK, cookie)
}

/// `POST /unsubscribe/{token}`: no more e-mails to the address, from now (messages already
/// queued are not sent either). Twice is the same as once.
pub async fn unsubscribe_submit(
    req: HttpRequest,
    Visitor { user, ip }: Visitor,
    token: web::Path<String>,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let address = unsubscribe_address(&state, &token)?;
    let stored = address.clone();
    with_conn(&state, move |conn, _| Ok(preferences::opt_out(conn, &stored, ip.as_deref())?)).await?;
    tracing::info!("an address unsubscribed from e-mail");
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = UnsubscribePage { title: "Stopped", csrf, user, token, address: masked(&address), done: true };
    render_page(&state, "pages/unsubscribe", &page, StatusCode::OK, cookie)
}
