//! Who is asking: the bearer token (API) or the session cookie (pages), checked against the
//! user's current token version on every request; session renewal; CSRF tokens for forms; and
//! the client's address (from `X-Forwarded-For` only when a trusted proxy sends it).
//!
//! The JSON API takes the session cookie for reading only (GET, HEAD): a browser sends the
//! cookie with any request a page on another site makes it send, and API routes check no CSRF
//! token, so a change through the API needs the bearer token, which no other site can read.
//! Reading with the cookie stays (a signed-in person opening an API address in the browser:
//! SameSite=Strict keeps the cookie off requests from other sites, and their scripts cannot read
//! the answer). No page links to the API today: reports download from `/reports/...`.
//!
//! A form's CSRF token is an HMAC, under a key only the server has, over what the form is bound
//! to: the signed-in session (user id and sign-in time, which renewals keep), or before signing
//! in a random per-browser value in the CSRF cookie. A token made for one session or browser is
//! refused for another, and an attacker who can plant a cookie still cannot make a token for it.

use std::net::{IpAddr, SocketAddr};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpMessage, HttpRequest};

use crate::accounts::tokens::{Claims, TokenKeys};
use crate::accounts::{users, CurrentUser};
use crate::config::TrustedProxies;
use crate::error::AppError;
use crate::state::AppState;

/// The page session cookie (HttpOnly, SameSite=Strict, Secure over TLS).
pub const SESSION_COOKIE: &str = "cg_session";
/// The CSRF cookie: a random value per browser that signed-out forms are bound to.
pub const CSRF_COOKIE: &str = "cg_csrf";

/// A cookie's name: over TLS with the `__Host-` prefix, which browsers accept only from a
/// secure origin, host-only and for the whole site, so a neighbouring subdomain cannot plant it.
pub fn cookie_name(name: &'static str, secure: bool) -> std::borrow::Cow<'static, str> {
    if secure {
        format!("__Host-{name}").into()
    } else {
        name.into()
    }
}

fn state_of(req: &HttpRequest) -> Option<&web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
}

fn tls(req: &HttpRequest) -> bool {
    state_of(req).is_some_and(|s| s.settings.tls())
}

/// A page session is renewed when its token is older than this (seconds).
const RENEW_AFTER_SECS: i64 = 5 * 60;

/// A renewed session token to set on the response (see `renew_session_cookie`).
#[derive(Clone)]
pub struct RenewedToken(pub String);

/// The client address, for the audit trail and rate limits: the peer, or when the peer is a
/// trusted proxy, the address it forwards for.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let address = match state_of(req).map(|s| &s.settings.trusted_proxies) {
        Some(trusted) if trusted.contains(peer) => forwarded_for(req, trusted).unwrap_or(peer),
        _ => peer,
    };
    Some(address.to_string())
}

/// The right-most address in `X-Forwarded-For` that is not a trusted proxy: each proxy appends
/// the address it was reached from, so everything left of that was written by the client and
/// may be anything. Hops are read from the right and only as far as needed, so nothing the
/// client wrote (not even bytes that are not text) can hide the address a proxy added. `None`
/// (use the peer) when the header is missing or a hop a trusted proxy wrote is not an address.
fn forwarded_for(req: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let values: Vec<_> = req.headers().get_all("x-forwarded-for").collect();
    let mut nearest = None;
    for value in values.iter().rev() {
        for hop in value.as_bytes().rsplit(|b| *b == b',') {
            let hop = std::str::from_utf8(hop).ok()?.trim();
            let address =
                hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip())).ok()?.to_canonical();
            if !trusted.contains(address) {
                return Some(address);
            }
            nearest = Some(address);
        }
    }
    // Every hop a trusted proxy: the farthest one is the client.
    nearest
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The token of the request: `Authorization: Bearer` first, else the session cookie, which the
/// API takes for reading only (see the module doc).
pub fn request_token(req: &HttpRequest) -> Option<(String, bool)> {
    if let Some(token) = bearer(req) {
        return Some((token, false));
    }
    if req.path().starts_with("/api/") && !req.method().is_safe() {
        return None;
    }
    req.cookie(&cookie_name(SESSION_COOKIE, tls(req))).map(|c| (c.value().to_string(), true))
}

/// Checks the request's token and loads the user; `Ok(None)` when there is no token.
pub async fn authenticate(req: &HttpRequest) -> Result<Option<(CurrentUser, Claims)>, AppError> {
    let Some((token, from_cookie)) = request_token(req) else { return Ok(None) };
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| AppError::Internal("no app state".into()))?.clone();
    let now = chrono::Utc::now().timestamp();
    let claims = match state.keys.verify(&token) {
        Ok(claims) => claims,
        // A page session outlives its token while in use (renewed every few minutes) and lapses
        // after the idle time instead (see `idle`).
        Err(_) if from_cookie => {
            state.keys.verify_signature(&token).map_err(|e| AppError::SignInRequired(e.to_string()))?
        }
        Err(e) => return Err(AppError::SignInRequired(e.to_string())),
    };
    if from_cookie && !super::idle::in_use(&state, &claims, now) {
        return Err(AppError::SignInRequired("signed out after the idle time".into()));
    }
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

/// The session cookie for a token.
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(SESSION_COOKIE, secure), token.to_string())
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

/// The CSRF token a form gets from the server: bound to the session when the session token is
/// genuine (expired or revoked ones too: a form must still work to sign in again), else to the
/// browser's random value; `None` with neither. Public so the tests' browser computes what the
/// server would put in its forms.
pub fn csrf_for(keys: &TokenKeys, session_token: Option<&str>, browser_value: Option<&str>) -> Option<String> {
    if let Some(claims) = session_token.and_then(|t| keys.verify_signature(t).ok()) {
        return Some(keys.csrf_tag(&format!("session\0{}\0{}", claims.sub, claims.auth_time)));
    }
    browser_value.filter(|v| v.len() >= 32).map(|v| keys.csrf_tag(&format!("browser\0{v}")))
}

fn request_csrf(req: &HttpRequest, keys: &TokenKeys) -> Option<String> {
    let secure = tls(req);
    let session = req.cookie(&cookie_name(SESSION_COOKIE, secure));
    let browser = req.cookie(&cookie_name(CSRF_COOKIE, secure));
    csrf_for(keys, session.as_ref().map(|c| c.value()), browser.as_ref().map(|c| c.value()))
}

/// The CSRF token for a form, and the browser's random value as a cookie to set when it has
/// none yet and is not signed in.
pub fn csrf_token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    let Some(state) = state_of(req) else {
        // Without the keys no token can be checked either: a random one fails safe.
        return (crate::accounts::secrets::random_token(), None);
    };
    if let Some(token) = request_csrf(req, &state.keys) {
        return (token, None);
    }
    let value = crate::accounts::secrets::random_token();
    let token = csrf_for(&state.keys, None, Some(&value)).unwrap_or_default();
    let cookie = Cookie::build(cookie_name(CSRF_COOKIE, secure), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    (token, Some(cookie))
}

/// Refuses a form whose hidden CSRF field is not the token for this session or browser (403,
/// readable page).
pub fn check_csrf(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    let expected = state_of(req).and_then(|state| request_csrf(req, &state.keys));
    match expected {
        Some(expected) if crate::accounts::secrets::same(&expected, submitted) => Ok(()),
        _ => Err(AppError::Forbidden(
            "this form has expired or did not come from this site; go back, reload the page and try again".into(),
        )),
    }
}
