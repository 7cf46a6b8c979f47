//! A visitor's shortlist, without an account: add from a listing's page, see and print the list
//! as one sheet, e-mail it to yourself. The list lives in a signed cookie
//! ([`crate::directory::shortlist`]); listings no longer shown to the public drop off it.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::directory::listing::{self, Listing};
use crate::directory::shortlist::{Full, Shortlist, Tampered, COOKIE, MAX_ITEMS};
use crate::error::{AppError, PageError};
use crate::notifications::{enqueue, Audience, Channel, Outgoing, Template};
use crate::routes::actor::Visitor;
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{render_page, see_other};
use crate::routes::session::{cookie_name, csrf_token};
use crate::routes::with_conn;
use crate::state::AppState;

/// The visitor's list, and whether a cookie had to be thrown away because it was altered.
pub(super) fn read(req: &HttpRequest, state: &AppState) -> (Shortlist, bool) {
    let Some(cookie) = req.cookie(&cookie_name(COOKIE, state.settings.tls())) else {
        return (Shortlist::default(), false);
    };
    match Shortlist::decode(state.keys.shortlist_key(), cookie.value()) {
        Ok(list) => (list, false),
        Err(Tampered) => (Shortlist::default(), true),
    }
}

fn cookie(state: &AppState, list: &Shortlist) -> Cookie<'static> {
    let secure = state.settings.tls();
    Cookie::build(cookie_name(COOKIE, secure), list.encode(state.keys.shortlist_key()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::days(90))
        .finish()
}

fn with_cookie(mut response: HttpResponse, state: &AppState, list: &Shortlist) -> Result<HttpResponse, PageError> {
    response.add_cookie(&cookie(state, list)).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(response)
}

/// The public listings of a list, in its order.
async fn listings(state: &AppState, list: &Shortlist) -> Result<Vec<Listing>, AppError> {
    let ids = list.ids().to_vec();
    with_conn(state, move |conn, state| {
        let found = listing::load_many(conn, &ids, &state.taxonomy())?;
        let now = chrono::Utc::now().naive_utc();
        Ok(ids.iter().filter_map(|id| found.iter().find(|l| l.id == *id && l.is_public(now)).cloned()).collect())
    })
    .await
}

#[derive(Serialize, Default)]
struct ShortlistPage {
    title: String,
    csrf: String,
    listings: Vec<Listing>,
    count: usize,
    max: usize,
    /// The cookie had been altered: the list was emptied.
    tampered: bool,
    /// What was just done, for the banner.
    done: Option<String>,
    errors: Vec<(String, String)>,
    email: String,
    printed_on: String,
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    mut page: ShortlistPage,
    template: &str,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (list, tampered) = read(req, state);
    page.tampered = page.tampered || tampered;
    page.listings = listings(state, &list).await?;
    page.count = page.listings.len();
    page.max = MAX_ITEMS;
    page.printed_on = chrono::Utc::now().format("%-d %B %Y").to_string();
    if page.title.is_empty() {
        page.title = "Your list".into();
    }
    let (csrf, csrf_cookie) = csrf_token(req, state.settings.tls());
    page.csrf = csrf;
    let response = render_page(state, template, &page, status, csrf_cookie)?;
    if tampered {
        // Replace the altered cookie with an empty list, so it is said once.
        return with_cookie(response, state, &Shortlist::default());
    }
    Ok(response)
}

fn banner(req: &HttpRequest) -> Option<String> {
    let done = crate::routes::query_pairs(req).ok()?.into_iter().find(|(k, _)| k == "done")?.1;
    Some(
        match done.as_str() {
            "added" => "Added to your list.",
            "removed" => "Taken off your list.",
            "cleared" => "Your list is empty now.",
            _ => return None,
        }
        .to_string(),
    )
}

/// `GET /shortlist`: the list, with print, e-mail and remove.
pub async fn shortlist_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let page = ShortlistPage { done: banner(&req), ..Default::default() };
    show(&req, &state, page, "pages/shortlist", StatusCode::OK).await
}

/// `GET /shortlist/print`: the list as one clean sheet.
pub async fn shortlist_print(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let page = ShortlistPage { title: "Your list, to print".into(), ..Default::default() };
    show(&req, &state, page, "pages/shortlist_print", StatusCode::OK).await
}

/// A listing to add or take off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The listing's id.
    service_id: String,
}

/// `POST /shortlist/add`: adds a public listing, then back to its page (404 for a listing that
/// is not shown; a full list says so).
pub async fn add_submit(
    req: HttpRequest,
    PageForm(item): PageForm<Item>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (mut list, tampered) = read(&req, &state);
    let id = item.service_id.trim().to_string();
    // One load for the list and the new listing: the new one must be shown, and those no
    // longer shown make room.
    let mut ids = list.ids().to_vec();
    ids.push(id.clone());
    let shown = public_ids(&state, ids).await?;
    if !crate::ids::is_id(&id) || !shown.contains(&id) {
        return Err(AppError::not_found("this listing does not exist or is no longer shown").into());
    }
    list.retain(|i| shown.iter().any(|k| k == i));
    match list.add(&id) {
        Ok(()) => with_cookie(see_other(&format!("/services/{id}?shortlist=added#shortlist")), &state, &list),
        Err(Full) => {
            let message = format!("Your list is full: it holds {MAX_ITEMS}. Take one off to add another.");
            let page = ShortlistPage { tampered, errors: vec![(String::new(), message)], ..Default::default() };
            show(&req, &state, page, "pages/shortlist", StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /shortlist/remove`.
pub async fn remove_submit(
    req: HttpRequest,
    PageForm(item): PageForm<Item>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (mut list, _) = read(&req, &state);
    list.remove(item.service_id.trim());
    with_cookie(see_other("/shortlist?done=removed"), &state, &list)
}

/// `POST /shortlist/clear`.
pub async fn clear_submit(_: PageForm<Button>, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    with_cookie(see_other("/shortlist?done=cleared"), &state, &Shortlist::default())
}

/// Where to send the list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendTo {
    /// An e-mail address.
    #[serde(default)]
    email: String,
}

/// `POST /shortlist/email`: sends the list to the visitor's own address (rate limited per
/// address, like the other public forms). The address is used for this one message.
pub async fn email_submit(
    req: HttpRequest,
    Visitor { ip, .. }: Visitor,
    PageForm(to): PageForm<SendTo>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (list, _) = read(&req, &state);
    let items = listings(&state, &list).await?;
    let email = to.email.trim().to_string();
    let problem = if items.is_empty() {
        Some("Your list is empty: add something to it first.")
    } else if !crate::accounts::users::valid_email(&email) {
        Some("Enter an email address like name@example.com")
    } else {
        None
    };
    if let Some(problem) = problem {
        let page = ShortlistPage { errors: vec![("email".into(), problem.into())], email, ..Default::default() };
        return show(&req, &state, page, "pages/shortlist", StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let values: Vec<serde_json::Value> = items.iter().map(item_values).collect();
    let recipient = email.clone();
    with_conn(&state, move |conn, state| {
        let address = ip.unwrap_or_default();
        if let Some(wait) = state.limits.public_forms.check(conn, &address)? {
            return Err(AppError::TooManyRequests(wait.as_secs()));
        }
        state.limits.public_forms.hit(conn, &address)?;
        enqueue(
            conn,
            &Outgoing {
                key: format!("shortlist:{}", crate::ids::new_id()),
                channel: Channel::Email,
                audience: Audience::Public,
                recipient,
                template: Template::Shortlist,
                personalisation: json!({ "items": values }),
            },
        )?;
        Ok(())
    })
    .await?;
    let page = ShortlistPage { done: Some(format!("We have sent your list to {email}.")), ..Default::default() };
    show(&req, &state, page, "pages/shortlist", StatusCode::OK).await
}

/// What the e-mail says about one listing (every value present: the template is strict).
fn item_values(l: &Listing) -> serde_json::Value {
    let when = match (&l.next_session, l.schedules.first()) {
        (Some(next), _) => format!("next on {}", next.format("%A %-d %B at %H:%M")),
        (None, Some(s)) => s.description.clone(),
        (None, None) => "get in touch to arrange a time".into(),
    };
    let place = l.locations.first().map(|p| {
        let mut parts = vec![p.name.clone()];
        parts.extend(p.address_1.clone());
        parts.push(p.city.clone());
        parts.extend(p.postcode.clone());
        parts.join(", ")
    });
    let contact: Vec<String> = l.phone.iter().chain(l.email.iter()).cloned().collect();
    json!({
        "id": l.id,
        "name": l.name,
        "when": when,
        "where": place.unwrap_or_else(|| l.attending_type.as_str().replace('_', " ")),
        "cost": if l.free { "free".to_string() } else { l.fees_description.clone().unwrap_or_else(|| "there is a cost".into()) },
        "contact": if contact.is_empty() { "see the listing".to_string() } else { contact.join(", ") },
    })
}

/// Which of these ids are listings the public may see now.
async fn public_ids(state: &AppState, ids: Vec<String>) -> Result<Vec<String>, AppError> {
    let ids: Vec<String> = ids.into_iter().filter(|i| crate::ids::is_id(i)).collect();
    with_conn(state, move |conn, state| {
        let now = chrono::Utc::now().naive_utc();
        Ok(listing::load_many(conn, &ids, &state.taxonomy())?
            .into_iter()
            .filter(|l| l.is_public(now))
            .map(|l| l.id)
            .collect())
    })
    .await
}
