//! The admin pages: community groups waiting for approval, organisations, accounts and
//! invitations, merging listings, and the audit trail.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::admin::{self, InviteRequest, NewOrganisation, UserAction};
use crate::accounts::approval::{self, Decision, Rejection, WaitingGroup};
use crate::accounts::audit::{self, AuditRow};
use crate::accounts::organisations::{self, OrgRow};
use crate::accounts::users::{self, UserListing};
use crate::accounts::{CurrentUser, OrgKind, Role};
use crate::directory::editing;
use crate::error::{AppError, PageError};
use crate::ids::{OrganisationId, ServiceId, UserId};
use crate::routes::actor::{Administer, Authorized, ManageOrganisations, ManageUsers, ViewAudit};
use crate::routes::api::admin::{audit_filter, base_url};
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::with_conn;
use crate::state::AppState;

#[derive(Serialize)]
struct Choice {
    value: String,
    name: String,
}

#[derive(Serialize)]
struct AdminPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    /// Community groups that signed themselves up, waiting for a decision.
    waiting: Vec<WaitingGroup>,
    organisations: Vec<OrgRow>,
    users: Vec<UserListing>,
    kinds: Vec<Choice>,
    roles: Vec<Choice>,
    services: Vec<OrgRow>,
    new_link: Option<String>,
    errors: Vec<(String, String)>,
    /// What was typed into the merge form, shown again when it was refused.
    merge: MergeForm,
    /// What was typed into a refused invitation (`typed.invite`) or organisation
    /// (`typed.organisation`) form.
    typed: serde_json::Value,
}

/// The ids of the invitation and organisation forms' fields, in the page's order (the error
/// summary follows it). The organisation's name is `org_name` on the page.
const FIELD_ORDER: [&str; 9] =
    ["name", "email", "role", "organisation_id", "org_name", "kind", "served_by", "duplicate", "keep"];

/// A refused form's problems under the ids of the page's fields, in the page's order.
fn in_page_order(mut problems: Vec<(String, String)>, rename: &[(&str, &str)]) -> Vec<(String, String)> {
    for (field, _) in &mut problems {
        if let Some((_, id)) = rename.iter().find(|(from, _)| from == field) {
            *field = (*id).to_string();
        }
    }
    problems.sort_by_key(|(field, _)| FIELD_ORDER.iter().position(|f| f == field).map_or(0, |i| i + 1));
    problems
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    new_link: Option<String>,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    render_with(req, state, user, new_link, errors, status, MergeForm::default()).await
}

async fn render_with(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    new_link: Option<String>,
    errors: Vec<(String, String)>,
    status: StatusCode,
    merge: MergeForm,
) -> Result<HttpResponse, PageError> {
    render_typed(req, state, user, new_link, errors, status, merge, serde_json::Value::Null).await
}

#[allow(clippy::too_many_arguments)]
async fn render_typed(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    new_link: Option<String>,
    errors: Vec<(String, String)>,
    status: StatusCode,
    merge: MergeForm,
    typed: serde_json::Value,
) -> Result<HttpResponse, PageError> {
    let admin = user.clone();
    let (waiting, orgs, people, services) = with_conn(state, move |conn, _| {
        Ok((
            approval::waiting(conn, &admin)?,
            organisations::list(conn, &[])?,
            users::list(conn)?,
            organisations::list(conn, &[OrgKind::LinkWorkerService])?,
        ))
    })
    .await?;
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let page = AdminPage {
        title: "Administration",
        csrf,
        user,
        waiting,
        organisations: orgs,
        users: people,
        kinds: OrgKind::ALL
            .iter()
            .filter(|k| k.creatable())
            .map(|k| Choice { value: k.as_str().into(), name: k.label().into() })
            .collect(),
        roles: Role::ALL.iter().map(|r| Choice { value: r.as_str().into(), name: r.label().into() }).collect(),
        services,
        new_link,
        errors: in_page_order(errors, &[]),
        merge,
        typed,
    };
    render_page(state, "pages/admin", &page, status, cookie)
}

/// `GET /admin`.
pub async fn admin_page(
    req: HttpRequest,
    Authorized { user, .. }: Authorized<Administer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render(&req, &state, user, None, Vec::new(), StatusCode::OK).await
}

/// `POST /admin/organisations`.
pub async fn create_organisation(
    req: HttpRequest,
    Authorized { user, ip, .. }: Authorized<ManageOrganisations>,
    PageForm(new): PageForm<NewOrganisation>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, typed) = (user.clone(), serde_json::json!({ "organisation": &new }));
    let result =
        with_conn(&state, move |conn, _| Ok(admin::create_organisation(conn, &who, &new, ip.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(_) => Ok(see_other("/admin")),
        Submitted::Refused(problems) => {
            let problems = in_page_order(problems, &[("name", "org_name")]);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_typed(&req, &state, user, None, problems, status, MergeForm::default(), typed).await
        }
    }
}

/// The merge form: two listings, each as its address (`…/services/{id}`) or its id.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct MergeForm {
    /// The duplicate, to be merged away.
    #[serde(default)]
    duplicate: String,
    /// The listing kept.
    #[serde(default)]
    keep: String,
}

/// The listing id in what an admin pasted: an id, or a listing's address on this site.
fn listing_id_in(text: &str) -> Option<ServiceId> {
    let text = text.trim().trim_end_matches('/');
    ServiceId::parse(text.trim_end_matches("/print").rsplit('/').next().unwrap_or_default())
}

/// `POST /admin/listings/merge`: merges a duplicate into the listing kept, then shows the one
/// kept.
pub async fn merge_listings(
    req: HttpRequest,
    Authorized { user, ip, .. }: Authorized<Administer>,
    form: PageForm<MergeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let (Some(duplicate), Some(keep)) = (listing_id_in(&form.duplicate), listing_id_in(&form.keep)) else {
        let mut errors = Vec::new();
        if listing_id_in(&form.duplicate).is_none() {
            errors.push(("duplicate".to_string(), "paste the duplicate listing's address or id".to_string()));
        }
        if listing_id_in(&form.keep).is_none() {
            errors.push(("keep".to_string(), "paste the address or id of the listing to keep".to_string()));
        }
        return render_with(&req, &state, user, None, errors, status, form).await;
    };
    let (who, kept) = (user.clone(), keep.clone());
    // No version: the admin named both listings just now, so the merge is of them as they are.
    let result =
        with_conn(&state, move |conn, _| Ok(editing::merge(conn, &who, &duplicate, &kept, None, ip.as_deref())))
            .await?;
    // A listing that is not there is the duplicate field's problem here, not a 404 page.
    let result = match result {
        Err(AppError::NotFound { .. }) => Err(AppError::invalid("duplicate", "no listing with that id")),
        other => other,
    };
    let errors = match submitted(result)? {
        Submitted::Saved(_) => return Ok(see_other(&format!("/services/{keep}"))),
        // The use-case names the listing kept `into`; this form calls it `keep`.
        Submitted::Refused(problems) => {
            problems.into_iter().map(|(k, v)| (if k == "into" { "keep".to_string() } else { k }, v)).collect()
        }
    };
    render_with(&req, &state, user, None, errors, status, form).await
}

/// `POST /admin/users`: creates the account and shows the invitation link once.
pub async fn invite_user(
    req: HttpRequest,
    Authorized { user, ip, .. }: Authorized<ManageUsers>,
    PageForm(invite): PageForm<InviteRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, typed) = (user.clone(), serde_json::json!({ "invite": &invite }));
    let base = base_url(&state);
    let result = with_conn(&state, move |conn, state| {
        Ok(admin::invite(conn, &who, &invite, state.settings.link_days, ip.as_deref()))
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved((_, token)) => {
            render(&req, &state, user, Some(format!("{base}/invite/{token}")), Vec::new(), StatusCode::OK).await
        }
        Submitted::Refused(problems) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_typed(&req, &state, user, None, problems, status, MergeForm::default(), typed).await
        }
    }
}

async fn user_button(
    req: HttpRequest,
    Authorized { user, ip, .. }: Authorized<ManageUsers>,
    target: UserId,
    state: web::Data<AppState>,
    action: UserAction,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let base = base_url(&state);
    let token = with_conn(&state, move |conn, state| {
        admin::change_user(conn, &who, &target, action, state.settings.link_days, ip.as_deref())
    })
    .await?;
    match token {
        Some(token) => {
            render(&req, &state, user, Some(format!("{base}/reset/{token}")), Vec::new(), StatusCode::OK).await
        }
        None => Ok(see_other("/admin")),
    }
}

/// `POST /admin/users/{id}/disable`.
pub async fn disable_user(
    req: HttpRequest,
    actor: Authorized<ManageUsers>,
    target: UserId,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    user_button(req, actor, target, state, UserAction::Disable).await
}

/// `POST /admin/users/{id}/enable`.
pub async fn enable_user(
    req: HttpRequest,
    actor: Authorized<ManageUsers>,
    target: UserId,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    user_button(req, actor, target, state, UserAction::Enable).await
}

/// `POST /admin/users/{id}/reset-link`.
pub async fn reset_link(
    req: HttpRequest,
    actor: Authorized<ManageUsers>,
    target: UserId,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    user_button(req, actor, target, state, UserAction::ResetLink).await
}

/// Approves or turns down a waiting group, then back to the admin page; a missing reason
/// comes back (422) next to that group's form.
async fn decide(
    req: HttpRequest,
    Authorized { user, ip, .. }: Authorized<ManageOrganisations>,
    id: OrganisationId,
    reason: Option<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, organisation) = (user.clone(), id.clone());
    let result = with_conn(&state, move |conn, _| {
        let decision = match &reason {
            Some(reason) => Decision::Reject { reason: reason.as_str() },
            None => Decision::Approve,
        };
        Ok(approval::decide(conn, &who, &organisation, decision, ip.as_deref()))
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved(()) => Ok(see_other("/admin")),
        // Each waiting group has its own reason field: the summary links to this one's.
        Submitted::Refused(problems) => {
            let errors = problems.into_iter().map(|(k, v)| (format!("{k}-{id}"), v)).collect();
            render(&req, &state, user, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /admin/organisations/{id}/approve`: the group and its editors become active.
pub async fn approve_organisation(
    req: HttpRequest,
    actor: Authorized<ManageOrganisations>,
    id: OrganisationId,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    decide(req, actor, id, None, state).await
}

/// `POST /admin/organisations/{id}/reject`: turned down with a reason; its accounts are
/// disabled.
pub async fn reject_organisation(
    req: HttpRequest,
    actor: Authorized<ManageOrganisations>,
    id: OrganisationId,
    PageForm(rejection): PageForm<Rejection>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    decide(req, actor, id, Some(rejection.reason), state).await
}

#[derive(Serialize)]
struct AuditPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    events: Vec<AuditEvent>,
    filter: crate::accounts::audit::AuditFilter,
    /// Everyone, by name, for the "who" filter.
    people: Vec<Choice>,
    /// "Events 101 to 200".
    first: i64,
    last: i64,
    previous: Option<String>,
    next: Option<String>,
}

/// An event as the page shows it: with the person's name, not only their id.
#[derive(Serialize)]
struct AuditEvent {
    #[serde(flatten)]
    row: AuditRow,
    actor_name: Option<String>,
}

/// The audit page's address for the same filter from `offset`.
fn audit_href(filter: &crate::accounts::audit::AuditFilter, offset: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("actor", filter.actor_id.clone()),
        ("action", filter.action.clone()),
        ("record", filter.record_id.clone()),
        ("outcome", filter.outcome.clone()),
    ];
    for (key, value) in pairs {
        if let Some(value) = value {
            query.append_pair(key, &value);
        }
    }
    if filter.limit != 100 {
        query.append_pair("limit", &filter.limit.to_string());
    }
    if offset > 0 {
        query.append_pair("offset", &offset.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        "/admin/audit".into()
    } else {
        format!("/admin/audit?{query}")
    }
}

/// `GET /admin/audit`.
pub async fn audit_page(
    req: HttpRequest,
    Authorized { user, .. }: Authorized<ViewAudit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let filter = audit_filter(&req)?;
    // One more than a page, to know whether there is a next page.
    let mut query = filter.clone();
    query.limit += 1;
    let (mut rows, people) =
        with_conn(&state, move |conn, _| Ok((audit::list(conn, &query)?, users::list(conn)?))).await?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(100));
    let names: std::collections::HashMap<&str, &str> =
        people.iter().map(|p| (p.user.id.as_str(), p.user.name.as_str())).collect();
    let count = rows.len() as i64;
    let events = rows
        .into_iter()
        .map(|row| AuditEvent {
            actor_name: row.actor_id.as_deref().and_then(|id| names.get(id)).map(|n| n.to_string()),
            row,
        })
        .collect();
    let people = people
        .iter()
        .map(|p| Choice { value: p.user.id.clone(), name: format!("{} ({})", p.user.name, p.organisation_name) })
        .collect();
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = AuditPage {
        title: "Audit trail",
        csrf,
        user,
        events,
        people,
        first: if count == 0 { 0 } else { filter.offset + 1 },
        last: filter.offset + count,
        previous: (filter.offset > 0).then(|| audit_href(&filter, (filter.offset - filter.limit).max(0))),
        next: more.then(|| audit_href(&filter, filter.offset + filter.limit)),
        filter,
    };
    render_page(&state, "pages/audit", &page, StatusCode::OK, cookie)
}
