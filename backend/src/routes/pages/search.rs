//! `GET /`: the directory search page (what, where, how far, filters, sort) and its results.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::policy::{self, Action};
use crate::directory::search::{self, SearchOutcome, SearchParams, ATTENDANCE, CAPACITY, DAYS, SORTS};
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::FieldErrors;
use crate::error::{AppError, PageError};
use crate::routes::actor::Visitor;
use crate::routes::pages::html;
use crate::routes::{query_pairs, with_conn};
use crate::state::AppState;

#[derive(Serialize)]
struct Choice {
    value: String,
    name: String,
    selected: bool,
}

#[derive(Serialize)]
struct CategoryGroup {
    value: String,
    name: String,
    selected: bool,
    children: Vec<Choice>,
}

#[derive(Serialize)]
struct PageLink {
    label: String,
    href: String,
}

#[derive(Serialize)]
struct SearchPage {
    title: String,
    params: SearchParams,
    searched: bool,
    errors: Vec<(String, String)>,
    outcome: Option<SearchOutcome>,
    categories: Vec<CategoryGroup>,
    audiences: Vec<Choice>,
    accessibility: Vec<Choice>,
    days: Vec<Choice>,
    attendance: Vec<Choice>,
    capacity: Vec<Choice>,
    sorts: Vec<Choice>,
    radii: Vec<Choice>,
    free_only: bool,
    previous: Option<String>,
    next: Option<String>,
    wider: Vec<PageLink>,
    /// Whether any result is a partial match (shown apart, labelled).
    partial: bool,
}

fn choices(table: &[(&str, &str)], selected: &[String]) -> Vec<Choice> {
    table
        .iter()
        .map(|(v, n)| Choice { value: v.to_string(), name: n.to_string(), selected: selected.iter().any(|s| s == v) })
        .collect()
}

fn vocabulary(taxonomy: &Taxonomy, vocab: Vocabulary, selected: &[String]) -> Vec<Choice> {
    taxonomy
        .terms(vocab)
        .map(|t| Choice { value: t.slug.clone(), name: t.name.clone(), selected: selected.contains(&t.slug) })
        .collect()
}

/// The query string of a search with one parameter changed.
fn href(pairs: &[(String, String)], set: &[(&str, String)], drop: &[&str]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !set.iter().any(|(s, _)| s == k) && !drop.contains(&k.as_str()) && !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    for (k, v) in set {
        out.append_pair(k, v);
    }
    format!("/?{}", out.finish())
}

/// The search page; with no "what" or "where" yet it shows just the form. Admins asking
/// `explain=1` see why each result ranks where it does; anyone else gets the normal page.
pub async fn search_page(
    req: HttpRequest,
    visitor: Visitor,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs = query_pairs(&req)?;
    let params = SearchParams::from_pairs(pairs.clone());
    let explain =
        params.wants_explain() && visitor.user.as_ref().is_some_and(|u| policy::allows(u, Action::ExplainSearch));
    let searched = pairs.iter().any(|(k, v)| !v.is_empty() && k != "sort");
    let run = params.clone();
    let result = if searched {
        with_conn(&state, move |conn, state| {
            match search::search_with(conn, &state.index, &state.taxonomy(), &state.listings, &run, true, explain) {
                Ok(outcome) => Ok(Ok(outcome)),
                Err(search::SearchFailure::Invalid(fields)) => Ok(Err(fields)),
                Err(other) => Err(AppError::from(other)),
            }
        })
        .await?
    } else {
        Err(FieldErrors::new())
    };
    let (outcome, errors) = match result {
        Ok(outcome) => (Some(outcome), FieldErrors::new()),
        Err(errors) => (None, errors),
    };

    let taxonomy = state.taxonomy();
    let categories = taxonomy
        .top_categories()
        .map(|top| CategoryGroup {
            value: top.slug.clone(),
            name: top.name.clone(),
            selected: params.category.contains(&top.slug),
            children: taxonomy
                .children(top)
                .map(|c| Choice {
                    value: c.slug.clone(),
                    name: c.name.clone(),
                    selected: params.category.contains(&c.slug),
                })
                .collect(),
        })
        .collect();
    let (mut previous, mut next, mut wider) = (None, None, Vec::new());
    if let Some(o) = &outcome {
        if o.page > 1 {
            previous = Some(href(&pairs, &[("page", (o.page - 1).to_string())], &[]));
        }
        if o.page < o.pages {
            next = Some(href(&pairs, &[("page", (o.page + 1).to_string())], &[]));
        }
        if let Some(help) = &o.help {
            for w in &help.wider {
                let link = match w.kind {
                    "radius" => href(&pairs, &[("radius_km", w.value.clone())], &["page"]),
                    "spelling" => href(&pairs, &[("q", w.value.clone())], &["page"]),
                    _ => href(&pairs, &[], &[w.value.as_str(), "page"]),
                };
                wider.push(PageLink { label: w.label.clone(), href: link });
            }
        }
    }
    let radius_selected = if params.radius_km.is_empty() { "10".to_string() } else { params.radius_km.clone() };
    let radii = ["1", "3", "5", "10", "25", "50"]
        .iter()
        .map(|r| Choice { value: r.to_string(), name: format!("{r} km"), selected: *r == radius_selected })
        .collect();
    let title = if outcome.is_some() {
        let what = if params.q.trim().is_empty() { "Everything".to_string() } else { params.q.trim().to_string() };
        if params.near.trim().is_empty() {
            format!("{what} – search results")
        } else {
            format!("{what} near {} – search results", params.near.trim())
        }
    } else if !errors.is_empty() {
        "Please check your search".to_string()
    } else {
        "Find community groups and activities".to_string()
    };
    let page = SearchPage {
        title,
        searched,
        errors: errors.into_iter().collect(),
        categories,
        audiences: vocabulary(&taxonomy, Vocabulary::Audience, &params.audience),
        accessibility: vocabulary(&taxonomy, Vocabulary::Accessibility, &params.accessibility),
        days: choices(&DAYS, &params.day),
        attendance: choices(&ATTENDANCE, &params.attendance),
        capacity: choices(&CAPACITY, &params.capacity),
        sorts: choices(&SORTS, std::slice::from_ref(&params.sort)),
        radii,
        free_only: params.cost == "free",
        previous,
        next,
        wider,
        partial: outcome.as_ref().is_some_and(|o| o.results.iter().any(|r| r.fit == "partial")),
        outcome,
        params,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let body = state.templates.render("pages/search", &page)?;
    Ok(html(status, body))
}
