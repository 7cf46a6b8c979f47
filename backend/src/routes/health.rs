//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The indexer's state for `/readyz`, and whether it lets the instance be ready: not when it
/// has kept failing for a while (edits would not become searchable).
pub fn indexer_health(state: &AppState) -> (serde_json::Value, bool) {
    let report = state.indexer.report();
    (json!(report), report.ready)
}

/// `GET /readyz`: the database answers, the search index is open and the indexer is not stuck.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let db_ok = web::block(move || pool.get().ok().is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok()))
        .await
        .unwrap_or(false);
    let listings = state.index.num_docs();
    let (indexer, indexer_ok) = indexer_health(&state);
    let ready = db_ok && indexer_ok;
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": db_ok,
        "indexed_listings": listings,
        "indexer": indexer,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
