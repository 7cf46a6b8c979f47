//! Keeping listings true: edit, confirm "still accurate", history, my listings and needs
//! review, and the reminders export.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::directory::editing::{self, ListingEdit};
use crate::error::ApiError;
use crate::routes::input;
use crate::routes::session::{client_ip, ApiAdmin, ApiUser};
use crate::routes::{parse_id, query_pairs, with_conn};
use crate::state::AppState;

/// `PATCH /api/v1/services/{id}`: `{version, ...fields}`; 409 with what changed when stale.
pub async fn edit_listing(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    body: input::Json<ListingEdit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let ip = client_ip(&req);
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, state| editing::edit(conn, &user, &id, &body, &state.taxonomy(), ip.as_deref()))
            .await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `POST /api/v1/services/{id}/verify`: still accurate.
pub async fn verify_listing(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let ip = client_ip(&req);
    let version = with_conn(&state, move |conn, _| editing::verify(conn, &user, &id, ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `GET /api/v1/services/{id}/history`.
pub async fn listing_history(
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let versions = with_conn(&state, move |conn, _| editing::history(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "versions": versions })))
}

/// `GET /api/v1/my/listings` (`?view=needs_review`): a group's listings, or for admins all
/// those needing review.
pub async fn my_listings(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let needs_review = query_pairs(&req)?.iter().any(|(k, v)| k == "view" && v == "needs_review");
    let list = with_conn(&state, move |conn, _| editing::my_listings(conn, &user, needs_review)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "listings": list })))
}

/// `GET /api/v1/admin/reminders.csv`: organisations with listings due for review.
pub async fn reminders(ApiUser(user): ApiUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let csv = with_conn(&state, move |conn, _| editing::reminders_csv(conn, &user)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"listings-due-for-review.csv\""))
        .insert_header(("Cache-Control", "no-store"))
        .body(csv))
}

/// `POST /api/v1/services`: a new listing, pending approval (admins' are approved at once).
pub async fn create_listing(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    body: input::Json<crate::directory::creating::NewListing>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req);
    let body = body.into_inner();
    let id = with_conn(&state, move |conn, state| {
        crate::directory::creating::create(conn, &user, &state.taxonomy(), &body, ip.as_deref())
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({ "id": id })))
}

/// `GET /api/v1/admin/pending`: listings waiting for approval.
pub async fn pending_listings(ApiUser(user): ApiUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, move |conn, _| crate::directory::creating::pending(conn, &user)).await?;
    Ok(HttpResponse::Ok().json(json!({ "pending": list })))
}

async fn moderate(
    req: HttpRequest,
    user: crate::accounts::CurrentUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let ip = client_ip(&req);
    with_conn(&state, move |conn, _| crate::directory::creating::moderate(conn, &user, &id, approve, ip.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/admin/services/{id}/approve`.
pub async fn approve_listing(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    moderate(req, user, path, state, true).await
}

/// `POST /api/v1/admin/services/{id}/reject`.
pub async fn reject_listing(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    moderate(req, user, path, state, false).await
}

/// `POST /api/v1/services/{id}/suggestions`: "this listing is wrong", from anyone (the public
/// without an account, limited per address).
pub async fn suggest(
    req: HttpRequest,
    path: web::Path<String>,
    body: input::Json<crate::directory::suggestions::NewSuggestion>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    // A signed-in link worker's suggestion names them; without a valid token it is the public's.
    let user = crate::routes::session::authenticate(&req).await.ok().flatten().map(|(u, _)| u);
    let ip = client_ip(&req);
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
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let list = with_conn(&state, move |conn, _| crate::directory::suggestions::for_listing(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "suggestions": list })))
}

/// `POST /api/v1/suggestions/{id}`: `{action: accept|reply|dismiss, answer}`.
pub async fn answer_suggestion(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    body: input::Json<crate::directory::suggestions::Answer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::routes::parse_record_id(&path.into_inner(), "suggestion")?;
    let ip = client_ip(&req);
    let body = body.into_inner();
    with_conn(&state, move |conn, _| crate::directory::suggestions::answer(conn, &user, &id, &body, ip.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/services/{id}/revert`: `{version}` (admins).
pub async fn revert_listing(
    req: HttpRequest,
    ApiAdmin(user): ApiAdmin,
    path: web::Path<String>,
    body: input::Json<serde_json::Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let to = body.get("version").and_then(serde_json::Value::as_i64).and_then(|v| i32::try_from(v).ok());
    let to = to.ok_or_else(|| crate::error::AppError::invalid("version", "the version to go back to"))?;
    let ip = client_ip(&req);
    let version =
        with_conn(&state, move |conn, state| editing::revert(conn, &user, &id, to, &state.taxonomy(), ip.as_deref()))
            .await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `GET /api/v1/admin/unedited`: listings nobody keeps (no active group editor).
pub async fn without_editor(ApiUser(user): ApiUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, move |conn, _| editing::without_editor(conn, &user)).await?;
    Ok(HttpResponse::Ok().json(json!({ "listings": list })))
}

/// `PUT /api/v1/services/{id}/sessions`: `{version, sessions: [...]}` replaces the sessions.
pub async fn replace_sessions(
    req: HttpRequest,
    ApiUser(user): ApiUser,
    path: web::Path<String>,
    body: input::Json<editing::SessionsEdit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let ip = client_ip(&req);
    let body = body.into_inner();
    let version =
        with_conn(&state, move |conn, _| editing::replace_sessions(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version })))
}

/// `POST /api/v1/services/{id}/merge`: `{into, version}` (admins) merges this duplicate into
/// the listing kept.
pub async fn merge_listing(
    req: HttpRequest,
    ApiAdmin(user): ApiAdmin,
    path: web::Path<String>,
    body: input::Json<serde_json::Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path.into_inner())?;
    let into = body.get("into").and_then(serde_json::Value::as_str).unwrap_or_default();
    let into = parse_id(into).map_err(|_| crate::error::AppError::invalid("into", "the id of the listing to keep"))?;
    let version = body.get("version").and_then(serde_json::Value::as_i64).and_then(|v| i32::try_from(v).ok());
    let version = version.ok_or_else(|| crate::error::AppError::invalid("version", "the version you read"))?;
    let ip = client_ip(&req);
    let kept = into.clone();
    let version =
        with_conn(&state, move |conn, _| editing::merge(conn, &user, &id, &kept, Some(version), ip.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "version": version, "merged_into": into })))
}
