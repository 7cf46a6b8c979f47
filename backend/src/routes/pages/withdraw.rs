//! `/referrals/{id}/withdraw`: a referrer withdraws a referral in their own words. The page asks
//! why (nothing chosen for them) and, when the person no longer needs it, for a reason; the
//! button says what it does. The move itself is the status machine's (`transitions::apply`),
//! so only the moves the caller may make are offered, and a stale page is refused.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::CurrentUser;
use crate::error::PageError;
use crate::ids::ReferralId;
use crate::referrals::transitions::{self, Transition};
use crate::referrals::view;
use crate::routes::actor::Actor;
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::with_conn;
use crate::state::AppState;

/// The withdraw form.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawForm {
    /// `cancelled` (no longer needed) or `entered_in_error` (sent by mistake).
    #[serde(default)]
    to: String,
    /// Why, in the referrer's words.
    #[serde(default)]
    reason: String,
    /// The referral's version the page showed.
    version: i32,
}

/// One way to withdraw: the status, what the referrer calls it, and what happens.
#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    hint: &'static str,
    chosen: bool,
}

#[derive(Serialize)]
struct WithdrawPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    referral: view::ReferralView,
    choices: Vec<Choice>,
    errors: Vec<(String, String)>,
    typed: WithdrawForm,
}

/// The ways to withdraw that the status machine lets this caller take now.
fn choices(referral: &view::ReferralView, chosen: &str) -> Vec<Choice> {
    let ways = [
        (
            "cancelled",
            "The person does not need it any more",
            "For example, they asked you to stop it, or their situation has changed. The link worker service is told.",
        ),
        (
            "entered_in_error",
            "It was sent by mistake",
            "For example, for the wrong person, or sent twice. It stays on record, marked as a mistake.",
        ),
    ];
    ways.into_iter()
        .filter(|(value, _, _)| referral.allowed_moves.iter().any(|m| m == value))
        .map(|(value, label, hint)| Choice { value, label, hint, chosen: value == chosen })
        .collect()
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    Actor { user, ip }: Actor,
    id: ReferralId,
    typed: WithdrawForm,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let referral =
        with_conn(state, move |conn, state| view::get(conn, &who, &id, &state.settings.thresholds(), ip.as_deref()))
            .await?;
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = WithdrawPage {
        title: "Withdraw this referral",
        csrf,
        user,
        choices: choices(&referral, &typed.to),
        referral,
        errors,
        typed,
    };
    render_page(state, "pages/withdraw", &page, status, cookie)
}

/// `GET /referrals/{id}/withdraw`.
pub async fn withdraw_page(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render(&req, &state, actor, id, WithdrawForm::default(), Vec::new()).await
}

/// `POST /referrals/{id}/withdraw`: back to the referral with a banner when done; the page
/// again (422) with each problem by its field when not.
pub async fn withdraw_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(form): PageForm<WithdrawForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    // Whether the caller may see the referral at all comes first (404 otherwise).
    let (who, ip, rid) = (actor.user.clone(), actor.ip.clone(), id.clone());
    let referral =
        with_conn(&state, move |conn, state| view::get(conn, &who, &rid, &state.settings.thresholds(), ip.as_deref()))
            .await?;
    let mut errors = Vec::new();
    if !choices(&referral, "").iter().any(|c| c.value == form.to) {
        errors.push(("to".to_string(), "Choose why you are withdrawing the referral".to_string()));
    }
    if form.to == "cancelled" && form.reason.trim().is_empty() {
        errors.push(("reason".to_string(), "Say why in a few words, so the link worker service knows".to_string()));
    }
    if !errors.is_empty() {
        return render(&req, &state, actor, id, form, errors).await;
    }
    let moved = Transition {
        to: form.to.clone(),
        reason: Some(form.reason.trim().to_string()).filter(|r| !r.is_empty()),
        note: None,
        version: form.version,
        owner_id: None,
    };
    let (who, ip, rid) = (actor.user.clone(), actor.ip.clone(), id.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(transitions::apply(conn, &who, &rid, &moved, ip.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(_) => Ok(see_other(&format!("/referrals/{id}?done=withdrawn#status"))),
        Submitted::Refused(problems) => render(&req, &state, actor, id, form, problems).await,
    }
}
