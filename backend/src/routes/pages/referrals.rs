//! The referral pages: the GP's form and list, the link worker's caseload and a referral with
//! everything that can be done to it, the groups' introductions. Forms post back here (with
//! the CSRF token), call the same use-cases as the API, and redirect back (or show what to fix).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::directory::search::SearchParams;
use crate::error::{AppError, PageError};
use crate::ids::{ConnectionId, ReferralId};
use crate::referrals::connections::{self, ConnectionTransition, NewConnection};
use crate::referrals::create::{self, NewReferral};
use crate::referrals::transitions::{self, Transition};
use crate::referrals::view;
use crate::referrals::work::{self, NewAttempt, NewMeasure, NewNote};
use crate::referrals::{case_search, message};
use crate::routes::actor::Actor;
use crate::routes::input::PageForm;
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct ListPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    referrals: Vec<Row>,
    needs_attention: bool,
    can_refer: bool,
    /// The caseload shows open referrals unless `?closed=1`.
    closed_shown: bool,
    /// Sorted by the longest waiting first (`?sort=waiting`).
    by_waiting: bool,
    total: usize,
    page: usize,
    pages: usize,
    paged: bool,
    previous: Option<String>,
    next: Option<String>,
    /// This list's address with `closed=1` (or without it).
    toggle_closed: String,
    /// This list's address sorted the other way.
    toggle_sort: String,
}

/// A row of the list: the summary, who owns it and how long it has waited, in words.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    summary: view::ReferralSummary,
    owner_name: Option<String>,
    waiting: String,
}

/// Rows a page of the list shows.
const PER_PAGE: usize = 50;

/// Statuses of a referral still being worked.
const OPEN: [&str; 5] = ["received", "accepted", "contacting", "in_progress", "on_hold"];

/// How long since the referral was made, in words ("today", "1 day", "12 days").
fn waited(since: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> String {
    match (now - since).num_days() {
        ..=0 => "today".into(),
        1 => "1 day".into(),
        days => format!("{days} days"),
    }
}

/// This list's address with `key` set to `value` (or taken out when empty), keeping the rest.
fn with_param(pairs: &[(String, String)], key: &str, value: &str) -> String {
    let mut kept: Vec<(&str, &str)> =
        pairs.iter().filter(|(k, _)| k != key && k != "page").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if !value.is_empty() {
        kept.push((key, value));
    }
    if kept.is_empty() {
        return "/referrals".into();
    }
    let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    format!("/referrals?{query}")
}

/// `GET /referrals`: the practice's referrals, or the service's caseload (`?view=needs_attention`).
pub async fn list_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let filter = crate::routes::api::referrals::list_filter(&req)?;
    let pairs = query_pairs(&req)?;
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let page_no = match get("page") {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=10_000).contains(p))
            .ok_or_else(|| AppError::invalid("page", "must be a page number from 1"))?,
    };
    let by_waiting = match get("sort") {
        None | Some("newest") => false,
        Some("waiting") => true,
        Some(_) => return Err(AppError::invalid("sort", "must be waiting or newest").into()),
    };
    let closed_shown = get("closed") == Some("1") || filter.status.is_some();
    let needs_attention = filter.needs_attention;
    let can_refer = allows(&user, Action::CreateReferral);
    let who = user.clone();
    let (mut referrals, owners) = with_conn(&state, move |conn, state| {
        let list = view::list(conn, &who, &filter, &state.settings.thresholds())?;
        let mut owners = std::collections::HashMap::new();
        for id in list.iter().filter_map(|r| r.owner_id.clone()) {
            if let std::collections::hash_map::Entry::Vacant(entry) = owners.entry(id) {
                let name = crate::accounts::users::by_id(conn, entry.key())?.map(|u| u.name);
                entry.insert(name);
            }
        }
        Ok((list, owners))
    })
    .await?;
    // The caseload is the open referrals unless asked otherwise; a practice sees all of its own.
    if !can_refer && !closed_shown {
        referrals.retain(|r| OPEN.contains(&r.status.as_str()));
    }
    if by_waiting {
        referrals.sort_by_key(|r| r.created_at);
    }
    let total = referrals.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page_no = page_no.min(pages);
    let now = chrono::Utc::now().naive_utc();
    let rows = referrals
        .into_iter()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|summary| Row {
            owner_name: summary.owner_id.as_ref().and_then(|id| owners.get(id).cloned().flatten()),
            waiting: waited(summary.created_at, now),
            summary,
        })
        .collect();
    let page_href = |n: usize| {
        let base = with_param(&pairs, "page", "");
        format!("{base}{}page={n}", if base.contains('?') { "&" } else { "?" })
    };
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = ListPage {
        title: match (can_refer, user.organisation_kind) {
            (true, crate::accounts::OrgKind::GpPractice) => "Your practice's referrals",
            (true, _) => "Your organisation's referrals",
            (false, _) => "Caseload",
        },
        csrf,
        can_refer,
        user,
        referrals: rows,
        needs_attention,
        closed_shown,
        by_waiting,
        total,
        page: page_no,
        pages,
        paged: pages > 1,
        previous: (page_no > 1).then(|| page_href(page_no - 1)),
        next: (page_no < pages).then(|| page_href(page_no + 1)),
        toggle_closed: with_param(&pairs, "closed", if closed_shown { "" } else { "1" }),
        toggle_sort: with_param(&pairs, "sort", if by_waiting { "" } else { "waiting" }),
    };
    render_page(&state, "pages/referrals", &page, StatusCode::OK, cookie)
}

#[derive(Serialize)]
struct NewPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    reasons: Vec<(String, String, bool)>,
    values: serde_json::Value,
    errors: Vec<(String, String)>,
}

/// The referral form's fields in the order the page shows them (the error summary follows it).
const NEW_FIELDS: [&str; 18] = [
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "postcode",
    "phone",
    "email",
    "preferred_contact",
    "contact_times",
    "language",
    "access_needs",
    "reasons",
    "referrer_words",
    "what_matters",
    "risk_notes",
    "urgency",
    "consent_referral",
    "consent_share",
];

async fn render_new(
    req: &HttpRequest,
    state: &AppState,
    user: CurrentUser,
    typed: &NewReferral,
    mut errors: Vec<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    // Problems with the whole form first, then the fields in the form's order.
    errors.sort_by_key(|(field, _)| NEW_FIELDS.iter().position(|f| f == field).map_or(0, |i| i + 1));
    let taxonomy = state.taxonomy();
    let reasons = taxonomy
        .terms(crate::directory::taxonomy::Vocabulary::ReferralReason)
        .map(|t| (t.slug.clone(), t.name.clone(), typed.reasons.contains(&t.slug)))
        .collect();
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let values = serde_json::to_value(typed).map_err(|e| AppError::Internal(e.to_string()))?;
    let page = NewPage { title: "Refer to social prescribing", csrf, user, reasons, values, errors };
    render_page(state, "pages/referral_new", &page, status, cookie)
}

/// `GET /referrals/new`: the referral form.
pub async fn new_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if !allows(&user, Action::CreateReferral) {
        return Err(AppError::Forbidden("only GP practice teams and agencies that refer make referrals".into()).into());
    }
    let blank = NewReferral { urgency: "routine".into(), preferred_contact: "phone".into(), ..Default::default() };
    render_new(&req, &state, user, &blank, Vec::new(), StatusCode::OK).await
}

/// `POST /referrals`: creates it, or shows the form again with what to fix (keeping what was typed).
pub async fn create_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    PageForm(new): PageForm<NewReferral>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, form) = (user.clone(), new.clone());
    let result =
        with_conn(&state, move |conn, state| Ok(create::create(conn, &who, &state.taxonomy(), &form, ip.as_deref())))
            .await?;
    match submitted(result)? {
        Submitted::Saved(id) => Ok(see_other(&format!("/referrals/{id}?created=1"))),
        Submitted::Refused(problems) => {
            render_new(&req, &state, user, &new, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Serialize)]
struct ReferralPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    referral: view::ReferralView,
    created: bool,
    works: bool,
    search: Option<crate::directory::search::SearchOutcome>,
    search_q: String,
    message: Option<message::MessageBack>,
    error: Option<String>,
    #[serde(skip)]
    status: StatusCode,
    /// A refused form's problems, for the error summary.
    errors: Vec<(String, String)>,
    /// What was typed into the refused form, under its name (`typed.plan.goals`).
    typed: serde_json::Value,
    /// What was just done (`?done=`), said in a banner in the section it changed.
    done: Option<Done>,
    /// The link to the person's own page (for those who work the referral), with its code
    /// while it works.
    person_link: Option<PersonLink>,
    /// What was just done to it, for the banner.
    person_link_done: Option<&'static str>,
    /// The person's reasons for "not for me", to say their answers in words.
    not_for_me_reasons: Vec<(&'static str, &'static str)>,
}

/// The person's page link as the referral page shows it.
#[derive(Serialize)]
struct PersonLink {
    link: crate::person::links::LinkView,
    code: Option<String>,
}

/// A confirmation: the section of the page that changed and what happened.
#[derive(Serialize)]
struct Done {
    section: &'static str,
    message: &'static str,
}

/// Each form of the referral page (and the withdraw page): the section it changes and what to
/// say once it is saved.
const DONE: [(&str, &str, &str); 7] = [
    ("transition", "move", "Status changed"),
    ("withdrawn", "status", "Referral withdrawn. The link worker service has been told."),
    ("note", "notes", "Note added"),
    ("attempt", "contact", "Contact attempt logged"),
    ("measure", "record-wellbeing", "Wellbeing answers recorded"),
    ("plan", "plan", "Plan saved"),
    ("connect", "connections", "Group added to the connections"),
];

/// `GET /referrals/{id}`: everything about a referral the caller may see, with the actions they
/// may take. `?q=` searches the directory from the person's postcode.
pub async fn referral_page(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render_referral(req, actor, id, state, None).await
}

/// The referral page; after a refused form, with its problems and what was typed (422).
async fn render_referral(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
    refused: Option<(Vec<(String, String)>, serde_json::Value)>,
) -> Result<HttpResponse, PageError> {
    let pairs = query_pairs(&req)?;
    let created = pairs.iter().any(|(k, _)| k == "created");
    let person_link_done = pairs.iter().find(|(k, _)| k == "person_link").and_then(|(_, v)| match v.as_str() {
        "sent" => Some("The link to their page was made and sent to them."),
        "made" => Some("The link to their page was made. Print their plan to give them the code, or read it out."),
        "revoked" => Some("The link to their page was revoked. It no longer opens."),
        _ => None,
    });
    let search_q = pairs.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone());
    let error = pairs.iter().find(|(k, _)| k == "error").map(|(_, v)| v.chars().take(300).collect());
    let done = pairs.iter().find(|(k, _)| k == "done").and_then(|(_, v)| DONE.iter().find(|(form, _, _)| form == v));
    let done = done.filter(|_| refused.is_none()).map(|(_, section, message)| Done { section, message });
    let who = user.clone();
    let q = search_q.clone();
    let (referral, search, message, person_link) = with_conn(&state, move |conn, state| {
        let referral = view::get(conn, &who, &id, &state.settings.thresholds(), ip.as_deref())?;
        // Only those who work the referral search from it; a search that cannot run (no
        // postcode to start from, a bad filter) is said on the page, not instead of it.
        let search = match q.filter(|_| referral.work.is_some()) {
            Some(q) => {
                let params = SearchParams::from_pairs([("q".to_string(), q)]);
                match case_search::search_for(conn, &state.index, &state.taxonomy(), &state.listings, &who, &id, params)
                {
                    Ok(found) => Some(Ok(found)),
                    Err(AppError::Invalid(why)) => Some(Err(why.into_values().collect::<Vec<_>>().join("; "))),
                    Err(e @ AppError::NotFound { .. }) => Some(Err(e.public_message())),
                    Err(other) => return Err(other),
                }
            }
            None => None,
        };
        // Composed from the view just built: no second load, and no "message sent" audit row
        // for a page that only shows it.
        let message = message::compose(&referral)?;
        let person_link = match &referral.work {
            Some(_) => crate::person::links::latest(conn, referral.id.as_str())?.map(|link| PersonLink {
                code: link.live.then(|| crate::person::links::code_for(state.keys.person_key(), &link.id)),
                link,
            }),
            None => None,
        };
        Ok((referral, search, message, person_link))
    })
    .await?;
    let (search, error) = match search {
        Some(Err(why)) => (None, Some(why)),
        Some(Ok(found)) => (Some(found), error),
        None => (None, error),
    };
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let works = referral.work.is_some();
    let page = ReferralPage {
        title: "Referral",
        csrf,
        user,
        referral,
        created,
        works,
        search,
        search_q: search_q.unwrap_or_default(),
        message,
        error,
        status: if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK },
        errors: refused.as_ref().map(|(problems, _)| in_page_order(problems.clone())).unwrap_or_default(),
        typed: refused.map(|(_, typed)| typed).unwrap_or_default(),
        person_link,
        person_link_done,
        not_for_me_reasons: crate::person::page::NOT_FOR_ME_REASONS.to_vec(),
        done,
    };
    render_page(&state, "pages/referral", &page, page.status, cookie)
}

/// The referral page's fields in the order it shows them (the error summary follows it).
const PAGE_FIELDS: [&str; 12] = [
    "to",
    "reason",
    "note",
    "method",
    "outcome",
    "timepoint",
    "answers",
    "what_matters",
    "goals",
    "actions",
    "review_date",
    "body",
];

/// Problems with a whole form first, then by field in the page's order.
fn in_page_order(mut problems: Vec<(String, String)>) -> Vec<(String, String)> {
    problems.sort_by_key(|(field, _)| PAGE_FIELDS.iter().position(|f| f == field).map_or(0, |i| i + 1));
    problems
}

/// Answers a form on the referral page: back to the referral when saved; when refused, the
/// referral page again (422) with the problems and, in `typed.<form>`, what was typed into
/// the form that was refused (a long note is not lost to a missing field).
async fn answer_action<R>(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
    result: Result<R, AppError>,
    form: &'static str,
    typed: impl Serialize,
) -> Result<HttpResponse, PageError> {
    match submitted(result)? {
        Submitted::Saved(_) => {
            let section = DONE.iter().find(|(name, _, _)| *name == form).map_or("status", |(_, section, _)| section);
            Ok(see_other(&format!("/referrals/{id}?done={form}#{section}")))
        }
        Submitted::Refused(problems) => {
            let typed = json!({ form: typed });
            render_referral(req, actor, id, state, Some((problems, typed))).await
        }
    }
}

/// `POST /referrals/{id}/transitions`.
pub async fn transition_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(moved): PageForm<Transition>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), moved.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(transitions::apply(conn, &who, &rid, &form, ip.as_deref()))).await?;
    answer_action(req, actor, id, state, result, "transition", moved).await
}

/// `POST /referrals/{id}/merge`: this referral joins another open case of the same person.
pub async fn merge_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(merge): PageForm<crate::referrals::matching::Merge>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), merge.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(crate::referrals::matching::merge(conn, &who, &rid, &form, ip.as_deref())))
            .await?;
    answer_action(req, actor, id, state, result, "merge", merge).await
}

/// `POST /referrals/{id}/flags`.
pub async fn flag_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(flag): PageForm<crate::referrals::risk_flags::NewFlag>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), flag.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(crate::referrals::risk_flags::set(conn, &who, &rid, &form, ip.as_deref())))
            .await?;
    answer_action(req, actor, id, state, result, "flag", flag).await
}

/// `POST /referrals/{id}/safeguarding`.
pub async fn concern_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(concern): PageForm<crate::referrals::risk_flags::NewConcern>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), concern.clone());
    let result = with_conn(&state, move |conn, _| {
        Ok(crate::referrals::risk_flags::log_concern(conn, &who, &rid, &form, ip.as_deref()))
    })
    .await?;
    answer_action(req, actor, id, state, result, "concern", concern).await
}

/// `POST /referrals/{id}/notes`.
pub async fn note_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(note): PageForm<NewNote>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), note.clone());
    let result = with_conn(&state, move |conn, state| {
        Ok(work::add_note(conn, &who, &rid, &form, &state.settings.thresholds(), ip.as_deref()))
    })
    .await?;
    answer_action(req, actor, id, state, result, "note", note).await
}

/// `POST /referrals/{id}/contact-attempts`.
pub async fn attempt_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(attempt): PageForm<NewAttempt>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), attempt.clone());
    let result = with_conn(&state, move |conn, state| {
        Ok(work::add_attempt(conn, &who, &rid, &form, &state.settings.thresholds(), ip.as_deref()))
    })
    .await?;
    answer_action(req, actor, id, state, result, "attempt", attempt).await
}

/// `POST /referrals/{id}/measures`.
pub async fn measure_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(measure): PageForm<NewMeasure>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), measure.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(work::add_measure(conn, &who, &rid, &form, ip.as_deref()))).await?;
    answer_action(req, actor, id, state, result, "measure", measure).await
}

/// `POST /referrals/{id}/connections`.
pub async fn connect_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(connection): PageForm<NewConnection>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), connection.clone());
    let result = with_conn(&state, move |conn, _| Ok(connections::add(conn, &who, &rid, &form, ip.as_deref()))).await?;
    answer_action(req, actor, id, state, result, "connect", connection).await
}

/// `POST /referrals/{id}/meeting`.
pub async fn meeting_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(booking): PageForm<crate::referrals::meeting::MeetingBooking>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), booking.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(crate::referrals::meeting::book(conn, &who, &rid, &form, ip.as_deref())))
            .await?;
    answer_action(req, actor, id, state, result, "meeting", booking).await
}

/// `POST /referrals/{id}/plan`.
pub async fn plan_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(plan): PageForm<work::NewPlan>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), plan.clone());
    let result = with_conn(&state, move |conn, _| Ok(work::save_plan(conn, &who, &rid, &form, ip.as_deref()))).await?;
    answer_action(req, actor, id, state, result, "plan", plan).await
}

/// Where a connection's form goes back to (`?back=` on the form's address).
#[derive(Debug, Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `POST /connections/{id}/transitions?back=/referrals/{referral}`: back to the referral (link
/// workers) or the inbox (groups); a refusal is said at the top of the page gone back to.
pub async fn connection_submit(
    Actor { user, ip }: Actor,
    id: ConnectionId,
    back: web::Query<Back>,
    PageForm(moved): PageForm<ConnectionTransition>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    // Only back to a referral page: an id checked, so no header injection and no open redirect.
    let referral = back.into_inner().back.and_then(|b| b.strip_prefix("/referrals/").and_then(ReferralId::parse));
    let back = match referral {
        _ if allows(&user, Action::ViewIntroductions) => "/introductions".to_string(),
        Some(referral) => format!("/referrals/{referral}"),
        None => "/referrals".to_string(),
    };
    let result =
        with_conn(&state, move |conn, _| Ok(connections::transition(conn, &user, &id, &moved, ip.as_deref()))).await?;
    match submitted(result)? {
        Submitted::Saved(_) => Ok(see_other(&back)),
        Submitted::Refused(problems) => {
            let said = problems.into_iter().map(|(_, message)| message).collect::<Vec<_>>().join("; ");
            let encoded: String = form_urlencoded::byte_serialize(said.as_bytes()).collect();
            Ok(see_other(&format!("{back}?error={encoded}")))
        }
    }
}

#[derive(Serialize)]
struct IntroductionsPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    /// Waiting for the group's answer, oldest first.
    waiting: Vec<connections::Introduction>,
    waiting_count: usize,
    /// Answered (or on the waiting list), newest first.
    answered: Vec<connections::Introduction>,
    /// How many of the group's listings need checking.
    to_check: usize,
    error: Option<String>,
}

/// `GET /introductions`: the group's inbox.
pub async fn introductions_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let (introductions, to_check) = with_conn(&state, move |conn, state| {
        let introductions = connections::introductions(conn, &who, &state.settings.thresholds())?;
        Ok((introductions, crate::directory::editing::my_listings(conn, &who, true)?.len()))
    })
    .await?;
    // Those waiting for an answer first (the longest waiting at the top), the answered apart.
    let (mut waiting, answered): (Vec<_>, Vec<_>) = introductions.into_iter().partition(|i| i.status == "introduced");
    waiting.reverse();
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let error = query_pairs(&req)?.into_iter().find(|(k, _)| k == "error").map(|(_, v)| v.chars().take(300).collect());
    let waiting_count = waiting.len();
    let page =
        IntroductionsPage { title: "Introductions", csrf, user, waiting, waiting_count, answered, to_check, error };
    render_page(&state, "pages/introductions", &page, StatusCode::OK, cookie)
}

#[derive(Serialize)]
struct PlanPage {
    title: &'static str,
    user: CurrentUser,
    csrf: String,
    name: String,
    service: String,
    plan: Option<work::PlanView>,
    printed_on: String,
    /// Their own page, while its link works: the code, the address and a QR code of it.
    their_page: Option<TheirPage>,
    /// The groups suggested to them (their shortlist), with when, where, cost and how to get in
    /// touch, so the printout is all they need.
    suggestions: Vec<crate::person::page::Item>,
}

/// The way to the person's own page, printed on their plan.
#[derive(Serialize)]
struct TheirPage {
    code: String,
    address: String,
    url: String,
    qr_svg: Option<String>,
}

/// `GET /referrals/{id}/plan`: the person's plan, to print and give them (for those who may
/// read the clinical text: the practice and the link worker service).
pub async fn plan_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    id: ReferralId,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let (name, service, plan, code, suggestions) = with_conn(&state, move |conn, state| {
        let row = crate::referrals::load_visible(conn, &who, &id)?;
        if !crate::accounts::policy::allows(
            &who,
            crate::accounts::policy::Action::ViewClinicalText {
                practice_id: &row.practice_id,
                service_id: &row.service_id,
            },
        ) {
            return Err(AppError::not_found("no plan you may see"));
        }
        use crate::db::schema::organizations;
        use diesel::prelude::*;
        let service: String = organizations::table.find(&row.service_id).select(organizations::name).first(conn)?;
        // The code is printed only for those who work the referral: they give the plan to the person.
        let works = crate::accounts::policy::allows(
            &who,
            crate::accounts::policy::Action::WorkReferral { service_id: &row.service_id },
        );
        let link = if works { crate::person::links::latest(conn, &row.id)?.filter(|l| l.live) } else { None };
        let code = link.map(|l| crate::person::links::code_for(state.keys.person_key(), &l.id));
        let (suggestions, _) = crate::person::page::items(conn, &row.id, &state.taxonomy())?;
        Ok((format!("{} {}", row.given_name, row.family_name), service, work::plan(conn, &id)?, code, suggestions))
    })
    .await?;
    let their_page = code.map(|code| {
        let address = format!("{}/my-page", crate::routes::api::admin::base_url(&state));
        let url = format!("{address}/{code}");
        TheirPage { qr_svg: crate::accounts::totp::qr_svg(&url), code, address, url }
    });
    let (csrf, cookie) = csrf_token(&req, state.settings.tls());
    let page = PlanPage {
        title: "My plan",
        user,
        csrf,
        name,
        service,
        plan,
        printed_on: chrono::Utc::now().format("%-d %B %Y").to_string(),
        their_page,
        suggestions,
    };
    render_page(&state, "pages/plan", &page, StatusCode::OK, cookie)
}

/// `POST /referrals/{id}/person-link`: make (and, when asked, send) the link to the person's
/// own page; the referral page then shows its code.
pub async fn person_link_submit(
    req: HttpRequest,
    actor: Actor,
    id: ReferralId,
    PageForm(asked): PageForm<crate::person::links::NewLink>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid, form) = (actor.user.clone(), actor.ip.clone(), id.clone(), asked.clone());
    let result = with_conn(&state, move |conn, state| {
        let key = state.keys.person_key();
        Ok(crate::person::links::create(conn, &who, &rid, &form, key, state.settings.person_link_days, ip.as_deref()))
    })
    .await?;
    match submitted(result)? {
        Submitted::Saved(made) => {
            let done = if made.sent { "sent" } else { "made" };
            Ok(see_other(&format!("/referrals/{id}?person_link={done}#their-page")))
        }
        Submitted::Refused(problems) => {
            render_referral(req, actor, id, state, Some((problems, json!({ "person_link": asked })))).await
        }
    }
}

/// `POST /referrals/{id}/person-link/revoke`.
pub async fn person_link_revoke(
    actor: Actor,
    id: ReferralId,
    _: PageForm<crate::routes::input::Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, ip, rid) = (actor.user.clone(), actor.ip.clone(), id.clone());
    with_conn(&state, move |conn, _| crate::person::links::revoke(conn, &who, &rid, ip.as_deref())).await?;
    Ok(see_other(&format!("/referrals/{id}?person_link=revoked#their-page")))
}
