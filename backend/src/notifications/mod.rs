//! What leaves Common Ground: e-mail and text messages to groups, referrers, admins,
//! volunteers and (with consent) the person referred.
//!
//! A use-case that causes a message calls [`enqueue`] inside its own transaction (the outbox
//! pattern): a rolled-back event sends nothing and a committed one is never forgotten. The
//! delivery [`worker`] claims due rows, renders them ([`messages`]) and hands them to the
//! configured [`transport`]. What goes to whom is decided in [`events`]; no clinical content
//! (reasons, notes, risk, NHS number, scores) is ever put in a row.

pub mod answer;
pub mod due;
pub mod events;
pub mod links;
pub mod messages;
pub mod outbox;
pub mod preferences;
pub mod review;
pub mod transport;
pub mod worker;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::notifications;
use crate::db::DbConnection;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// An e-mail.
    Email,
    /// A text message.
    Sms,
}

impl Channel {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// From storage.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Who a message is for, as admins see it (a person's own address is never shown to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A community group (its editors or its contact address).
    Group,
    /// The GP practice's referrer.
    Referrer,
    /// The person referred.
    Person,
    /// The directory team.
    Admin,
    /// A volunteer who signed a group up.
    Volunteer,
    /// A link worker (about their own caseload).
    LinkWorker,
    /// A member of the public (their own shortlist, sent to themselves).
    Public,
}

impl Audience {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Group => "group",
            Audience::Referrer => "referrer",
            Audience::Person => "person",
            Audience::Admin => "admin",
            Audience::Volunteer => "volunteer",
            Audience::LinkWorker => "link_worker",
            Audience::Public => "public",
        }
    }
}

/// The messages there are; each one's wording is a file in `templates/messages/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A group has a new introduction, with a link that answers it.
    Introduction,
    /// The referrer's referral was accepted.
    ReferralAccepted,
    /// The referrer's referral was rejected (with the link worker's reason).
    ReferralRejected,
    /// The referrer's referral was closed; the message back is ready.
    ReferralClosed,
    /// The person: their referral was received, who will contact them and when.
    ReferralReceived,
    /// Admins: a group signed up and waits for approval.
    GroupWaiting,
    /// The volunteer: their group was approved.
    GroupApproved,
    /// The volunteer: their group was turned down.
    GroupTurnedDown,
    /// The person: a link to their own page.
    PersonPage,
    /// The link worker: a person's page link was locked by wrong dates of birth.
    PersonLinkLocked,
    /// A visitor's shortlist, e-mailed to themselves.
    Shortlist,
    /// A group has not answered an introduction: a reminder, with a link that answers it.
    IntroductionReminder,
    /// The link worker: a group has still not answered their introduction.
    IntroductionUnanswered,
    /// A listing's editor: it nears six months unverified; "still accurate" in one click.
    ListingReview,
    /// The person: their meeting with the link worker is tomorrow.
    MeetingReminder,
    /// A link worker: what needs attention in their caseload today.
    LinkWorkerDigest,
}

impl Template {
    /// Every template, for checks and the no-clinical-content test.
    pub const ALL: [Template; 16] = [
        Template::Introduction,
        Template::ReferralAccepted,
        Template::ReferralRejected,
        Template::ReferralClosed,
        Template::ReferralReceived,
        Template::GroupWaiting,
        Template::GroupApproved,
        Template::GroupTurnedDown,
        Template::PersonPage,
        Template::PersonLinkLocked,
        Template::Shortlist,
        Template::IntroductionReminder,
        Template::IntroductionUnanswered,
        Template::ListingReview,
        Template::MeetingReminder,
        Template::LinkWorkerDigest,
    ];

    /// Its name: the file name and the key of its Notify template id.
    pub fn name(self) -> &'static str {
        match self {
            Template::Introduction => "introduction",
            Template::ReferralAccepted => "referral_accepted",
            Template::ReferralRejected => "referral_rejected",
            Template::ReferralClosed => "referral_closed",
            Template::ReferralReceived => "referral_received",
            Template::GroupWaiting => "group_waiting",
            Template::GroupApproved => "group_approved",
            Template::GroupTurnedDown => "group_turned_down",
            Template::PersonPage => "person_page",
            Template::PersonLinkLocked => "person_link_locked",
            Template::Shortlist => "shortlist",
            Template::IntroductionReminder => "introduction_reminder",
            Template::IntroductionUnanswered => "introduction_unanswered",
            Template::ListingReview => "listing_review",
            Template::MeetingReminder => "meeting_reminder",
            Template::LinkWorkerDigest => "link_worker_digest",
        }
    }

    /// From its name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Delivery states.
pub mod status {
    /// Waiting for its first attempt.
    pub const QUEUED: &str = "queued";
    /// Claimed by a worker.
    pub const SENDING: &str = "sending";
    /// Accepted by the transport.
    pub const SENT: &str = "sent";
    /// The last attempt failed; it will be tried again.
    pub const FAILED: &str = "failed";
    /// Not tried again: a permanent error or too many attempts.
    pub const GAVE_UP: &str = "gave_up";
    /// Every state, in the order a message moves through them.
    pub const ALL: [&str; 5] = [QUEUED, SENDING, SENT, FAILED, GAVE_UP];
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Unique per message meant: the same event queued twice queues once.
    pub key: String,
    /// E-mail or text.
    pub channel: Channel,
    /// Who it is for, as admins see it.
    pub audience: Audience,
    /// The address or phone number.
    pub recipient: String,
    /// Which message.
    pub template: Template,
    /// The values the template fills in (ids, names, dates; never clinical content).
    pub personalisation: serde_json::Value,
}

/// Queues a message in the caller's transaction. A key already queued is left alone
/// (`Ok(false)`).
pub fn enqueue(conn: &mut DbConnection, message: &Outgoing) -> QueryResult<bool> {
    let now = Utc::now().naive_utc();
    let row = (
        notifications::id.eq(crate::ids::new_id()),
        notifications::idempotency_key.eq(&message.key),
        notifications::channel.eq(message.channel.as_str()),
        notifications::audience.eq(message.audience.as_str()),
        notifications::recipient.eq(message.recipient.trim()),
        notifications::template.eq(message.template.name()),
        notifications::personalisation.eq(message.personalisation.to_string()),
        notifications::status.eq(status::QUEUED),
        notifications::attempts.eq(0),
        notifications::next_attempt_at.eq(now),
        notifications::created_at.eq(now),
        notifications::updated_at.eq(now),
    );
    let inserted = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(notifications::table)
            .values(row)
            .on_conflict(notifications::idempotency_key)
            .do_nothing()
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(notifications::table)
            .values(row)
            .on_conflict(notifications::idempotency_key)
            .do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

/// A notification as the admin list shows it: no body, and no address of the person referred.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationSummary {
    /// Id.
    pub id: String,
    /// Which message.
    pub template: String,
    /// E-mail or text.
    pub channel: String,
    /// Who it is for.
    pub audience: String,
    /// The address, or "the person referred" (or "a member of the public") for theirs.
    pub recipient: String,
    /// Delivery state.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: NaiveDateTime,
    /// Next attempt (when queued or failed).
    pub next_attempt_at: NaiveDateTime,
    /// Sent at.
    pub sent_at: Option<NaiveDateTime>,
    /// When Notify said it was delivered (Notify only).
    pub delivered_at: Option<NaiveDateTime>,
}

type SummaryRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// The most recent notifications, newest first, optionally of one status.
pub fn recent(conn: &mut DbConnection, status: Option<&str>, limit: i64) -> QueryResult<Vec<NotificationSummary>> {
    let mut query = notifications::table
        .select((
            notifications::id,
            notifications::template,
            notifications::channel,
            notifications::audience,
            notifications::recipient,
            notifications::status,
            notifications::attempts,
            notifications::last_error,
            notifications::created_at,
            notifications::next_attempt_at,
            notifications::sent_at,
            notifications::delivered_at,
        ))
        .order((notifications::created_at.desc(), notifications::id))
        .limit(limit.clamp(1, 500))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(notifications::status.eq(status.to_string()));
    }
    let rows: Vec<SummaryRow> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                template,
                channel,
                audience,
                recipient,
                status,
                attempts,
                last_error,
                created_at,
                next,
                sent_at,
                delivered_at,
            )| {
                NotificationSummary {
                    recipient: if audience == Audience::Person.as_str() {
                        "the person referred".into()
                    } else if audience == Audience::Public.as_str() {
                        "a member of the public".into()
                    } else {
                        recipient
                    },
                    id,
                    template,
                    channel,
                    audience,
                    status,
                    attempts,
                    last_error,
                    created_at,
                    next_attempt_at: next,
                    sent_at,
                    delivered_at,
                }
            },
        )
        .collect())
}

/// Counts by status, for the admin page's headline.
pub fn counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    notifications::table
        .group_by(notifications::status)
        .select((notifications::status, diesel::dsl::count_star()))
        .order(notifications::status)
        .load(conn)
}
