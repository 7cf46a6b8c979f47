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

/// `GET /readyz`: the database answers and the search index is open. Answers within about
/// 1.5 s whatever the database does.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let probe = web::block(move || {
        pool.reachable()
            && pool.get_timeout(CHECKOUT_WAIT).ok().is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok())
    });
    let db_ok = matches!(actix_web::rt::time::timeout(PROBE_LIMIT, probe).await, Ok(Ok(true)));
    let listings = state.index.num_docs();
    let body = json!({ "status": if db_ok { "ready" } else { "unavailable" }, "database": db_ok, "indexed_listings": listings });
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().insert_header((actix_web::http::header::RETRY_AFTER, "5")).json(body)
    }
}
