//! The referral API: create, list, read, move, and the link worker's work; connections and the
//! groups' introductions; the message back to the GP.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::{ApiError, AppError};
use crate::ids::{ConnectionId, ReferralId};
use crate::referrals::connections::{self, ConnectionTransition, NewConnection};
use crate::referrals::create::{self, NewReferral};
use crate::referrals::message;
use crate::referrals::transitions::{self, Transition};
use crate::referrals::view::{self, ListFilter};
use crate::referrals::work::{self, NewAttempt, NewMeasure, NewNote, NewPlan};
use crate::routes::actor::Actor;
use crate::routes::input;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    response
}

/// `POST /api/v1/referrals`.
pub async fn create_referral(
    Actor { user, ip }: Actor,
    body: input::Json<NewReferral>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (id, joined) = with_conn(&state, move |conn, state| {
        let id = create::create(conn, &user, &state.taxonomy(), &body, ip.as_deref())?;
        // A person with an open case already: this referral joined it (one person, one case).
        let joined = crate::referrals::matching::case_of(conn, id.as_str())?;
        Ok((id, joined))
    })
    .await?;
    Ok(no_store(HttpResponse::Created().json(json!({ "id": id, "status": "received", "joined_case": joined }))))
}

/// Reads the list filters from a query string, checking each.
pub fn list_filter(req: &HttpRequest) -> Result<ListFilter, AppError> {
    let mut filter = ListFilter::default();
    for (key, value) in query_pairs(req)? {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "status" => {
                if crate::domain::ReferralStatus::parse(&value).is_none() {
                    return Err(AppError::invalid("status", "not a referral status"));
                }
                filter.status = Some(value)
            }
            "owner" => filter.owner = Some(value),
            "practice" => filter.practice = Some(value),
            "reason" => filter.reason = Some(value),
            "urgency" => {
                if !matches!(value.as_str(), "routine" | "soon" | "urgent") {
                    return Err(AppError::invalid("urgency", "must be routine, soon or urgent"));
                }
                filter.urgency = Some(value)
            }
            "view" if value == "needs_attention" => filter.needs_attention = true,
            "view" => return Err(AppError::invalid("view", "must be needs_attention")),
            _ => {}
        }
    }
    Ok(filter)
}

/// `GET /api/v1/referrals`: filters `status`, `owner` (a user id or `none`), `practice`,
/// `reason`, `urgency`, `view=needs_attention`.
pub async fn list_referrals(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = list_filter(&req)?;
    let list =
        with_conn(&state, move |conn, state| view::list(conn, &user, &filter, &state.settings.thresholds())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "total": list.len(), "referrals": list }))))
}

/// `GET /api/v1/referrals/{id}`.
pub async fn get_referral(
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let found =
        with_conn(&state, move |conn, state| view::get(conn, &user, &id, &state.settings.thresholds(), ip.as_deref()))
            .await?;
    Ok(no_store(HttpResponse::Ok().json(found)))
}

/// `POST /api/v1/referrals/{id}/transitions`: `{to, reason, note, version}`.
pub async fn transition_referral(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<Transition>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version = with_conn(&state, move |conn, _| transitions::apply(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "version": version }))))
}

/// `POST /api/v1/referrals/{id}/notes`.
pub async fn add_note(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<NewNote>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let work = with_conn(&state, move |conn, state| {
        work::add_note(conn, &user, &id, &body, &state.settings.thresholds(), ip.as_deref())
    })
    .await?;
    Ok(no_store(HttpResponse::Created().json(work)))
}

/// `POST /api/v1/referrals/{id}/contact-attempts`.
pub async fn add_contact_attempt(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<NewAttempt>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let work = with_conn(&state, move |conn, state| {
        work::add_attempt(conn, &user, &id, &body, &state.settings.thresholds(), ip.as_deref())
    })
    .await?;
    Ok(no_store(HttpResponse::Created().json(work)))
}

/// `POST /api/v1/referrals/{id}/measures`.
pub async fn add_measure(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<NewMeasure>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let measures = with_conn(&state, move |conn, _| work::add_measure(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Created().json(measures)))
}

/// `PUT /api/v1/referrals/{id}/plan`.
pub async fn save_plan(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<NewPlan>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let plan = with_conn(&state, move |conn, _| work::save_plan(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(plan)))
}

/// `POST /api/v1/referrals/{id}/connections`.
pub async fn add_connection(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<NewConnection>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let connection = with_conn(&state, move |conn, _| connections::add(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Created().json(connection)))
}

/// `POST /api/v1/referrals/{id}/meeting`: book (or replace, or with `cancel` call off) the next
/// meeting with the person; the person is reminded the day before, with consent.
pub async fn book_meeting(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<crate::referrals::meeting::MeetingBooking>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let meeting =
        with_conn(&state, move |conn, _| crate::referrals::meeting::book(conn, &user, &id, &body, ip.as_deref()))
            .await?;
    Ok(no_store(HttpResponse::Ok().json(serde_json::json!({ "next_meeting": meeting }))))
}

/// `GET /api/v1/referrals/{id}/message`: the message back to the GP once closed.
pub async fn message_back(
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let message = with_conn(&state, move |conn, state| {
        message::message(conn, &user, &id, &state.settings.thresholds(), ip.as_deref())
    })
    .await?;
    Ok(no_store(HttpResponse::Ok().json(message)))
}

/// `GET /api/v1/referrals/{id}/fhir`: the referral as a FHIR R4 Bundle
/// (`application/fhir+json`), for GP systems that take FHIR.
pub async fn fhir_export(
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let bundle = with_conn(&state, move |conn, state| {
        crate::interop::fhir::export(conn, &user, &id, &state.settings.thresholds(), ip.as_deref())
    })
    .await?;
    Ok(no_store(HttpResponse::Ok().content_type("application/fhir+json; fhirVersion=4.0").json(bundle)))
}

/// `GET /api/v1/referrals/{id}/fhir/care-plan`: the person's plan on its own, as one FHIR R4
/// `CarePlan` (goals and groups contained), to share with another service with permission.
pub async fn fhir_care_plan(
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let care_plan = with_conn(&state, move |conn, state| {
        crate::interop::fhir::care_plan::standalone(conn, &user, &id, &state.settings.thresholds(), ip.as_deref())
    })
    .await?;
    Ok(no_store(HttpResponse::Ok().content_type("application/fhir+json; fhirVersion=4.0").json(care_plan)))
}

/// `POST /api/v1/connections/{id}/transitions`: `{to, reason, version}`.
pub async fn transition_connection(
    Actor { user, ip }: Actor,
    id: ConnectionId,
    body: input::Json<ConnectionTransition>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, _| connections::transition(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "version": version }))))
}

/// `GET /api/v1/introductions`: for group editors.
pub async fn list_introductions(
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list =
        with_conn(&state, move |conn, state| connections::introductions(conn, &user, &state.settings.thresholds()))
            .await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "introductions": list }))))
}

/// `GET /api/v1/referrals/{id}/search`: the directory search from the person's postcode,
/// starting from the referral's reasons; recorded without the person.
pub async fn search_for_referral(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = crate::directory::search::SearchParams::from_pairs(query_pairs(&req)?);
    let outcome = with_conn(&state, move |conn, state| {
        crate::referrals::case_search::search_for(
            conn,
            &state.index,
            &state.taxonomy(),
            &state.listings,
            &user,
            &id,
            params,
        )
    })
    .await?;
    Ok(no_store(HttpResponse::Ok().json(outcome)))
}

/// `POST /api/v1/referrals/{id}/assign`: `{owner_id, version}`.
pub async fn assign_referral(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<crate::referrals::transitions::Assignment>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version = with_conn(&state, move |conn, _| transitions::assign(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "version": version }))))
}

/// `POST /api/v1/referrals/{id}/person-link`: the link to the person's own page (201), made
/// with their consent; `send: true` queues it to them by their chosen channel.
pub async fn make_person_link(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: web::Json<crate::person::links::NewLink>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let made = with_conn(&state, move |conn, state| {
        let key = state.keys.person_key();
        crate::person::links::create(conn, &user, &id, &body, key, state.settings.person_link_days, ip.as_deref())
    })
    .await?;
    Ok(no_store(HttpResponse::Created().json(made)))
}

/// `DELETE /api/v1/referrals/{id}/person-link`: the person's page stops opening at once (204).
pub async fn revoke_person_link(
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    with_conn(&state, move |conn, _| crate::person::links::revoke(conn, &user, &id, ip.as_deref())).await?;
    Ok(HttpResponse::NoContent().finish())
}
