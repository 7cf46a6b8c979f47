//! A person refers themselves, without an account (`/refer-yourself`, `POST
//! /api/v1/self-referrals`). The referral goes to the link worker service covering their
//! postcode and waits in its queue marked "self-referral"; a postcode outside every coverage is
//! told where to go instead, and nothing is kept. A bot filling the hidden field gets the same
//! answer as a person and nothing is kept; each address may send [`PER_HOUR`] an hour (counted
//! in the shared `rate_limits` table, so every instance shares one allowance).

use serde::{Deserialize, Serialize};

use super::create::{create_by, NewReferral, ReferredBy};
use crate::accounts::audit::{self, Event};
use crate::accounts::rate_limit::Limiter;
use crate::db::DbConnection;
use crate::directory::taxonomy::Taxonomy;
use crate::error::AppError;

/// Self-referrals an address may send in an hour.
pub const PER_HOUR: i32 = 5;

/// The answer to every self-referral taken in (and to a bot's, which is not kept).
pub const RECEIVED: &str = "Thank you. We have your details. A link worker will get in touch with you, \
    usually within 5 working days, in the way you chose. If you need help now, call NHS 111. \
    In an emergency, call 999.";

/// What a person sends about themselves. Fields left out are empty, so a missing one is named
/// in the answer like a blank one.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelfReferral {
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// Optional: ten digits.
    pub nhs_number: String,
    /// Their postcode: it decides which service will help.
    pub postcode: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// `phone`, `text`, `email` or `letter`.
    pub preferred_contact: String,
    /// When it is safe and easy to get in touch.
    pub contact_times: String,
    /// Needs an interpreter.
    pub interpreter_needed: bool,
    /// Their language, if not English.
    pub language: String,
    /// What matters to them, in their own words.
    pub what_matters: String,
    /// They agree to be referred (required).
    pub consent_referral: bool,
    /// They agree to their name being shared with groups they are introduced to.
    pub consent_share: bool,
    /// The hidden field people never see: a bot fills it.
    pub website: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl SelfReferral {
    /// The referral it makes: routine, no reasons chosen (the link worker asks), the person's
    /// words as what matters to them.
    pub fn to_referral(&self) -> NewReferral {
        NewReferral {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            date_of_birth: self.date_of_birth.clone(),
            nhs_number: self.nhs_number.clone(),
            postcode: self.postcode.clone(),
            phone: given(&self.phone),
            email: given(&self.email),
            preferred_contact: self.preferred_contact.clone(),
            contact_times: given(&self.contact_times),
            language: given(&self.language),
            interpreter_needed: self.interpreter_needed,
            what_matters: given(&self.what_matters),
            urgency: "routine".into(),
            consent_referral: self.consent_referral,
            consent_share: self.consent_share,
            ..NewReferral::default()
        }
    }
}

/// Plainer words for the problems the referral form names, for the person themselves.
fn plain(field: &str, message: String) -> String {
    match field {
        "given_name" => "Tell us your first name".into(),
        "family_name" => "Tell us your last name".into(),
        "date_of_birth" if message.contains("future") => "Your date of birth cannot be in the future".into(),
        "date_of_birth" => "Tell us your date of birth, for example 1960-03-21".into(),
        "nhs_number" => "This NHS number is not right. Check it, or leave it empty".into(),
        "consent_referral" => "Tick the box to say you agree, so we can help you".into(),
        "preferred_contact" => "Choose how we should get in touch".into(),
        "phone" if message.starts_with("needed") => "Give a phone number, so we can call or text you".into(),
        "email" if message.starts_with("needed") => "Give an e-mail address, so we can e-mail you".into(),
        _ => message,
    }
}

/// Takes a self-referral in: `Ok` (the same answer whether kept or not), 422 by field, 429
/// after [`PER_HOUR`] from one address.
pub fn refer(
    conn: &mut DbConnection,
    taxonomy: &Taxonomy,
    form: &SelfReferral,
    ip: Option<&str>,
    limit: &Limiter,
) -> Result<(), AppError> {
    let key = ip.unwrap_or("unknown");
    // Counted and checked in one step, so referrals sent together cannot all pass a check made
    // before any of them was counted; one refused for a field is given back, so a person
    // correcting a mistake is not locked out.
    if let Some(wait) = limit.take(conn, key)? {
        return Err(AppError::TooManyRequests(wait.as_secs().max(1)));
    }
    if !form.website.trim().is_empty() {
        // A bot: the same answer, nothing kept (the count stays taken).
        let event = Event { action: "referral.self_create", outcome: "honeypot", ip, ..Default::default() };
        audit::record(conn, &event)?;
        return Ok(());
    }
    let id = match create_by(conn, ReferredBy::Themselves, taxonomy, &form.to_referral(), ip) {
        Ok(id) => id,
        Err(AppError::Invalid(fields)) => {
            limit.give_back(conn, key)?;
            return Err(AppError::Invalid(
                fields
                    .into_iter()
                    .map(|(f, m)| {
                        let m = plain(&f, m);
                        (f, m)
                    })
                    .collect(),
            ));
        }
        Err(other) => return Err(other),
    };
    tracing::info!(referral.id = %id, "self-referral received");
    Ok(())
}
