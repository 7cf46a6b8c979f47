//! Coverage of link worker services: which postcode districts and sectors, and which practices,
//! each serves (administrators).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::ids::OrganisationId;
use crate::referrals::routing::{self, CoverageInput};
use crate::routes::actor::{Authorized, EditCoverage};
use crate::routes::input;
use crate::routes::with_conn;
use crate::state::AppState;

/// `GET /api/v1/admin/coverage`: every link worker service with its areas and practices.
pub async fn list_coverage(
    Authorized { user, .. }: Authorized<EditCoverage>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let services = with_conn(&state, move |conn, _| routing::list(conn, &user)).await?;
    Ok(HttpResponse::Ok().json(json!({ "services": services })))
}

/// `PUT /api/v1/admin/coverage/{id}`: replaces a service's areas and practices served.
pub async fn set_coverage(
    Authorized { user, ip, .. }: Authorized<EditCoverage>,
    id: OrganisationId,
    body: input::Json<CoverageInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    with_conn(&state, move |conn, _| routing::set(conn, &user, id.as_str(), &body, ip.as_deref())).await?;
    Ok(HttpResponse::NoContent().finish())
}
