//! Time-driven messages: jobs the [`scheduler`](crate::scheduler) runs, each queuing what has
//! fallen due by `now`. A job marks what it has dealt with in the same transaction as the
//! messages it queues, and every message has an idempotency key, so a job run twice, on two
//! instances at once or again after a crash, queues each message once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::events;
use crate::config::Settings;
use crate::db::schema::{connections, listing_reminders, referrals, services};
use crate::db::{self, DbConnection};
use crate::directory::listing::{HIDDEN_AFTER_DAYS, NEEDS_REVIEW_AFTER_DAYS};
use crate::domain::connection_status::ConnectionStatus;
use crate::domain::referral_status::ReferralStatus;
use crate::domain::{Approval, ListingStatus};

/// Introductions dealt with per transaction.
const BATCH: i64 = 200;

/// Referral statuses after which nobody is chased about an introduction.
fn closed_statuses() -> Vec<&'static str> {
    ReferralStatus::ALL.into_iter().filter(|s| s.is_terminal()).map(ReferralStatus::as_str).collect()
}

/// Which step of the cycle a run takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The group's reminder, after `COMMONGROUND_INTRODUCTION_DAYS`.
    Remind,
    /// The link worker told, after twice that; the introduction is marked.
    Tell,
}

/// The introduction job: an introduction unanswered for `COMMONGROUND_INTRODUCTION_DAYS` gets
/// one reminder to the group (with a fresh answer link); unanswered for twice that, the link
/// worker is told and the introduction is marked (`link_worker_told_at`, shown on the referral
/// and in the group's inbox). Introductions of closed referrals are left alone. Returns the
/// messages queued.
pub fn introduction_reminders(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    let days = settings.introduction_days;
    let mut queued = 0;
    for step in [Step::Remind, Step::Tell] {
        let waited = if step == Step::Remind { days } else { 2 * days };
        let before = now - Duration::days(waited);
        loop {
            let (seen, sent) = db::write(conn, |conn| -> QueryResult<(usize, usize)> {
                let mut due = connections::table
                    .inner_join(referrals::table.on(referrals::id.eq(connections::referral_id)))
                    .filter(connections::status.eq(ConnectionStatus::Introduced.as_str()))
                    .filter(connections::introduced_at.le(before))
                    .filter(referrals::status.ne_all(closed_statuses()))
                    .select((connections::id, connections::version, connections::introduced_at))
                    .order(connections::introduced_at)
                    .limit(BATCH)
                    .into_boxed();
                due = match step {
                    Step::Remind => due.filter(connections::reminded_at.is_null()),
                    Step::Tell => due.filter(connections::link_worker_told_at.is_null()),
                };
                let due: Vec<(String, i32, Option<NaiveDateTime>)> = due.load(conn)?;
                let mut sent = 0;
                for (id, version, introduced_at) in &due {
                    // The days it has actually waited (more than `waited` after a pause).
                    let waited = introduced_at.map_or(waited, |at| (now - at).num_days());
                    // Marked first, only while still unanswered at that version: another instance
                    // running the job at once (or an answer a moment ago) makes this a no-op.
                    let still = connections::table
                        .filter(connections::id.eq(id))
                        .filter(connections::version.eq(version))
                        .filter(connections::status.eq(ConnectionStatus::Introduced.as_str()));
                    let marked = match step {
                        Step::Remind => diesel::update(still.filter(connections::reminded_at.is_null()))
                            .set(connections::reminded_at.eq(Some(now)))
                            .execute(conn)?,
                        Step::Tell => diesel::update(still.filter(connections::link_worker_told_at.is_null()))
                            .set(connections::link_worker_told_at.eq(Some(now)))
                            .execute(conn)?,
                    };
                    if marked == 1 {
                        sent += match step {
                            Step::Remind => events::introduction_reminder(conn, id, *version, waited)?,
                            Step::Tell => events::introduction_unanswered(conn, id, *version, waited)?,
                        };
                    }
                }
                Ok((due.len(), sent))
            })?;
            queued += sent;
            if seen < BATCH as usize {
                break;
            }
        }
    }
    Ok(queued)
}

/// The demo's introductions are dated in the past, and nobody is told about a demo: every one
/// still unanswered is marked as reminded and the link worker told, without a message.
pub fn settle_demo(conn: &mut DbConnection, since: NaiveDateTime, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        connections::table
            .filter(connections::status.eq(ConnectionStatus::Introduced.as_str()))
            .filter(connections::updated_at.ge(since)),
    )
    .set((connections::reminded_at.eq(Some(now)), connections::link_worker_told_at.eq(Some(now))))
    .execute(conn)
}

/// The day (since last verified) on which reminder `number` of `of` falls due: the last one
/// `every` days before six months, the others `every` days apart before it.
pub fn reminder_day(number: i64, of: i64, every: i64) -> i64 {
    NEEDS_REVIEW_AFTER_DAYS - (of - number + 1) * every
}

/// Where a listing is in its "keeping listings true" cycle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewCycle {
    /// The listing.
    pub service_id: String,
    /// Its name.
    pub name: String,
    /// Its organisation's name.
    pub organisation: String,
    /// Last confirmed accurate.
    pub last_verified: NaiveDateTime,
    /// Reminders sent for this verification.
    pub reminders_sent: i64,
    /// Reminders there are in a cycle.
    pub reminders: i64,
    /// When the last was sent.
    pub last_reminded_at: Option<NaiveDateTime>,
    /// When the next falls due (none once all are sent, or when none are sent for it).
    pub next_reminder_on: Option<NaiveDateTime>,
    /// From when it ranks lower in search (six months unverified).
    pub ranks_lower_on: NaiveDateTime,
    /// From when the public no longer sees it (a year unverified).
    pub hidden_on: NaiveDateTime,
    /// `reminding`, `ranked_lower` or `hidden`.
    pub stage: &'static str,
    /// Nobody is reminded in this cycle (the demo's listings).
    pub skipped: bool,
}

type CycleRow = (String, String, String, NaiveDateTime);

/// Every listing the public may see (approved, running or closed for a while) that is in its
/// cycle at `now`: from its first reminder's day, oldest-verified first, with where it stands.
pub fn review_cycles(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> QueryResult<Vec<ReviewCycle>> {
    let of = settings.notifications.listing_reminders;
    let every = settings.notifications.listing_reminder_days;
    let first_day = if of == 0 { NEEDS_REVIEW_AFTER_DAYS } else { reminder_day(1, of, every) };
    let rows: Vec<CycleRow> = services::table
        .inner_join(crate::db::schema::organizations::table)
        .filter(services::approval.eq(Approval::Approved.as_str()))
        .filter(services::status.eq_any(ListingStatus::SHOWN.map(ListingStatus::as_str)))
        .filter(services::last_verified.le(now - Duration::days(first_day)))
        .order((services::last_verified, services::id))
        .select((services::id, services::name, crate::db::schema::organizations::name, services::last_verified))
        .limit(5000)
        .load(conn)?;
    let mut cycles = Vec::with_capacity(rows.len());
    for (service_id, name, organisation, last_verified) in rows {
        let sent: Vec<(i32, NaiveDateTime)> = listing_reminders::table
            .filter(listing_reminders::service_id.eq(&service_id))
            .filter(listing_reminders::verified_at.eq(last_verified))
            .select((listing_reminders::number, listing_reminders::sent_at))
            .order(listing_reminders::number)
            .load(conn)?;
        let skipped = sent.iter().any(|(n, _)| *n == 0);
        let reminders_sent = sent.iter().filter(|(n, _)| *n > 0).count() as i64;
        let last_reminded_at = sent.iter().filter(|(n, _)| *n > 0).map(|(_, at)| *at).max();
        let next_reminder_on = (!skipped && reminders_sent < of).then(|| {
            let due = last_verified + Duration::days(reminder_day(reminders_sent + 1, of, every));
            // Never sooner than `every` days after the last one.
            last_reminded_at.map_or(due, |at| due.max(at + Duration::days(every)))
        });
        let ranks_lower_on = last_verified + Duration::days(NEEDS_REVIEW_AFTER_DAYS + 1);
        let hidden_on = last_verified + Duration::days(HIDDEN_AFTER_DAYS + 1);
        let stage = if now >= hidden_on {
            "hidden"
        } else if now >= ranks_lower_on {
            "ranked_lower"
        } else {
            "reminding"
        };
        cycles.push(ReviewCycle {
            service_id,
            name,
            organisation,
            last_verified,
            reminders_sent,
            reminders: of,
            last_reminded_at,
            next_reminder_on,
            ranks_lower_on,
            hidden_on,
            stage,
            skipped,
        });
    }
    Ok(cycles)
}

/// The listings job: a listing nearing six months unverified gets up to
/// `COMMONGROUND_LISTING_REMINDERS` reminders to its editors, `COMMONGROUND_LISTING_REMINDER_DAYS`
/// apart, the last that many days before six months; then it ranks lower (its freshness, as
/// search already does) and at a year it is hidden, as before. "Still accurate" starts a new
/// cycle. A hidden listing is not reminded. Returns the messages queued.
pub fn listing_reviews(conn: &mut DbConnection, settings: &Settings, now: NaiveDateTime) -> anyhow::Result<usize> {
    let of = settings.notifications.listing_reminders;
    if of == 0 {
        return Ok(0);
    }
    let mut queued = 0;
    for cycle in review_cycles(conn, settings, now)? {
        let Some(due) = cycle.next_reminder_on else { continue };
        if due > now || cycle.stage == "hidden" {
            continue;
        }
        let number = i32::try_from(cycle.reminders_sent + 1).unwrap_or(i32::MAX);
        queued += db::write(conn, |conn| -> QueryResult<usize> {
            // The claim: of two instances at once, one inserts it; a "still accurate" a moment
            // ago moved last_verified on, so this verification's cycle is over.
            let still: i64 = services::table
                .filter(services::id.eq(&cycle.service_id))
                .filter(services::last_verified.eq(cycle.last_verified))
                .count()
                .get_result(conn)?;
            if still == 0 {
                return Ok(0);
            }
            let claimed = insert_reminder(conn, &cycle.service_id, cycle.last_verified, number, now)?;
            if claimed == 0 {
                return Ok(0);
            }
            events::listing_review(conn, &cycle.service_id, number, of)
        })?;
    }
    Ok(queued)
}

fn insert_reminder(
    conn: &mut DbConnection,
    service_id: &str,
    verified_at: NaiveDateTime,
    number: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let row = (
        listing_reminders::service_id.eq(service_id),
        listing_reminders::verified_at.eq(verified_at),
        listing_reminders::number.eq(number),
        listing_reminders::sent_at.eq(now),
    );
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::insert_into(listing_reminders::table).values(row).on_conflict_do_nothing().execute(c)
        }
        DbConnection::Pg(c) => {
            diesel::insert_into(listing_reminders::table).values(row).on_conflict_do_nothing().execute(c)
        }
    }
}

/// The demo's listings are fictional: their current cycle is marked as one in which nobody is
/// reminded (number 0). A "still accurate" starts a real cycle.
pub fn settle_demo_listings(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    let listings: Vec<(String, NaiveDateTime)> =
        services::table.select((services::id, services::last_verified)).load(conn)?;
    let mut settled = 0;
    for (id, verified_at) in listings {
        settled += insert_reminder(conn, &id, verified_at, 0, now)?;
    }
    Ok(settled)
}

/// When the day-before reminder of a meeting at `at` (UK time, as booked) falls due: 08:00 UTC
/// (08:00 or 09:00 in the UK) on the day before. A meeting booked later than that is reminded
/// at once.
pub fn meeting_reminder_due(at: NaiveDateTime) -> NaiveDateTime {
    (at.date() - Duration::days(1)).and_hms_opt(8, 0, 0).unwrap_or(at)
}

/// The meetings job: the person is reminded of their booked meeting the day before, once, only
/// with their consent and by their channel (none is queued otherwise, and the meeting is still
/// marked). Not for closed referrals, nor meetings already past. Returns the messages queued.
pub fn meeting_reminders(conn: &mut DbConnection, _settings: &Settings, now: NaiveDateTime) -> anyhow::Result<usize> {
    use crate::db::schema::referral_meetings;
    // Candidates: not yet reminded, still ahead, within two days.
    let due: Vec<(String, NaiveDateTime, String)> = referral_meetings::table
        .inner_join(referrals::table.on(referrals::id.eq(referral_meetings::referral_id)))
        .filter(referral_meetings::reminded_at.is_null())
        .filter(referral_meetings::at.gt(now))
        .filter(referral_meetings::at.le(now + Duration::days(2)))
        .filter(referrals::status.ne_all(closed_statuses()))
        .select((referral_meetings::referral_id, referral_meetings::at, referral_meetings::place))
        .load(conn)?;
    let mut queued = 0;
    for (referral_id, at, place) in due {
        if meeting_reminder_due(at) > now {
            continue;
        }
        queued += db::write(conn, |conn| -> QueryResult<usize> {
            // The claim: still this meeting, still not reminded.
            let marked = diesel::update(
                referral_meetings::table
                    .filter(referral_meetings::referral_id.eq(&referral_id))
                    .filter(referral_meetings::at.eq(at))
                    .filter(referral_meetings::reminded_at.is_null()),
            )
            .set(referral_meetings::reminded_at.eq(Some(now)))
            .execute(conn)?;
            if marked == 0 {
                return Ok(0);
            }
            events::meeting_reminder(conn, &referral_id, at, &place)
        })?;
    }
    Ok(queued)
}

/// From when in the day (UTC) the digest is sent.
const DIGEST_FROM_HOUR: u32 = 7;

/// The digest job: each morning (from 07:00 UTC), every active link worker who has not turned
/// it off gets one e-mail listing what needs attention in their caseload: their open referrals
/// needing attention (as the caseload's "needs attention" says: not contacted in time, review
/// due), their introductions waiting for a group's answer past `COMMONGROUND_INTRODUCTION_DAYS`,
/// and how many new referrals wait for their service. Nothing is sent when nothing needs
/// attention. One a day (its key names the day). Returns the messages queued.
pub fn link_worker_digests(conn: &mut DbConnection, settings: &Settings, now: NaiveDateTime) -> anyhow::Result<usize> {
    use crate::db::schema::users;
    use crate::notifications::{preferences, Template};
    use crate::referrals::model::ReferralRow;
    use crate::referrals::view::attention;
    use chrono::Timelike;
    if now.hour() < DIGEST_FROM_HOUR {
        return Ok(0);
    }
    let rules = settings.thresholds();
    let workers: Vec<(String, String, String)> = users::table
        .filter(users::role.eq_any(["link_worker", "link_worker_lead"]))
        .filter(users::status.eq("active"))
        .select((users::id, users::email, users::organization_id))
        .order(users::id)
        .load(conn)?;
    let mut queued = 0;
    for (user_id, email, service_id) in workers {
        if preferences::turned_off(conn, &user_id, Template::LinkWorkerDigest)? {
            continue;
        }
        let open: Vec<ReferralRow> = referrals::table
            .filter(referrals::owner_id.eq(&user_id))
            .filter(referrals::service_id.eq(&service_id))
            .filter(referrals::status.ne_all(closed_statuses()))
            .select(ReferralRow::as_select())
            .order(referrals::created_at)
            .load(conn)?;
        let mut items: Vec<(String, String)> =
            open.iter().filter_map(|row| attention(row, now, &rules).map(|why| (row.id.clone(), why))).collect();
        let unanswered: Vec<(String, String)> = connections::table
            .inner_join(services::table)
            .filter(connections::referral_id.eq_any(open.iter().map(|r| r.id.clone()).collect::<Vec<_>>()))
            .filter(connections::status.eq(ConnectionStatus::Introduced.as_str()))
            .filter(connections::introduced_at.le(now - Duration::days(rules.introduction_days)))
            .select((connections::referral_id, services::name))
            .load(conn)?;
        items.extend(
            unanswered.into_iter().map(|(id, group)| (id, format!("{group} has not answered the introduction"))),
        );
        let waiting: i64 = referrals::table
            .filter(referrals::service_id.eq(&service_id))
            .filter(referrals::status.eq(ReferralStatus::Received.as_str()))
            .count()
            .get_result(conn)?;
        if items.is_empty() && waiting == 0 {
            continue;
        }
        queued += db::write(conn, |conn| {
            events::link_worker_digest(conn, &user_id, &email, now.date(), &items, waiting as usize)
        })?;
    }
    Ok(queued)
}

/// Notify's final states, and what admins are told of each failure.
fn notify_outcome(status: &str) -> Option<Result<(), &'static str>> {
    match status {
        "delivered" => Some(Ok(())),
        "permanent-failure" => {
            Some(Err("Notify: permanent failure (the address or number does not exist or is blocked)"))
        }
        "temporary-failure" => Some(Err("Notify: temporary failure (inbox full or phone off for 72 hours); not sent")),
        "technical-failure" => Some(Err("Notify: technical failure; not sent")),
        _ => None,
    }
}

/// The Notify status job (only when Notify is the transport): for messages Notify accepted in
/// the last three days and has not yet settled, asks Notify how each went. `delivered` records
/// when; a permanent, temporary or technical failure turns the row `gave_up` with Notify's
/// reason, which admins see. A status still in progress leaves the row for the next run.
/// Returns the rows settled; an answer from Notify other than a status fails the run (nothing
/// is changed for that row), so admins see it in the log.
pub fn notify_statuses(conn: &mut DbConnection, settings: &Settings, now: NaiveDateTime) -> anyhow::Result<usize> {
    use crate::config::notifications::TransportKind;
    use crate::db::schema::notifications;
    use crate::notifications::{status, transport::notify::NotifyClient};
    if settings.notifications.transport() != TransportKind::Notify {
        return Ok(0);
    }
    let client = NotifyClient::new(&settings.notifications)?;
    let rows: Vec<(String, Option<String>)> = notifications::table
        .filter(notifications::status.eq(status::SENT))
        .filter(notifications::delivered_at.is_null())
        .filter(notifications::provider_id.is_not_null())
        .filter(notifications::sent_at.ge(now - Duration::days(3)))
        .select((notifications::id, notifications::provider_id))
        .order(notifications::sent_at)
        .limit(500)
        .load(conn)?;
    let mut settled = 0;
    for (id, provider_id) in rows {
        let Some(provider_id) = provider_id else { continue };
        let found = client.status(&provider_id).map_err(|e| anyhow::anyhow!(e))?;
        let Some(outcome) = found.as_deref().and_then(notify_outcome) else { continue };
        let row = notifications::table.filter(notifications::id.eq(&id)).filter(notifications::status.eq(status::SENT));
        settled += match outcome {
            Ok(()) => diesel::update(row)
                .set((notifications::delivered_at.eq(Some(now)), notifications::updated_at.eq(now)))
                .execute(conn)?,
            Err(reason) => diesel::update(row)
                .set((
                    notifications::status.eq(status::GAVE_UP),
                    notifications::last_error.eq(Some(reason)),
                    notifications::updated_at.eq(now),
                ))
                .execute(conn)?,
        };
    }
    Ok(settled)
}
