//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::state::AppState;

/// How long `/readyz` waits for a pooled connection; the whole probe is bounded again below,
/// so a database that hangs (rather than refuses) cannot hang the probe either.
const CHECKOUT_WAIT: Duration = Duration::from_millis(500);
const PROBE_LIMIT: Duration = Duration::from_millis(1500);

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
/// Answers within about 1.5 s whatever the database does.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let probe = web::block(move || {
        pool.reachable()
            && pool.get_timeout(CHECKOUT_WAIT).ok().is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok())
    });
    let db_ok = matches!(actix_web::rt::time::timeout(PROBE_LIMIT, probe).await, Ok(Ok(true)));
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
        HttpResponse::ServiceUnavailable().insert_header((actix_web::http::header::RETRY_AFTER, "5")).json(body)
    }
}
