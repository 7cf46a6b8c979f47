//! A community group signs itself up, without an account: its organisation (`pending`) and the
//! volunteer's group-editor account (disabled until then) are created in one transaction with
//! the audit row, and wait for the directory team ([`super::approval`]). Nobody learns from the
//! answer whether an e-mail address already has an account: a sign-up with one creates
//! nothing, is recorded in the audit trail, and is answered like any other.

use diesel::QueryResult;
use serde::{Deserialize, Serialize};

use super::audit::{self, Event};
use super::organisations::{self, GroupDetails};
use super::rate_limit::Limiter;
use super::{password, users, Role};
use crate::db::{self, DbConnection};
use crate::domain::contact::{safe_url, valid_phone};
use crate::domain::FieldErrors;
use crate::error::AppError;

/// The answer to every accepted sign-up, on the page and from the API.
pub const RECEIVED: &str = "Thank you. The directory team will check your group's details and get in touch, \
    usually within a few working days. Once your group is approved you can sign in and add its activities.";

/// Longest group name.
const MAX_NAME: usize = 200;
/// Longest description of what the group does: a few sentences, not a brochure.
pub const MAX_DESCRIPTION: usize = 2000;
/// Longest person's name (as for invitations).
const MAX_PERSON: usize = 120;
/// Longest web address.
const MAX_WEBSITE: usize = 500;

/// What a volunteer sends from the `/join` page or to `POST /api/v1/organisations/sign-up`.
/// Fields left out are empty, so a missing one is named in the answer like a blank one.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignUp {
    /// The group's name.
    pub organisation_name: String,
    /// What the group does, in a few sentences.
    pub organisation_description: String,
    /// The group's web site (optional; http or https only).
    pub website: String,
    /// The group's e-mail address (this or a phone number).
    pub organisation_email: String,
    /// The group's phone number (this or an e-mail address).
    pub organisation_phone: String,
    /// The volunteer's name.
    pub name: String,
    /// The volunteer's e-mail address: they sign in with it.
    pub email: String,
    /// The volunteer's new password (never shown again, never logged).
    #[serde(skip_serializing)]
    pub password: String,
}

impl std::fmt::Debug for SignUp {
    // By hand, so the password can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUp").field("organisation_name", &self.organisation_name).finish_non_exhaustive()
    }
}

/// Whether text holds control characters (other than line breaks and tabs in long text).
/// PostgreSQL refuses a NUL in text, and nobody types the others on purpose.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A trimmed optional field: `None` when blank.
fn given(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// Checks a sign-up; answers every problem at once, by field.
pub fn check(form: &SignUp) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut refuse = |field: &str, message: &str| {
        errors.entry(field.to_string()).or_insert_with(|| message.to_string());
    };
    let texts = [
        ("organisation_name", &form.organisation_name),
        ("organisation_description", &form.organisation_description),
        ("website", &form.website),
        ("organisation_email", &form.organisation_email),
        ("organisation_phone", &form.organisation_phone),
        ("name", &form.name),
        ("email", &form.email),
    ];
    for (field, value) in texts {
        if has_control(value) {
            refuse(field, "remove the unusual characters (perhaps pasted from another program)");
        }
    }
    let name = form.organisation_name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        refuse("organisation_name", &format!("enter your group's name (up to {MAX_NAME} characters)"));
    }
    let description = form.organisation_description.trim();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        refuse(
            "organisation_description",
            &format!("say in a few sentences what your group does (up to {MAX_DESCRIPTION} characters)"),
        );
    }
    if given(&form.website).is_some_and(|w| w.chars().count() > MAX_WEBSITE || !safe_url(w)) {
        refuse("website", "enter a web address starting with https:// or http://, or leave it empty");
    }
    let (group_email, group_phone) = (given(&form.organisation_email), given(&form.organisation_phone));
    if group_email.is_some_and(|e| !users::valid_email(e)) {
        refuse("organisation_email", "enter an e-mail address like hello@example.org");
    }
    if group_phone.is_some_and(|p| !valid_phone(p)) {
        refuse("organisation_phone", "enter a UK phone number like 01632 960123");
    }
    if group_email.is_none() && group_phone.is_none() {
        refuse("organisation_email", "give the group's e-mail address or phone number, so people can get in touch");
    }
    let person = form.name.trim();
    if person.is_empty() || person.chars().count() > MAX_PERSON {
        refuse("name", &format!("enter your name (up to {MAX_PERSON} characters)"));
    }
    if !users::valid_email(&form.email) {
        refuse("email", "enter your e-mail address like name@example.org");
    }
    if let Err(why) = password::check_new(&form.password, &form.email, &form.name) {
        refuse("password", &why);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Signs a group up: checks the form, then creates the pending organisation, the disabled
/// group-editor account and the audit row in one transaction. An address that already has an
/// account creates nothing and is answered the same (`Ok`), with a `denied` audit row.
/// `limit` counts sign-ups per client address; only checked sign-ups count, so a volunteer
/// correcting a typing mistake is not locked out.
pub fn sign_up(conn: &mut DbConnection, form: &SignUp, ip: Option<&str>, limit: &Limiter) -> Result<(), AppError> {
    let key = ip.unwrap_or("unknown");
    if let Some(wait) = limit.check(conn, key)? {
        return Err(AppError::TooManyRequests(wait.as_secs().max(1)));
    }
    check(form).map_err(AppError::Invalid)?;
    // Counted and checked in one step: sign-ups sent together cannot all pass a check made
    // before any of them was counted.
    if let Some(wait) = limit.take(conn, key)? {
        return Err(AppError::TooManyRequests(wait.as_secs().max(1)));
    }
    // Hashed whether or not the address is known, so the time taken does not tell.
    let hash = password::hash(&form.password).map_err(AppError::Internal)?;
    match db::write(conn, |conn| create(conn, form, &hash, ip)) {
        Ok(()) => Ok(()),
        // Two sign-ups with one address at the same moment (PostgreSQL lets both look before
        // either writes): the second meets the unique address, and is one with a known address.
        Err(AppError::Conflict { .. }) => db::write(conn, |conn| Ok(record_known_address(conn, None, ip)?)),
        Err(other) => Err(other),
    }
}

fn create(conn: &mut DbConnection, form: &SignUp, hash: &str, ip: Option<&str>) -> Result<(), AppError> {
    if let Some(existing) = users::by_email(conn, &form.email)? {
        record_known_address(conn, Some(&existing.id), ip)?;
        return Ok(());
    }
    let organisation_id = crate::ids::new_id();
    let group = GroupDetails {
        name: form.organisation_name.trim(),
        description: form.organisation_description.trim(),
        website: given(&form.website),
        email: given(&form.organisation_email),
        phone: given(&form.organisation_phone),
    };
    organisations::create_pending(conn, &organisation_id, &group)?;
    let user_id = users::create(conn, &organisation_id, &form.email, &form.name, Role::GroupEditor, Some(hash))?;
    // Held disabled as well as the organisation pending: two locks, either enough on its own.
    users::set_active(conn, &user_id, false)?;
    audit::record(
        conn,
        &Event {
            actor_id: Some(&user_id),
            actor_role: Some(Role::GroupEditor.as_str()),
            action: "organisation.sign_up",
            outcome: "ok",
            ip,
            record_type: Some("organisation"),
            record_id: Some(&organisation_id),
            detail: None,
        },
    )?;
    crate::notifications::events::group_waiting(conn, &organisation_id)?;
    tracing::info!(organisation.id = %organisation_id, "community group signed up; waiting for approval");
    Ok(())
}

/// The audit row of a sign-up with an address that already has an account (its id when known).
fn record_known_address(conn: &mut DbConnection, user_id: Option<&str>, ip: Option<&str>) -> QueryResult<()> {
    audit::record(
        conn,
        &Event {
            action: "organisation.sign_up",
            outcome: "denied",
            ip,
            record_type: user_id.map(|_| "user"),
            record_id: user_id,
            detail: Some("email_taken"),
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SignUp {
        SignUp {
            organisation_name: "Bisley Road Allotment Growers".into(),
            organisation_description: "We grow vegetables together every Saturday morning.".into(),
            website: "https://bisley-growers.example.org".into(),
            organisation_email: "hello@bisley-growers.example.org".into(),
            organisation_phone: String::new(),
            name: "Pat Green".into(),
            email: "pat@bisley-growers.example.org".into(),
            password: "runner beans on a windy hill".into(),
        }
    }

    #[test]
    fn a_complete_sign_up_passes() {
        assert_eq!(check(&good()), Ok(()));
        let phone_only =
            SignUp { organisation_email: String::new(), organisation_phone: "01632 960123".into(), ..good() };
        assert_eq!(check(&phone_only), Ok(()));
        let no_website = SignUp { website: "  ".into(), ..good() };
        assert_eq!(check(&no_website), Ok(()));
    }

    #[test]
    fn each_mistake_names_its_field() {
        let cases: Vec<(SignUp, &str)> = vec![
            (SignUp { organisation_name: " ".into(), ..good() }, "organisation_name"),
            (SignUp { organisation_name: "x".repeat(201), ..good() }, "organisation_name"),
            (SignUp { organisation_description: String::new(), ..good() }, "organisation_description"),
            (SignUp { organisation_description: "x".repeat(2001), ..good() }, "organisation_description"),
            (SignUp { website: "javascript:alert(1)".into(), ..good() }, "website"),
            (SignUp { website: "data:text/html,hi".into(), ..good() }, "website"),
            (SignUp { website: "ftp://files.example.org".into(), ..good() }, "website"),
            (SignUp { organisation_email: "hello".into(), ..good() }, "organisation_email"),
            (
                SignUp { organisation_email: String::new(), organisation_phone: String::new(), ..good() },
                "organisation_email",
            ),
            (SignUp { organisation_phone: "123".into(), ..good() }, "organisation_phone"),
            (SignUp { name: String::new(), ..good() }, "name"),
            (SignUp { email: "pat@".into(), ..good() }, "email"),
            (SignUp { password: "short".into(), ..good() }, "password"),
            (SignUp { password: "password12345".into(), ..good() }, "password"),
            (SignUp { organisation_name: "Growers\0".into(), ..good() }, "organisation_name"),
        ];
        for (form, field) in cases {
            let errors = check(&form).expect_err(field);
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn markup_is_only_text_here() {
        // Checked as text and stored as typed; pages escape it when they show it.
        let form = SignUp { organisation_name: "<script>alert(1)</script> Growers".into(), ..good() };
        assert_eq!(check(&form), Ok(()));
    }

    #[test]
    fn the_password_never_reaches_a_log_line() {
        let shown = format!("{:?}", good());
        assert!(!shown.contains("runner beans"), "{shown}");
        let json = serde_json::to_string(&good()).unwrap();
        assert!(!json.contains("runner beans"), "{json}");
    }
}
