//! `GET /account`: who I am, change my password, set up or remove the second factor, and the
//! e-mails I want.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::{account, totp, CurrentUser};
use crate::error::{AppError, PageError};
use crate::routes::actor::Actor;
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::{csrf_token, session_cookie};
use crate::routes::with_conn;
use crate::state::AppState;

#[derive(Serialize)]
struct AccountPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    role_label: &'static str,
    totp_required: bool,
    totp_setup: Option<TotpSetup>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    /// The messages the user's role gets, and whether each is on.
    notifications: Vec<crate::notifications::preferences::Preference>,
}

#[derive(Serialize)]
struct TotpSetup {
    secret: String,
    qr_svg: Option<String>,
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let for_lookup = user.clone();
    let (pending, notifications) = with_conn(state, move |conn, _| {
        Ok((account::pending_totp(conn, &for_lookup)?, crate::notifications::preferences::load(conn, &for_lookup)?))
    })
    .await?;
    let totp_setup = pending.map(|secret| {
        let qr_svg = totp::qr_svg(&totp::provisioning_uri(&secret, &user.email));
        TotpSetup { secret, qr_svg }
    });
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let page = AccountPage {
        title: "Your account",
        csrf,
        role_label: user.role.label(),
        totp_required: state.settings.totp_required(user.role),
        user,
        totp_setup,
        notice,
        errors,
        notifications,
    };
    render_page(state, "pages/account", &page, status, cookie)
}

/// `GET /account`.
pub async fn account_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let notice = req.query_string().contains("done=").then(|| "Saved.".to_string());
    render(&req, &state, user, notice, Vec::new(), StatusCode::OK).await
}

/// The change-password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm: String,
}

/// `POST /account/password`: every other session ends; this one gets a fresh token.
pub async fn change_password(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    form: PageForm<PasswordForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let who = user.clone();
    let result = with_conn(&state, move |conn, state| {
        match account::change_password(
            conn,
            &who,
            &form.current_password,
            &form.new_password,
            &form.confirm,
            ip.as_deref(),
        ) {
            Ok(()) => {
                let row = crate::accounts::users::by_id(conn, &who.id)?
                    .ok_or_else(|| AppError::SignInRequired("gone".into()))?;
                let now = chrono::Utc::now().timestamp();
                let (token, _) = state
                    .keys
                    .issue(&who.id, row.token_version, now, now)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                Ok(Ok(token))
            }
            Err(e) => Ok(Err(e)),
        }
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved(token) => {
            let mut response = see_other("/account?done=password");
            response
                .add_cookie(&session_cookie(&token, state.settings.tls()))
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(response)
        }
        Submitted::Refused(problems) => {
            render(&req, &state, user, None, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The TOTP forms.
#[derive(Debug, Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_password: String,
}

/// `POST /account/totp/start`: shows the QR code and secret to add to an authenticator app.
pub async fn totp_start(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    with_conn(&state, move |conn, _| account::start_totp(conn, &who)).await?;
    render(&req, &state, user, None, Vec::new(), StatusCode::OK).await
}

/// `POST /account/totp/confirm`: a code from the app turns the second factor on.
pub async fn totp_confirm(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    form: PageForm<TotpForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let who = user.clone();
    let result =
        with_conn(&state, move |conn, _| Ok(account::confirm_totp(conn, &who, &form.code, ip.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/account?done=totp")),
        Submitted::Refused(problems) => {
            render(&req, &state, user, None, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /account/totp/disable`: removes the second factor (password required).
pub async fn totp_disable(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    form: PageForm<TotpForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let who = user.clone();
    let required = state.settings.totp_required(user.role);
    let result = with_conn(&state, move |conn, _| {
        Ok(account::disable_totp(conn, &who, &form.current_password, required, ip.as_deref()))
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/account?done=totp")),
        Submitted::Refused(problems) => {
            render(&req, &state, user, None, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /account/notifications`: the messages I want (ticked) and do not; honoured from the
/// next message sent.
pub async fn notifications_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    PageForm(form): PageForm<crate::notifications::preferences::PreferencesForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let result =
        with_conn(&state, move |conn, _| Ok(crate::notifications::preferences::save(conn, &who, &form, ip.as_deref())))
            .await?;
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/account?done=notifications")),
        Submitted::Refused(problems) => {
            render(&req, &state, user, None, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
