//! Risk and safeguarding flags on the person, each with who set it, when and why, and the
//! safeguarding log. Flags live on the person's case (a referral that joined a case gives its
//! flags to the case), are shown as a banner wherever the case is shown to those who may read
//! its clinical text, and never reach community groups, admins' oversight or any message.
//! Referrers set them when referring; the service's link workers set them and keep the log.
//! "Do not contact directly" as a flag or as the referral's own tick stops messages to the
//! person ([`do_not_contact_directly`]).

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::{referrals, risk_flags, safeguarding_log, users};
use crate::db::{self, DbConnection};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::ReferralId;

/// Every kind of flag: (stored name, what people read).
pub const KINDS: [(&str, &str); 6] = [
    ("risk_to_self", "Risk to self"),
    ("risk_to_others", "Risk to others"),
    ("lone_working", "Lone-working caution: visit in pairs"),
    ("safeguarding_open", "Safeguarding concern open"),
    ("interpreter_needed", "Interpreter needed"),
    ("do_not_contact", "Do not contact directly"),
];

/// Where a kind comes in [`KINDS`] (flags set together are shown in this order).
pub fn position(kind: &str) -> usize {
    KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(KINDS.len())
}

/// What people read for a kind.
pub fn label(kind: &str) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, l)| *l).unwrap_or("Flag")
}

/// Longest reason.
const MAX_REASON: usize = 1000;

/// A flag set on a case.
#[derive(Debug, Clone, Serialize)]
pub struct FlagView {
    /// Id.
    pub id: String,
    /// Stored kind.
    pub kind: String,
    /// What people read.
    pub label: &'static str,
    /// Why.
    pub reason: String,
    /// Who set it, by name.
    pub set_by: String,
    /// When.
    pub set_at: NaiveDateTime,
}

/// A new flag.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewFlag {
    /// One of [`KINDS`].
    #[serde(default)]
    pub kind: String,
    /// Why (required).
    #[serde(default)]
    pub reason: String,
}

/// Checks kinds and a reason; answers the kinds, deduplicated.
pub fn check(errors: &mut FieldErrors, field: &str, kinds: &[String], reason: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for kind in kinds.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        if KINDS.iter().any(|(k, _)| *k == kind) {
            if !out.iter().any(|o| o == kind) {
                out.push(kind.to_string());
            }
        } else {
            errors.insert(field.into(), format!("unknown flag {:?}", kind.chars().take(40).collect::<String>()));
        }
    }
    let reason = reason.map(str::trim).unwrap_or_default();
    if !out.is_empty() && reason.is_empty() {
        errors.insert("flag_reason".into(), "say why the flag is set".into());
    } else if reason.chars().count() > MAX_REASON {
        errors.insert("flag_reason".into(), format!("at most {MAX_REASON} characters"));
    }
    out
}

/// Writes flags on a case (inside the caller's transaction).
pub fn insert(conn: &mut DbConnection, case_id: &str, kinds: &[String], reason: &str, by: &str) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    for kind in kinds {
        diesel::insert_into(risk_flags::table)
            .values((
                risk_flags::id.eq(crate::ids::new_id()),
                risk_flags::referral_id.eq(case_id),
                risk_flags::kind.eq(kind),
                risk_flags::reason.eq(reason.trim()),
                risk_flags::set_by.eq(by),
                risk_flags::set_at.eq(now),
            ))
            .execute(conn)?;
        if kind == "do_not_contact" {
            diesel::update(referrals::table.find(case_id))
                .set(referrals::do_not_contact_directly.eq(true))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The referrals whose flags are the person's: the case and every referral joined to it.
fn case_ids(conn: &mut DbConnection, referral_id: &str) -> QueryResult<Vec<String>> {
    let case: Option<String> = referrals::table.find(referral_id).select(referrals::case_id).first(conn)?;
    let case = case.unwrap_or_else(|| referral_id.to_string());
    let mut ids: Vec<String> =
        referrals::table.filter(referrals::case_id.eq(&case)).select(referrals::id).load(conn)?;
    ids.push(case);
    Ok(ids)
}

/// The person's flags, oldest first.
pub fn flags(conn: &mut DbConnection, referral_id: &str) -> QueryResult<Vec<FlagView>> {
    let ids = case_ids(conn, referral_id)?;
    let rows: Vec<(String, String, String, String, NaiveDateTime)> = risk_flags::table
        .inner_join(users::table.on(users::id.eq(risk_flags::set_by)))
        .filter(risk_flags::referral_id.eq_any(&ids))
        .order((risk_flags::set_at, risk_flags::id))
        .select((risk_flags::id, risk_flags::kind, risk_flags::reason, users::name, risk_flags::set_at))
        .load(conn)?;
    let mut flags: Vec<FlagView> = rows
        .into_iter()
        .map(|(id, kind, reason, set_by, set_at)| FlagView { label: label(&kind), id, kind, reason, set_by, set_at })
        .collect();
    flags.sort_by_key(|f| (f.set_at, position(&f.kind)));
    Ok(flags)
}

/// Whether "do not contact directly" is set for the person: ticked on the referral or its
/// case, or flagged. Messages to the person are skipped when it is.
pub fn do_not_contact_directly(conn: &mut DbConnection, referral_id: &str) -> QueryResult<bool> {
    let ids = case_ids(conn, referral_id)?;
    let ticked: i64 = referrals::table
        .filter(referrals::id.eq_any(&ids))
        .filter(referrals::do_not_contact_directly.eq(true))
        .count()
        .get_result(conn)?;
    let flagged: i64 = risk_flags::table
        .filter(risk_flags::referral_id.eq_any(&ids))
        .filter(risk_flags::kind.eq("do_not_contact"))
        .count()
        .get_result(conn)?;
    Ok(ticked > 0 || flagged > 0)
}

/// A link worker sets a flag on the person's case; answers its id.
pub fn set(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewFlag,
    ip: Option<&str>,
) -> Result<String, AppError> {
    let row = super::load_workable(conn, user, id.as_str())?;
    let mut errors = FieldErrors::new();
    let kinds = check(&mut errors, "kind", std::slice::from_ref(&new.kind), Some(&new.reason));
    if new.kind.trim().is_empty() {
        errors.insert("kind".into(), "choose a flag".into());
    }
    if let Some(why) = errors.remove("flag_reason") {
        errors.insert("reason".into(), why);
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let case = row.case_id.clone().unwrap_or_else(|| row.id.clone());
    db::write(conn, |conn| -> Result<String, AppError> {
        insert(conn, &case, &kinds, &new.reason, &user.id)?;
        let flag: String = risk_flags::table
            .filter(risk_flags::referral_id.eq(&case))
            .order((risk_flags::set_at.desc(), risk_flags::id.desc()))
            .select(risk_flags::id)
            .first(conn)?;
        audit::record(conn, &Event::by(user, "referral.flag", ip).on("referral", &case).detail(&kinds.join(",")))?;
        Ok(flag)
    })
}

/// A safeguarding concern raised.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewConcern {
    /// The concern.
    #[serde(default)]
    pub concern: String,
    /// Raised with whom (the council's safeguarding team, the police, ...).
    #[serde(default)]
    pub raised_with: String,
    /// Their reference.
    pub reference: Option<String>,
    /// What came of it, when known.
    pub outcome: Option<String>,
}

/// An entry of the safeguarding log.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct LogEntry {
    /// When.
    pub at: NaiveDateTime,
    /// Recorded by, by name.
    pub recorded_by: String,
    /// The concern.
    pub concern: String,
    /// Raised with whom.
    pub raised_with: String,
    /// Their reference.
    pub reference: Option<String>,
    /// The outcome.
    pub outcome: Option<String>,
}

/// Records a safeguarding concern on the person's case.
pub fn log_concern(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    new: &NewConcern,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let row = super::load_workable(conn, user, id.as_str())?;
    let mut errors = FieldErrors::new();
    let concern = super::text_field(&mut errors, "concern", Some(&new.concern), true, 5000);
    let raised_with = super::text_field(&mut errors, "raised_with", Some(&new.raised_with), true, 200);
    let reference = super::text_field(&mut errors, "reference", new.reference.as_deref(), false, 100);
    let outcome = super::text_field(&mut errors, "outcome", new.outcome.as_deref(), false, 5000);
    let (Some(concern), Some(raised_with)) = (concern, raised_with) else {
        return Err(AppError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let case = row.case_id.clone().unwrap_or_else(|| row.id.clone());
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::insert_into(safeguarding_log::table)
            .values((
                safeguarding_log::id.eq(crate::ids::new_id()),
                safeguarding_log::referral_id.eq(&case),
                safeguarding_log::at.eq(Utc::now().naive_utc()),
                safeguarding_log::recorded_by.eq(&user.id),
                safeguarding_log::concern.eq(&concern),
                safeguarding_log::raised_with.eq(&raised_with),
                safeguarding_log::reference.eq(&reference),
                safeguarding_log::outcome.eq(&outcome),
            ))
            .execute(conn)?;
        audit::record(conn, &Event::by(user, "referral.safeguarding", ip).on("referral", &case))?;
        Ok(())
    })
}

/// The person's safeguarding log, oldest first.
pub fn log(conn: &mut DbConnection, referral_id: &str) -> QueryResult<Vec<LogEntry>> {
    let ids = case_ids(conn, referral_id)?;
    safeguarding_log::table
        .inner_join(users::table.on(users::id.eq(safeguarding_log::recorded_by)))
        .filter(safeguarding_log::referral_id.eq_any(&ids))
        .order(safeguarding_log::at)
        .select((
            safeguarding_log::at,
            users::name,
            safeguarding_log::concern,
            safeguarding_log::raised_with,
            safeguarding_log::reference,
            safeguarding_log::outcome,
        ))
        .load(conn)
}

/// (referral id, kind) of every flag on these referrals, for reports (no identities).
pub fn kinds_for(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            risk_flags::table
                .filter(risk_flags::referral_id.eq_any(chunk))
                .select((risk_flags::referral_id, risk_flags::kind))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_need_a_known_kind_and_a_reason() {
        let mut errors = FieldErrors::new();
        let kinds = check(&mut errors, "risk_flags", &["lone_working".into(), "lone_working".into()], Some("Dog"));
        assert_eq!(kinds, vec!["lone_working".to_string()]);
        assert!(errors.is_empty());
        check(&mut errors, "risk_flags", &["lone_working".into()], Some("  "));
        assert!(errors.contains_key("flag_reason"));
        let mut errors = FieldErrors::new();
        check(&mut errors, "risk_flags", &["bites".into()], Some("Dog"));
        assert!(errors.contains_key("risk_flags"));
        assert_eq!(label("do_not_contact"), "Do not contact directly");
    }
}
