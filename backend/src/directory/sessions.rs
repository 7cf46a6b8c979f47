//! A listing's sessions as its editors send them ("every Tuesday 10:00-12:00", "2nd Thursday
//! of the month", with notes and dates), checked into rules and stored; for a new listing and
//! for replacing a listing's sessions alike.

use diesel::prelude::*;
use serde::Deserialize;

use crate::db::schema::schedules;
use crate::db::DbConnection;
use crate::domain::schedule::{Schedule, ValidDates};
use crate::domain::FieldErrors;

/// A session, as the friendly editor sends it: "every Tuesday 10:00-12:00" is
/// `{freq: weekly, days: [TU], opens_at: "10:00", closes_at: "12:00"}`; "2nd Thursday of the
/// month" adds `week_of_month: [2]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// `weekly` or `monthly`.
    pub freq: String,
    /// `MO`..`SU`.
    pub days: Vec<String>,
    /// For monthly sessions: 1-4, or -1 for the last.
    #[serde(default)]
    pub week_of_month: Vec<i8>,
    /// `HH:MM`.
    pub opens_at: String,
    /// `HH:MM`, after opening.
    pub closes_at: String,
    /// "Term time only", "Not in August".
    pub notes: Option<String>,
    /// The first date it runs (`YYYY-MM-DD`; none or empty: no start date).
    #[serde(default)]
    pub valid_from: Option<String>,
    /// The last date it runs (`YYYY-MM-DD`, not before `valid_from`; none or empty: no end).
    #[serde(default)]
    pub valid_to: Option<String>,
}

/// Most sessions a listing may have: a group meets a handful of times a week at most.
const MAX_SESSIONS: usize = 20;

/// A session that passed its checks, ready to store.
#[derive(Debug)]
pub struct CheckedSession {
    freq: String,
    byday: String,
    week_of_month: Option<String>,
    opens_at: String,
    closes_at: String,
    notes: Option<String>,
    valid: ValidDates,
    /// In plain words ("Every Tuesday, 10:00 to 12:00", with its dates when it has any).
    pub description: String,
}

/// A session as a listing's history records it: its plain words (with its dates), and its
/// notes in brackets, so changing only the notes or the dates is a change too.
pub fn session_line(description: &str, notes: Option<&str>) -> String {
    match notes {
        Some(notes) => format!("{description} ({notes})"),
        None => description.to_string(),
    }
}

impl CheckedSession {
    /// How the listing's history records it ([`session_line`]).
    pub fn line(&self) -> String {
        session_line(&self.description, self.notes.as_deref())
    }
}

/// Checks sessions for a new listing or a replacement (closing after opening, no "5th Tuesday",
/// dates written `YYYY-MM-DD` with the last not before the first, at most 20, notes of at most
/// 200 characters); errors are named `sessions[i]`.
pub fn check_sessions(sessions: &[NewSession], errors: &mut FieldErrors) -> Vec<CheckedSession> {
    if sessions.len() > MAX_SESSIONS {
        errors.insert("sessions".into(), format!("at most {MAX_SESSIONS} sessions"));
        return Vec::new();
    }
    let mut checked = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let freq = s.freq.to_ascii_uppercase();
        let byday = s.days.join(",");
        let weeks = (!s.week_of_month.is_empty())
            .then(|| s.week_of_month.iter().map(i8::to_string).collect::<Vec<_>>().join(","));
        let notes = s.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        if notes.as_deref().is_some_and(|n| n.chars().count() > 200) {
            errors.insert(format!("sessions[{i}]"), "notes: at most 200 characters".into());
            continue;
        }
        let checked_schedule =
            Schedule::parse(&freq, &byday, weeks.as_deref(), &s.opens_at, &s.closes_at).and_then(|schedule| {
                ValidDates::parse(s.valid_from.as_deref(), s.valid_to.as_deref()).map(|dates| schedule.between(dates))
            });
        match checked_schedule {
            Ok(schedule) => checked.push(CheckedSession {
                description: schedule.describe(),
                freq,
                byday,
                week_of_month: weeks,
                opens_at: s.opens_at.trim().to_string(),
                closes_at: s.closes_at.trim().to_string(),
                notes,
                valid: schedule.valid,
            }),
            Err(e) => {
                errors.insert(format!("sessions[{i}]"), e.to_string());
            }
        }
    }
    checked
}

/// Stores checked sessions for a listing (inside the caller's transaction; at most 20 rows, one
/// statement each: diesel's batch insert is not available over the two-engine connection).
pub fn insert_sessions(conn: &mut DbConnection, service_id: &str, sessions: &[CheckedSession]) -> QueryResult<()> {
    for s in sessions {
        diesel::insert_into(schedules::table)
            .values((
                schedules::id.eq(crate::ids::new_id()),
                schedules::service_id.eq(service_id),
                schedules::freq.eq(&s.freq),
                schedules::byday.eq(&s.byday),
                schedules::week_of_month.eq(&s.week_of_month),
                schedules::opens_at.eq(&s.opens_at),
                schedules::closes_at.eq(&s.closes_at),
                schedules::notes.eq(&s.notes),
                schedules::valid_from.eq(s.valid.from),
                schedules::valid_to.eq(s.valid.to),
            ))
            .execute(conn)?;
    }
    Ok(())
}
