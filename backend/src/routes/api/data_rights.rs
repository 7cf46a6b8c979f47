//! The person's data rights over the API (admins; a service's lead for its own referrals):
//! subject access as a JSON file, rectification, restriction, consent withdrawn, erasure, and
//! who viewed a referral. Anyone else is answered 404.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::data_rights::access::{self, PersonQuery};
use crate::data_rights::actions::{self, Because, Erasure, NewCorrection, Withdrawal};
use crate::error::ApiError;
use crate::ids::ReferralId;
use crate::routes::actor::Actor;
use crate::routes::input;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    response
}

/// The subject access answer as a JSON file to keep.
pub fn access_file(answer: &access::SubjectAccess) -> HttpResponse {
    let name = format!("subject-access-{}.json", answer.generated_at.format("%Y-%m-%d-%H%M%S"));
    no_store(
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
            .json(answer),
    )
}

/// `GET /api/v1/data-rights/subject-access?nhs_number=` (or `given_name`, `family_name`,
/// `date_of_birth`): everything held about the person, as a JSON file.
pub async fn subject_access(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::data_rights::check_allowed(&user)?;
    let query = PersonQuery::from_pairs(&query_pairs(&req)?);
    let answer = with_conn(&state, move |conn, _| access::subject_access(conn, &user, &query, ip.as_deref())).await?;
    Ok(access_file(&answer))
}

/// `POST /api/v1/referrals/{id}/rectify`.
pub async fn rectify(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<NewCorrection>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| actions::rectify(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "rectified": true }))))
}

/// `POST /api/v1/referrals/{id}/restrict`.
pub async fn restrict(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<Because>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| actions::restrict(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "restricted": true }))))
}

/// `POST /api/v1/referrals/{id}/lift-restriction`.
pub async fn lift_restriction(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<Because>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| actions::lift(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "restricted": false }))))
}

/// `POST /api/v1/referrals/{id}/withdraw-consent`.
pub async fn withdraw_consent(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<Withdrawal>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let status =
        with_conn(&state, move |conn, _| actions::withdraw_consent(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "status": status }))))
}

/// `POST /api/v1/referrals/{id}/erase`.
pub async fn erase(
    Actor { user, ip }: Actor,
    id: ReferralId,
    body: input::Json<Erasure>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| actions::erase(conn, &user, &id, &body, ip.as_deref())).await?;
    Ok(no_store(HttpResponse::Ok().json(json!({ "erased": true }))))
}

/// `GET /api/v1/referrals/{id}/viewings`: who viewed or changed the referral, and when; views
/// from outside the practice and the service are flagged.
pub async fn viewings(
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list = with_conn(&state, move |conn, _| crate::data_rights::viewings(conn, &user, &id, ip.as_deref())).await?;
    let outside = list.iter().filter(|v| v.outside_service).count();
    Ok(no_store(HttpResponse::Ok().json(json!({ "viewings": list, "outside_service": outside }))))
}
