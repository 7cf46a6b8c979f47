//! The referral row and the views built from it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::referrals;

/// A referral as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
#[allow(missing_docs)]
pub struct ReferralRow {
    pub id: String,
    pub practice_id: String,
    pub service_id: String,
    pub referrer_id: String,
    pub owner_id: Option<String>,
    pub status: String,
    pub version: i32,
    pub urgency: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub nhs_number: String,
    pub postcode: String,
    pub outward_code: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferred_contact: String,
    pub contact_times: Option<String>,
    pub language: Option<String>,
    pub interpreter_needed: bool,
    pub access_needs: Option<String>,
    pub do_not_contact_directly: bool,
    pub sex: Option<String>,
    pub ethnicity: Option<String>,
    pub referrer_words: String,
    pub what_matters: Option<String>,
    pub risk_notes: Option<String>,
    pub consent_referral: bool,
    pub consent_share: bool,
    pub first_contact_at: Option<NaiveDateTime>,
    pub review_date: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub contact_stopped_at: Option<NaiveDateTime>,
    pub source_kind: String,
    pub case_id: Option<String>,
}

/// The person, for those who may see who they are.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// NHS number, `999 123 4560`.
    pub nhs_number: String,
    /// Postcode.
    pub postcode: String,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// `phone`, `text`, `email` or `letter`.
    pub preferred_contact: String,
    /// When to call.
    pub contact_times: Option<String>,
    /// Preferred language.
    pub language: Option<String>,
    /// Needs an interpreter.
    pub interpreter_needed: bool,
    /// Access needs.
    pub access_needs: Option<String>,
    /// Do not contact directly (go through the practice or a named person).
    pub do_not_contact_directly: bool,
}

impl ReferralRow {
    /// The person's details.
    pub fn person(&self) -> PersonView {
        let nhs = crate::domain::NhsNumber::parse(&self.nhs_number)
            .map(|n| n.to_string())
            .unwrap_or_else(|_| self.nhs_number.clone());
        PersonView {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            date_of_birth: self.date_of_birth,
            nhs_number: nhs,
            postcode: self.postcode.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            preferred_contact: self.preferred_contact.clone(),
            contact_times: self.contact_times.clone(),
            language: self.language.clone(),
            interpreter_needed: self.interpreter_needed,
            access_needs: self.access_needs.clone(),
            do_not_contact_directly: self.do_not_contact_directly,
        }
    }

    /// Age in whole years on a date.
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        use chrono::Datelike;
        let mut age = date.year() - self.date_of_birth.year();
        if (date.month(), date.day()) < (self.date_of_birth.month(), self.date_of_birth.day()) {
            age -= 1;
        }
        age
    }
}
