//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and the search index is open.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let db_ok = web::block(move || pool.get().ok().is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok()))
        .await
        .unwrap_or(false);
    let listings = state.index.num_docs();
    let body = json!({ "status": if db_ok { "ready" } else { "unavailable" }, "database": db_ok, "indexed_listings": listings });
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
