//! Retention: a closed referral whose retention period has ended loses all personal data but
//! keeps what reports count ([`crate::data_rights::anonymise`]); the audit trail keeps its rows
//! as they are (they hold no personal data) and gains one `retention.anonymise` row per referral.
//!
//! The period (see [`RetentionSettings`]) runs from the day the referral closed (its last move
//! to a closing status): `years` after it, and for someone under 18 then, at least until their
//! `child_until_age` birthday (one more if they were 17). Each referral is anonymised in its own
//! transaction, so a run stopped half-way (a crash, a fault) leaves each referral either done or
//! untouched, and the next run carries on with those left.
//!
//! Run by `commonground retention [--dry-run]` and, every `interval_hours`, by the server's
//! scheduler ([`scheduled`], one of [`crate::scheduler::JOBS`]).

use std::io::Write;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::audit::{self, Event};
pub use crate::config::retention::RetentionSettings;
use crate::db::schema::{referral_anonymisations, referral_events, referrals};
use crate::db::{self, DbConnection};
use crate::domain::ReferralStatus;

/// A referral whose retention period has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Its id.
    pub id: String,
    /// How it ended.
    pub status: String,
    /// The day it closed.
    pub closed_on: NaiveDate,
    /// The day its period ended.
    pub due_on: NaiveDate,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Referrals whose period has ended (before the run).
    pub due: usize,
    /// Anonymised by this run (none on a dry run).
    pub anonymised: usize,
    /// Could not be anonymised this time (left untouched; the next run tries again).
    pub failed: usize,
}

fn years_after(day: NaiveDate, years: i64) -> NaiveDate {
    day.checked_add_months(Months::new((years.max(0) * 12) as u32)).unwrap_or(NaiveDate::MAX)
}

/// The day a referral's personal data may be removed.
pub fn due_on(settings: &RetentionSettings, closed_on: NaiveDate, born: NaiveDate) -> NaiveDate {
    let mut age = closed_on.year() - born.year();
    if (closed_on.month(), closed_on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    let adult = years_after(closed_on, settings.years);
    if i64::from(age) >= 18 {
        return adult;
    }
    let birthday = settings.child_until_age + i64::from(age == 17);
    adult.max(years_after(born, birthday))
}

const CLOSED: [ReferralStatus; 6] = [
    ReferralStatus::Rejected,
    ReferralStatus::UnableToContact,
    ReferralStatus::Completed,
    ReferralStatus::Declined,
    ReferralStatus::Cancelled,
    ReferralStatus::EnteredInError,
];

/// Closed referrals not yet anonymised whose period has ended by `now`, oldest first.
pub fn due(conn: &mut DbConnection, settings: &RetentionSettings, now: NaiveDateTime) -> QueryResult<Vec<Due>> {
    let closed: Vec<&str> = CLOSED.iter().map(|s| s.as_str()).collect();
    let rows: Vec<(String, String, NaiveDate, NaiveDateTime)> = referrals::table
        .filter(referrals::status.eq_any(&closed))
        .filter(diesel::dsl::not(
            referrals::id.eq_any(referral_anonymisations::table.select(referral_anonymisations::referral_id)),
        ))
        .select((referrals::id, referrals::status, referrals::date_of_birth, referrals::updated_at))
        .load(conn)?;
    let mut list = Vec::new();
    for (id, status, born, updated) in rows {
        let closed_at: Option<NaiveDateTime> = referral_events::table
            .filter(referral_events::referral_id.eq(&id))
            .filter(referral_events::to_status.eq(&status))
            .select(diesel::dsl::max(referral_events::at))
            .first(conn)?;
        let closed_on = closed_at.unwrap_or(updated).date();
        let due_on = due_on(settings, closed_on, born);
        if due_on <= now.date() {
            list.push(Due { id, status, closed_on, due_on });
        }
    }
    list.sort_by(|a, b| (a.due_on, &a.id).cmp(&(b.due_on, &b.id)));
    Ok(list)
}

/// Anonymises one due referral in its own transaction, with its audit row.
pub fn anonymise_one(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    db::write(conn, |conn| {
        let done = crate::data_rights::anonymise::anonymise(conn, id, "retention", now)?;
        if done {
            audit::record(
                conn,
                &Event { action: "retention.anonymise", outcome: "ok", ..Default::default() }.on("referral", id),
            )?;
        }
        Ok(done)
    })
}

/// Lists (dry run) or anonymises what is due, writing progress to `out`: a line per referral
/// (its id, how it ended, when it closed and when its period ended; never personal data) and a
/// closing count. A referral that fails is left untouched and counted; the run goes on. An
/// error writing progress stops the run where it is (everything done so far stays done).
pub fn run(
    conn: &mut DbConnection,
    settings: &RetentionSettings,
    now: NaiveDateTime,
    dry_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Summary> {
    let list = due(conn, settings, now)?;
    let mut summary = Summary { due: list.len(), ..Summary::default() };
    writeln!(
        out,
        "{} closed referral(s) past their retention period ({} years; children until {}){}",
        list.len(),
        settings.years,
        settings.child_until_age,
        if dry_run { ": would anonymise" } else { "" }
    )?;
    for (n, due) in list.iter().enumerate() {
        let position = format!("[{}/{}]", n + 1, list.len());
        let about = format!("referral {} ({}, closed {}, due {})", due.id, due.status, due.closed_on, due.due_on);
        if dry_run {
            writeln!(out, "{position} would anonymise {about}")?;
            continue;
        }
        match anonymise_one(conn, &due.id, now) {
            Ok(_) => {
                summary.anonymised += 1;
                writeln!(out, "{position} anonymised {about}")?;
            }
            Err(error) => {
                summary.failed += 1;
                tracing::warn!(referral = %due.id, %error, "retention: could not anonymise a referral; left untouched");
                writeln!(out, "{position} FAILED {about}: left untouched, the next run tries again")?;
            }
        }
    }
    if dry_run {
        writeln!(out, "Dry run: nothing changed.")?;
    } else {
        writeln!(out, "Done: {} anonymised, {} failed.", summary.anonymised, summary.failed)?;
    }
    Ok(summary)
}

/// The scheduled job ([`crate::scheduler::JOBS`]): one run over what is due at `now`; off when
/// `interval_hours` is 0. Returns how many referrals were anonymised.
pub fn scheduled(
    conn: &mut DbConnection,
    settings: &crate::config::Settings,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    if settings.retention.interval_hours == 0 {
        return Ok(0);
    }
    let summary = run(conn, &settings.retention, now, false, &mut std::io::sink())?;
    if summary.failed > 0 {
        anyhow::bail!("{} referral(s) could not be anonymised; they are tried again at the next run", summary.failed);
    }
    Ok(summary.anonymised)
}

/// How often the scheduler runs retention: every `interval_hours` (0: never).
pub fn every_seconds(settings: &crate::config::Settings) -> u64 {
    settings.retention.interval_hours * 3600
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn adults_eight_years_after_closing_children_until_25_or_26() {
        let s = RetentionSettings::default();
        assert_eq!(due_on(&s, d(2020, 5, 1), d(1950, 1, 1)), d(2028, 5, 1));
        // 10 when the referral closed: until 25 (2035), longer than 8 years (2028).
        assert_eq!(due_on(&s, d(2020, 5, 1), d(2010, 1, 1)), d(2035, 1, 1));
        // 17 when it closed: until 26.
        assert_eq!(due_on(&s, d(2020, 5, 1), d(2003, 1, 1)), d(2029, 1, 1));
        // 16: until 25 (2029) vs 8 years (2028).
        assert_eq!(due_on(&s, d(2020, 5, 1), d(2004, 1, 1)), d(2029, 1, 1));
        let short = RetentionSettings { years: 1, ..s };
        assert_eq!(due_on(&short, d(2020, 2, 29), d(1950, 1, 1)), d(2021, 2, 28));
    }
}
