//! What the person's own page shows, and what they can do there: answer each suggestion, say
//! how and when to be contacted, or ask not to be contacted any more.
//!
//! The page is the person's: their plan, their shortlist and the groups they were introduced
//! to, and who their link worker is. It never shows their NHS number, the referrer's words,
//! notes, risk, reasons for referral or scores; the view below has no field that could hold
//! them. Every view and every answer is audited; answers are on the referral at once.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::links::OpenLink;
use crate::accounts::audit::{self, Event};
use crate::db::schema::{connections, organizations, referrals, users};
use crate::db::{self, DbConnection};
use crate::directory::listing::{self, Listing};
use crate::directory::taxonomy::Taxonomy;
use crate::domain::connection_status::ConnectionStatus;
use crate::error::AppError;
use crate::referrals::work::{self, PlanView};

/// Reasons a person can give for "not for me", as the reports count them.
pub const NOT_FOR_ME_REASONS: [(&str, &str); 6] = [
    ("too_far", "It is too far or hard to get to"),
    ("wrong_time", "The day or time does not suit me"),
    ("cost", "It costs too much"),
    ("not_my_thing", "It is not my kind of thing"),
    ("health", "My health makes it hard"),
    ("other", "Another reason"),
];

/// The plan, in the person's words, with goals and actions one a line.
#[derive(Debug, Clone, Serialize)]
pub struct PlanForPerson {
    /// What matters to me.
    pub what_matters: String,
    /// My goals.
    pub goals: Vec<String>,
    /// What we agreed.
    pub actions: Vec<String>,
    /// When we look at it again.
    pub review_date: Option<NaiveDate>,
}

/// One suggestion or introduction, with what the person needs to go.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Connection id (the answer form's address).
    pub connection_id: String,
    /// Where it stands, in plain words.
    pub stage: &'static str,
    /// Still a suggestion the person can answer.
    pub answerable: bool,
    /// The link worker's note for the person.
    pub note_for_person: Option<String>,
    /// The person's answer: `try` or `not_for_me`.
    pub choice: Option<String>,
    /// The reason they gave (its words).
    pub reason: Option<&'static str>,
    /// The listing.
    pub listing: Listing,
}

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    /// Their first name.
    pub first_name: String,
    /// The link worker service.
    pub service_name: String,
    /// Its phone and e-mail, to reach the link worker.
    pub service_phone: Option<String>,
    /// Its e-mail.
    pub service_email: Option<String>,
    /// Their link worker, by name, once someone owns the referral.
    pub link_worker: Option<String>,
    /// The plan, once written.
    pub plan: Option<PlanForPerson>,
    /// Suggestions to answer (the shortlist).
    pub suggestions: Vec<Item>,
    /// Groups they were introduced to.
    pub introductions: Vec<Item>,
    /// How they like to be contacted: `phone`, `text`, `email`, `letter`.
    pub preferred_contact: String,
    /// When suits them.
    pub contact_times: Option<String>,
    /// When they asked not to be contacted any more.
    pub contact_stopped_at: Option<NaiveDateTime>,
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn stage(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Suggested => "Suggested for you",
        ConnectionStatus::Introduced => "Your link worker has told the group about you",
        ConnectionStatus::Accepted => "The group is expecting you",
        ConnectionStatus::Waitlisted => "You are on the group's waiting list",
        ConnectionStatus::Declined => "The group cannot take you at the moment",
        ConnectionStatus::Attended => "You have been going",
        ConnectionStatus::DidNotAttend => "You have not been yet",
        ConnectionStatus::Stopped => "You stopped going",
        ConnectionStatus::Withdrawn => "No longer suggested",
    }
}

/// The suggestions (the shortlist) and the introductions of a referral, each with its public
/// listing; withdrawn ones, and listings no longer public, are left out.
pub fn items(conn: &mut DbConnection, referral_id: &str, taxonomy: &Taxonomy) -> QueryResult<(Vec<Item>, Vec<Item>)> {
    type ItemRow = (String, String, String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<ItemRow> = connections::table
        .filter(connections::referral_id.eq(referral_id))
        .filter(connections::status.ne(ConnectionStatus::Withdrawn.as_str()))
        .order(connections::created_at)
        .select((
            connections::id,
            connections::service_id,
            connections::status,
            connections::note_for_person,
            connections::person_choice,
            connections::person_reason,
        ))
        .load(conn)?;
    let ids: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let listings = listing::load_many(conn, &ids, taxonomy)?;
    let now = Utc::now().naive_utc();
    let (mut suggestions, mut introductions) = (Vec::new(), Vec::new());
    for (connection_id, service_id, status, note_for_person, choice, reason) in rows {
        let Some(status) = ConnectionStatus::parse(&status) else { continue };
        // A listing that has closed or gone since is not offered to the person.
        let Some(listing) = listings.iter().find(|l| l.id == service_id && l.is_public(now)).cloned() else {
            continue;
        };
        let item = Item {
            connection_id,
            stage: stage(status),
            answerable: status == ConnectionStatus::Suggested,
            note_for_person,
            choice,
            reason: reason
                .and_then(|r| NOT_FOR_ME_REASONS.iter().find(|(code, _)| *code == r).map(|(_, words)| *words)),
            listing,
        };
        if status == ConnectionStatus::Suggested {
            suggestions.push(item);
        } else {
            introductions.push(item);
        }
    }
    Ok((suggestions, introductions))
}

/// The page for an open link, audited as viewed by the person.
pub fn load(
    conn: &mut DbConnection,
    link: &OpenLink,
    taxonomy: &Taxonomy,
    ip: Option<&str>,
) -> Result<PersonView, AppError> {
    type Row = (String, String, Option<String>, String, Option<String>, Option<NaiveDateTime>);
    let (first_name, service_id, owner_id, preferred_contact, contact_times, contact_stopped_at): Row =
        referrals::table
            .find(&link.referral_id)
            .select((
                referrals::given_name,
                referrals::service_id,
                referrals::owner_id,
                referrals::preferred_contact,
                referrals::contact_times,
                referrals::contact_stopped_at,
            ))
            .first(conn)?;
    let (service_name, service_phone, service_email): (String, Option<String>, Option<String>) = organizations::table
        .find(&service_id)
        .select((organizations::name, organizations::phone, organizations::email))
        .first(conn)?;
    let link_worker: Option<String> = match owner_id {
        Some(id) => users::table.find(id).select(users::name).first(conn).optional()?,
        None => None,
    };
    let plan = work::plan(conn, &link.referral_id)?.map(|p: PlanView| PlanForPerson {
        goals: lines(&p.goals),
        actions: lines(&p.actions),
        what_matters: p.what_matters,
        review_date: p.review_date,
    });
    let (suggestions, introductions) = items(conn, &link.referral_id, taxonomy)?;
    db::write(conn, |conn| {
        audit::record(conn, &Event::by_person("person_page.view", ip).on("referral", &link.referral_id))
    })?;
    Ok(PersonView {
        first_name,
        service_name,
        service_phone,
        service_email,
        link_worker,
        plan,
        suggestions,
        introductions,
        preferred_contact,
        contact_times,
        contact_stopped_at,
    })
}

/// A restricted record takes no changes, the person's own included, until the restriction
/// is lifted.
fn refuse_if_restricted(conn: &mut DbConnection, link: &OpenLink) -> Result<(), AppError> {
    if crate::data_rights::is_restricted(conn, &link.referral_id)? {
        return Err(AppError::Conflict {
            message: "Your record is paused at your request, so changes cannot be saved just now. Your link worker                       can tell you more."
                .into(),
            allowed: Vec::new(),
        });
    }
    Ok(())
}

/// The person's answer to a suggestion.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionAnswer {
    /// `try` ("I'd like to try this") or `not_for_me`.
    #[serde(default)]
    pub choice: String,
    /// For "not for me": one of [`NOT_FOR_ME_REASONS`] (optional).
    pub reason: Option<String>,
    /// In their own words (optional).
    pub words: Option<String>,
}

/// Records the answer on the suggestion, for the link worker to see at once. A suggestion the
/// link worker has withdrawn, or already introduced, cannot be answered (409, nothing changed).
pub fn answer(
    conn: &mut DbConnection,
    link: &OpenLink,
    connection_id: &str,
    given: &SuggestionAnswer,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let choice = match given.choice.trim() {
        "try" => "try",
        "not_for_me" => "not_for_me",
        _ => {
            return Err(AppError::invalid(
                "choice",
                "Choose \u{201c}I\u{2019}d like to try this\u{201d} or \u{201c}Not for me\u{201d}",
            ))
        }
    };
    let reason = given.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| !NOT_FOR_ME_REASONS.iter().any(|(code, _)| *code == r)) {
        return Err(AppError::invalid("reason", "Choose one of the reasons, or none"));
    }
    let reason = if choice == "not_for_me" { reason } else { None };
    let words = given.words.as_deref().map(str::trim).filter(|w| !w.is_empty());
    if words.is_some_and(|w| w.chars().count() > 500) {
        return Err(AppError::invalid("words", "Write 500 letters or fewer"));
    }
    let not_found = || AppError::not_found("There is no suggestion like that on your page.");
    if !crate::ids::is_id(connection_id) {
        return Err(not_found());
    }
    refuse_if_restricted(conn, link)?;
    db::write(conn, |conn| -> Result<(), AppError> {
        let status: Option<String> = connections::table
            .filter(connections::id.eq(connection_id))
            .filter(connections::referral_id.eq(&link.referral_id))
            .select(connections::status)
            .first(conn)
            .optional()?;
        let status = status.ok_or_else(not_found)?;
        if status != ConnectionStatus::Suggested.as_str() {
            let message = if status == ConnectionStatus::Withdrawn.as_str() {
                "Your link worker has taken this suggestion off your list, so there is nothing to answer. Nothing has \
                 been changed."
            } else {
                "Your link worker has already been in touch with this group for you, so there is nothing to answer \
                 here. Nothing has been changed."
            };
            return Err(AppError::Conflict { message: message.into(), allowed: Vec::new() });
        }
        diesel::update(connections::table.find(connection_id))
            .set((
                connections::person_choice.eq(Some(choice)),
                connections::person_reason.eq(reason),
                connections::person_words.eq(words),
                connections::person_answered_at.eq(Some(Utc::now().naive_utc())),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Event::by_person("person_page.answer", ip).on("connection", connection_id).detail(choice),
        )?;
        Ok(())
    })
}

/// How and when the person wants to be contacted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContactChoice {
    /// `phone`, `text`, `email` or `letter`.
    #[serde(default)]
    pub preferred_contact: String,
    /// When suits them (optional).
    pub contact_times: Option<String>,
}

/// Saves how and when to contact the person (it also lifts an earlier "stop contacting me").
pub fn change_contact(
    conn: &mut DbConnection,
    link: &OpenLink,
    given: &ContactChoice,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let preferred = given.preferred_contact.trim();
    if !matches!(preferred, "phone" | "text" | "email" | "letter") {
        return Err(AppError::invalid("preferred_contact", "Choose how you would like us to contact you"));
    }
    let times = given.contact_times.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if times.is_some_and(|t| t.chars().count() > 200) {
        return Err(AppError::invalid("contact_times", "Write 200 letters or fewer"));
    }
    refuse_if_restricted(conn, link)?;
    let (phone, email): (Option<String>, Option<String>) =
        referrals::table.find(&link.referral_id).select((referrals::phone, referrals::email)).first(conn)?;
    let has = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    if matches!(preferred, "phone" | "text") && !has(&phone) {
        return Err(AppError::invalid(
            "preferred_contact",
            "We do not have a phone number for you. Ask your link worker to add it, or choose another way",
        ));
    }
    if preferred == "email" && !has(&email) {
        return Err(AppError::invalid(
            "preferred_contact",
            "We do not have an email address for you. Ask your link worker to add it, or choose another way",
        ));
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::update(referrals::table.find(&link.referral_id))
            .set((
                referrals::preferred_contact.eq(preferred),
                referrals::contact_times.eq(times),
                referrals::contact_stopped_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by_person("person_page.contact_changed", ip).on("referral", &link.referral_id))?;
        Ok(())
    })
}

/// The person asks not to be contacted any more: no message goes to them from now on, and the
/// link worker sees it on the referral.
pub fn stop_contact(conn: &mut DbConnection, link: &OpenLink, ip: Option<&str>) -> Result<(), AppError> {
    // Asking not to be contacted is honoured even on a restricted record: it only stops things.
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::update(referrals::table.find(&link.referral_id).filter(referrals::contact_stopped_at.is_null()))
            .set(referrals::contact_stopped_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)?;
        audit::record(conn, &Event::by_person("person_page.contact_stopped", ip).on("referral", &link.referral_id))?;
        Ok(())
    })
}
