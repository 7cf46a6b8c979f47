//! `GET /my/listings`: a group's listings with what needs review, the one-click "still
//! accurate", a short form for what changes most (places, open or closed, reopening date) and
//! the session editor. A refused form comes back (422) with what was typed, never blanked.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
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
use crate::routes::input::{Button, PageForm};
use crate::routes::pages::{render_page, see_other, submitted, Submitted};
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
    /// A refused form's problems for the error summary: (the field's id on the page, message).
    errors: Vec<(String, String)>,
}

/// A use-case's field name and the id its field has on this page, before `-{listing id}`, in
/// the page's order (the error summary follows it).
const FIELD_IDS: [(&str, &str); 15] = [
    ("capacity", "capacity"),
    ("status", "status"),
    ("reopens_on", "reopens"),
    ("categories", "cats"),
    ("audiences", "auds"),
    ("location.name", "vname"),
    ("location.address", "vaddr"),
    ("location.town", "vtown"),
    ("location.postcode", "vpc"),
    ("location.accessibility", "vname"),
    ("cost", "vcost"),
    ("fees_description", "vfees"),
    ("attending_type", "vatt"),
    ("how_to_access", "vhow"),
    ("sessions", "sessions"),
];

/// Which of a listing's folded sections holds the field with this page id.
fn section_of(short: &str) -> &'static str {
    match short {
        "cats" | "auds" => "terms",
        "sessions" => "sessions",
        s if s.starts_with('v') => "venue",
        _ => "quick",
    }
}

/// What an editor typed into one listing's forms, shown again when it was refused.
struct Typed {
    id: String,
    /// Field name to typed value (`capacity`, `status`, `reopens_on`, or `sessions`).
    fields: serde_json::Map<String, serde_json::Value>,
    /// Problems with the whole form.
    error: String,
    /// Problems with one field: (its id on the page before `-{listing id}`, message).
    problems: Vec<(&'static str, String)>,
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
        let mut areas_text = String::new();
        if let Some(listing) = full.remove(&summary.id) {
            choices = term_choices(&taxonomy, &slugs(&listing.categories), &slugs(&listing.audiences));
            summary.sessions = listing.schedules;
            summary.reopens_on = listing.reopens_on;
            areas_text = listing.service_areas.iter().map(|a| a.label.clone()).collect::<Vec<_>>().join("\n");
        }
        let mut value = serde_json::to_value(&summary).map_err(|e| AppError::Internal(e.to_string()))?;
        value["areas_text"] = areas_text.into();
        value["term_choices"] = choices;
        value["venue"] = venues.remove(&summary_id).unwrap_or(serde_json::Value::Null);
        shown.push(value);
    }
    let status = if typed.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut errors = Vec::new();
    let error = match typed {
        Some(typed) => {
            if let Some(listing) = shown.iter_mut().find(|l| l["id"] == typed.id.as_str()) {
                for (field, value) in typed.fields {
                    listing[field] = value;
                }
                // Each problem by its field, and the folded section that holds it open.
                let mut by_field = serde_json::Map::new();
                for (short, message) in &typed.problems {
                    by_field.entry(short.to_string()).or_insert_with(|| message.clone().into());
                    listing["open"][section_of(short)] = true.into();
                    if section_of(short) == "venue" && listing["venue"].is_object() {
                        listing["venue"]["open"] = true.into();
                    }
                    errors.push((format!("{short}-{}", typed.id), message.clone()));
                }
                listing["field_errors"] = by_field.into();
            }
            (!typed.error.is_empty()).then_some(typed.error)
        }
        None => error,
    };
    let (csrf, cookie) = csrf_token(req, state.settings.tls());
    let page =
        MyListingsPage { title: "Your listings", csrf, user, listings: shown, needs_review, notice, error, errors };
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

/// The "what it is and who it is for" form: every category and audience ticked (none ticked
/// clears them).
#[derive(Debug, Deserialize)]
pub struct TermsForm {
    version: i32,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    audiences: Vec<String>,
}

/// `POST /my/listings/{id}/terms`: what the activity is (categories) and who it is for.
pub async fn terms_submit(
    req: HttpRequest,
    actor: Actor,
    id: ServiceId,
    PageForm(form): PageForm<TermsForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let mut typed = serde_json::Map::new();
    typed.insert("term_choices".into(), term_choices(&state.taxonomy(), &form.categories, &form.audiences));
    let edit = ListingEdit {
        version: form.version,
        categories: Some(form.categories),
        audiences: Some(form.audiences),
        ..Default::default()
    };
    save(&req, actor, &state, id, edit, typed, "Saved what it is and who it is for").await
}

/// The "where else it is offered" form: one area a line.
#[derive(Debug, Deserialize)]
pub struct AreasForm {
    version: i32,
    #[serde(default)]
    areas: String,
}

/// `POST /my/listings/{id}/areas`: where else it is offered (postcode districts, a county,
/// online, national, home visits within N km), one a line.
pub async fn areas_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    PageForm(form): PageForm<AreasForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let edit = editing::AreasEdit { version: form.version, areas: form.areas.lines().map(str::to_string).collect() };
    let (who, listing) = (user.clone(), id.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(editing::replace_areas(conn, &who, &listing, &edit, ip.as_deref())))
            .await?;
    let mut typed = serde_json::Map::new();
    typed.insert("areas_text".into(), form.areas.into());
    answer(&req, user, &state, id, result, typed, "Saved where it is offered").await
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

/// Answers a listing form: back to the page with what happened or, when refused, the page
/// again (422) with the problems and what was typed in place of the saved values.
async fn answer<R>(
    req: &HttpRequest,
    user: CurrentUser,
    state: &web::Data<AppState>,
    id: ServiceId,
    result: Result<R, AppError>,
    typed: serde_json::Map<String, serde_json::Value>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    match submitted(result)? {
        Submitted::Saved(_) => Ok(see_other(&format!(
            "/my/listings?done={}",
            form_urlencoded::byte_serialize(done.as_bytes()).collect::<String>()
        ))),
        Submitted::Refused(problems) => {
            // A problem with a field this page shows is said by that field; any other with
            // the whole form.
            let mut by_field: Vec<(usize, &'static str, String)> = Vec::new();
            let mut whole = Vec::new();
            for (key, message) in problems {
                match FIELD_IDS.iter().position(|(name, _)| *name == key) {
                    Some(at) => by_field.push((at, FIELD_IDS[at].1, message)),
                    None if key.is_empty() => whole.push(message),
                    None => whole.push(format!("{}: {message}", key.replace(['_', '.'], " "))),
                }
            }
            by_field.sort_by_key(|(at, _, _)| *at);
            let problems = by_field.into_iter().map(|(_, short, message)| (short, message)).collect();
            let typed = Typed { id: id.to_string(), fields: typed, error: whole.join("; "), problems };
            render_my_listings(req, user, state, false, None, None, Some(typed)).await
        }
    }
}

/// `POST /my/listings/{id}/verify`: still accurate.
pub async fn verify_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    _: PageForm<Button>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (who, listing) = (user.clone(), id.clone());
    let result = with_conn(&state, move |conn, _| Ok(editing::verify(conn, &who, &listing, ip.as_deref()))).await?;
    answer(&req, user, &state, id, result, Default::default(), "Thank you: marked as still accurate").await
}

/// The short form for what changes most: places, open or closed, the reopening date (every
/// field is on the form, so an empty date clears it).
#[derive(Debug, Deserialize)]
pub struct PlacesForm {
    version: i32,
    capacity: String,
    status: String,
    #[serde(default)]
    reopens_on: String,
}

/// `POST /my/listings/{id}`: places, open or closed, reopening date.
pub async fn edit_submit(
    req: HttpRequest,
    actor: Actor,
    id: ServiceId,
    PageForm(form): PageForm<PlacesForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let mut typed = serde_json::Map::new();
    typed.insert("capacity".into(), form.capacity.clone().into());
    typed.insert("status".into(), form.status.clone().into());
    typed.insert("reopens_on".into(), form.reopens_on.clone().into());
    let edit = ListingEdit {
        version: form.version,
        capacity: Some(form.capacity),
        status: Some(form.status),
        reopens_on: Some(form.reopens_on),
        ..Default::default()
    };
    save(&req, actor, &state, id, edit, typed, "Saved").await
}

/// The venue form as sent: where, what it costs, how people take part and join.
#[derive(Debug, Deserialize)]
pub struct VenueFields {
    version: i32,
    #[serde(default)]
    venue_name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    town: String,
    #[serde(default)]
    postcode: String,
    /// `yes` to show only the area, not the address.
    #[serde(default)]
    masked: String,
    /// `yes` when free.
    #[serde(default)]
    free: String,
    #[serde(default)]
    fees_description: String,
    #[serde(default)]
    attending_type: String,
    #[serde(default)]
    how_to_access: Vec<String>,
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
    PageForm(sent): PageForm<VenueFields>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = VenueForm {
        open: true,
        venue: Venue {
            name: sent.venue_name.trim().to_string(),
            address: sent.address.trim().to_string(),
            town: sent.town.trim().to_string(),
            postcode: sent.postcode.trim().to_string(),
            accessibility: Vec::new(),
            masked: sent.masked.trim() == "yes",
        },
        free: sent.free.trim() == "yes",
        fees_description: sent.fees_description.trim().to_string(),
        attending_type: sent.attending_type.trim().to_string(),
        ways_in: sent.how_to_access,
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
        version: sent.version,
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

/// The session editor as sent: each field once per row, rows in order (a browser sends every
/// field of every row, empty or not).
#[derive(Debug, Deserialize)]
pub struct SessionRows {
    version: i32,
    #[serde(default)]
    day: Vec<String>,
    #[serde(default)]
    week: Vec<String>,
    #[serde(default)]
    opens: Vec<String>,
    #[serde(default)]
    closes: Vec<String>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    from: Vec<String>,
    #[serde(default)]
    to: Vec<String>,
}

/// The page shows four rows.
const SESSION_ROWS: usize = 4;

/// `POST /my/listings/{id}/sessions`: the friendly session editor ("every Tuesday 10-12",
/// "2nd Thursday of the month", "this summer only"): up to four rows of day, week, times,
/// notes and first and last dates.
pub async fn sessions_submit(
    req: HttpRequest,
    Actor { user, ip }: Actor,
    id: ServiceId,
    PageForm(rows): PageForm<SessionRows>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let cell = |column: &[String], row: usize| column.get(row).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut sessions = Vec::new();
    // The rows as typed, in the shape the session editor reads, to show again if refused.
    let mut typed_rows = Vec::new();
    for row in 0..SESSION_ROWS {
        let day = cell(&rows.day, row);
        if day.is_empty() {
            continue;
        }
        let week = cell(&rows.week, row);
        let (freq, week_of_month) = match week.as_str() {
            "" | "every" => ("weekly".to_string(), Vec::new()),
            other => ("monthly".to_string(), vec![other.parse::<i8>().unwrap_or(0)]),
        };
        let (opens_at, closes_at, notes) = (cell(&rows.opens, row), cell(&rows.closes, row), cell(&rows.notes, row));
        let (valid_from, valid_to) = (cell(&rows.from, row), cell(&rows.to, row));
        typed_rows.push(json!({
            "byday": day, "week_of_month": week, "opens_at": opens_at, "closes_at": closes_at, "notes": notes,
            "valid_from": valid_from, "valid_to": valid_to,
        }));
        sessions.push(crate::directory::sessions::NewSession {
            freq,
            days: vec![day],
            week_of_month,
            opens_at,
            closes_at,
            notes: Some(notes).filter(|n| !n.is_empty()),
            valid_from: Some(valid_from),
            valid_to: Some(valid_to),
        });
    }
    let edit = editing::SessionsEdit { version: rows.version, sessions };
    let (who, listing) = (user.clone(), id.clone());
    let result =
        with_conn(&state, move |conn, _| Ok(editing::replace_sessions(conn, &who, &listing, &edit, ip.as_deref())))
            .await?;
    let mut typed = serde_json::Map::new();
    typed.insert("sessions".into(), typed_rows.into());
    answer(&req, user, &state, id, result, typed, "Sessions saved").await
}
