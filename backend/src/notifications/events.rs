//! Who is told what, and when: each function is called by a use-case inside the transaction of
//! the event, and queues one message per recipient. What goes in a row is chosen here, and
//! never clinical content: no referral reasons, notes, risk, NHS number, scores or the
//! referrer's words; the person's first name only to a group the person agreed to share it
//! with, or to the person.

use diesel::prelude::*;
use serde_json::json;

use super::{enqueue, Audience, Channel, Outgoing, Template};
use crate::db::schema::{connections, organizations, referrals, services, users};
use crate::db::DbConnection;
use crate::domain::referral_status::ReferralStatus;

/// The short reference a referrer sees in a message: enough to find it, nothing about the
/// person.
pub fn reference(referral_id: &str) -> String {
    format!("CG-{}", referral_id.chars().filter(char::is_ascii_alphanumeric).take(8).collect::<String>().to_uppercase())
}

fn active_users(conn: &mut DbConnection, organisation_id: &str, role: &str) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::organization_id.eq(organisation_id))
        .filter(users::role.eq(role))
        .filter(users::status.eq("active"))
        .order(users::email)
        .select((users::id, users::email))
        .load(conn)
}

fn organisation_name(conn: &mut DbConnection, id: &str) -> QueryResult<String> {
    organizations::table.find(id).select(organizations::name).first(conn)
}

/// A connection was introduced to a group: each editor of the group, and its contact address
/// (the listing's, else the organisation's) when no editor has it, get a link that answers.
pub fn introduced(conn: &mut DbConnection, connection_id: &str, version: i32) -> QueryResult<()> {
    let (recipients, values) = group_recipients(conn, connection_id, version)?;
    for (user_id, email) in recipients {
        let who = user_id.clone().unwrap_or_else(|| "contact".into());
        let mut values = values.clone();
        values["unsubscribe"] = json!(user_id.is_none());
        values["answer_user_id"] = json!(user_id);
        enqueue(
            conn,
            &Outgoing {
                key: format!("introduction:{connection_id}:{version}:{who}"),
                channel: Channel::Email,
                audience: Audience::Group,
                recipient: email,
                template: Template::Introduction,
                personalisation: values,
            },
        )?;
    }
    Ok(())
}

/// An editor's user id (none for the group's contact address) and the address.
type Recipient = (Option<String>, String);

/// Who at a group hears of an introduction (editors by user id, the contact address with none),
/// and the values every message about it carries.
fn group_recipients(
    conn: &mut DbConnection,
    connection_id: &str,
    version: i32,
) -> QueryResult<(Vec<Recipient>, serde_json::Value)> {
    let (service_name, service_email, group_org, referral_id): (String, Option<String>, String, String) =
        connections::table
            .inner_join(services::table)
            .filter(connections::id.eq(connection_id))
            .select((services::name, services::email, services::organization_id, connections::referral_id))
            .first(conn)?;
    let (consent_share, given_name, link_service): (bool, String, String) = referrals::table
        .find(&referral_id)
        .select((referrals::consent_share, referrals::given_name, referrals::service_id))
        .first(conn)?;
    let org_email: Option<String> = organizations::table.find(&group_org).select(organizations::email).first(conn)?;
    let link_worker_service = organisation_name(conn, &link_service)?;
    let editors = active_users(conn, &group_org, "group_editor")?;
    let contact = service_email
        .or(org_email)
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty() && !editors.iter().any(|(_, editor)| editor.eq_ignore_ascii_case(e)));
    let mut recipients: Vec<Recipient> = editors.into_iter().map(|(id, email)| (Some(id), email)).collect();
    recipients.extend(contact.map(|email| (None, email)));
    let values = json!({
        "service_name": service_name,
        "link_worker_service": link_worker_service,
        "first_name": if consent_share { Some(&given_name) } else { None },
        "connection_id": connection_id,
        "connection_version": version,
        "answer_user_id": null,
    });
    Ok((recipients, values))
}

/// An introduction has waited `days` days for the group's answer: the same people as the
/// introduction get one reminder, with a fresh link that answers it. Returns the messages queued.
pub fn introduction_reminder(
    conn: &mut DbConnection,
    connection_id: &str,
    version: i32,
    days: i64,
) -> QueryResult<usize> {
    let (recipients, values) = group_recipients(conn, connection_id, version)?;
    let mut queued = 0;
    for (user_id, email) in recipients {
        let who = user_id.clone().unwrap_or_else(|| "contact".into());
        let mut values = values.clone();
        values["unsubscribe"] = json!(user_id.is_none());
        values["answer_user_id"] = json!(user_id);
        values["waited_days"] = json!(days);
        queued += usize::from(enqueue(
            conn,
            &Outgoing {
                key: format!("introduction:{connection_id}:{version}:reminder:{who}"),
                channel: Channel::Email,
                audience: Audience::Group,
                recipient: email,
                template: Template::IntroductionReminder,
                personalisation: values,
            },
        )?);
    }
    Ok(queued)
}

/// An introduction has waited `days` days (twice the reminder's) and the group still has not
/// answered: the referral's link worker is told (every link worker of the service when nobody
/// owns it). A reference and the group's name, nothing about the person. Returns the messages
/// queued.
pub fn introduction_unanswered(
    conn: &mut DbConnection,
    connection_id: &str,
    version: i32,
    days: i64,
) -> QueryResult<usize> {
    let (service_name, referral_id): (String, String) = connections::table
        .inner_join(services::table)
        .filter(connections::id.eq(connection_id))
        .select((services::name, connections::referral_id))
        .first(conn)?;
    let (owner, link_service): (Option<String>, String) =
        referrals::table.find(&referral_id).select((referrals::owner_id, referrals::service_id)).first(conn)?;
    let owner: Vec<(String, String)> = match owner {
        Some(owner) => users::table
            .find(owner)
            .filter(users::organization_id.eq(&link_service))
            .filter(users::status.eq("active"))
            .select((users::id, users::email))
            .load(conn)?,
        None => Vec::new(),
    };
    let workers = if owner.is_empty() {
        let mut all = active_users(conn, &link_service, "link_worker")?;
        all.extend(active_users(conn, &link_service, "link_worker_lead")?);
        all
    } else {
        owner
    };
    let mut queued = 0;
    for (user_id, email) in workers {
        queued += usize::from(enqueue(
            conn,
            &Outgoing {
                key: format!("introduction:{connection_id}:{version}:unanswered:{user_id}"),
                channel: Channel::Email,
                audience: Audience::LinkWorker,
                recipient: email,
                template: Template::IntroductionUnanswered,
                personalisation: json!({
                    "service_name": service_name,
                    "reference": reference(&referral_id),
                    "referral_id": referral_id,
                    "waited_days": days,
                }),
            },
        )?);
    }
    Ok(queued)
}

/// A listing nears six months unverified: each active editor of its organisation gets reminder
/// `number` of `of`, with their own "still accurate" link (the listing's version now: any change
/// to the listing, or the link used, makes it stale) and a link to sign in and edit. Listings
/// with no editor are for the directory team (the admin reminders page and its CSV). Returns the
/// messages queued.
pub fn listing_review(conn: &mut DbConnection, service_id: &str, number: i32, of: i64) -> QueryResult<usize> {
    use crate::directory::listing::{HIDDEN_AFTER_DAYS, NEEDS_REVIEW_AFTER_DAYS};
    use chrono::Duration;
    let (name, organisation, version, last_verified): (String, String, i32, chrono::NaiveDateTime) = services::table
        .find(service_id)
        .select((services::name, services::organization_id, services::version, services::last_verified))
        .first(conn)?;
    let day = |d: chrono::NaiveDateTime| d.format("%-d %B %Y").to_string();
    let mut queued = 0;
    for (user_id, email) in active_users(conn, &organisation, "group_editor")? {
        queued += usize::from(enqueue(
            conn,
            &Outgoing {
                key: format!(
                    "listing:{service_id}:{}:review:{number}:{user_id}",
                    last_verified.and_utc().timestamp_micros()
                ),
                channel: Channel::Email,
                audience: Audience::Group,
                recipient: email,
                template: Template::ListingReview,
                personalisation: json!({
                    "service_name": name,
                    "review_service_id": service_id,
                    "review_version": version,
                    "review_user_id": user_id,
                    "last_verified": day(last_verified),
                    "ranks_lower_on": day(last_verified + Duration::days(NEEDS_REVIEW_AFTER_DAYS + 1)),
                    "hidden_on": day(last_verified + Duration::days(HIDDEN_AFTER_DAYS + 1)),
                    "reminder_number": number,
                    "reminders": of,
                }),
            },
        )?);
    }
    Ok(queued)
}

/// A link worker's daily digest: what needs attention in their caseload (`items`: a
/// reference and why, never the person), and how many new referrals wait for their service.
/// One a day (`day`). Returns the messages queued.
pub fn link_worker_digest(
    conn: &mut DbConnection,
    user_id: &str,
    email: &str,
    day: chrono::NaiveDate,
    items: &[(String, String)],
    waiting: usize,
) -> QueryResult<usize> {
    let items: Vec<serde_json::Value> =
        items.iter().map(|(referral_id, why)| json!({"reference": reference(referral_id), "why": why})).collect();
    let queued = enqueue(
        conn,
        &Outgoing {
            key: format!("digest:{user_id}:{day}"),
            channel: Channel::Email,
            audience: Audience::LinkWorker,
            recipient: email.to_string(),
            template: Template::LinkWorkerDigest,
            personalisation: json!({
                "day": day.format("%A %-d %B").to_string(),
                "items": items,
                "count": items.len(),
                "waiting": waiting,
            }),
        },
    )?;
    Ok(usize::from(queued))
}

/// A referral moved: its referrer hears of acceptance, rejection (with the link worker's
/// reason, which the referrer also sees in the service) and closing.
pub fn referral_moved(
    conn: &mut DbConnection,
    referral_id: &str,
    to: ReferralStatus,
    reason: Option<&str>,
) -> QueryResult<()> {
    let (template, outcome) = match to {
        ReferralStatus::Accepted => (Template::ReferralAccepted, ""),
        ReferralStatus::Rejected => (Template::ReferralRejected, ""),
        ReferralStatus::Completed => (Template::ReferralClosed, "support has finished"),
        ReferralStatus::Declined => (Template::ReferralClosed, "the person decided not to take up social prescribing"),
        ReferralStatus::UnableToContact => (Template::ReferralClosed, "the link worker could not reach the person"),
        _ => return Ok(()),
    };
    let (referrer_id, service_id): (String, String) =
        referrals::table.find(referral_id).select((referrals::referrer_id, referrals::service_id)).first(conn)?;
    let referrer: Option<String> = users::table
        .find(&referrer_id)
        .filter(users::status.eq("active"))
        .select(users::email)
        .first(conn)
        .optional()?;
    let Some(email) = referrer else { return Ok(()) };
    let service_name = organisation_name(conn, &service_id)?;
    enqueue(
        conn,
        &Outgoing {
            key: format!("referral:{referral_id}:{}:referrer", to.as_str()),
            channel: Channel::Email,
            audience: Audience::Referrer,
            recipient: email,
            template,
            personalisation: json!({
                "reference": reference(referral_id),
                "referral_id": referral_id,
                "link_worker_service": service_name,
                "reason": reason.map(str::trim).unwrap_or(""),
                "outcome": outcome,
            }),
        },
    )?;
    Ok(())
}

/// How the person may be told something: only with their consent to the referral, never when
/// "do not contact directly" is ticked or flagged on their case or they asked on their own page
/// not to be contacted, and only by e-mail or text as they chose (a phone call or
/// letter is the link worker's to make). Their channel, address and first name, and the link
/// worker service's name.
fn person_channel(
    conn: &mut DbConnection,
    referral_id: &str,
) -> QueryResult<Option<(Channel, String, String, String)>> {
    type Row = (bool, bool, String, Option<String>, Option<String>, String, String);
    let (consent, no_direct, preferred, email, phone, given_name, service_id): Row = referrals::table
        .find(referral_id)
        .select((
            referrals::consent_referral,
            referrals::do_not_contact_directly.or(referrals::contact_stopped_at.is_not_null()),
            referrals::preferred_contact,
            referrals::email,
            referrals::phone,
            referrals::given_name,
            referrals::service_id,
        ))
        .first(conn)?;
    if !consent || no_direct || crate::referrals::risk_flags::do_not_contact_directly(conn, referral_id)? {
        return Ok(None);
    }
    let (channel, recipient) = match (preferred.as_str(), email, phone) {
        ("email", Some(email), _) if !email.trim().is_empty() => (Channel::Email, email),
        ("text", _, Some(phone)) if !phone.trim().is_empty() => (Channel::Sms, phone),
        _ => return Ok(None),
    };
    let service_name = organisation_name(conn, &service_id)?;
    Ok(Some((channel, recipient, given_name, service_name)))
}

/// Whether the person can be sent reminders (see [`person_channel`]).
pub fn person_reachable(conn: &mut DbConnection, referral_id: &str) -> QueryResult<Option<Channel>> {
    Ok(person_channel(conn, referral_id)?.map(|(channel, ..)| channel))
}

/// A referral was received: the person is told, by the channel they chose, with consent.
pub fn referral_received(conn: &mut DbConnection, referral_id: &str) -> QueryResult<()> {
    let Some((channel, recipient, given_name, service_name)) = person_channel(conn, referral_id)? else {
        return Ok(());
    };
    enqueue(
        conn,
        &Outgoing {
            key: format!("referral:{referral_id}:received:person"),
            channel,
            audience: Audience::Person,
            recipient,
            template: Template::ReferralReceived,
            personalisation: json!({ "first_name": given_name, "link_worker_service": service_name, "unsubscribe": true }),
        },
    )?;
    Ok(())
}

/// The link to the person's own page, by their chosen channel; `false` (nothing queued) when
/// they chose a phone call or a letter, we have no address, "do not contact directly" is set,
/// or they asked not to be contacted. The message holds the link's row id; the link itself is
/// made when it is sent.
pub fn person_page(conn: &mut DbConnection, referral_id: &str, link_id: &str) -> QueryResult<bool> {
    let Some((channel, recipient, given_name, service_name)) = person_channel(conn, referral_id)? else {
        return Ok(false);
    };
    enqueue(
        conn,
        &Outgoing {
            key: format!("person_link:{link_id}"),
            channel,
            audience: Audience::Person,
            recipient,
            template: Template::PersonPage,
            personalisation: json!({
                "first_name": given_name,
                "link_worker_service": service_name,
                "person_link_id": link_id,
                "unsubscribe": true,
            }),
        },
    )
}

/// A person's page link was locked by wrong dates of birth: the referral's link worker (or,
/// before anyone owns it, the service's link workers) is told, with the reference only.
pub fn person_link_locked(conn: &mut DbConnection, referral_id: &str) -> QueryResult<()> {
    let (owner, service_id): (Option<String>, String) =
        referrals::table.find(referral_id).select((referrals::owner_id, referrals::service_id)).first(conn)?;
    let mut recipients: Vec<(String, String)> = match owner {
        Some(owner) => {
            users::table.find(owner).filter(users::status.eq("active")).select((users::id, users::email)).load(conn)?
        }
        None => Vec::new(),
    };
    if recipients.is_empty() {
        recipients = active_users(conn, &service_id, "link_worker")?;
    }
    for (user_id, email) in recipients {
        enqueue(
            conn,
            &Outgoing {
                key: format!("person_link_locked:{referral_id}:{}:{user_id}", chrono::Utc::now().timestamp()),
                channel: Channel::Email,
                audience: Audience::LinkWorker,
                recipient: email,
                template: Template::PersonLinkLocked,
                personalisation: json!({ "reference": reference(referral_id), "referral_id": referral_id }),
            },
        )?;
    }
    Ok(())
}

/// The person's meeting with the link worker is the next day: they are reminded, with consent,
/// by their channel, of when and where (nothing else). Returns the messages queued.
pub fn meeting_reminder(
    conn: &mut DbConnection,
    referral_id: &str,
    at: chrono::NaiveDateTime,
    place: &str,
) -> QueryResult<usize> {
    let Some((channel, recipient, given_name, service_name)) = person_channel(conn, referral_id)? else {
        return Ok(0);
    };
    let queued = enqueue(
        conn,
        &Outgoing {
            key: format!("referral:{referral_id}:meeting:{}:person", at.and_utc().timestamp_micros()),
            channel,
            audience: Audience::Person,
            recipient,
            template: Template::MeetingReminder,
            personalisation: json!({
                "first_name": given_name,
                "link_worker_service": service_name,
                "meeting_when": at.format("%A %-d %B at %H:%M").to_string(),
                "meeting_place": place,
                "unsubscribe": true,
            }),
        },
    )?;
    Ok(usize::from(queued))
}

/// A group signed itself up: every active administrator is told it waits.
pub fn group_waiting(conn: &mut DbConnection, organisation_id: &str) -> QueryResult<()> {
    let name = organisation_name(conn, organisation_id)?;
    let admins: Vec<(String, String)> = users::table
        .filter(users::role.eq("admin"))
        .filter(users::status.eq("active"))
        .select((users::id, users::email))
        .load(conn)?;
    for (user_id, email) in admins {
        enqueue(
            conn,
            &Outgoing {
                key: format!("organisation:{organisation_id}:waiting:{user_id}"),
                channel: Channel::Email,
                audience: Audience::Admin,
                recipient: email,
                template: Template::GroupWaiting,
                personalisation: json!({ "organisation_name": name }),
            },
        )?;
    }
    Ok(())
}

/// A group's sign-up was decided: its volunteers are told (with the reason when turned down).
pub fn group_decided(conn: &mut DbConnection, organisation_id: &str, reason: Option<&str>) -> QueryResult<()> {
    let name = organisation_name(conn, organisation_id)?;
    let (template, what) = if reason.is_some() {
        (Template::GroupTurnedDown, "turned_down")
    } else {
        (Template::GroupApproved, "approved")
    };
    let volunteers: Vec<(String, String)> = users::table
        .filter(users::organization_id.eq(organisation_id))
        .filter(users::role.eq("group_editor"))
        .select((users::id, users::email))
        .load(conn)?;
    for (user_id, email) in volunteers {
        enqueue(
            conn,
            &Outgoing {
                key: format!("organisation:{organisation_id}:{what}:{user_id}"),
                channel: Channel::Email,
                audience: Audience::Volunteer,
                recipient: email,
                template,
                personalisation: json!({ "organisation_name": name, "reason": reason.unwrap_or("") }),
            },
        )?;
    }
    Ok(())
}
