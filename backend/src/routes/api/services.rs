//! `GET /api/v1/services` (search) and `GET /api/v1/services/{id}` (one listing).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::accounts::policy::{self, Action};
use crate::directory::listing;
use crate::directory::search::{self, SearchParams};
use crate::error::{ApiError, AppError};
use crate::ids::ServiceId;
use crate::routes::actor::Visitor;
use crate::routes::compressed::{self, JsonBody};
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

/// Searches the public directory. `explain=1` is for admins: anyone else asking gets 403, so an
/// integrator learns at once that the explanation is not theirs rather than silently missing it.
pub async fn search_services(
    req: HttpRequest,
    visitor: Visitor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = SearchParams::from_pairs(query_pairs(&req)?);
    let explain = params.wants_explain();
    if explain && !visitor.user.as_ref().is_some_and(|u| policy::allows(u, Action::ExplainSearch)) {
        return Err(AppError::Forbidden("explain=1 is for admins; search without it".into()).into());
    }
    let gzip = compressed::wants_gzip(&req);
    let answer = with_conn(&state, move |conn, state| {
        let outcome =
            search::search_with(conn, &state.index, &state.taxonomy(), &state.listings, &params, true, explain)?;
        JsonBody::new(&outcome, gzip)
    })
    .await?;
    Ok(answer.ok())
}

/// One public listing in full.
pub async fn get_service(id: ServiceId, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = with_conn(&state, move |conn, state| Ok(listing::load(conn, &id, &state.taxonomy())?)).await?;
    let now = chrono::Utc::now().naive_utc();
    match found {
        Some(listing::Listing { merged_into: Some(kept), .. }) => {
            Err(AppError::not_found(format!("this listing was merged into another: /api/v1/services/{kept}")).into())
        }
        Some(listing) if listing.is_public(now) => Ok(HttpResponse::Ok().json(listing)),
        _ => Err(AppError::not_found("no listing with that id").into()),
    }
}
