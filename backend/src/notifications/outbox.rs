//! The delivery side of the outbox table: claiming due rows and recording what happened.
//!
//! A claim is one statement that moves rows to `sending`, counts the attempt and sets a lease,
//! so two workers (two instances over one PostgreSQL) never take the same row: PostgreSQL
//! picks the rows with `FOR UPDATE SKIP LOCKED`, and SQLite's write transaction
//! (`BEGIN IMMEDIATE`) already admits one writer at a time. A row left `sending` by a worker
//! that died is taken again once its lease has lapsed.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::status;
use crate::db::schema::notifications;
use crate::db::{self, DbConnection};

/// A claimed row.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    /// Id.
    #[diesel(sql_type = Text)]
    pub id: String,
    /// Idempotency key.
    #[diesel(sql_type = Text)]
    pub idempotency_key: String,
    /// Channel.
    #[diesel(sql_type = Text)]
    pub channel: String,
    /// Address or number.
    #[diesel(sql_type = Text)]
    pub recipient: String,
    /// Template name.
    #[diesel(sql_type = Text)]
    pub template: String,
    /// Values, JSON.
    #[diesel(sql_type = Text)]
    pub personalisation: String,
    /// Attempts, this one included.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

const CLAIM_WHERE: &str = "(status IN ('queued', 'failed') AND next_attempt_at <= $1) \
     OR (status = 'sending' AND lease_until < $1)";

/// Claims up to `limit` due rows for `lease` (their attempt is counted now, so a row whose
/// sending keeps killing the worker still reaches its last attempt).
pub fn claim(conn: &mut DbConnection, limit: i64, lease: Duration) -> QueryResult<Vec<Claimed>> {
    let now = Utc::now().naive_utc();
    let until = now + lease;
    let returning = "RETURNING id, idempotency_key, channel, recipient, template, personalisation, attempts";
    db::write(conn, |conn| match conn {
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "UPDATE notifications SET status = 'sending', attempts = attempts + 1, lease_until = $2, updated_at = $1 \
             WHERE id IN (SELECT id FROM notifications WHERE {CLAIM_WHERE} \
                          ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) {returning}"
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(until)
        .bind::<BigInt, _>(limit)
        .load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "UPDATE notifications SET status = 'sending', attempts = attempts + 1, lease_until = ?2, updated_at = ?1 \
             WHERE id IN (SELECT id FROM notifications WHERE {} ORDER BY next_attempt_at LIMIT ?3) {returning}",
            CLAIM_WHERE.replace("$1", "?1")
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(until)
        .bind::<BigInt, _>(limit)
        .load(c),
    })
}

/// Drops messages queued since `since` and not yet sent (the demo seed's: nobody is told
/// about a demo referral).
pub fn forget_queued_since(conn: &mut DbConnection, since: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        notifications::table
            .filter(notifications::status.eq(status::QUEUED))
            .filter(notifications::created_at.ge(since)),
    )
    .execute(conn)
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Accepted by the transport (with its id for the message, if any).
    Sent(Option<String>),
    /// Try again at this time.
    Retry {
        /// Why it failed.
        error: String,
        /// When to try next.
        at: NaiveDateTime,
    },
    /// Not tried again.
    GaveUp(String),
}

/// Records outcomes, all in one transaction (one commit, one sync to disk, per batch). Only a
/// row still `sending` is changed: a row whose lease lapsed and that another worker took over
/// is that worker's to record.
pub fn record(conn: &mut DbConnection, outcomes: &[(String, Outcome)]) -> QueryResult<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| {
        for (id, outcome) in outcomes {
            let row =
                notifications::table.filter(notifications::id.eq(id)).filter(notifications::status.eq(status::SENDING));
            match outcome {
                Outcome::Sent(provider_id) => diesel::update(row)
                    .set((
                        notifications::status.eq(status::SENT),
                        notifications::provider_id.eq(provider_id),
                        notifications::last_error.eq(None::<String>),
                        notifications::lease_until.eq(None::<NaiveDateTime>),
                        notifications::sent_at.eq(Some(now)),
                        notifications::updated_at.eq(now),
                    ))
                    .execute(conn)?,
                Outcome::Retry { error, at } => diesel::update(row)
                    .set((
                        notifications::status.eq(status::FAILED),
                        notifications::last_error.eq(Some(error)),
                        notifications::next_attempt_at.eq(at),
                        notifications::lease_until.eq(None::<NaiveDateTime>),
                        notifications::updated_at.eq(now),
                    ))
                    .execute(conn)?,
                Outcome::GaveUp(error) => diesel::update(row)
                    .set((
                        notifications::status.eq(status::GAVE_UP),
                        notifications::last_error.eq(Some(error)),
                        notifications::lease_until.eq(None::<NaiveDateTime>),
                        notifications::updated_at.eq(now),
                    ))
                    .execute(conn)?,
            };
        }
        Ok(())
    })
}

/// The delay before attempt `attempts + 1`: `base` doubled for each attempt made after the
/// first, at most an hour, with up to a tenth added at random so instances that failed
/// together do not all come back at the same moment.
pub fn backoff(base_ms: i64, attempts: i32) -> Duration {
    let doubled = base_ms.saturating_mul(1_i64 << attempts.clamp(1, 20).saturating_sub(1));
    let capped = doubled.min(3_600_000);
    let jitter = i64::from(crate::accounts::secrets::random_bytes::<1>()[0]) * capped / 2550;
    Duration::milliseconds(capped + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let ms = |a| backoff(1_000, a).num_milliseconds();
        assert!((1_000..=1_100).contains(&ms(1)));
        assert!((2_000..=2_200).contains(&ms(2)));
        assert!((8_000..=8_800).contains(&ms(4)));
        assert!((3_600_000..=3_960_000).contains(&ms(30)));
    }
}
