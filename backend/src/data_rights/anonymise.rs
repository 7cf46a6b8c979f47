//! Removing a referral's personal data while keeping what reports count: used by erasure and by
//! retention. Runs inside the caller's transaction, so a referral is either wholly anonymised
//! (with its row in `referral_anonymisations`) or untouched.
//!
//! Kept: ids, dates, statuses and their order, practice and service, reasons, urgency, the
//! outward code (the area reports and unmet need use), sex and ethnicity as recorded (equity),
//! the age at referral (the date of birth becomes the referral's date that many years before,
//! so the age band is unchanged), measures' answers (outcomes), connections' statuses and dates
//! (group response), the audit trail (it holds no personal data). Removed: names, NHS number,
//! full postcode and its coordinates, contact details, every free text (the referrer's words,
//! what matters, risk notes, notes, plans, reasons typed in the timeline, contact attempt
//! notes, notes to groups), corrections' values, and the person's address and name in
//! messages sent.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    connection_events, connections, contact_attempts, notifications, person_links, referral_anonymisations,
    referral_corrections, referral_events, referral_notes, referral_plans, referrals,
};
use crate::db::DbConnection;

/// What an anonymised referral's name fields read.
pub const REMOVED: &str = "(removed)";

/// The same age on `on` as someone born on `born`, with the birthday on `on` itself.
fn same_age(born: NaiveDate, on: NaiveDate) -> NaiveDate {
    let mut age = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    on.with_year(on.year() - age).or_else(|| NaiveDate::from_ymd_opt(on.year() - age, on.month(), 28)).unwrap_or(born)
}

/// Anonymises one referral; `false` when it already was (nothing is done twice).
pub fn anonymise(conn: &mut DbConnection, id: &str, basis: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let done = referral_anonymisations::table.find(id).count().get_result::<i64>(conn)? > 0;
    if done {
        return Ok(false);
    }
    let (born, created, outward): (NaiveDate, NaiveDateTime, String) = referrals::table
        .find(id)
        .select((referrals::date_of_birth, referrals::created_at, referrals::outward_code))
        .first(conn)?;
    diesel::update(referrals::table.find(id))
        .set((
            referrals::given_name.eq(REMOVED),
            referrals::family_name.eq(REMOVED),
            referrals::date_of_birth.eq(same_age(born, created.date())),
            referrals::nhs_number.eq(""),
            referrals::postcode.eq(&outward),
            referrals::latitude.eq(None::<f64>),
            referrals::longitude.eq(None::<f64>),
            referrals::phone.eq(None::<String>),
            referrals::email.eq(None::<String>),
            referrals::contact_times.eq(None::<String>),
            referrals::language.eq(None::<String>),
            referrals::access_needs.eq(None::<String>),
            referrals::referrer_words.eq(""),
            referrals::what_matters.eq(None::<String>),
            referrals::risk_notes.eq(None::<String>),
            referrals::consent_share.eq(false),
            referrals::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(referral_events::table.filter(referral_events::referral_id.eq(id)))
        .set((referral_events::reason.eq(None::<String>), referral_events::note.eq(None::<String>)))
        .execute(conn)?;
    diesel::update(contact_attempts::table.filter(contact_attempts::referral_id.eq(id)))
        .set(contact_attempts::note.eq(None::<String>))
        .execute(conn)?;
    diesel::delete(referral_notes::table.filter(referral_notes::referral_id.eq(id))).execute(conn)?;
    diesel::delete(referral_plans::table.filter(referral_plans::referral_id.eq(id))).execute(conn)?;
    diesel::update(referral_corrections::table.filter(referral_corrections::referral_id.eq(id)))
        .set((referral_corrections::old_value.eq(None::<String>), referral_corrections::new_value.eq(None::<String>)))
        .execute(conn)?;
    let connection_ids: Vec<String> =
        connections::table.filter(connections::referral_id.eq(id)).select(connections::id).load(conn)?;
    diesel::update(connections::table.filter(connections::referral_id.eq(id)))
        .set((
            connections::note.eq(None::<String>),
            connections::note_for_person.eq(None::<String>),
            connections::person_words.eq(None::<String>),
        ))
        .execute(conn)?;
    // The person's own page stops opening, and the messages that sent its link lose the name.
    let person_links: Vec<String> =
        person_links::table.filter(person_links::referral_id.eq(id)).select(person_links::id).load(conn)?;
    diesel::update(
        person_links::table.filter(person_links::referral_id.eq(id)).filter(person_links::revoked_at.is_null()),
    )
    .set(person_links::revoked_at.eq(Some(now)))
    .execute(conn)?;
    diesel::update(connection_events::table.filter(connection_events::connection_id.eq_any(&connection_ids)))
        .set(connection_events::reason.eq(None::<String>))
        .execute(conn)?;
    // Messages: the person's own address, and the name in any of them. A message not yet sent
    // is given up (there is no one to send it to now).
    let mut prefixes = vec![format!("referral:{id}:")];
    prefixes.extend(connection_ids.iter().map(|c| format!("introduction:{c}:")));
    prefixes.extend(person_links.iter().map(|l| format!("person_link:{l}")));
    for prefix in prefixes {
        let about = || notifications::table.filter(notifications::idempotency_key.like(format!("{prefix}%")));
        diesel::update(about()).set(notifications::personalisation.eq("{}")).execute(conn)?;
        diesel::update(about().filter(notifications::audience.eq("person")))
            .set(notifications::recipient.eq(""))
            .execute(conn)?;
        diesel::update(about().filter(notifications::status.ne(crate::notifications::status::SENT)))
            .set((
                notifications::status.eq(crate::notifications::status::GAVE_UP),
                notifications::last_error.eq(Some("personal data removed")),
                notifications::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    diesel::insert_into(referral_anonymisations::table)
        .values((
            referral_anonymisations::referral_id.eq(id),
            referral_anonymisations::at.eq(now),
            referral_anonymisations::basis.eq(basis),
        ))
        .execute(conn)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_at_referral_is_kept() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(same_age(d(1954, 6, 1), d(2026, 3, 10)), d(1955, 3, 10), "71 on the day");
        assert_eq!(same_age(d(1954, 3, 10), d(2026, 3, 10)), d(1954, 3, 10));
        assert_eq!(same_age(d(2001, 1, 1), d(2024, 2, 29)), d(2001, 2, 28), "no 29 February in 2001");
    }
}
