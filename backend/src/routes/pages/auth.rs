//! Sign in, sign out, and the pages behind invitation and password-reset links.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::account;
use crate::accounts::demo::DEMO_PASSWORD;
use crate::accounts::links::{self, Purpose};
use crate::accounts::sign_in::{self, Credentials, SignInError};
use crate::accounts::users;
use crate::config::Environment;
use crate::error::{AppError, PageError};
use crate::routes::actor::{Actor, ClientIp, Visitor};
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::{cleared_session_cookie, csrf_token, session_cookie};
use crate::routes::with_conn;
use crate::state::AppState;

#[derive(Serialize, Default)]
struct SignInPage {
    title: &'static str,
    csrf: String,
    email: String,
    error: Option<String>,
    ask_code: bool,
    demo: bool,
    demo_password: &'static str,
    user: Option<crate::accounts::CurrentUser>,
    /// The page to go back to after signing in, URL-encoded for the form's address.
    next: String,
}

/// The page to go back to after signing in (`?next=`), when it is a path of this site.
fn next_of(req: &HttpRequest) -> Option<String> {
    let pairs = crate::routes::query_pairs(req).ok()?;
    let next = pairs.into_iter().find(|(k, _)| k == "next").map(|(_, v)| v)?;
    crate::error::safe_return_path(&next).map(str::to_string)
}

fn render_sign_in(
    req: &HttpRequest,
    state: &AppState,
    mut page: SignInPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    page.csrf = csrf;
    page.title = "Sign in";
    page.demo = state.settings.env == Environment::Development;
    page.demo_password = DEMO_PASSWORD;
    page.next = next_of(req).map(|n| form_urlencoded::byte_serialize(n.as_bytes()).collect()).unwrap_or_default();
    render_page(state, "pages/sign_in", &page, status, cookie)
}

/// `GET /sign-in`.
pub async fn sign_in_page(
    req: HttpRequest,
    Visitor { user, .. }: Visitor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render_sign_in(&req, &state, SignInPage { user, ..Default::default() }, StatusCode::OK)
}

/// `POST /sign-in`.
pub async fn sign_in_submit(
    req: HttpRequest,
    ClientIp(ip): ClientIp,
    PageForm(credentials): PageForm<Credentials>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let email = credentials.email.clone();
    let result = with_conn(&state, move |conn, state| {
        Ok(sign_in::sign_in(conn, &credentials, ip.as_deref(), &state.keys, &state.limits, &state.settings))
    })
    .await?;
    match result {
        Ok(session) => {
            // Back to the page that asked for signing in, or to the person's own work.
            let home = next_of(&req).unwrap_or_else(|| session.user.role.home().to_string());
            let mut response = see_other(&home);
            response
                .add_cookie(&session_cookie(&session.token, state.settings.tls()))
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(response)
        }
        Err(SignInError::CodeNeeded) => render_sign_in(
            &req,
            &state,
            SignInPage {
                email,
                ask_code: true,
                error: Some("Enter your password again and the 6-digit code from your authenticator app.".into()),
                ..Default::default()
            },
            StatusCode::OK,
        ),
        Err(SignInError::TooMany(minutes)) => render_sign_in(
            &req,
            &state,
            SignInPage {
                email,
                error: Some(format!("Too many attempts. Try again in {minutes} minutes.")),
                ..Default::default()
            },
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(SignInError::Db(e)) => Err(AppError::from(e).into()),
        Err(SignInError::Token(detail)) => Err(AppError::Internal(detail).into()),
        Err(SignInError::AwaitingApproval) => render_sign_in(
            &req,
            &state,
            SignInPage { email, error: Some(SignInError::AwaitingApproval.to_string()), ..Default::default() },
            StatusCode::FORBIDDEN,
        ),
        Err(other) => render_sign_in(
            &req,
            &state,
            SignInPage { email, error: Some(other.to_string()), ..Default::default() },
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `POST /sign-out`: ends every session of this person.
pub async fn sign_out(
    Actor { user, ip }: Actor,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    with_conn(&state, move |conn, _| crate::accounts::account::sign_out(conn, &user, ip.as_deref())).await?;
    let mut response = see_other("/");
    response
        .add_cookie(&cleared_session_cookie(state.settings.tls()))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(response)
}

/// The set-password form of an invitation or reset link.
#[derive(Debug, Deserialize)]
pub struct SetPasswordForm {
    new_password: String,
    confirm: String,
}

#[derive(Serialize)]
struct LinkPage {
    title: &'static str,
    csrf: String,
    action: String,
    invitation: bool,
    email: String,
    errors: Vec<(String, String)>,
    user: Option<crate::accounts::CurrentUser>,
}

fn purpose_of(req: &HttpRequest) -> Purpose {
    if req.path().starts_with("/invite/") {
        Purpose::Invitation
    } else {
        Purpose::PasswordReset
    }
}

async fn render_link(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let purpose = purpose_of(req);
    let lookup = token.clone();
    let email = with_conn(state, move |conn, _| {
        let user = links::peek(conn, &lookup, purpose)?.ok_or_else(|| {
            AppError::not_found("this link has expired or was already used; ask an administrator for a new one")
        })?;
        Ok(users::by_id(conn, &user)?.map(|u| u.email).unwrap_or_default())
    })
    .await?;
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let page = LinkPage {
        title: if purpose == Purpose::Invitation { "Set up your account" } else { "Choose a new password" },
        csrf,
        action: req.path().to_string(),
        invitation: purpose == Purpose::Invitation,
        email,
        errors,
        user: None,
    };
    render_page(state, "pages/set_password", &page, status, cookie)
}

/// `GET /invite/{token}` and `/reset/{token}`.
pub async fn link_page(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render_link(&req, &state, path.into_inner(), Vec::new(), StatusCode::OK).await
}

/// `POST /invite/{token}` and `/reset/{token}`: sets the password, then asks to sign in.
pub async fn link_submit(
    req: HttpRequest,
    ClientIp(ip): ClientIp,
    path: web::Path<String>,
    PageForm(form): PageForm<SetPasswordForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let token = path.into_inner();
    let purpose = purpose_of(&req);
    let used = token.clone();
    let result = with_conn(&state, move |conn, _| {
        Ok(account::accept_link(conn, &used, purpose, &form.new_password, &form.confirm, ip.as_deref()))
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved(_) => Ok(see_other("/sign-in?done=password")),
        Submitted::Refused(problems) => {
            render_link(&req, &state, token, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
