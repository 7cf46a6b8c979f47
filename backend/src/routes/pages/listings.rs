//! `GET /my/listings`: a group's listings with what needs review, the one-click "still
//! accurate", a short form for what changes most (places, open or closed, reopening date) and
//! the session editor. A refused form comes back (422) with what was typed, never blanked.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;

use crate::accounts::CurrentUser;
use crate::directory::editing::{self, ListingEdit};
use crate::directory::listing::{Listing, TermRef};
use crate::directory::listing_input::NewLocation;
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::directory::venue::Venue;
use crate::error::{AppError, PageError};
use crate::ids::ServiceId;
use crate::routes::actor::Actor;
use crate::routes::input;
use crate::routes::pages::{all, field, form_pairs, render_page, sent};
use crate::routes::session::csrf_token;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct MyListingsPage {
    title: &'static str,
    csrf: String,
    user: CurrentUser,
    /// The listings as the page shows them: a refused form's typed values patched in.
    listings: Vec<serde_json::Value>,
    needs_review: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// What an editor typed into one listing's forms, shown again when it was refused.
struct Typed {
    id: String,
    /// Field name to typed value (`capacity`, `status`, `reopens_on`, or `sessions`).
    fields: serde_json::Map<String, serde_json::Value>,
    error: String,
}

/// `GET /my/listings` (`?view=needs_review`).
pub async fn my_listings_page(
    req: HttpRequest,
    Actor { user, .. }: Actor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = query_pairs(&req)?;
    let needs_review = pairs.iter().any(|(k, v)| k == "view" && v == "needs_review");
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.chars().take(300).collect::<String>());
    let (notice, error) = (get("done"), get("error"));
    render_my_listings(&req, user, &state, needs_review, notice, error, None).await
}

/// Renders the editor's page; with `typed`, that listing's forms show what was typed (422).
async fn render_my_listings(
    req: &HttpRequest,
    user: CurrentUser,
    state: &web::Data<AppState>,
    needs_review: bool,
    notice: Option<String>,
    error: Option<String>,
    typed: Option<Typed>,
) -> Result<HttpResponse, PageError> {
    let who = user.clone();
    let (listings, mut full, mut venues) = with_conn(state, move |conn, state| {
        let listings = editing::my_listings(conn, &who, needs_review)?;
        // The editor's page shows each listing's sessions and terms to edit (a group has a
        // handful; an admin's list of every listing shows the quick forms only).
        let full = if listings.len() <= 50 {
            let ids: Vec<String> = listings.iter().map(|l| l.id.clone()).collect();
            crate::directory::listing::load_many(conn, &ids, &state.taxonomy())?
        } else {
            Vec::new()
        };
        let full: HashMap<String, Listing> = full.into_iter().map(|l| (l.id.clone(), l)).collect();
        let ids: Vec<String> = full.keys().cloned().collect();
        let mut current = crate::directory::venue::current_many(conn, &ids, &state.taxonomy())?;
        let venues: HashMap<String, serde_json::Value> = full
            .values()
            .map(|listing| {
                let now = current.remove(&listing.id);
                let venue = now.as_ref().and_then(|c| c.venue.as_ref()).map(|(_, v)| v.clone()).unwrap_or_default();
                let form = VenueForm {
                    open: false,
                    venue,
                    free: now.is_some_and(|c| c.free),
                    fees_description: listing.fees_description.clone().unwrap_or_default(),
                    attending_type: listing.attending_type.to_string(),
                    ways_in: listing.how_to_access.clone(),
                };
                (listing.id.clone(), form.json())
            })
            .collect();
        Ok((listings, full, venues))
    })
    .await?;
    let taxonomy = state.taxonomy();
    let slugs = |terms: &[TermRef]| -> Vec<String> { terms.iter().map(|t| t.slug.clone()).collect() };
    let mut shown = Vec::with_capacity(listings.len());
    for mut summary in listings {
        let summary_id = summary.id.clone();
        let mut choices = serde_json::Value::Null;
        if let Some(listing) = full.remove(&summary.id) {
            choices = term_choices(&taxonomy, &slugs(&listing.categories), &slugs(&listing.audiences));
            summary.sessions = listing.schedules;
            summary.reopens_on = listing.reopens_on;
        }
        let mut value = serde_json::to_value(&summary).map_err(|e| AppError::Internal(e.to_string()))?;
        value["term_choices"] = choices;
        value["venue"] = venues.remove(&summary_id).unwrap_or(serde_json::Value::Null);
        shown.push(value);
    }
    let status = if typed.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let error = match typed {
        Some(typed) => {
            if let Some(listing) = shown.iter_mut().find(|l| l["id"] == typed.id.as_str()) {
                for (field, value) in typed.fields {
                    listing[field] = value;
                }
            }
            Some(typed.error)
        }
        None => error,
    };
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let page = MyListingsPage { title: "Your listings", csrf, user, listings: shown, needs_review, notice, error };
    render_page(state, "pages/my_listings", &page, status, cookie)
}

/// The category tree and the audiences as checkboxes, those chosen checked:
/// `{categories: [{slug, name, checked, children: [...]}], audiences: [{slug, name, checked}]}`.
fn term_choices(taxonomy: &Taxonomy, categories: &[String], audiences: &[String]) -> serde_json::Value {
    let choice = |term: &crate::directory::taxonomy::Term, chosen: &[String]| json!({"slug": term.slug, "name": term.name, "checked": chosen.contains(&term.slug)});
    let tree: Vec<serde_json::Value> = taxonomy
        .top_categories()
        .map(|top| {
            let mut node = choice(top, categories);
            node["children"] = taxonomy.children(top).map(|c| choice(c, categories)).collect();
            node
        })
        .collect();
    let audiences: Vec<serde_json::Value> =
        taxonomy.terms(Vocabulary::Audience).map(|a| choice(a, audiences)).collect();
    json!({ "categories": tree, "audiences": audiences })
}

/// `POST /my/listings/{id}/terms`: what the activity is (categories) and who it is for.
pub async fn terms_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let (categories, audiences) = (all(&pairs, "categories"), all(&pairs, "audiences"));
    let edit = ListingEdit {
        version: field(&pairs, "version").parse().unwrap_or(-1),
        categories: Some(categories.clone()),
        audiences: Some(audiences.clone()),
        ..Default::default()
    };
    let mut typed = serde_json::Map::new();
    typed.insert("term_choices".into(), term_choices(&state.taxonomy(), &categories, &audiences));
    save(&req, Actor { user, ip }, &state, id, edit, typed, "Saved what it is and who it is for").await
}

/// Saves a listing form's edit and answers it (see [`answer`]).
async fn save(
    req: &HttpRequest,
    Actor { user, ip }: Actor,
    state: &web::Data<AppState>,
    id: ServiceId,
    edit: ListingEdit,
    typed: serde_json::Map<String, serde_json::Value>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    let (who, listing) = (user.clone(), id.clone());
    let result = with_conn(state, move |conn, state| {
        Ok(editing::edit(conn, &who, &listing, &edit, &state.taxonomy(), ip.as_deref()))
    })
    .await?;
    answer(req, user, state, id, result, typed, done).await
}

/// Answers a listing form: back to the page with what happened or, when a field was refused,
/// the page again (422) with what was typed in place of the saved values.
async fn answer(
    req: &HttpRequest,
    user: CurrentUser,
    state: &web::Data<AppState>,
    id: ServiceId,
    result: Result<i32, AppError>,
    typed: serde_json::Map<String, serde_json::Value>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    match result.as_ref().err().and_then(field_errors) {
        Some(error) => {
            let typed = Typed { id: id.to_string(), fields: typed, error };
            render_my_listings(req, user, state, false, None, None, Some(typed)).await
        }
        None => back(result, done),
    }
}

/// A refused form's field errors in one line, as the error summary shows them.
fn field_errors(e: &AppError) -> Option<String> {
    match e {
        AppError::Invalid(fields) => {
            Some(fields.iter().map(|(k, v)| format!("{}: {v}", k.replace('_', " "))).collect::<Vec<_>>().join("; "))
        }
        _ => None,
    }
}

fn back(result: Result<i32, AppError>, done: &str) -> Result<HttpResponse, PageError> {
    let location = match result {
        Ok(_) => format!("/my/listings?done={}", form_urlencoded::byte_serialize(done.as_bytes()).collect::<String>()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let message = match &e {
                AppError::Invalid(fields) => {
                    fields.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
                }
                other => other.public_message(),
            };
            format!("/my/listings?error={}", form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>())
        }
        Err(other) => return Err(other.into()),
    };
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

/// `POST /my/listings/{id}/verify`: still accurate.
pub async fn verify_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    form_pairs(&req, &body)?;
    let result = with_conn(&state, move |conn, _| Ok(editing::verify(conn, &user, &id, ip.as_deref()))).await?;
    back(result, "Thank you: marked as still accurate")
}

/// `POST /my/listings/{id}`: places, open or closed, contact, summary.
pub async fn edit_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let get = |key: &str| sent(&pairs, key);
    let edit = ListingEdit {
        version: get("version").and_then(|v| v.parse().ok()).unwrap_or(-1),
        capacity: get("capacity"),
        status: get("status"),
        reopens_on: get("reopens_on"),
        summary: get("summary"),
        phone: get("phone"),
        email: get("email"),
        url: get("url"),
        ..Default::default()
    };
    let mut typed = serde_json::Map::new();
    for key in ["capacity", "status", "reopens_on"] {
        if let Some(value) = get(key) {
            typed.insert(key.into(), value.into());
        }
    }
    save(&req, Actor { user, ip }, &state, id, edit, typed, "Saved").await
}

/// The venue form's values: as stored, or as typed into a refused form (shown open).
struct VenueForm {
    open: bool,
    venue: Venue,
    free: bool,
    fees_description: String,
    attending_type: String,
    ways_in: Vec<String>,
}

impl VenueForm {
    fn json(&self) -> serde_json::Value {
        let way = |w: &str| self.ways_in.iter().any(|x| x == w);
        json!({
            "open": self.open, "name": self.venue.name, "address": self.venue.address, "town": self.venue.town,
            "postcode": self.venue.postcode, "masked": self.venue.masked, "free": self.free,
            "fees_description": self.fees_description, "attending_type": self.attending_type,
            "self_referral": way("self_referral"), "link_worker": way("link_worker"), "gp_referral": way("gp_referral"),
        })
    }
}

/// `POST /my/listings/{id}/venue`: where it happens, what it costs, how people take part and
/// join. A refused form comes back open with what was typed.
pub async fn venue_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let get = |key: &str| field(&pairs, key).trim().to_string();
    let form = VenueForm {
        open: true,
        venue: Venue {
            name: get("venue_name"),
            address: get("address"),
            town: get("town"),
            postcode: get("postcode"),
            accessibility: Vec::new(),
            masked: get("masked") == "yes",
        },
        free: get("free") == "yes",
        fees_description: get("fees_description"),
        attending_type: get("attending_type"),
        ways_in: all(&pairs, "how_to_access"),
    };
    // No venue name and no postcode means "no venue": online or by phone only.
    let location = (!(form.venue.name.is_empty() && form.venue.postcode.is_empty())).then(|| NewLocation {
        name: form.venue.name.clone(),
        address: form.venue.address.clone(),
        town: form.venue.town.clone(),
        postcode: form.venue.postcode.clone(),
        accessibility: Vec::new(),
        masked: form.venue.masked,
    });
    let mut edit = ListingEdit {
        version: get("version").parse().unwrap_or(-1),
        location,
        free: Some(form.free),
        fees_description: Some(form.fees_description.clone()),
        attending_type: Some(form.attending_type.clone()),
        how_to_access: Some(form.ways_in.clone()),
        ..Default::default()
    };
    let (who, listing) = (user.clone(), id.clone());
    let result = with_conn(&state, move |conn, state| {
        let taxonomy = state.taxonomy();
        // The form does not show the venue's accessibility features: keep the ones it has.
        if let Some(location) = edit.location.as_mut() {
            let current = crate::directory::venue::current(conn, &listing, &taxonomy)?;
            location.accessibility = current.venue.map(|(_, v)| v.accessibility).unwrap_or_default();
        }
        Ok(editing::edit(conn, &who, &listing, &edit, &taxonomy, ip.as_deref()))
    })
    .await?;
    let mut typed = serde_json::Map::new();
    typed.insert("venue".into(), form.json());
    answer(&req, user, &state, id, result, typed, "Saved where and how").await
}

/// `POST /my/listings/{id}/sessions`: the friendly session editor ("every Tuesday 10-12",
/// "2nd Thursday of the month", "this summer only"): up to four rows of day, week, times,
/// notes and first and last dates.
pub async fn sessions_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    body: input::FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = form_pairs(&req, &body)?;
    let get = |key: &str| field(&pairs, key).trim().to_string();
    let mut sessions = Vec::new();
    // The rows as typed, in the shape the session editor reads, to show again if refused.
    let mut typed_rows = Vec::new();
    for row in 0..4 {
        let day = get(&format!("day{row}"));
        if day.is_empty() {
            continue;
        }
        let week = get(&format!("week{row}"));
        let (freq, week_of_month) = match week.as_str() {
            "" | "every" => ("weekly".to_string(), Vec::new()),
            other => ("monthly".to_string(), vec![other.parse::<i8>().unwrap_or(0)]),
        };
        let notes = Some(get(&format!("notes{row}"))).filter(|n| !n.is_empty());
        let (valid_from, valid_to) = (get(&format!("from{row}")), get(&format!("to{row}")));
        typed_rows.push(serde_json::json!({
            "byday": day, "week_of_month": week, "opens_at": get(&format!("opens{row}")),
            "closes_at": get(&format!("closes{row}")), "notes": get(&format!("notes{row}")),
            "valid_from": valid_from, "valid_to": valid_to,
        }));
        sessions.push(crate::directory::sessions::NewSession {
            freq,
            days: vec![day],
            week_of_month,
            opens_at: get(&format!("opens{row}")),
            closes_at: get(&format!("closes{row}")),
            notes,
            valid_from: Some(valid_from),
            valid_to: Some(valid_to),
        });
    }
    let edit = editing::SessionsEdit { version: get("version").parse().unwrap_or(-1), sessions };
    let (who, listing) = (user.clone(), id.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(editing::replace_sessions(conn, &who, &listing, &edit, ip.as_deref())))
            .await?;
    let mut typed = serde_json::Map::new();
    typed.insert("sessions".into(), typed_rows.into());
    answer(&req, user, &state, id, result, typed, "Sessions saved").await
}
