//! `GET /api/v1/reports` and `GET /api/v1/reports/{name}`: JSON, or CSV with `?format=csv`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::reports::{self, Filter, Format, Report, Scope};
use crate::routes::actor::Actor;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

/// `GET /api/v1/reports`: the reports there are.
pub async fn list_reports(Actor { user, .. }: Actor) -> Result<HttpResponse, ApiError> {
    Scope::for_user(&user)?;
    let list: Vec<_> = reports::REPORTS
        .iter()
        .map(|(name, title)| json!({ "name": name, "title": title, "href": format!("/api/v1/reports/{name}") }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "reports": list })))
}

/// `GET /api/v1/reports/{name}?from=&to=&practice=&format=json|csv`.
pub async fn get_report(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Who may ask comes before what they asked, so a refused caller learns nothing of the rules.
    Scope::for_user(&user)?;
    let filter = Filter::parse(&query_pairs(&req)?, Format::Json)?;
    let name = path.into_inner();
    let (report, filter) = with_conn(&state, move |conn, state| {
        let report = reports::run(conn, &user, &state.taxonomy(), &state.settings.thresholds(), &name, &filter)?;
        Ok((report, filter))
    })
    .await?;
    Ok(answer(&report, &filter))
}

/// The report as JSON, or as a CSV download.
pub fn answer(report: &Report, filter: &Filter) -> HttpResponse {
    match filter.format {
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{}-{}-to-{}.csv\"", report.name, filter.from, filter.to),
            ))
            .body(report.to_csv()),
        _ => HttpResponse::Ok().json(report.to_json(filter)),
    }
}
