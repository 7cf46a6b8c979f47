//! "This listing is wrong": link workers and the public (rate limited, no account) suggest a
//! correction; the group's editors and the directory team accept, answer or dismiss it.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{users, CurrentUser};
use crate::db::schema::{listing_suggestions, services};
use crate::db::{self, DbConnection};
use crate::domain::{Approval, FieldErrors};
use crate::error::AppError;
use crate::ids::{ServiceId, SuggestionId};

/// A suggestion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSuggestion {
    /// What is wrong.
    pub body: String,
    /// Where to answer (optional, for the public).
    pub reply_to: Option<String>,
}

/// A suggestion as editors see it.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct SuggestionView {
    /// Id.
    pub id: String,
    /// When.
    pub at: NaiveDateTime,
    /// What is wrong.
    pub body: String,
    /// Where to answer.
    pub reply_to: Option<String>,
    /// `open`, `accepted`, `answered`, `dismissed`.
    pub status: String,
    /// The answer.
    pub answer: Option<String>,
}

/// Records a suggestion for a public listing (anyone; the caller rate-limits the public).
pub fn suggest(
    conn: &mut DbConnection,
    user: Option<&CurrentUser>,
    service_id: &ServiceId,
    new: &NewSuggestion,
    ip: Option<&str>,
) -> Result<String, AppError> {
    // Checked where it came in; the queries below take its text.
    let service_id = service_id.as_str();
    let approved: Option<Approval> =
        services::table.find(service_id).select(services::approval).first(conn).optional()?;
    if approved != Some(Approval::Approved) {
        return Err(AppError::not_found("no listing with that id"));
    }
    let mut errors = FieldErrors::new();
    let body = new.body.trim();
    if body.is_empty() || body.chars().count() > 2000 {
        errors.insert("body".into(), "say what is wrong, in up to 2000 characters".into());
    }
    let reply_to = new.reply_to.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reply_to.is_some_and(|r| !users::valid_email(r)) {
        errors.insert("reply_to".into(), "enter an e-mail address like name@example.org, or leave it empty".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let id = crate::ids::new_id();
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(listing_suggestions::table)
            .values((
                listing_suggestions::id.eq(&id),
                listing_suggestions::service_id.eq(service_id),
                listing_suggestions::at.eq(Utc::now().naive_utc()),
                listing_suggestions::from_user_id.eq(user.map(|u| u.id.as_str())),
                listing_suggestions::body.eq(body),
                listing_suggestions::reply_to.eq(reply_to),
            ))
            .execute(conn)?;
        let event = match user {
            Some(u) => Event::by(u, "listing.suggestion", ip),
            None => Event { action: "listing.suggestion", outcome: "ok", ip, ..Default::default() },
        };
        audit::record(conn, &event.on("service", service_id))?;
        Ok(())
    })?;
    Ok(id)
}

fn owner_of(conn: &mut DbConnection, service_id: &str) -> Result<Option<String>, AppError> {
    Ok(services::table.find(service_id).select(services::organization_id).first(conn).optional()?)
}

/// The suggestions for a listing (its editors and admins), newest first.
pub fn for_listing(
    conn: &mut DbConnection,
    user: &CurrentUser,
    service_id: &ServiceId,
) -> Result<Vec<SuggestionView>, AppError> {
    // Checked where it came in; the queries below take its text.
    let service_id = service_id.as_str();
    match owner_of(conn, service_id)? {
        Some(org) if allows(user, Action::EditListings { organisation_id: &org }) => {}
        _ => return Err(AppError::not_found("no listing with that id that you can edit")),
    }
    Ok(listing_suggestions::table
        .filter(listing_suggestions::service_id.eq(service_id))
        .order(listing_suggestions::at.desc())
        .select((
            listing_suggestions::id,
            listing_suggestions::at,
            listing_suggestions::body,
            listing_suggestions::reply_to,
            listing_suggestions::status,
            listing_suggestions::answer,
        ))
        .load(conn)?)
}

/// An answer to a suggestion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// `accept`, `reply` or `dismiss`.
    pub action: String,
    /// The words of a reply (required to reply).
    pub answer: Option<String>,
}

/// Accepts, answers or dismisses a suggestion (the listing's editors and admins).
pub fn answer(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &SuggestionId,
    a: &Answer,
    ip: Option<&str>,
) -> Result<(), AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    let found: Option<(String, String)> = listing_suggestions::table
        .find(id)
        .select((listing_suggestions::service_id, listing_suggestions::status))
        .first(conn)
        .optional()?;
    let Some((service_id, status)) = found else { return Err(AppError::not_found("no suggestion with that id")) };
    match owner_of(conn, &service_id)? {
        Some(org) if allows(user, Action::EditListings { organisation_id: &org }) => {}
        _ => return Err(AppError::not_found("no suggestion with that id")),
    }
    let new_status = match a.action.as_str() {
        "accept" => "accepted",
        "reply" => "answered",
        "dismiss" => "dismissed",
        _ => return Err(AppError::invalid("action", "must be accept, reply or dismiss")),
    };
    let words = a.answer.as_deref().map(str::trim).filter(|w| !w.is_empty());
    if new_status == "answered" && words.is_none() {
        return Err(AppError::invalid("answer", "write the reply"));
    }
    if words.is_some_and(|w| w.chars().count() > 2000) {
        return Err(AppError::invalid("answer", "at most 2000 characters"));
    }
    if status != "open" {
        return Err(AppError::Conflict {
            message: format!("this suggestion was already {status}"),
            allowed: Vec::new(),
        });
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::update(listing_suggestions::table.find(id))
            .set((
                listing_suggestions::status.eq(new_status),
                listing_suggestions::answer.eq(words),
                listing_suggestions::answered_by.eq(Some(&user.id)),
                listing_suggestions::answered_at.eq(Some(Utc::now().naive_utc())),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "listing.suggestion_answer", ip).on("suggestion", id).detail(new_status))?;
        Ok(())
    })
}
