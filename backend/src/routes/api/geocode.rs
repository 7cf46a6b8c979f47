//! `GET /api/v1/geocode?q=`: a postcode, outward code or place to a point.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::directory::geocode::{self as geo, GeocodeError};
use crate::error::{ApiError, AppError};
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

/// Resolves `q`.
pub async fn geocode(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let q = query_pairs(&req)?.into_iter().find(|(k, _)| k == "q").map(|(_, v)| v).unwrap_or_default();
    let found = with_conn(&state, move |conn, _| {
        geo::geocode(conn, &q).map_err(|e| match e {
            GeocodeError::Db(e) => e.into(),
            GeocodeError::PostcodeNotFound(_) | GeocodeError::OutwardNotFound(_) | GeocodeError::PlaceNotFound(_) => {
                AppError::NotFound { message: e.to_string(), fields: [("q".to_string(), e.to_string())].into() }
            }
            other => AppError::invalid("q", other.to_string()),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}
