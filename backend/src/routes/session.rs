//! Who is asking: the bearer token (API) or the session cookie (pages), checked against the
//! user's current token version on every request; session renewal; and CSRF tokens for forms.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::accounts::tokens::Claims;
use crate::accounts::{users, CurrentUser};
use crate::error::{ApiError, AppError, PageError};
use crate::state::AppState;

/// The page session cookie (HttpOnly, SameSite=Strict, Secure over TLS).
pub const SESSION_COOKIE: &str = "cg_session";
/// The CSRF cookie; forms carry the same value in a hidden field.
pub const CSRF_COOKIE: &str = "cg_csrf";
/// A page session is renewed when its token is older than this (seconds).
const RENEW_AFTER_SECS: i64 = 5 * 60;

/// A renewed session token to set on the response (see `renew_session_cookie`).
#[derive(Clone)]
pub struct RenewedToken(pub String);

/// The client address, for the audit trail and rate limits.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The token of the request: `Authorization: Bearer` first, else the session cookie.
pub fn request_token(req: &HttpRequest) -> Option<(String, bool)> {
    if let Some(token) = bearer(req) {
        return Some((token, false));
    }
    req.cookie(SESSION_COOKIE).map(|c| (c.value().to_string(), true))
}

/// Checks the request's token and loads the user; `Ok(None)` when there is no token.
pub async fn authenticate(req: &HttpRequest) -> Result<Option<(CurrentUser, Claims)>, AppError> {
    let Some((token, from_cookie)) = request_token(req) else { return Ok(None) };
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::Internal("no app state".into()))?.clone();
    let claims = state.keys.verify(&token).map_err(|e| AppError::SignInRequired(e.to_string()))?;
    let now = chrono::Utc::now().timestamp();
    if claims.auth_time + state.keys.session_secs < now {
        return Err(AppError::SignInRequired("session too old".into()));
    }
    let user_id = claims.sub.clone();
    let version = claims.ver;
    let pool = state.pool.clone();
    let user = web::block(move || -> Result<Option<CurrentUser>, AppError> {
        let mut conn = pool.get()?;
        let Some(row) = users::by_id(&mut conn, &user_id)? else { return Ok(None) };
        if row.token_version != version {
            return Ok(None);
        }
        Ok(users::current(&mut conn, &row)?)
    })
    .await??;
    let user = user.ok_or_else(|| AppError::SignInRequired("revoked, disabled or unknown".into()))?;
    if from_cookie && now - claims.iat > RENEW_AFTER_SECS {
        if let Ok((renewed, _)) = state.keys.issue(&user.id, version, claims.auth_time, now) {
            req.extensions_mut().insert(RenewedToken(renewed));
        }
    }
    Ok(Some((user, claims)))
}

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>>>>;

/// Who must be asking: anyone signed in, or an administrator (asked of the policy before the
/// body is read, so a non-admin learns nothing from validation errors).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    SignedIn,
    Admin,
}

async fn require(req: HttpRequest, need: Need) -> Result<CurrentUser, AppError> {
    match authenticate(&req).await? {
        Some((user, _)) if need == Need::SignedIn => Ok(user),
        Some((user, _)) if crate::accounts::policy::allows(&user, crate::accounts::policy::Action::Administer) => {
            Ok(user)
        }
        Some(_) => Err(AppError::Forbidden("this is for administrators".into())),
        None => Err(AppError::SignInRequired("no token or session".into())),
    }
}

/// A signed-in person on an API route (401 JSON otherwise).
pub struct ApiUser(pub CurrentUser);

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = Boxed<Self, Self::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { require(req, Need::SignedIn).await.map(ApiUser).map_err(ApiError) })
    }
}

/// A signed-in person on a page (redirect to sign-in otherwise).
pub struct PageUser(pub CurrentUser);

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = Boxed<Self, Self::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { require(req, Need::SignedIn).await.map(PageUser).map_err(PageError) })
    }
}

/// Whoever is asking on a page: signed in or not (an invalid cookie counts as not).
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequest for MaybeUser {
    type Error = PageError;
    type Future = Boxed<Self, Self::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(authenticate(&req).await.ok().flatten().map(|(u, _)| u))) })
    }
}

/// The session cookie for a token.
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// A cookie that removes the session.
pub fn cleared_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie("", secure);
    cookie.make_removal();
    cookie
}

/// The CSRF token for a form: the request's cookie value, or a new one (returned with the
/// cookie to set).
pub fn csrf_token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() >= 32) {
        return (existing, None);
    }
    let token = crate::accounts::secrets::random_token();
    let cookie = Cookie::build(CSRF_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    (token, Some(cookie))
}

/// Refuses a form whose hidden CSRF field does not match the cookie (403, readable page).
pub fn check_csrf(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if cookie.len() >= 32 && crate::accounts::secrets::same(&cookie, submitted) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this form has expired or did not come from this site; go back, reload the page and try again".into(),
        ))
    }
}

/// An administrator on an API route: 401 when not signed in, 403 otherwise, decided by the
/// policy before the handler checks any field, so a non-admin learns nothing from validation.
/// (actix runs a handler's extractors together: a body that is not JSON at all may still be
/// answered 400 first.)
pub struct ApiAdmin(pub CurrentUser);

impl FromRequest for ApiAdmin {
    type Error = ApiError;
    type Future = Boxed<Self, Self::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { require(req, Need::Admin).await.map(ApiAdmin).map_err(ApiError) })
    }
}

/// An administrator on a page: sign-in redirect, or a 403 page.
pub struct PageAdmin(pub CurrentUser);

impl FromRequest for PageAdmin {
    type Error = PageError;
    type Future = Boxed<Self, Self::Error>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { require(req, Need::Admin).await.map(PageAdmin).map_err(PageError) })
    }
}
