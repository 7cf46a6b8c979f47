//! The referral form's use-case: every field checked (NHS number, date of birth, postcode,
//! reasons, consent), then the referral, its reasons, its first status and its audit row
//! written in one transaction, to the link worker service that serves the practice, or (from an
//! agency or the person themselves) to the service covering the person's postcode
//! (`routing`). The referral records its source: the kind of organisation and which one.

use chrono::{Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::text_field;
use crate::accounts::audit::{self, Event};
use crate::accounts::policy::{allows, Action};
use crate::accounts::{users, CurrentUser, OrgKind};
use crate::db::schema::{referral_events, referral_reasons, referrals};
use crate::db::{self, DbConnection};
use crate::directory::geocode;
use crate::directory::taxonomy::{term_id, Taxonomy, Vocabulary};
use crate::domain::contact::valid_phone;
use crate::domain::FieldErrors;
use crate::domain::{NhsNumber, Postcode};
use crate::error::AppError;
use crate::ids::ReferralId;

/// What the GP practice team fills in.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewReferral {
    /// Given name.
    #[serde(default)]
    pub given_name: String,
    /// Family name.
    #[serde(default)]
    pub family_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: String,
    /// Ten digits (spaces allowed).
    #[serde(default)]
    pub nhs_number: String,
    /// Their postcode.
    #[serde(default)]
    pub postcode: String,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// `phone`, `text`, `email` or `letter`.
    #[serde(default)]
    pub preferred_contact: String,
    /// When best to contact.
    pub contact_times: Option<String>,
    /// Preferred language.
    pub language: Option<String>,
    /// Needs an interpreter.
    #[serde(default)]
    pub interpreter_needed: bool,
    /// Access needs.
    pub access_needs: Option<String>,
    /// Do not contact directly.
    #[serde(default)]
    pub do_not_contact_directly: bool,
    /// For equity reporting, optional.
    pub sex: Option<String>,
    /// For equity reporting, optional.
    pub ethnicity: Option<String>,
    /// Referral reason slugs (at least one).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Why, in the referrer's words.
    #[serde(default)]
    pub referrer_words: String,
    /// What matters to the person, if known.
    pub what_matters: Option<String>,
    /// Risk or safeguarding notes.
    pub risk_notes: Option<String>,
    /// `routine`, `soon` or `urgent`.
    #[serde(default)]
    pub urgency: String,
    /// The person agreed to the referral (required).
    #[serde(default)]
    pub consent_referral: bool,
    /// The person agreed to their details being shared with community groups.
    #[serde(default)]
    pub consent_share: bool,
    /// The link worker service; must be the one serving the practice (defaults to it).
    pub service_id: Option<String>,
    /// Risk and safeguarding flags on the person (`risk_to_self`, `risk_to_others`,
    /// `lone_working`, `safeguarding_open`, `interpreter_needed`, `do_not_contact`).
    #[serde(default)]
    pub risk_flags: Vec<String>,
    /// Why the flags are set (required with any flag).
    pub flag_reason: Option<String>,
}

/// The organisation that stands for people who refer themselves (made by the migration).
pub const SELF_REFERRAL_ORG: &str = "5e1f0000-0000-4000-8000-000000000001";
/// The account (disabled, no password) recorded as the referrer of a self-referral.
pub const SELF_REFERRAL_USER: &str = "5e1f0000-0000-4000-8000-000000000002";

/// Who makes a referral.
#[derive(Debug, Clone, Copy)]
pub enum ReferredBy<'a> {
    /// A signed-in referrer: a GP practice team or an agency's staff.
    Referrer(&'a CurrentUser),
    /// The person themselves, without an account (NHS number, reasons and the referrer's
    /// words optional).
    Themselves,
}

/// Checks the form and creates the referral; answers its id.
pub fn create(
    conn: &mut DbConnection,
    user: &CurrentUser,
    taxonomy: &Taxonomy,
    new: &NewReferral,
    ip: Option<&str>,
) -> Result<ReferralId, AppError> {
    create_by(conn, ReferredBy::Referrer(user), taxonomy, new, ip)
}

/// Checks the form and creates the referral made by `by`; answers its id.
pub fn create_by(
    conn: &mut DbConnection,
    by: ReferredBy<'_>,
    taxonomy: &Taxonomy,
    new: &NewReferral,
    ip: Option<&str>,
) -> Result<ReferralId, AppError> {
    let user = match by {
        ReferredBy::Referrer(user) if !allows(user, Action::CreateReferral) => {
            return Err(AppError::Forbidden("only GP practice teams and agencies that refer make referrals".into()));
        }
        ReferredBy::Referrer(user) => Some(user),
        ReferredBy::Themselves => None,
    };
    let themselves = user.is_none();
    let mut errors = FieldErrors::new();
    let given_name = text_field(&mut errors, "given_name", Some(&new.given_name), true, 100);
    let family_name = text_field(&mut errors, "family_name", Some(&new.family_name), true, 100);
    let today = Utc::now().date_naive();
    let date_of_birth = match NaiveDate::parse_from_str(new.date_of_birth.trim(), "%Y-%m-%d") {
        Ok(d) if d > today => {
            errors.insert("date_of_birth".into(), "is in the future".into());
            None
        }
        Ok(d) if today.year() - d.year() > 120 => {
            errors.insert("date_of_birth".into(), "is more than 120 years ago".into());
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            errors.insert("date_of_birth".into(), "enter a date like 1954-03-21".into());
            None
        }
    };
    // The person may not know their NHS number: kept empty when they leave it out.
    let nhs_number = match NhsNumber::parse(&new.nhs_number) {
        Ok(n) => Some(n.as_str().to_string()),
        Err(_) if themselves && new.nhs_number.trim().is_empty() => Some(String::new()),
        Err(e) => {
            errors.insert("nhs_number".into(), e.to_string());
            None
        }
    };
    let place = match Postcode::parse(&new.postcode) {
        Ok(postcode) => match geocode::geocode(conn, postcode.as_str()) {
            Ok(found) => Some((postcode, found)),
            Err(geocode::GeocodeError::Db(e)) => return Err(e.into()),
            Err(e) => {
                errors.insert("postcode".into(), e.to_string());
                None
            }
        },
        Err(e) => {
            errors.insert("postcode".into(), e.to_string());
            None
        }
    };
    let phone = text_field(&mut errors, "phone", new.phone.as_deref(), false, 30);
    if phone.as_deref().is_some_and(|p| !valid_phone(p)) {
        errors.insert("phone".into(), "enter a UK phone number like 01632 960123".into());
    }
    let email = text_field(&mut errors, "email", new.email.as_deref(), false, 254);
    if email.as_deref().is_some_and(|e| !users::valid_email(e)) {
        errors.insert("email".into(), "enter an e-mail address like name@example.org".into());
    }
    let preferred = new.preferred_contact.trim();
    match preferred {
        "phone" | "text" if phone.is_none() && !errors.contains_key("phone") => {
            errors.insert("phone".into(), "needed for contact by phone or text".into());
        }
        "email" if email.is_none() && !errors.contains_key("email") => {
            errors.insert("email".into(), "needed for contact by e-mail".into());
        }
        "phone" | "text" | "email" | "letter" => {}
        _ => {
            errors.insert("preferred_contact".into(), "must be phone, text, email or letter".into());
        }
    }
    let contact_times = text_field(&mut errors, "contact_times", new.contact_times.as_deref(), false, 200);
    let language = text_field(&mut errors, "language", new.language.as_deref(), false, 60);
    let access_needs = text_field(&mut errors, "access_needs", new.access_needs.as_deref(), false, 1000);
    let sex = text_field(&mut errors, "sex", new.sex.as_deref(), false, 40);
    let ethnicity = text_field(&mut errors, "ethnicity", new.ethnicity.as_deref(), false, 80);
    let referrer_words = text_field(&mut errors, "referrer_words", Some(&new.referrer_words), !themselves, 5000)
        .or_else(|| themselves.then(String::new));
    let what_matters = text_field(&mut errors, "what_matters", new.what_matters.as_deref(), false, 5000);
    let risk_notes = text_field(&mut errors, "risk_notes", new.risk_notes.as_deref(), false, 5000);
    if !matches!(new.urgency.trim(), "routine" | "soon" | "urgent") {
        errors.insert("urgency".into(), "must be routine, soon or urgent".into());
    }
    let flag_kinds = super::risk_flags::check(&mut errors, "risk_flags", &new.risk_flags, new.flag_reason.as_deref());
    if !new.consent_referral {
        errors.insert("consent_referral".into(), "the person must agree to the referral".into());
    }
    let mut reason_ids = Vec::new();
    if (new.reasons.is_empty() && !themselves) || new.reasons.len() > 10 {
        errors.insert("reasons".into(), "choose between one and ten reasons".into());
    }
    for slug in &new.reasons {
        match taxonomy.by_slug(Vocabulary::ReferralReason, slug.trim()) {
            Some(_) => reason_ids.push(term_id(Vocabulary::ReferralReason, slug.trim())),
            None => {
                errors.insert(
                    "reasons".into(),
                    format!("unknown reason {:?}", slug.chars().take(40).collect::<String>()),
                );
            }
        }
    }
    reason_ids.sort();
    reason_ids.dedup();
    // From a practice: its service, as always. Otherwise the service covering the postcode.
    let served_by = user.and_then(|u| u.served_by.clone());
    let service_id = match (&served_by, &place) {
        (Some(served), _) => Some(served.clone()),
        (None, Some((postcode, _))) => {
            let covering = super::routing::covering_service(conn, postcode)?;
            if covering.is_none() {
                errors.insert("postcode".into(), super::routing::outside_coverage(postcode));
            }
            covering
        }
        (None, None) => None,
    };
    match (&service_id, new.service_id.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (Some(to), Some(asked)) if to != asked && served_by.is_some() => {
            errors.insert("service_id".into(), "your practice is not served by that link worker service".into());
        }
        (Some(to), Some(asked)) if to != asked => {
            errors.insert("service_id".into(), "that link worker service does not cover the person's postcode".into());
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (
        Some(given_name),
        Some(family_name),
        Some(date_of_birth),
        Some(nhs),
        Some((postcode, found)),
        Some(referrer_words),
        Some(service_id),
    ) = (given_name, family_name, date_of_birth, nhs_number, place, referrer_words, service_id)
    else {
        return Err(AppError::Internal("validated referral is incomplete".into()));
    };

    let (practice_id, referrer_id, source_kind) = match user {
        Some(u) => (u.organisation_id.as_str(), u.id.as_str(), u.organisation_kind.as_str()),
        None => (SELF_REFERRAL_ORG, SELF_REFERRAL_USER, OrgKind::ThePublic.as_str()),
    };
    let id = ReferralId::new();
    let now = Utc::now().naive_utc();
    let person = super::matching::Person {
        nhs_number: &nhs,
        family_name: &family_name,
        date_of_birth,
        postcode: postcode.as_str(),
    };
    db::write(conn, |conn| -> Result<(), AppError> {
        // One person, one case: looked for inside the write, after the person's lock, so two
        // referrals of one person sent together cannot both start a case.
        super::matching::lock_person(conn, &person)?;
        let case = super::matching::case_for(conn, &person)?;
        let service_id = case.as_ref().map(|c| c.service_id.clone()).unwrap_or_else(|| service_id.clone());
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(id.as_str()),
                referrals::practice_id.eq(practice_id),
                referrals::service_id.eq(&service_id),
                referrals::referrer_id.eq(referrer_id),
                referrals::source_kind.eq(source_kind),
                referrals::case_id.eq(case.as_ref().map(|c| c.id.as_str())),
                referrals::status.eq("received"),
                referrals::urgency.eq(new.urgency.trim()),
                referrals::given_name.eq(&given_name),
                referrals::family_name.eq(&family_name),
                referrals::date_of_birth.eq(date_of_birth),
                referrals::nhs_number.eq(&nhs),
                referrals::postcode.eq(postcode.as_str()),
                referrals::outward_code.eq(postcode.outward().as_str()),
                referrals::latitude.eq(Some(found.lat)),
                referrals::longitude.eq(Some(found.lon)),
                referrals::phone.eq(&phone),
                referrals::email.eq(&email),
                referrals::preferred_contact.eq(preferred),
                referrals::contact_times.eq(&contact_times),
                referrals::language.eq(&language),
                referrals::interpreter_needed.eq(new.interpreter_needed),
                referrals::access_needs.eq(&access_needs),
                referrals::do_not_contact_directly
                    .eq(new.do_not_contact_directly || flag_kinds.iter().any(|k| k == "do_not_contact")),
                referrals::sex.eq(&sex),
                referrals::ethnicity.eq(&ethnicity),
                referrals::referrer_words.eq(&referrer_words),
                referrals::what_matters.eq(&what_matters),
                referrals::risk_notes.eq(&risk_notes),
                referrals::consent_referral.eq(true),
                referrals::consent_share.eq(new.consent_share),
                referrals::created_at.eq(now),
                referrals::updated_at.eq(now),
            ))
            .execute(conn)?;
        for reason in &reason_ids {
            diesel::insert_into(referral_reasons::table)
                .values((referral_reasons::referral_id.eq(id.as_str()), referral_reasons::term_id.eq(reason)))
                .execute(conn)?;
        }
        diesel::insert_into(referral_events::table)
            .values((
                referral_events::referral_id.eq(id.as_str()),
                referral_events::at.eq(now),
                referral_events::actor_id.eq(referrer_id),
                referral_events::to_status.eq("received"),
            ))
            .execute(conn)?;
        let event = match user {
            Some(u) => Event::by(u, "referral.create", ip),
            None => Event { action: "referral.self_create", outcome: "ok", ip, ..Default::default() },
        };
        audit::record(conn, &event.on("referral", &id).detail(source_kind))?;
        // Flags are the person's: they go on the case this referral joins, else on this one.
        let flagged = case.as_ref().map(|c| c.id.clone()).unwrap_or_else(|| id.as_str().to_string());
        super::risk_flags::insert(conn, &flagged, &flag_kinds, new.flag_reason.as_deref().unwrap_or(""), referrer_id)?;
        match &case {
            Some(case) => {
                let organisation: String = crate::db::schema::organizations::table
                    .find(practice_id)
                    .select(crate::db::schema::organizations::name)
                    .first(conn)?;
                let source = super::view::source_label(source_kind);
                super::matching::record_joined(conn, case, referrer_id, &source, &organisation, now)?;
            }
            // The person hears once, when their case starts.
            None => crate::notifications::events::referral_received(conn, id.as_str())?,
        }
        Ok(())
    })?;
    Ok(id)
}
