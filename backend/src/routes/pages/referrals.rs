//! The referral pages: the GP's form and list, the link worker's caseload and a referral with
//! everything that can be done to it, the groups' introductions. Forms post back here (with
//! the CSRF token), call the same use-cases as the API, and redirect back (or show what to fix).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, Role};
use crate::directory::search::SearchParams;
use crate::error::{AppError, PageError};
use crate::ids::{ConnectionId, ReferralId};
use crate::referrals::connections::{self, ConnectionTransition, NewConnection};
use crate::referrals::create::{self, NewReferral};
use crate::referrals::transitions::{self, Transition};
use crate::referrals::view;
use crate::referrals::work::{self, NewAttempt, NewMeasure, NewNote};
use crate::referrals::{case_search, message};
use crate::routes::actor::Actor;
use crate::routes::input;
use crate::routes::pages::{all, field, form_pairs, optional, render_page};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

fn back_to(path: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, path.to_string())).finish()
}

#[derive(Serialize)]
struct ListPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    referrals: Vec<view::ReferralSummary>,
    needs_attention: bool,
    can_refer: bool,
}

/// `GET /referrals`: the practice's referrals, or the service's caseload (`?view=needs_attention`).
pub async fn list_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let filter = crate::routes::api::referrals::list_filter(&req)?;
    let needs_attention = filter.needs_attention;
    let who = user.clone();
    let referrals =
        with_conn(&state, move |conn, state| view::list(conn, &who, &filter, &state.settings.thresholds())).await?;
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let can_refer = allows(&user, Action::CreateReferral);
    let page = ListPage {
        title: if can_refer { "Your practice's referrals" } else { "Caseload" },
        csrf,
        can_refer,
        user,
        referrals,
        needs_attention,
    };
    render_page(&state, "pages/referrals", &page, StatusCode::OK, cookie)
}

#[derive(Serialize)]
struct NewPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    reasons: Vec<(String, String, bool)>,
    values: std::collections::BTreeMap<String, String>,
    errors: Vec<(String, String)>,
}

async fn render_new(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    pairs: &[(String, String)],
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let taxonomy = state.taxonomy();
    let chosen: Vec<String> = all(pairs, "reasons");
    let reasons = taxonomy
        .terms(crate::directory::taxonomy::Vocabulary::ReferralReason)
        .map(|t| (t.slug.clone(), t.name.clone(), chosen.contains(&t.slug)))
        .collect();
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let values = pairs.iter().filter(|(k, _)| k != "csrf" && k != "reasons").cloned().collect();
    let page = NewPage { title: "Refer to social prescribing", csrf, user, reasons, values, errors };
    render_page(state, "pages/referral_new", &page, status, cookie)
}

/// `GET /referrals/new`: the referral form.
pub async fn new_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if user.role != Role::Referrer {
        return Err(AppError::Forbidden("only GP practice teams make referrals".into()).into());
    }
    render_new(
        &req,
        &state,
        user,
        &[("urgency".into(), "routine".into()), ("preferred_contact".into(), "phone".into())],
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /referrals`: creates it, or shows the form again with what to fix (keeping what was typed).
pub async fn create_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let new = NewReferral {
        given_name: field(&pairs, "given_name"),
        family_name: field(&pairs, "family_name"),
        date_of_birth: field(&pairs, "date_of_birth"),
        nhs_number: field(&pairs, "nhs_number"),
        postcode: field(&pairs, "postcode"),
        phone: optional(&pairs, "phone"),
        email: optional(&pairs, "email"),
        preferred_contact: field(&pairs, "preferred_contact"),
        contact_times: optional(&pairs, "contact_times"),
        language: optional(&pairs, "language"),
        interpreter_needed: !field(&pairs, "interpreter_needed").is_empty(),
        access_needs: optional(&pairs, "access_needs"),
        do_not_contact_directly: !field(&pairs, "do_not_contact_directly").is_empty(),
        sex: optional(&pairs, "sex"),
        ethnicity: optional(&pairs, "ethnicity"),
        reasons: all(&pairs, "reasons"),
        referrer_words: field(&pairs, "referrer_words"),
        what_matters: optional(&pairs, "what_matters"),
        risk_notes: optional(&pairs, "risk_notes"),
        urgency: field(&pairs, "urgency"),
        consent_referral: !field(&pairs, "consent_referral").is_empty(),
        consent_share: !field(&pairs, "consent_share").is_empty(),
        service_id: None,
    };
    let who = user.clone();
    let result =
        with_conn(&state, move |conn, state| Ok(create::create(conn, &who, &state.taxonomy(), &new, ip.as_deref())))
            .await?;
    match result {
        Ok(id) => Ok(back_to(&format!("/referrals/{id}?created=1"))),
        Err(AppError::Invalid(fields)) => {
            render_new(&req, &state, user, &pairs, fields.into_iter().collect(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Serialize)]
struct ReferralPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    referral: view::ReferralView,
    created: bool,
    works: bool,
    search: Option<crate::directory::search::SearchOutcome>,
    search_q: String,
    message: Option<message::MessageBack>,
    error: Option<String>,
}

/// `GET /referrals/{id}`: everything about a referral the caller may see, with the actions they
/// may take. `?q=` searches the directory from the person's postcode.
pub async fn referral_page(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = query_pairs(&req)?;
    let created = pairs.iter().any(|(k, _)| k == "created");
    let search_q = pairs.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone());
    let error = pairs.iter().find(|(k, _)| k == "error").map(|(_, v)| v.chars().take(300).collect());
    let who = user.clone();
    let q = search_q.clone();
    let (referral, search, message) = with_conn(&state, move |conn, state| {
        let referral = view::get(conn, &who, &id, &state.settings.thresholds(), ip.as_deref())?;
        // Only those who work the referral search from it; a search that cannot run (no
        // postcode to start from, a bad filter) is said on the page, not instead of it.
        let search = match q.filter(|_| referral.work.is_some()) {
            Some(q) => {
                let params = SearchParams::from_pairs([("q".to_string(), q)]);
                match case_search::search_for(conn, &state.index, &state.taxonomy(), &who, &id, params) {
                    Ok(found) => Some(Ok(found)),
                    Err(AppError::Invalid(why)) => Some(Err(why.into_values().collect::<Vec<_>>().join("; "))),
                    Err(e @ AppError::NotFound { .. }) => Some(Err(e.public_message())),
                    Err(other) => return Err(other),
                }
            }
            None => None,
        };
        // Composed from the view just built: no second load, and no "message sent" audit row
        // for a page that only shows it.
        let message = message::compose(&referral)?;
        Ok((referral, search, message))
    })
    .await?;
    let (search, error) = match search {
        Some(Err(why)) => (None, Some(why)),
        Some(Ok(found)) => (Some(found), error),
        None => (None, error),
    };
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let works = referral.work.is_some();
    let page = ReferralPage {
        title: "Referral",
        csrf,
        user,
        referral,
        created,
        works,
        search,
        search_q: search_q.unwrap_or_default(),
        message,
        error,
    };
    render_page(&state, "pages/referral", &page, StatusCode::OK, cookie)
}

/// What a referral action form does.
#[derive(Debug, Clone, Copy)]
pub enum FormAction {
    /// Move the status.
    Transition,
    /// Add a note.
    Note,
    /// Log a contact attempt.
    Attempt,
    /// Record an ONS4.
    Measure,
    /// Connect to a listing.
    Connect,
    /// Save the plan.
    Plan,
}

async fn referral_action(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
    action: FormAction,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let rid = id.clone();
    let result = with_conn(&state, move |conn, state| {
        let outcome = match action {
            FormAction::Transition => {
                let version = field(&pairs, "version").parse().unwrap_or(-1);
                transitions::apply(
                    conn,
                    &user,
                    &rid,
                    &Transition {
                        to: field(&pairs, "to"),
                        reason: optional(&pairs, "reason"),
                        note: optional(&pairs, "note"),
                        version,
                        owner_id: None,
                    },
                    ip.as_deref(),
                )
                .map(|_| ())
            }
            FormAction::Note => work::add_note(
                conn,
                &user,
                &rid,
                &NewNote { body: field(&pairs, "body") },
                &state.settings.thresholds(),
                ip.as_deref(),
            )
            .map(|_| ()),
            FormAction::Attempt => work::add_attempt(
                conn,
                &user,
                &rid,
                &NewAttempt {
                    method: field(&pairs, "method"),
                    outcome: field(&pairs, "outcome"),
                    note: optional(&pairs, "note"),
                },
                &state.settings.thresholds(),
                ip.as_deref(),
            )
            .map(|_| ()),
            FormAction::Measure => {
                let answers: Vec<i64> =
                    ["a1", "a2", "a3", "a4"].iter().filter_map(|k| field(&pairs, k).trim().parse().ok()).collect();
                work::add_measure(
                    conn,
                    &user,
                    &rid,
                    &NewMeasure { instrument: "ons4".into(), timepoint: field(&pairs, "timepoint"), answers },
                    ip.as_deref(),
                )
                .map(|_| ())
            }
            FormAction::Connect => connections::add(
                conn,
                &user,
                &rid,
                &NewConnection { service_id: field(&pairs, "service_id"), note: optional(&pairs, "note") },
                ip.as_deref(),
            )
            .map(|_| ()),
            FormAction::Plan => {
                let version =
                    field(&pairs, "plan_version").parse().map_err(|_| AppError::invalid("plan_version", "missing"))?;
                let plan = work::NewPlan {
                    what_matters: field(&pairs, "what_matters"),
                    goals: field(&pairs, "goals"),
                    actions: field(&pairs, "actions"),
                    review_date: optional(&pairs, "review_date"),
                    version,
                };
                work::save_plan(conn, &user, &rid, &plan, ip.as_deref()).map(|_| ())
            }
        };
        Ok(outcome)
    })
    .await?;
    match result {
        Ok(()) => Ok(back_to(&format!("/referrals/{id}"))),
        // What to fix comes back to the referral, shown at the top; a refusal is a 403 page.
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let message = match &e {
                AppError::Invalid(fields) => {
                    fields.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
                }
                other => other.public_message(),
            };
            let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
            Ok(back_to(&format!("/referrals/{id}?error={encoded}")))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /referrals/{id}/transitions`.
pub async fn transition_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    referral_action(req, actor, id, body, state, FormAction::Transition).await
}

/// `POST /referrals/{id}/notes`.
pub async fn note_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    referral_action(req, actor, id, body, state, FormAction::Note).await
}

/// `POST /referrals/{id}/contact-attempts`.
pub async fn attempt_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    referral_action(req, actor, id, body, state, FormAction::Attempt).await
}

/// `POST /referrals/{id}/measures`.
pub async fn measure_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    referral_action(req, actor, id, body, state, FormAction::Measure).await
}

/// `POST /referrals/{id}/connections`.
pub async fn connect_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    referral_action(req, actor, id, body, state, FormAction::Connect).await
}

/// `POST /connections/{id}/transitions`: back to the referral (link workers) or the inbox (groups).
pub async fn connection_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ConnectionId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let back = if user.role == Role::GroupEditor {
        "/introductions".to_string()
    } else {
        // Only back to a referral page: an id checked, so no header injection and no open redirect.
        optional(&pairs, "back")
            .and_then(|b| {
                b.strip_prefix("/referrals/").filter(|id| crate::ids::is_id(id)).map(|id| format!("/referrals/{id}"))
            })
            .unwrap_or_else(|| "/referrals".into())
    };
    let result = with_conn(&state, move |conn, _| {
        let version = field(&pairs, "version").parse().unwrap_or(-1);
        Ok(connections::transition(
            conn,
            &user,
            &id,
            &ConnectionTransition { to: field(&pairs, "to"), reason: optional(&pairs, "reason"), version },
            ip.as_deref(),
        ))
    })
    .await?;
    match result {
        Ok(_) => Ok(back_to(&back)),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let encoded: String = form_urlencoded::byte_serialize(e.public_message().as_bytes()).collect();
            Ok(back_to(&format!("{back}?error={encoded}")))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Serialize)]
struct IntroductionsPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    introductions: Vec<connections::Introduction>,
    error: Option<String>,
}

/// `GET /introductions`: the group's inbox.
pub async fn introductions_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let introductions =
        with_conn(&state, move |conn, state| connections::introductions(conn, &who, &state.settings.thresholds()))
            .await?;
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let error = query_pairs(&req)?.into_iter().find(|(k, _)| k == "error").map(|(_, v)| v.chars().take(300).collect());
    let page = IntroductionsPage { title: "Introductions", csrf, user, introductions, error };
    render_page(&state, "pages/introductions", &page, StatusCode::OK, cookie)
}

/// `POST /referrals/{id}/plan`.
pub async fn plan_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    referral_action(req, actor, id, body, state, FormAction::Plan).await
}

#[derive(Serialize)]
struct PlanPage {
    title: &'static str,
    user: CurrentUser,
    csrf: String,
    name: String,
    service: String,
    plan: Option<work::PlanView>,
    printed_on: String,
}

/// `GET /referrals/{id}/plan`: the person's plan, to print and give them (for those who may
/// read the clinical text: the practice and the link worker service).
pub async fn plan_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let (name, service, plan) = with_conn(&state, move |conn, _| {
        let row = crate::referrals::load_visible(conn, &who, &id)?;
        if !crate::accounts::policy::allows(
            &who,
            crate::accounts::policy::Action::ViewClinicalText {
                practice_id: &row.practice_id,
                service_id: &row.service_id,
            },
        ) {
            return Err(AppError::not_found("no plan you may see"));
        }
        use crate::db::schema::organizations;
        use diesel::prelude::*;
        let service: String = organizations::table.find(&row.service_id).select(organizations::name).first(conn)?;
        Ok((format!("{} {}", row.given_name, row.family_name), service, work::plan(conn, &id)?))
    })
    .await?;
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = PlanPage {
        title: "My plan",
        user,
        csrf,
        name,
        service,
        plan,
        printed_on: chrono::Utc::now().format("%-d %B %Y").to_string(),
    };
    render_page(&state, "pages/plan", &page, StatusCode::OK, cookie)
}
