//! Idle sign-out on staff pages, for shared computers: a page session lapses after
//! `COMMONGROUND_IDLE_MINUTES` without a request (the check is in `session::authenticate`; no
//! JavaScript is needed for it). Someone who comes back and sends a form gets, instead of the
//! sign-in page that would lose it, a page saying they were signed out with everything they typed
//! shown back to copy (never a password or the form's CSRF token), and the way to sign in again.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::session::{cleared_session_cookie, cookie_name, SESSION_COOKIE};
use crate::accounts::tokens::Claims;
use crate::state::AppState;

/// Whether a page session (its token's claims, signature checked) is in use: renewed within the
/// idle time, and neither issued nor signed in "in the future" (only a forger or a badly wrong
/// clock makes those).
pub fn in_use(state: &AppState, claims: &Claims, now: i64) -> bool {
    let leeway = 60;
    claims.iat <= now + leeway
        && claims.auth_time <= now + leeway
        && now - claims.iat <= state.settings.idle_minutes * 60
}

/// Whether a page session cookie is genuine but has been idle too long.
pub fn idle(state: &AppState, token: &str, now: i64) -> bool {
    state.keys.verify_signature(token).is_ok_and(|claims| now - claims.iat > state.settings.idle_minutes * 60)
}

#[derive(Serialize)]
struct Kept {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct IdlePage {
    title: &'static str,
    minutes: i64,
    kept: Vec<Kept>,
    back: String,
}

/// Shows what was typed into a form sent after the session went idle (text only, control
/// characters other than line breaks and tabs dropped).
fn kept_fields(body: &[u8]) -> Vec<Kept> {
    form_urlencoded::parse(body)
        .filter(|(name, value)| {
            name != "csrf" && !name.contains("password") && name != "code" && !value.trim().is_empty()
        })
        .map(|(name, value)| Kept {
            name: name.chars().filter(|c| !c.is_control()).take(60).collect(),
            value: value.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')).take(20_000).collect(),
        })
        .collect()
}

/// The middleware: a page form sent with an idle session gets the warning page (401) and the
/// session cookie removed; everything else goes on (an idle session is then refused as signed
/// out: pages go to the sign-in page).
pub async fn idle_sign_out(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let tls = state.settings.tls();
    // Forms that work without signing in (signing in, answering an introduction, joining, a
    // link's password) go on as ever.
    let open = ["/api/", "/sign-in", "/answer/", "/join", "/invite/", "/reset/"];
    let is_form = req.method() == Method::POST && !open.iter().any(|p| req.path().starts_with(p));
    let went_idle = is_form
        && req
            .cookie(&cookie_name(SESSION_COOKIE, tls))
            .is_some_and(|c| idle(&state, c.value(), chrono::Utc::now().timestamp()));
    if !went_idle {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let body = req.extract::<web::Bytes>().await.unwrap_or_default();
    let back = req
        .headers()
        .get(actix_web::http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.find("://").and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string())))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/referrals".into());
    let page =
        IdlePage { title: "You were signed out", minutes: state.settings.idle_minutes, kept: kept_fields(&body), back };
    let mut response = match state.templates.render("pages/idle", &page) {
        Ok(html) => HttpResponse::build(StatusCode::UNAUTHORIZED).content_type("text/html; charset=utf-8").body(html),
        Err(_) => HttpResponse::SeeOther().insert_header(("Location", "/sign-in")).finish(),
    };
    let _ = response.add_cookie(&cleared_session_cookie(tls));
    response
        .headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    Ok(req.into_response(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_is_kept_but_never_a_password_or_token() {
        let kept = kept_fields(
            b"csrf=abc&body=Met+at+the+caf%C3%A9%0Anext+week&current_password=secret&code=123456&x=%00y&empty=",
        );
        let pairs: Vec<(&str, &str)> = kept.iter().map(|k| (k.name.as_str(), k.value.as_str())).collect();
        assert_eq!(pairs, [("body", "Met at the café\nnext week"), ("x", "y")]);
    }
}
