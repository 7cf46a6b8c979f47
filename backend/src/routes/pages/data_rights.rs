//! The person's data rights on pages, for admins and a service's lead: `GET /data-rights`
//! finds a person by NHS number or by name and date of birth and shows everything held,
//! printable (`?format=json` downloads the same as a file); `GET /data-rights/referrals/{id}`
//! shows one referral's record, who saw it, and the forms to correct, restrict, record consent
//! withdrawn or erase. Anyone else is answered 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::data_rights::access::{self, PersonQuery, ReferralRecord, SubjectAccess};
use crate::data_rights::actions::{self, Because, Erasure, NewCorrection, Withdrawal, CORRECTABLE};
use crate::error::{AppError, PageError};
use crate::ids::ReferralId;
use crate::routes::actor::Actor;
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct DataRightsPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    /// What was asked (shown again).
    query: PersonQuery,
    searched: bool,
    access: Option<SubjectAccess>,
    /// The same search as a JSON file.
    json_link: String,
    errors: Vec<(String, String)>,
    /// One referral being managed.
    manage: Option<ReferralRecord>,
    correctable: &'static [&'static str],
    printed_on: String,
    #[serde(skip)]
    status: StatusCode,
}

fn page(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    mut page_data: DataRightsPage,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    page_data.csrf = csrf;
    page_data.user = user;
    render_page(state, "pages/data_rights", &page_data, page_data.status, cookie)
}

fn empty(user: &CurrentUser, title: &'static str) -> DataRightsPage {
    DataRightsPage {
        title,
        csrf: String::new(),
        user: user.clone(),
        query: PersonQuery::default(),
        searched: false,
        access: None,
        json_link: String::new(),
        errors: Vec::new(),
        manage: None,
        correctable: &CORRECTABLE,
        printed_on: chrono::Utc::now().format("%-d %B %Y %H:%M UTC").to_string(),
        status: StatusCode::OK,
    }
}

/// `GET /data-rights`: the search, and what is held about the person found.
pub async fn data_rights_page(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    crate::data_rights::check_allowed(&user)?;
    let pairs = query_pairs(&req)?;
    let query = PersonQuery::from_pairs(&pairs);
    let json = pairs.iter().any(|(k, v)| k == "format" && v == "json");
    let mut shown = empty(&user, "The person's data rights");
    if query.is_empty() {
        return page(&req, &state, user, shown);
    }
    let (who, asked) = (user.clone(), query.clone());
    let answer =
        with_conn(&state, move |conn, _| Ok(access::subject_access(conn, &who, &asked, ip.as_deref()))).await?;
    shown.searched = true;
    match answer {
        Ok(found) if json => return Ok(crate::routes::api::data_rights::access_file(&found)),
        Ok(found) => {
            shown.title = "Everything held about the person";
            shown.access = Some(found);
        }
        Err(AppError::Invalid(fields)) => {
            shown.errors = fields.into_iter().collect();
            shown.status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Err(other) => return Err(other.into()),
    }
    let link: Vec<(&str, &str)> = [
        ("nhs_number", query.nhs_number.as_str()),
        ("given_name", query.given_name.as_str()),
        ("family_name", query.family_name.as_str()),
        ("date_of_birth", query.date_of_birth.as_str()),
        ("format", "json"),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    shown.json_link = format!("/data-rights?{}", serde_html_form::to_string(link).unwrap_or_default());
    shown.query = query;
    page(&req, &state, user, shown)
}

async fn manage(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let record = with_conn(&state, move |conn, _| {
        let row = crate::data_rights::load(conn, &who, id.as_str())?;
        audit::record(conn, &Event::by(&who, "data_rights.read", ip.as_deref()).on("referral", &row.id))?;
        Ok(access::record(conn, &row)?)
    })
    .await?;
    let mut shown = empty(&user, "A referral's data rights");
    shown.status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    shown.errors = errors;
    shown.manage = Some(record);
    page(&req, &state, user, shown)
}

/// `GET /data-rights/referrals/{id}`.
pub async fn referral_rights_page(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    manage(req, actor, id, state, Vec::new()).await
}

async fn answer<R>(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
    result: Result<R, AppError>,
) -> Result<HttpResponse, PageError> {
    match submitted(result)? {
        Submitted::Saved(_) => Ok(see_other(&format!("/data-rights/referrals/{}", id.as_str()))),
        Submitted::Refused(errors) => manage(req, actor, id, state, errors).await,
    }
}

macro_rules! action_page {
    ($name:ident, $form:ty, $use_case:path, $doc:literal) => {
        #[doc = $doc]
        pub async fn $name(
            req: HttpRequest,
            actor: Actor,
            id: ReferralId,
            PageForm(form): PageForm<$form>,
            state: web::Data<AppState>,
        ) -> Result<HttpResponse, PageError> {
            let (who, ip, rid) = (actor.user.clone(), actor.ip.clone(), id.clone());
            let result =
                with_conn(&state, move |conn, _| Ok($use_case(conn, &who, &rid, &form, ip.as_deref()).map(|_| ())))
                    .await?;
            answer(req, actor, id, state, result).await
        }
    };
}

action_page!(rectify_submit, NewCorrection, actions::rectify, "`POST /data-rights/referrals/{id}/rectify`.");
action_page!(restrict_submit, Because, actions::restrict, "`POST /data-rights/referrals/{id}/restrict`.");
action_page!(lift_submit, Because, actions::lift, "`POST /data-rights/referrals/{id}/lift-restriction`.");
action_page!(
    withdraw_submit,
    Withdrawal,
    actions::withdraw_consent,
    "`POST /data-rights/referrals/{id}/withdraw-consent`."
);
action_page!(erase_submit, Erasure, actions::erase, "`POST /data-rights/referrals/{id}/erase`.");
