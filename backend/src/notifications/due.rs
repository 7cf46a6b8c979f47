//! Time-driven messages: jobs the [`scheduler`](crate::scheduler) runs, each queuing what has
//! fallen due by `now`. A job marks what it has dealt with in the same transaction as the
//! messages it queues, and every message has an idempotency key, so a job run twice, on two
//! instances at once or again after a crash, queues each message once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::events;
use crate::config::Settings;
use crate::db::schema::{connections, referrals};
use crate::db::{self, DbConnection};
use crate::domain::connection_status::ConnectionStatus;
use crate::domain::referral_status::ReferralStatus;

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
pub fn introduction_reminders(conn: &mut DbConnection, settings: &Settings, now: NaiveDateTime) -> anyhow::Result<usize> {
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
