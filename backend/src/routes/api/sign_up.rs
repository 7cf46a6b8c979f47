//! `POST /api/v1/organisations/sign-up`: a community group signs itself up, without an account
//! (limited per client address). Every accepted sign-up gets the same answer, whether or not
//! the e-mail address already had an account.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::accounts::sign_up::{self, SignUp, RECEIVED};
use crate::error::ApiError;
use crate::routes::actor::ClientIp;
use crate::routes::input;
use crate::routes::with_conn;
use crate::state::AppState;

/// Signs a group up: 202 with a message, 422 naming each field to fix, 429 when this address
/// has sent too many.
pub async fn sign_up(
    ClientIp(ip): ClientIp,
    body: input::Json<SignUp>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    with_conn(&state, move |conn, state| sign_up::sign_up(conn, &form, ip.as_deref(), &state.limits.sign_ups)).await?;
    Ok(HttpResponse::Accepted().insert_header(("Cache-Control", "no-store")).json(json!({ "message": RECEIVED })))
}
