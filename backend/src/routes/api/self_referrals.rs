//! `POST /api/v1/self-referrals`: a person refers themselves, without an account (limited per
//! client address). Every referral taken in gets the same answer, kept or not.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::referrals::self_referral::{self, SelfReferral, RECEIVED};
use crate::routes::actor::ClientIp;
use crate::routes::input;
use crate::routes::with_conn;
use crate::state::AppState;

/// 202 with a message, 422 naming each field to fix (a postcode outside every coverage says
/// where to go instead), 429 when this address has sent too many.
pub async fn self_refer(
    ClientIp(ip): ClientIp,
    body: input::Json<SelfReferral>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    with_conn(&state, move |conn, state| {
        self_referral::refer(conn, &state.taxonomy(), &form, ip.as_deref(), &state.limits.self_referrals)
    })
    .await?;
    Ok(HttpResponse::Accepted().insert_header(("Cache-Control", "no-store")).json(json!({ "message": RECEIVED })))
}
