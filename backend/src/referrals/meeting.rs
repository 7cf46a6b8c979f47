//! The next meeting: the link worker books a time and place with the person on the referral
//! (one at a time; booking again replaces it, and it can be called off). The day before, the
//! person is reminded by the scheduler's `meeting_reminders` job, only with their consent and
//! by the channel they chose (see `notifications::events::person_channel`).

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{load_workable, text_field};
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::referral_meetings;
use crate::db::{self, DbConnection};
use crate::domain::referral_status::ReferralStatus;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::ReferralId;
use crate::notifications::{events, Channel};

/// A meeting to book, as sent by the page or the API.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingBooking {
    /// When, UK time: `2027-03-02T10:00` (as a date-time field sends it).
    #[serde(default)]
    pub at: String,
    /// Where: a place, or "phone call".
    #[serde(default)]
    pub place: String,
    /// Call the booked meeting off instead (`true`).
    #[serde(default)]
    pub cancel: Option<String>,
}

/// The booked meeting as the referral shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingView {
    /// When (UK time, as booked).
    pub at: NaiveDateTime,
    /// Where.
    pub place: String,
    /// When the person was reminded, if they were.
    pub reminded_at: Option<NaiveDateTime>,
    /// How the person will be reminded the day before (`email`, `sms`), or none (no consent
    /// to contact them, "do not contact directly", or they chose phone or letter).
    pub reminder_by: Option<Channel>,
}

/// The longest ahead a meeting may be booked.
const MAX_AHEAD_DAYS: i64 = 366;

fn parse_at(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text.trim(), format).ok())
}

/// The referral's booked meeting, if any.
pub fn next(conn: &mut DbConnection, referral_id: &str) -> QueryResult<Option<MeetingView>> {
    let row: Option<(NaiveDateTime, String, Option<NaiveDateTime>)> = referral_meetings::table
        .find(referral_id)
        .select((referral_meetings::at, referral_meetings::place, referral_meetings::reminded_at))
        .first(conn)
        .optional()?;
    let Some((at, place, reminded_at)) = row else { return Ok(None) };
    Ok(Some(MeetingView { at, place, reminded_at, reminder_by: events::person_reachable(conn, referral_id)? }))
}

/// Books (or replaces, or calls off) the next meeting; the link workers of the referral's
/// service, while the referral is open. Audited.
pub fn book(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    booking: &MeetingBooking,
    ip: Option<&str>,
) -> Result<Option<MeetingView>, AppError> {
    let referral_id = id.as_str();
    let row = load_workable(conn, user, referral_id)?;
    if ReferralStatus::parse(&row.status).is_none_or(ReferralStatus::is_terminal) {
        return Err(AppError::Conflict {
            message: "this referral is closed: there is no next meeting to book".into(),
            allowed: Vec::new(),
        });
    }
    let now = Utc::now().naive_utc();
    let cancel = match booking.cancel.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::invalid("cancel", "true to call the meeting off")),
    };
    if cancel {
        db::write(conn, |conn| -> Result<(), AppError> {
            diesel::delete(referral_meetings::table.find(referral_id)).execute(conn)?;
            audit::record(
                conn,
                &Event::by(user, "referral.meeting", ip).on("referral", referral_id).detail("cancelled"),
            )?;
            Ok(())
        })?;
        return Ok(None);
    }
    let mut errors = FieldErrors::new();
    let at = match booking.at.trim() {
        "" => {
            errors.insert("at".into(), "say when: a date and a time".into());
            None
        }
        text => match parse_at(text) {
            None => {
                errors.insert("at".into(), "a date and time such as 2027-03-02T10:00".into());
                None
            }
            Some(at) if at <= now => {
                errors.insert("at".into(), "the meeting must be in the future".into());
                None
            }
            Some(at) if at > now + Duration::days(MAX_AHEAD_DAYS) => {
                errors.insert("at".into(), "at most a year ahead".into());
                None
            }
            Some(at) => Some(at),
        },
    };
    let place = text_field(&mut errors, "place", Some(&booking.place), true, 200);
    let (Some(at), Some(place), true) = (at, place, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::delete(referral_meetings::table.find(referral_id)).execute(conn)?;
        diesel::insert_into(referral_meetings::table)
            .values((
                referral_meetings::referral_id.eq(referral_id),
                referral_meetings::at.eq(at),
                referral_meetings::place.eq(&place),
                referral_meetings::booked_by.eq(&user.id),
                referral_meetings::booked_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.meeting", ip).on("referral", referral_id).detail("booked"))?;
        Ok(())
    })?;
    Ok(next(conn, referral_id)?)
}
