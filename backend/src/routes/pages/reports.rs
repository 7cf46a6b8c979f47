//! `GET /reports`: every report at a glance (headline figures, charts, tables) for a date range
//! and practice; `GET /reports/{name}`: one report, also as CSV or JSON (`?format=`), for
//! people signed in with the page cookie.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::CurrentUser;
use crate::error::{AppError, PageError};
use crate::reports::{self, Cell, Filter, Format, Report, Scope};
use crate::routes::actor::Actor;
use crate::routes::pages::render_page;
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct Choice {
    value: String,
    name: String,
    selected: bool,
}

#[derive(Serialize)]
struct ReportView {
    name: &'static str,
    title: &'static str,
    about: String,
    svg: Option<String>,
    columns: Vec<&'static str>,
    /// Cells as shown, each with whether it is a number (right-aligned).
    rows: Vec<Vec<(String, bool)>>,
}

impl From<&Report> for ReportView {
    fn from(report: &Report) -> Self {
        ReportView {
            name: report.name,
            title: report.title,
            about: report.about.clone(),
            svg: report.svg(),
            columns: report.columns.iter().map(|c| c.label).collect(),
            rows: report
                .rows
                .iter()
                .map(|row| row.iter().map(|cell| (cell.display(), !matches!(cell, Cell::Text(_)))).collect())
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct ReportsPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    /// The range as typed (shown again when refused).
    from: String,
    to: String,
    practices: Vec<Choice>,
    errors: Vec<(String, String)>,
    headline: Vec<(String, String)>,
    reports: Vec<ReportView>,
    /// The filter as a query string, for the CSV and JSON links.
    query: String,
    /// The address of this page (the overview or one report), for the filter form.
    action: String,
    single: bool,
}

fn typed(pairs: &[(String, String)], key: &str) -> String {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.chars().take(40).collect()).unwrap_or_default()
}

async fn render(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    name: Option<String>,
) -> Result<HttpResponse, PageError> {
    Scope::for_user(&user)?;
    let pairs = query_pairs(&req)?;
    let parsed = Filter::parse(&pairs, Format::Html);
    let for_page = user.clone();
    let name_for_query = name.clone();
    let (practices, outcome) = with_conn(&state, move |conn, state| {
        let practices = reports::practices(conn, &for_page)?;
        let outcome = parsed.and_then(|filter| {
            let taxonomy = state.taxonomy();
            let thresholds = state.settings.thresholds();
            let list = match &name_for_query {
                Some(name) => vec![reports::run(conn, &for_page, &taxonomy, &thresholds, name, &filter)?],
                None => reports::run_all(conn, &for_page, &taxonomy, &thresholds, &filter)?,
            };
            Ok((list, filter))
        });
        Ok((practices, outcome))
    })
    .await?;
    let (list, filter, errors, status) = match outcome {
        Ok((list, filter)) => (list, Some(filter), Vec::new(), StatusCode::OK),
        Err(AppError::Invalid(fields)) => {
            (Vec::new(), None, fields.into_iter().collect(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => return Err(other.into()),
    };
    if let (Some(filter), [report]) = (&filter, list.as_slice()) {
        if filter.format != Format::Html {
            return Ok(crate::routes::api::reports::answer(report, filter));
        }
    }
    let chosen = filter.as_ref().and_then(|f| f.practice_id.clone()).unwrap_or_else(|| typed(&pairs, "practice"));
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let single = name.is_some();
    let page = ReportsPage {
        title: if single { list.first().map(|r| r.title).unwrap_or("Report") } else { "Reports" },
        csrf,
        from: filter.as_ref().map(|f| f.from.to_string()).unwrap_or_else(|| typed(&pairs, "from")),
        to: filter.as_ref().map(|f| f.to.to_string()).unwrap_or_else(|| typed(&pairs, "to")),
        practices: practices.into_iter().map(|(id, name)| Choice { selected: id == chosen, value: id, name }).collect(),
        errors,
        headline: list.iter().flat_map(|r| r.headline.clone()).collect(),
        reports: list.iter().map(ReportView::from).collect(),
        query: filter.as_ref().map(Filter::query).unwrap_or_default(),
        action: name.map(|n| format!("/reports/{n}")).unwrap_or_else(|| "/reports".into()),
        single,
        user,
    };
    render_page(&state, "pages/reports", &page, status, cookie)
}

/// `GET /reports`: the overview.
pub async fn reports_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render(req, user, state, None).await
}

/// `GET /reports/{name}`: one report (`?format=csv` or `json` downloads it).
pub async fn report_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render(req, user, state, Some(path.into_inner())).await
}
