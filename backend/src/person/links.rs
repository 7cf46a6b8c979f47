//! The link to a person's own page: made by their link worker with their consent, sent by the
//! channel they chose or printed on their plan as a short code and a QR code.
//!
//! The code is twelve letters and digits (`K7P2-9XQM-3RTA`, 60 bits) derived from the link's row
//! id with the server's key; only its SHA-256 is stored, so nobody who reads the database (or
//! the outbox, which holds the row id) holds a working link. Printed codes are read back by
//! people: case, spaces and dashes do not matter, and 0, 1 and 8 read as O, I and B.
//!
//! A link works until it expires (`COMMONGROUND_PERSON_LINK_DAYS`, 90 by default), is revoked,
//! or is locked by five wrong dates of birth; a new link for the referral revokes the old one.

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use data_encoding::BASE32_NOPAD;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::audit::{self, Event};
use crate::accounts::secrets::{hmac, token_hash};
use crate::accounts::CurrentUser;
use crate::db::schema::{person_links, referrals};
use crate::db::{self, DbConnection};
use crate::error::AppError;
use crate::ids::ReferralId;
use crate::referrals::load_workable;

/// Wrong dates of birth after which a link is locked.
pub const MAX_WRONG_BIRTH_DATES: i32 = 5;

/// The code people see, for a link's row id.
pub fn code_for(key: &[u8; 32], link_id: &str) -> String {
    let mac = hmac(key, format!("person link {link_id}").as_bytes());
    let letters = BASE32_NOPAD.encode(&mac);
    format!("{}-{}-{}", &letters[0..4], &letters[4..8], &letters[8..12])
}

/// A code as typed or scanned, in its stored form: twelve base32 characters, or `None` when it
/// cannot be one.
pub fn normalise(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}'..='\u{2015}'))
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' => 'I',
            '8' => 'B',
            other => other,
        })
        .collect();
    let base32 = |c: char| c.is_ascii_uppercase() || ('2'..='7').contains(&c);
    (letters.len() == 12 && letters.chars().all(base32)).then_some(letters)
}

fn code_hash(normalised: &str) -> String {
    token_hash(&format!("person link code {normalised}"))
}

/// A link as its referral's page shows it to the link worker.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    /// Row id.
    pub id: String,
    /// Made at.
    pub created_at: NaiveDateTime,
    /// Works until.
    pub expires_at: NaiveDateTime,
    /// Revoked at.
    pub revoked_at: Option<NaiveDateTime>,
    /// Locked (too many wrong dates of birth) at.
    pub locked_at: Option<NaiveDateTime>,
    /// Whether it works now.
    pub live: bool,
}

type LinkRow = (String, NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>);

fn view((id, created_at, expires_at, revoked_at, locked_at): LinkRow, now: NaiveDateTime) -> LinkView {
    LinkView {
        live: revoked_at.is_none() && locked_at.is_none() && expires_at > now,
        id,
        created_at,
        expires_at,
        revoked_at,
        locked_at,
    }
}

/// The referral's latest link, if one was made.
pub fn latest(conn: &mut DbConnection, referral_id: &str) -> QueryResult<Option<LinkView>> {
    let row: Option<LinkRow> = person_links::table
        .filter(person_links::referral_id.eq(referral_id))
        .order(person_links::created_at.desc())
        .select((
            person_links::id,
            person_links::created_at,
            person_links::expires_at,
            person_links::revoked_at,
            person_links::locked_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|r| view(r, Utc::now().naive_utc())))
}

/// The link worker's request for a link.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// The person agreed to have a page of their own (required).
    #[serde(default)]
    pub consent: bool,
    /// Send it to them by the channel they chose (else it is only shown, to print or read out).
    #[serde(default)]
    pub send: bool,
}

/// A link just made: the only time its code is shown.
#[derive(Debug, Clone, Serialize)]
pub struct MadeLink {
    /// Row id.
    pub id: String,
    /// The code, `XXXX-XXXX-XXXX`.
    pub code: String,
    /// The page's path, `/my-page/{code}`.
    pub path: String,
    /// Works until.
    pub expires_at: NaiveDateTime,
    /// Whether a message with the link was queued to the person.
    pub sent: bool,
}

/// Makes a link for the person of a referral the caller works on (revoking any earlier one) and,
/// when asked, queues it to the person by their chosen channel.
pub fn create(
    conn: &mut DbConnection,
    user: &CurrentUser,
    referral_id: &ReferralId,
    new: &NewLink,
    key: &[u8; 32],
    days: i64,
    ip: Option<&str>,
) -> Result<MadeLink, AppError> {
    let referral_id = referral_id.as_str();
    let row = load_workable(conn, user, referral_id)?;
    if !new.consent {
        return Err(AppError::invalid(
            "consent",
            "Ask the person first: tick to say they agreed to have their own page",
        ));
    }
    let status = crate::domain::ReferralStatus::parse(&row.status);
    if status.is_some_and(|s| s.is_terminal()) {
        return Err(AppError::Conflict {
            message: "This referral is closed: a page of their own is for people the service is still supporting"
                .into(),
            allowed: Vec::new(),
        });
    }
    let id = crate::ids::new_id();
    let code = code_for(key, &id);
    let now = Utc::now().naive_utc();
    let expires_at = now + Duration::days(days);
    let sent = db::write(conn, |conn| -> Result<bool, AppError> {
        diesel::update(
            person_links::table
                .filter(person_links::referral_id.eq(referral_id))
                .filter(person_links::revoked_at.is_null()),
        )
        .set(person_links::revoked_at.eq(Some(now)))
        .execute(conn)?;
        diesel::insert_into(person_links::table)
            .values((
                person_links::id.eq(&id),
                person_links::referral_id.eq(referral_id),
                person_links::code_hash.eq(code_hash(&normalise(&code).unwrap_or_default())),
                person_links::created_by.eq(&user.id),
                person_links::created_at.eq(now),
                person_links::expires_at.eq(expires_at),
                person_links::failed_birth_dates.eq(0),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "person_link.create", ip).on("referral", referral_id))?;
        let sent = new.send && crate::notifications::events::person_page(conn, referral_id, &id)?;
        Ok(sent)
    })?;
    Ok(MadeLink { path: format!("/my-page/{code}"), id, code, expires_at, sent })
}

/// Revokes the referral's links: the page stops opening at once.
pub fn revoke(
    conn: &mut DbConnection,
    user: &CurrentUser,
    referral_id: &ReferralId,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let referral_id = referral_id.as_str();
    load_workable(conn, user, referral_id)?;
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::update(
            person_links::table
                .filter(person_links::referral_id.eq(referral_id))
                .filter(person_links::revoked_at.is_null()),
        )
        .set(person_links::revoked_at.eq(Some(now)))
        .execute(conn)?;
        audit::record(conn, &Event::by(user, "person_link.revoke", ip).on("referral", referral_id))?;
        Ok(())
    })
}

/// A link that opened: whose page it is.
#[derive(Debug, Clone)]
pub struct OpenLink {
    /// Row id.
    pub id: String,
    /// The referral.
    pub referral_id: String,
}

/// Why a code did not open a page. Every refusal says what to do next and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a code we made (mistyped, guessed, altered) or revoked.
    Unknown,
    /// Too old.
    Expired,
    /// Locked after too many wrong dates of birth.
    Locked,
}

impl Refusal {
    /// What the person reads.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => {
                "We could not find a page with this code. Check the code on your letter or message and try again, \
                 or ask your link worker for a new one."
            }
            Refusal::Expired => "This link has run out. Ask your link worker for a new one.",
            Refusal::Locked => {
                "This link has been locked because the date of birth was wrong too many times. Your link worker has \
                 been told and can give you a new one."
            }
        }
    }
}

/// Finds the live link for a code as typed.
pub fn open(conn: &mut DbConnection, typed: &str) -> Result<Result<OpenLink, Refusal>, AppError> {
    let Some(normalised) = normalise(typed) else { return Ok(Err(Refusal::Unknown)) };
    let row: Option<(String, String, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>, String)> =
        person_links::table
            .inner_join(referrals::table)
            .filter(person_links::code_hash.eq(code_hash(&normalised)))
            .select((
                person_links::id,
                person_links::referral_id,
                person_links::expires_at,
                person_links::revoked_at,
                person_links::locked_at,
                referrals::status,
            ))
            .first(conn)
            .optional()?;
    Ok(match row {
        None => Err(Refusal::Unknown),
        Some((.., Some(_), _, _)) => Err(Refusal::Unknown),
        Some((_, _, _, _, _, status)) if status == "entered_in_error" => Err(Refusal::Unknown),
        Some((.., Some(_), _)) => Err(Refusal::Locked),
        Some((_, _, expires, ..)) if expires <= Utc::now().naive_utc() => Err(Refusal::Expired),
        Some((id, referral_id, ..)) => Ok(OpenLink { id, referral_id }),
    })
}

/// The cookie value that remembers a device passed the date-of-birth check for a link.
pub fn device_mark(key: &[u8; 32], link_id: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&hmac(key, format!("person device {link_id}").as_bytes()))
}

/// Whether a cookie value is this link's device mark.
pub fn device_passed(key: &[u8; 32], link_id: &str, cookie: Option<&str>) -> bool {
    cookie.is_some_and(|value| crate::accounts::secrets::same(value, &device_mark(key, link_id)))
}

/// The date of birth, as the person gives it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BirthDate {
    /// Day.
    #[serde(default)]
    pub day: String,
    /// Month.
    #[serde(default)]
    pub month: String,
    /// Year.
    #[serde(default)]
    pub year: String,
}

/// What checking a date of birth came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Right: the device may be remembered.
    Passed,
    /// Wrong; this many tries are left.
    Wrong(i32),
    /// Wrong for the last time: the link is now locked (and the link worker told).
    LockedNow,
}

/// Checks the date of birth for an open link; counts wrong ones and locks the link at the fifth.
pub fn check_birth_date(
    conn: &mut DbConnection,
    link: &OpenLink,
    given: &BirthDate,
    ip: Option<&str>,
) -> Result<Check, AppError> {
    let date = parse_date(given)?;
    db::write(conn, |conn| -> Result<Check, AppError> {
        let (born, failed): (NaiveDate, i32) = person_links::table
            .inner_join(referrals::table)
            .filter(person_links::id.eq(&link.id))
            .select((referrals::date_of_birth, person_links::failed_birth_dates))
            .first(conn)?;
        if born == date {
            audit::record(
                conn,
                &Event::by_person("person_page.birth_date_passed", ip).on("referral", &link.referral_id),
            )?;
            return Ok(Check::Passed);
        }
        let failed = failed + 1;
        let locked = failed >= MAX_WRONG_BIRTH_DATES;
        let now = Utc::now().naive_utc();
        diesel::update(person_links::table.find(&link.id))
            .set((person_links::failed_birth_dates.eq(failed), person_links::locked_at.eq(locked.then_some(now))))
            .execute(conn)?;
        audit::record(conn, &Event::by_person("person_page.birth_date_wrong", ip).on("referral", &link.referral_id))?;
        if locked {
            crate::notifications::events::person_link_locked(conn, &link.referral_id)?;
            return Ok(Check::LockedNow);
        }
        Ok(Check::Wrong(MAX_WRONG_BIRTH_DATES - failed))
    })
}

/// The date from its three boxes, or the field to fix.
fn parse_date(given: &BirthDate) -> Result<NaiveDate, AppError> {
    let number = |text: &str| text.trim().parse::<u32>().ok();
    let (Some(day), Some(month), Some(year)) = (number(&given.day), number(&given.month), number(&given.year)) else {
        let field = if number(&given.day).is_none() {
            "day"
        } else if number(&given.month).is_none() {
            "month"
        } else {
            "year"
        };
        return Err(AppError::invalid(field, "Enter your date of birth as numbers, for example 27 3 1956"));
    };
    let year = i32::try_from(year).unwrap_or(0);
    if !(1900..=2100).contains(&year) {
        return Err(AppError::invalid("year", "Enter the year you were born in full, for example 1956"));
    }
    NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| AppError::invalid("day", "Enter a real date, for example 27 3 1956"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let code = code_for(&[3; 32], "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f");
        assert_eq!(code.len(), 14, "{code}");
        let stored = normalise(&code).unwrap();
        assert_eq!(normalise(&code.to_lowercase().replace('-', " ")), Some(stored.clone()));
        let misread = stored.replace('O', "0").replace('I', "1").replace('B', "8");
        assert_eq!(normalise(&misread), Some(stored));
        assert_ne!(code, code_for(&[4; 32], "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f"), "another key, another code");
        for junk in ["", "ABCD", "ABCD-EFGH-IJK!", "ABCD-EFGH-IJKLM", "ÀBCD-EFGH-IJKL"] {
            assert_eq!(normalise(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_date_of_birth_is_read_from_three_boxes() {
        let date = |d: &str, m: &str, y: &str| BirthDate { day: d.into(), month: m.into(), year: y.into() };
        assert_eq!(parse_date(&date("27", "3", "1956")).ok(), NaiveDate::from_ymd_opt(1956, 3, 27));
        assert_eq!(parse_date(&date(" 1", "12", "2001")).ok(), NaiveDate::from_ymd_opt(2001, 12, 1));
        for (d, m, y) in [("", "3", "1956"), ("31", "2", "1956"), ("27", "3", "56"), ("x", "3", "1956")] {
            assert!(parse_date(&date(d, m, y)).is_err(), "{d}/{m}/{y}");
        }
    }
}
