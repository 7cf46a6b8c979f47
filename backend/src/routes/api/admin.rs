//! The admin API: organisations (and community groups waiting for approval), accounts (invite,
//! disable, enable, password-reset links) and the audit trail. Admins only; every change is audited in its own transaction.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::accounts::admin::{self, InviteRequest, NewOrganisation, UserAction};
use crate::accounts::approval::{self, Decision, Rejection};
use crate::accounts::audit::{self, AuditFilter};
use crate::accounts::{organisations, users};
use crate::error::{ApiError, AppError};
use crate::ids::{OrganisationId, UserId};
use crate::routes::actor::{Administer, Authorized, ManageOrganisations, ManageUsers, ViewAudit, ViewNotifications};
use crate::routes::input;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

/// The public base URL for links: the configured one (start-up fills it in from the address it
/// listens on when none is set), never the request's `Host` or `X-Forwarded-Host`, which
/// whoever sends the request chooses.
pub fn base_url(state: &AppState) -> String {
    state.settings.public_base(0)
}

/// Every organisation.
pub async fn list_organisations(
    _: Authorized<ManageOrganisations>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let orgs = with_conn(&state, |conn, _| Ok(organisations::list(conn, &[])?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "organisations": orgs })))
}

/// Creates an organisation.
pub async fn create_organisation(
    Authorized { user, ip, .. }: Authorized<ManageOrganisations>,
    body: input::Json<NewOrganisation>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = with_conn(&state, move |conn, _| admin::create_organisation(conn, &user, &body, ip.as_deref())).await?;
    Ok(HttpResponse::Created().json(json!({ "id": id })))
}

/// `GET /api/v1/admin/organisations/pending`: community groups that signed themselves up and
/// wait for approval, with what they sent and who sent it.
pub async fn waiting_organisations(
    Authorized { user, .. }: Authorized<Administer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let groups = with_conn(&state, move |conn, _| approval::waiting(conn, &user)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "organisations": groups })))
}

/// `POST /api/v1/admin/organisations/{id}/approve`: the group and its editors become active.
pub async fn approve_organisation(
    Authorized { user, ip, .. }: Authorized<Administer>,
    id: OrganisationId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    with_conn(&state, move |conn, _| approval::decide(conn, &user, &id, Decision::Approve, ip.as_deref())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/admin/organisations/{id}/reject`: `{reason}`; the group's accounts are
/// disabled and their tokens revoked.
pub async fn reject_organisation(
    Authorized { user, ip, .. }: Authorized<Administer>,
    id: OrganisationId,
    body: input::Json<Rejection>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    with_conn(&state, move |conn, _| {
        approval::decide(conn, &user, &id, Decision::Reject { reason: &reason }, ip.as_deref())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every account.
pub async fn list_users(_: Authorized<ManageUsers>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, |conn, _| Ok(users::list(conn)?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "users": list })))
}

/// Invites a person: creates the account and answers the single-use link to send them.
pub async fn invite_user(
    Authorized { user, ip, .. }: Authorized<ManageUsers>,
    body: input::Json<InviteRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let base = base_url(&state);
    let body = body.into_inner();
    let (id, token) = with_conn(&state, move |conn, state| {
        admin::invite(conn, &user, &body, state.settings.link_days, ip.as_deref())
    })
    .await?;
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(json!({
        "id": id,
        "invitation_url": format!("{base}/invite/{token}"),
    })))
}

async fn user_action(
    Authorized { user, ip, .. }: Authorized<ManageUsers>,
    target: UserId,
    state: web::Data<AppState>,
    action: UserAction,
) -> Result<HttpResponse, ApiError> {
    let base = base_url(&state);
    let token = with_conn(&state, move |conn, state| {
        admin::change_user(conn, &user, &target, action, state.settings.link_days, ip.as_deref())
    })
    .await?;
    Ok(match token {
        Some(token) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "reset_url": format!("{base}/reset/{token}") })),
        None => HttpResponse::NoContent().finish(),
    })
}

/// Disables an account.
pub async fn disable_user(
    actor: Authorized<ManageUsers>,
    target: UserId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    user_action(actor, target, state, UserAction::Disable).await
}

/// Enables an account.
pub async fn enable_user(
    actor: Authorized<ManageUsers>,
    target: UserId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    user_action(actor, target, state, UserAction::Enable).await
}

/// Issues a password-reset link.
pub async fn reset_link(
    actor: Authorized<ManageUsers>,
    target: UserId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    user_action(actor, target, state, UserAction::ResetLink).await
}

/// Reads audit filters from a query string, checking each.
pub fn audit_filter(req: &HttpRequest) -> Result<AuditFilter, AppError> {
    let mut filter = AuditFilter { limit: 100, ..Default::default() };
    for (key, value) in query_pairs(req)? {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "actor" => filter.actor_id = Some(value),
            "action" => filter.action = Some(value.chars().take(60).collect()),
            "record" => filter.record_id = Some(value),
            "outcome" => {
                if !matches!(value.as_str(), "ok" | "denied" | "failed") {
                    return Err(AppError::invalid("outcome", "must be ok, denied or failed"));
                }
                filter.outcome = Some(value)
            }
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| AppError::invalid("limit", "must be 1 to 500"))?
            }
            "offset" => {
                filter.offset = value
                    .parse()
                    .ok()
                    .filter(|n: &i64| *n >= 0)
                    .ok_or_else(|| AppError::invalid("offset", "must be 0 or more"))?
            }
            _ => {}
        }
    }
    Ok(filter)
}

/// Browses the audit trail, newest first.
pub async fn list_audit(
    req: HttpRequest,
    _: Authorized<ViewAudit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = audit_filter(&req)?;
    let events = with_conn(&state, move |conn, _| Ok(audit::list(conn, &filter)?)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "events": events })))
}

/// Recent notifications with their delivery state (`status`, `limit`), newest first; never a
/// message's body, nor the address of a person referred.
pub async fn list_notifications(
    req: HttpRequest,
    _: Authorized<ViewNotifications>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (status, limit) = crate::routes::pages::notifications::list_filter(&req)?;
    let (notifications, counts) = with_conn(&state, move |conn, _| {
        Ok((crate::notifications::recent(conn, status.as_deref(), limit)?, crate::notifications::counts(conn)?))
    })
    .await?;
    let counts: serde_json::Map<String, serde_json::Value> =
        counts.into_iter().map(|(status, n)| (status, serde_json::Value::from(n))).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "counts": counts, "notifications": notifications })))
}

/// `GET /api/v1/admin/reminders`: each listing in its "keeping listings true" cycle (reminders
/// sent, the next, when it ranks lower and is hidden), oldest-verified first.
pub async fn list_reminders(
    _: Authorized<ViewNotifications>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let cycles = with_conn(&state, move |conn, state| {
        Ok(crate::notifications::due::review_cycles(conn, &state.settings, chrono::Utc::now().naive_utc())?)
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "reminders": state.settings.notifications.listing_reminders,
        "every_days": state.settings.notifications.listing_reminder_days,
        "listings": cycles,
    })))
}
