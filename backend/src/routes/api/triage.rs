//! Triage: a link worker service's queue of self and agency referrals, and the answer to one
//! (accept, reject with a reason and a suggestion, pass to another service).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::ids::ReferralId;
use crate::referrals::triage::{self, TriageDecision};
use crate::routes::actor::Actor;
use crate::routes::input;
use crate::routes::with_conn;
use crate::state::AppState;

/// `GET /api/v1/triage`: the caller's service's waiting self and agency referrals, oldest first.
pub async fn triage_queue(Actor { user, .. }: Actor, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = with_conn(&state, move |conn, _| triage::queue(conn, &user)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "referrals": items })))
}

/// `POST /api/v1/referrals/{id}/triage`: `{decision, reason, suggestion, service_id, version}`.
pub async fn triage_decide(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<TriageDecision>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version = with_conn(&state, move |conn, _| triage::decide(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `POST /api/v1/referrals/{id}/merge`: `{into, version}`: this referral joins another open case
/// of the same person (both histories kept).
pub async fn merge_referral(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<crate::referrals::matching::Merge>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, _| crate::referrals::matching::merge(conn, &user, &id, &body, ip.as_deref()))
            .await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `POST /api/v1/referrals/{id}/flags`: `{kind, reason}`: a risk or safeguarding flag on the
/// person's case.
pub async fn add_flag(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<crate::referrals::risk_flags::NewFlag>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let flag =
        with_conn(&state, move |conn, _| crate::referrals::risk_flags::set(conn, &user, &id, &body, ip.as_deref()))
            .await?;
    Ok(HttpResponse::Created().json(json!({ "id": flag })))
}

/// `POST /api/v1/referrals/{id}/safeguarding`: `{concern, raised_with, reference, outcome}`.
pub async fn add_concern(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<crate::referrals::risk_flags::NewConcern>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| crate::referrals::risk_flags::log_concern(conn, &user, &id, &body, ip.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(json!({ "recorded": true })))
}
