//! Rectification, restriction, consent withdrawn and erasure. Each checks who may (a 404 for
//! anyone else), writes its change, its history and its audit row in one transaction.

use chrono::{Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{is_anonymised, is_restricted, load};
use crate::accounts::audit::{self, Event};
use crate::accounts::{users as accounts_users, CurrentUser};
use crate::db::schema::{
    connections, notifications, referral_corrections, referral_events, referral_restrictions, referrals,
};
use crate::db::{self, DbConnection};
use crate::directory::geocode;
use crate::domain::contact::valid_phone;
use crate::domain::{NhsNumber, Postcode, ReferralStatus};
use crate::error::AppError;
use crate::ids::ReferralId;
use crate::referrals::model::ReferralRow;

fn conflict(message: impl Into<String>) -> AppError {
    AppError::Conflict { message: message.into(), allowed: Vec::new() }
}

fn reason_text(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "say why (the request, and who made it)"));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::invalid("reason", "at most 500 characters"));
    }
    Ok(reason.to_string())
}

fn refuse_if_anonymised(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    if is_anonymised(conn, id)? {
        Err(conflict("this referral's personal data has already been removed"))
    } else {
        Ok(())
    }
}

/// A correction of one of the person's details.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewCorrection {
    /// The field: `given_name`, `family_name`, `date_of_birth`, `nhs_number`, `postcode`,
    /// `phone`, `email`, `contact_times`, `language`, `access_needs`, `sex` or `ethnicity`.
    #[serde(default)]
    pub field: String,
    /// The corrected value (empty clears an optional field).
    pub value: Option<String>,
    /// Why: the person's request.
    #[serde(default)]
    pub reason: String,
}

/// The fields a correction may change.
pub const CORRECTABLE: [&str; 12] = [
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "postcode",
    "phone",
    "email",
    "contact_times",
    "language",
    "access_needs",
    "sex",
    "ethnicity",
];

fn current(row: &ReferralRow, field: &str) -> Option<String> {
    match field {
        "given_name" => Some(row.given_name.clone()),
        "family_name" => Some(row.family_name.clone()),
        "date_of_birth" => Some(row.date_of_birth.to_string()),
        "nhs_number" => Some(row.nhs_number.clone()),
        "postcode" => Some(row.postcode.clone()),
        "phone" => row.phone.clone(),
        "email" => row.email.clone(),
        "contact_times" => row.contact_times.clone(),
        "language" => row.language.clone(),
        "access_needs" => row.access_needs.clone(),
        "sex" => row.sex.clone(),
        _ => row.ethnicity.clone(),
    }
}

fn optional(value: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        Some(v) if v.chars().count() > max => Err(AppError::invalid("value", format!("at most {max} characters"))),
        other => Ok(other.map(str::to_string)),
    }
}

/// Corrects one detail, keeping the old value in the history.
pub fn rectify(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewCorrection,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let id = id.as_str();
    let row = load(conn, user, id)?;
    let field = new.field.trim();
    if !CORRECTABLE.contains(&field) {
        return Err(AppError::invalid("field", format!("must be one of {}", CORRECTABLE.join(", "))));
    }
    let reason = reason_text(&new.reason)?;
    refuse_if_anonymised(conn, id)?;
    let value = new.value.as_deref().map(str::trim).unwrap_or("");
    let required = |max: usize| -> Result<String, AppError> {
        match optional(Some(value), max)? {
            Some(v) => Ok(v),
            None => Err(AppError::invalid("value", "this is required")),
        }
    };
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<(), AppError> {
        let target = referrals::table.find(id);
        // The new value as stored.
        let stored: Option<String> = match field {
            "given_name" => {
                let v = required(100)?;
                diesel::update(target).set(referrals::given_name.eq(&v)).execute(conn)?;
                Some(v)
            }
            "family_name" => {
                let v = required(100)?;
                diesel::update(target).set(referrals::family_name.eq(&v)).execute(conn)?;
                Some(v)
            }
            "date_of_birth" => {
                let today = Utc::now().date_naive();
                let born = NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .map_err(|_| AppError::invalid("value", "enter a date like 1954-03-21"))?;
                if born > today || today.year() - born.year() > 120 {
                    return Err(AppError::invalid("value", "a date of birth in the last 120 years"));
                }
                diesel::update(target).set(referrals::date_of_birth.eq(born)).execute(conn)?;
                Some(born.to_string())
            }
            "nhs_number" => {
                let nhs = NhsNumber::parse(value).map_err(|e| AppError::invalid("value", e.to_string()))?;
                diesel::update(target).set(referrals::nhs_number.eq(nhs.as_str())).execute(conn)?;
                Some(nhs.as_str().to_string())
            }
            "postcode" => {
                let postcode = Postcode::parse(value).map_err(|e| AppError::invalid("value", e.to_string()))?;
                let found = match geocode::geocode(conn, postcode.as_str()) {
                    Ok(found) => found,
                    Err(geocode::GeocodeError::Db(e)) => return Err(e.into()),
                    Err(e) => return Err(AppError::invalid("value", e.to_string())),
                };
                diesel::update(target)
                    .set((
                        referrals::postcode.eq(postcode.as_str()),
                        referrals::outward_code.eq(postcode.outward().as_str()),
                        referrals::latitude.eq(Some(found.lat)),
                        referrals::longitude.eq(Some(found.lon)),
                    ))
                    .execute(conn)?;
                Some(postcode.as_str().to_string())
            }
            "phone" => {
                let v = optional(Some(value), 30)?;
                if v.as_deref().is_some_and(|p| !valid_phone(p)) {
                    return Err(AppError::invalid("value", "enter a UK phone number like 01632 960123"));
                }
                diesel::update(target).set(referrals::phone.eq(&v)).execute(conn)?;
                v
            }
            "email" => {
                let v = optional(Some(value), 254)?;
                if v.as_deref().is_some_and(|e| !accounts_users::valid_email(e)) {
                    return Err(AppError::invalid("value", "enter an e-mail address like name@example.org"));
                }
                diesel::update(target).set(referrals::email.eq(&v)).execute(conn)?;
                v
            }
            "contact_times" => {
                let v = optional(Some(value), 200)?;
                diesel::update(target).set(referrals::contact_times.eq(&v)).execute(conn)?;
                v
            }
            "language" => {
                let v = optional(Some(value), 60)?;
                diesel::update(target).set(referrals::language.eq(&v)).execute(conn)?;
                v
            }
            "access_needs" => {
                let v = optional(Some(value), 1000)?;
                diesel::update(target).set(referrals::access_needs.eq(&v)).execute(conn)?;
                v
            }
            "sex" => {
                let v = optional(Some(value), 40)?;
                diesel::update(target).set(referrals::sex.eq(&v)).execute(conn)?;
                v
            }
            _ => {
                let v = optional(Some(value), 80)?;
                diesel::update(target).set(referrals::ethnicity.eq(&v)).execute(conn)?;
                v
            }
        };
        // A contact detail that the preferred channel needs cannot be cleared.
        let (preferred, phone, email): (String, Option<String>, Option<String>) = referrals::table
            .find(id)
            .select((referrals::preferred_contact, referrals::phone, referrals::email))
            .first(conn)?;
        match preferred.as_str() {
            "phone" | "text" if phone.is_none() => {
                return Err(AppError::invalid("value", "the person prefers phone or text: a phone number is needed"))
            }
            "email" if email.is_none() => {
                return Err(AppError::invalid("value", "the person prefers e-mail: an address is needed"))
            }
            _ => {}
        }
        diesel::update(referrals::table.find(id))
            .set((referrals::version.eq(row.version + 1), referrals::updated_at.eq(now)))
            .execute(conn)?;
        diesel::insert_into(referral_corrections::table)
            .values((
                referral_corrections::referral_id.eq(id),
                referral_corrections::at.eq(now),
                referral_corrections::actor_id.eq(&user.id),
                referral_corrections::field.eq(field),
                referral_corrections::old_value.eq(current(&row, field)),
                referral_corrections::new_value.eq(&stored),
                referral_corrections::reason.eq(&reason),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "data_rights.rectify", ip).on("referral", id).detail(field))?;
        Ok(())
    })
}

/// Why a restriction is placed or lifted, or consent withdrawn.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Because {
    /// Why (the person's request, and who made it).
    #[serde(default)]
    pub reason: String,
}

/// Restricts a referral: frozen (read-only), out of groups' inboxes and named lists, until lifted.
pub fn restrict(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    because: &Because,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let id = id.as_str();
    load(conn, user, id)?;
    let reason = reason_text(&because.reason)?;
    db::write(conn, |conn| -> Result<(), AppError> {
        if is_restricted(conn, id)? {
            return Err(conflict("this referral is already restricted"));
        }
        diesel::insert_into(referral_restrictions::table)
            .values((
                referral_restrictions::referral_id.eq(id),
                referral_restrictions::at.eq(Utc::now().naive_utc()),
                referral_restrictions::by_id.eq(&user.id),
                referral_restrictions::reason.eq(&reason),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "data_rights.restrict", ip).on("referral", id))?;
        Ok(())
    })
}

/// Lifts a restriction.
pub fn lift(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    because: &Because,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let id = id.as_str();
    load(conn, user, id)?;
    reason_text(&because.reason)?;
    db::write(conn, |conn| -> Result<(), AppError> {
        let lifted = diesel::delete(referral_restrictions::table.find(id)).execute(conn)?;
        if lifted == 0 {
            return Err(conflict("this referral is not restricted"));
        }
        audit::record(conn, &Event::by(user, "data_rights.lift_restriction", ip).on("referral", id))?;
        Ok(())
    })
}

/// Which consent is withdrawn.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// `share` (with community groups) or `referral` (to the referral itself: it closes).
    #[serde(default)]
    pub consent: String,
    /// Why, and who said so.
    #[serde(default)]
    pub reason: String,
}

/// Takes the person's first name out of introductions not yet sent.
fn unsent_introductions_without_name(conn: &mut DbConnection, referral_id: &str) -> QueryResult<()> {
    let ids: Vec<String> =
        connections::table.filter(connections::referral_id.eq(referral_id)).select(connections::id).load(conn)?;
    for connection in ids {
        let queued: Vec<(String, String)> = notifications::table
            .filter(notifications::idempotency_key.like(format!("introduction:{connection}:%")))
            .filter(notifications::status.ne(crate::notifications::status::SENT))
            .select((notifications::id, notifications::personalisation))
            .load(conn)?;
        for (id, personalisation) in queued {
            let mut values: serde_json::Value = serde_json::from_str(&personalisation).unwrap_or_default();
            if let Some(object) = values.as_object_mut() {
                object.insert("first_name".into(), serde_json::Value::Null);
            }
            diesel::update(notifications::table.find(&id))
                .set(notifications::personalisation.eq(values.to_string()))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Records consent withdrawn. To share with groups: the name and contact leave every group's
/// view at once (they read the referral's consent), and unsent introductions lose the name. To
/// the referral: it closes (cancelled, with the reason), and sharing ends with it.
pub fn withdraw_consent(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    withdrawal: &Withdrawal,
    ip: Option<&str>,
) -> Result<String, AppError> {
    let id = id.as_str();
    let row = load(conn, user, id)?;
    let consent = withdrawal.consent.trim();
    if !matches!(consent, "share" | "referral") {
        return Err(AppError::invalid("consent", "must be share or referral"));
    }
    let reason = reason_text(&withdrawal.reason)?;
    refuse_if_anonymised(conn, id)?;
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<String, AppError> {
        let status = ReferralStatus::parse(&row.status)
            .ok_or_else(|| AppError::Internal(format!("stored status {}", row.status)))?;
        let mut to = status;
        if consent == "referral" {
            if !status.is_terminal() {
                to = ReferralStatus::Cancelled;
                diesel::insert_into(referral_events::table)
                    .values((
                        referral_events::referral_id.eq(id),
                        referral_events::at.eq(now),
                        referral_events::actor_id.eq(&user.id),
                        referral_events::from_status.eq(Some(status.as_str())),
                        referral_events::to_status.eq(to.as_str()),
                        referral_events::reason.eq(Some(format!("Consent to the referral withdrawn: {reason}"))),
                    ))
                    .execute(conn)?;
            }
            diesel::update(referrals::table.find(id))
                .set((referrals::consent_referral.eq(false), referrals::status.eq(to.as_str())))
                .execute(conn)?;
            // Their own page was made with their consent: it stops opening with it.
            diesel::update(
                crate::db::schema::person_links::table
                    .filter(crate::db::schema::person_links::referral_id.eq(id))
                    .filter(crate::db::schema::person_links::revoked_at.is_null()),
            )
            .set(crate::db::schema::person_links::revoked_at.eq(Some(now)))
            .execute(conn)?;
        }
        diesel::update(referrals::table.find(id))
            .set((
                referrals::consent_share.eq(false),
                referrals::version.eq(row.version + 1),
                referrals::updated_at.eq(now),
            ))
            .execute(conn)?;
        unsent_introductions_without_name(conn, id)?;
        audit::record(conn, &Event::by(user, "data_rights.withdraw_consent", ip).on("referral", id).detail(consent))?;
        Ok(to.as_str().to_string())
    })
}

/// An erasure request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// `entered_in_error` (the referral was marked entered in error) or `never_taken_on` (it
    /// was rejected or cancelled before the service took it on).
    #[serde(default)]
    pub basis: String,
    /// Why, and who asked.
    #[serde(default)]
    pub reason: String,
}

/// Why erasure does not apply to a referral, or `None` when it does.
fn erasure_refused(conn: &mut DbConnection, row: &ReferralRow, basis: &str) -> QueryResult<Option<String>> {
    let status = ReferralStatus::parse(&row.status);
    let taken_on = referral_events::table
        .filter(referral_events::referral_id.eq(&row.id))
        .filter(referral_events::to_status.eq(ReferralStatus::Accepted.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let refusal = match (basis, status) {
        ("entered_in_error", Some(ReferralStatus::EnteredInError)) => None,
        ("entered_in_error", _) => Some(format!(
            "this referral is not marked entered in error (it is {}); the referrer or an admin marks it first",
            row.status.replace('_', " ")
        )),
        (_, Some(ReferralStatus::Rejected | ReferralStatus::Cancelled)) if !taken_on => None,
        (_, Some(ReferralStatus::Received)) => {
            Some("this referral is still waiting for the link worker service: reject or cancel it first".to_string())
        }
        (_, Some(s)) if !s.is_terminal() => Some(format!(
            "this referral is in progress ({}): the person is being supported, so the record is needed; \
             it is kept while open and anonymised when its retention period ends",
            s.as_str().replace('_', " ")
        )),
        _ => Some(
            "the service took this referral on: the record of the person's care is kept for the retention \
             period and then anonymised, not erased on request"
                .to_string(),
        ),
    };
    Ok(refusal)
}

/// Erases a referral's personal data where erasure applies (entered in error; never taken on);
/// what reports count stays. Refused, with the reason, for anything else.
pub fn erase(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    erasure: &Erasure,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let id = id.as_str();
    let row = load(conn, user, id)?;
    let basis = erasure.basis.trim();
    if !matches!(basis, "entered_in_error" | "never_taken_on") {
        return Err(AppError::invalid("basis", "must be entered_in_error or never_taken_on"));
    }
    reason_text(&erasure.reason)?;
    refuse_if_anonymised(conn, id)?;
    if let Some(why) = erasure_refused(conn, &row, basis)? {
        audit::record(
            conn,
            &Event::by(user, "data_rights.erase", ip).on("referral", id).outcome("denied").detail(basis),
        )?;
        return Err(conflict(why));
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        super::anonymise::anonymise(conn, id, &format!("erasure:{basis}"), Utc::now().naive_utc())?;
        audit::record(conn, &Event::by(user, "data_rights.erase", ip).on("referral", id).detail(basis))?;
        Ok(())
    })
}
