//! `/triage`: a link worker service's queue of self and agency referrals, each with accept,
//! reject (a reason and a suggestion for the referrer) and "pass to another service". A refused
//! answer shows the queue again (422) with the problem next to that referral's form.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::CurrentUser;
use crate::error::PageError;
use crate::ids::ReferralId;
use crate::referrals::triage::{self, TriageDecision, TriageItem};
use crate::routes::actor::Actor;
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    item: TriageItem,
    /// What was typed, when this referral's answer was refused.
    typed: Option<TriageDecision>,
}

#[derive(Serialize)]
struct TriagePage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    referrals: Vec<Row>,
    services: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    done: Option<String>,
}

/// A refused form: the record it was for, what was typed, and the problems by field.
type Refused = Option<(String, TriageDecision, Vec<(String, String)>)>;

async fn render(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    refused: Refused,
    done: Option<String>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let (items, services) =
        with_conn(state, move |conn, _| Ok((triage::queue(conn, &who)?, triage::other_services(conn, &who)?))).await?;
    let (errors, status) = match &refused {
        Some((id, _, problems)) => (
            problems
                .iter()
                .map(|(f, m)| (if f.is_empty() { String::new() } else { format!("{f}-{id}") }, m.clone()))
                .collect(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        None => (Vec::new(), StatusCode::OK),
    };
    let referrals = items
        .into_iter()
        .map(|item| {
            let typed = refused.as_ref().filter(|(id, ..)| *id == item.id).map(|(_, d, _)| d.clone());
            Row { item, typed }
        })
        .collect();
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let page = TriagePage { title: "Triage", csrf, user, referrals, services, errors, done };
    render_page(state, "pages/triage", &page, status, cookie)
}

/// `GET /triage`.
pub async fn triage_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let done = query_pairs(&req)?.into_iter().find(|(k, _)| k == "done").map(|(_, v)| match v.as_str() {
        "accept" => "Accepted: it is now in your caseload.".to_string(),
        "reject" => "Rejected: the referrer sees your reason and suggestion.".to_string(),
        _ => "Passed to the other service.".to_string(),
    });
    render(&req, &state, user, None, done).await
}

/// `POST /referrals/{id}/triage`.
pub async fn triage_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ReferralId,
    PageForm(decision): PageForm<TriageDecision>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, sent, referral) = (user.clone(), decision.clone(), id.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(triage::decide(conn, &who, &referral, &sent, ip.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(_) => {
            let what = match decision.decision.trim() {
                "accept" => "accept",
                "reject" => "reject",
                _ => "pass",
            };
            Ok(see_other(&format!("/triage?done={what}")))
        }
        Submitted::Refused(problems) => {
            render(&req, &state, user, Some((id.as_str().to_string(), decision, problems)), None).await
        }
    }
}
