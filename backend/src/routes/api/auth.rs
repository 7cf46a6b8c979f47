//! `POST /api/v1/auth/login`, `/logout`, `/refresh` and `GET /api/v1/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::accounts::sign_in::{self, Credentials, SignInError};
use crate::error::{ApiError, AppError};
use crate::routes::actor::{Actor, ClientIp};
use crate::routes::input;
use crate::routes::session::authenticate;
use crate::routes::with_conn;
use crate::state::AppState;

/// Maps a sign-in failure to its HTTP answer (one message for every refusal).
pub fn sign_in_error(error: SignInError) -> AppError {
    match error {
        SignInError::Refused => AppError::SignInFailed,
        SignInError::CodeNeeded => AppError::BadRequest {
            code: "code_required",
            message: error.to_string(),
            fields: [("code".to_string(), "enter the 6-digit code from your authenticator app".to_string())].into(),
        },
        SignInError::SecondFactorRequired | SignInError::AwaitingApproval => AppError::Forbidden(error.to_string()),
        SignInError::TooMany(minutes) => AppError::TooManyRequests(minutes * 60),
        SignInError::Db(e) => e.into(),
        SignInError::Token(detail) => AppError::Internal(detail),
    }
}

/// Signs in; answers a bearer token.
pub async fn login(
    ClientIp(ip): ClientIp,
    credentials: input::Json<Credentials>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let credentials = credentials.into_inner();
    let session = with_conn(&state, move |conn, state| {
        sign_in::sign_in(conn, &credentials, ip.as_deref(), &state.keys, &state.limits, &state.settings)
            .map_err(sign_in_error)
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "token": session.token,
        "token_type": "Bearer",
        "expires_at": session.expires_at,
        "user": session.user,
    })))
}

/// Signs out everywhere: every token issued so far stops working.
pub async fn logout(Actor { user, ip }: Actor, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    with_conn(&state, move |conn, _| crate::accounts::account::sign_out(conn, &user, ip.as_deref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A fresh token for a valid one, until the session limit after signing in.
pub async fn refresh(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (user, claims) = authenticate(&req).await?.ok_or_else(|| AppError::SignInRequired("no token".into()))?;
    let now = chrono::Utc::now().timestamp();
    let (token, expires_at) =
        state.keys.issue(&user.id, claims.ver, claims.auth_time, now).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "token": token,
        "token_type": "Bearer",
        "expires_at": expires_at.min(claims.auth_time + state.keys.session_secs),
    })))
}

/// Who I am.
pub async fn me(Actor { user, .. }: Actor) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(user)
}
