//! `/admin/coverage`: administrators say which postcode districts and sectors, and which GP
//! practices, each link worker service covers. A refused form comes back with what was typed.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::CurrentUser;
use crate::error::PageError;
use crate::ids::OrganisationId;
use crate::referrals::routing::{self, Coverage, CoverageInput};
use crate::routes::actor::{Authorized, EditCoverage};
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

/// The page's form for one service: the areas as one text box.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageForm {
    /// Districts and sectors, separated by commas or new lines.
    #[serde(default)]
    pub areas: String,
    /// Practice ids (checkboxes).
    #[serde(default)]
    pub practices: Vec<String>,
}

impl From<CoverageForm> for CoverageInput {
    fn from(form: CoverageForm) -> Self {
        CoverageInput { areas: vec![form.areas], practices: form.practices }
    }
}

#[derive(Serialize)]
struct ServiceBlock {
    service_id: String,
    service_name: String,
    areas: String,
    practices: Vec<(String, String, bool)>,
    errors: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct CoveragePage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    services: Vec<ServiceBlock>,
    errors: Vec<(String, String)>,
    saved: bool,
}

/// A refused form: the record it was for, what was typed, and the problems by field.
type Refused = Option<(String, CoverageForm, Vec<(String, String)>)>;

async fn render(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    refused: Refused,
    saved: bool,
) -> Result<HttpResponse, PageError> {
    let admin = user.clone();
    let (coverage, practices): (Vec<Coverage>, Vec<(String, String)>) =
        with_conn(state, move |conn, _| Ok((routing::list(conn, &admin)?, routing::practices(conn)?))).await?;
    let mut errors = Vec::new();
    let services = coverage
        .into_iter()
        .map(|c| {
            let typed = refused.as_ref().filter(|(id, ..)| *id == c.service_id);
            let (areas, chosen): (String, Vec<String>) = match typed {
                Some((_, form, _)) => (form.areas.clone(), form.practices.clone()),
                None => (c.areas.join(", "), c.practices.iter().map(|(id, _)| id.clone()).collect()),
            };
            let block_errors: BTreeMap<String, String> = typed
                .map(|(id, _, problems)| {
                    problems
                        .iter()
                        .map(|(f, m)| (f.clone(), m.clone()))
                        .inspect(|(f, m)| {
                            errors.push((format!("{f}-{id}"), format!("{}: {m}", c.service_name)));
                        })
                        .collect()
                })
                .unwrap_or_default();
            ServiceBlock {
                practices: practices.iter().map(|(id, name)| (id.clone(), name.clone(), chosen.contains(id))).collect(),
                areas,
                errors: block_errors,
                service_id: c.service_id,
                service_name: c.service_name,
            }
        })
        .collect();
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = CoveragePage { title: "Where link worker services work", csrf, user, services, errors, saved };
    render_page(state, "pages/coverage", &page, status, cookie)
}

/// `GET /admin/coverage`.
pub async fn coverage_page(
    req: HttpRequest,
    Authorized { user, .. }: Authorized<EditCoverage>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let saved = query_pairs(&req)?.iter().any(|(k, v)| k == "saved" && v == "1");
    render(&req, &state, user, None, saved).await
}

/// `POST /admin/coverage/{id}`: saves one service's coverage.
pub async fn coverage_submit(
    req: HttpRequest,
    Authorized { user, ip, .. }: Authorized<EditCoverage>,
    id: OrganisationId,
    PageForm(form): PageForm<CoverageForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, input, service) = (user.clone(), CoverageInput::from(form.clone()), id.as_str().to_string());
    let result =
        with_conn(&state, move |conn, _| Ok(routing::set(conn, &who, &service, &input, ip.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/admin/coverage?saved=1")),
        Submitted::Refused(problems) => {
            render(&req, &state, user, Some((id.as_str().to_string(), form, problems)), false).await
        }
    }
}
