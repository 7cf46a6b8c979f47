//! Keeping listings true: edit, confirm "still accurate", history, my listings and needs
//! review, and the reminders export.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::directory::editing::{self, ListingEdit};
use crate::error::ApiError;
use crate::ids::{ServiceId, SuggestionId};
use crate::routes::actor::{Actor, Administer, Authorized, Visitor};
use crate::routes::input;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

/// `PATCH /api/v1/services/{id}`: `{version, ...fields}`; 409 with what changed when stale.
pub async fn edit_listing(
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::Json<ListingEdit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, state| editing::edit(conn, &user, &id, &body, &state.taxonomy(), ip.as_deref()))
            .await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `POST /api/v1/services/{id}/verify`: still accurate.
pub async fn verify_listing(
    Actor { user, ip }: Actor,
    id: ServiceId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let version = with_conn(&state, move |conn, _| editing::verify(conn, &user, &id, ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `GET /api/v1/services/{id}/history`.
pub async fn listing_history(
    Actor { user, .. }: Actor,
    id: ServiceId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let versions = with_conn(&state, move |conn, _| editing::history(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "versions": versions })))
}

/// `GET /api/v1/my/listings` (`?view=needs_review`): a group's listings, or for admins all
/// those needing review.
pub async fn my_listings(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let needs_review = query_pairs(&req)?.iter().any(|(k, v)| k == "view" && v == "needs_review");
    let list = with_conn(&state, move |conn, _| editing::my_listings(conn, &user, needs_review)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "listings": list })))
}

/// `GET /api/v1/admin/reminders.csv`: organisations with listings due for review.
pub async fn reminders(Actor { user, .. }: Actor, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let csv = with_conn(&state, move |conn, _| editing::reminders_csv(conn, &user)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"listings-due-for-review.csv\""))
        .insert_header(("Cache-Control", "no-store"))
        .body(csv))
}

/// `POST /api/v1/services`: a new listing, pending approval (admins' are approved at once).
pub async fn create_listing(
    Actor { user, ip }: Actor,
    body: input::Json<crate::directory::creating::NewListing>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = with_conn(&state, move |conn, state| {
        crate::directory::creating::create(conn, &user, &state.taxonomy(), &body, ip.as_deref())
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({ "id": id })))
}

/// `GET /api/v1/admin/pending`: listings waiting for approval.
pub async fn pending_listings(Actor { user, .. }: Actor, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, move |conn, _| crate::directory::creating::pending(conn, &user)).await?;
    Ok(HttpResponse::Ok().json(json!({ "pending": list })))
}

async fn moderate(
    Actor { user, ip }: Actor,
    id: ServiceId,
    state: web::Data<AppState>,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    with_conn(&state, move |conn, _| crate::directory::creating::moderate(conn, &user, &id, approve, ip.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/admin/services/{id}/approve`.
pub async fn approve_listing(
    actor: Actor,
    id: ServiceId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    moderate(actor, id, state, true).await
}

/// `POST /api/v1/admin/services/{id}/reject`.
pub async fn reject_listing(actor: Actor, id: ServiceId, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    moderate(actor, id, state, false).await
}

/// `POST /api/v1/services/{id}/suggestions`: "this listing is wrong", from anyone (the public
/// without an account, limited per address).
pub async fn suggest(
    // A signed-in link worker's suggestion names them; without a valid token it is the public's.
    Visitor { user, ip }: Visitor,
    id: ServiceId,
    body: input::Json<crate::directory::suggestions::NewSuggestion>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let sid = with_conn(&state, move |conn, state| {
        if user.is_none() {
            // Counted in the database: every instance draws on one allowance per address.
            let limit = &state.limits.public_forms;
            let key = ip.as_deref().unwrap_or("unknown");
            if let Some(wait) = limit.take(conn, key)? {
                return Err(crate::error::AppError::TooManyRequests(wait.as_secs().max(1)));
            }
        }
        crate::directory::suggestions::suggest(conn, user.as_ref(), &id, &body, ip.as_deref())
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({ "id": sid })))
}

/// `GET /api/v1/services/{id}/suggestions`: for the listing's editors and admins.
pub async fn list_suggestions(
    Actor { user, .. }: Actor,
    id: ServiceId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, move |conn, _| crate::directory::suggestions::for_listing(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "suggestions": list })))
}

/// `POST /api/v1/suggestions/{id}`: `{action: accept|reply|dismiss, answer}`.
pub async fn answer_suggestion(
    Actor { user, ip }: Actor,
    id: SuggestionId,
    body: input::Json<crate::directory::suggestions::Answer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| crate::directory::suggestions::answer(conn, &user, &id, &body, ip.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/services/{id}/revert`: `{version}` (admins).
pub async fn revert_listing(
    Authorized { user, ip, .. }: Authorized<Administer>,
    id: ServiceId,
    body: input::Json<serde_json::Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let to = body.get("version").and_then(serde_json::Value::as_i64).and_then(|v| i32::try_from(v).ok());
    let to = to.ok_or_else(|| crate::error::AppError::invalid("version", "the version to go back to"))?;
    let version =
        with_conn(&state, move |conn, state| editing::revert(conn, &user, &id, to, &state.taxonomy(), ip.as_deref()))
            .await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `GET /api/v1/admin/unedited`: listings nobody keeps (no active group editor).
pub async fn without_editor(Actor { user, .. }: Actor, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, move |conn, _| editing::without_editor(conn, &user)).await?;
    Ok(HttpResponse::Ok().json(json!({ "listings": list })))
}

/// `PUT /api/v1/services/{id}/sessions`: `{version, sessions: [...]}` replaces the sessions.
pub async fn replace_sessions(
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::Json<editing::SessionsEdit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, _| editing::replace_sessions(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `PUT /api/v1/services/{id}/areas`: `{version, areas: ["GL5, GL6", "online", ...]}`
/// replaces where else the listing is offered.
pub async fn replace_areas(
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::Json<editing::AreasEdit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, _| editing::replace_areas(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `POST /api/v1/services/{id}/merge`: `{into, version}` (admins) merges this duplicate into
/// the listing kept.
pub async fn merge_listing(
    Authorized { user, ip, .. }: Authorized<Administer>,
    id: ServiceId,
    body: input::Json<serde_json::Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let into = body.get("into").and_then(serde_json::Value::as_str).unwrap_or_default();
    let into = ServiceId::parse(into)
        .ok_or_else(|| crate::error::AppError::invalid("into", "the id of the listing to keep"))?;
    let version = body.get("version").and_then(serde_json::Value::as_i64).and_then(|v| i32::try_from(v).ok());
    let version = version.ok_or_else(|| crate::error::AppError::invalid("version", "the version you read"))?;
    let kept = into.clone();
    let version =
        with_conn(&state, move |conn, _| editing::merge(conn, &user, &id, &kept, Some(version), ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version, "merged_into": into })))
}
