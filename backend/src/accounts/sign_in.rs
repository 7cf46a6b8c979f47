//! Signing in: e-mail and password, a TOTP code where set up (or required for the role),
//! limits against guessing, and one generic failure message that never says whether the
//! e-mail exists.

use chrono::Utc;

use super::audit::{self, Event};
use super::organisations::{self, OrgStatus};
use super::rate_limit::SignInLimits;
use super::tokens::TokenKeys;
use super::{password, totp, users, CurrentUser};
use crate::config::Settings;
use crate::db::DbConnection;

/// The message for every failed sign-in, whatever the reason.
pub const GENERIC_FAILURE: &str = crate::error::SIGN_IN_FAILURE;

/// The message for a volunteer whose group has not been approved yet.
pub const AWAITING_APPROVAL: &str = "Your group is waiting for the directory team to approve it. \
    You can sign in once it is approved; they will get in touch.";

/// Why signing in did not work.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong e-mail, password or code, or the account is not active (one answer for all).
    #[error("{GENERIC_FAILURE}")]
    Refused,
    /// The password was right and a TOTP code is needed (asked for on a second screen).
    #[error("enter the 6-digit code from your authenticator app")]
    CodeNeeded,
    /// The role requires a second factor the account has not set up; an admin must help.
    #[error("your role requires a second factor: ask an administrator for a reset link to set one up")]
    SecondFactorRequired,
    /// The password was right, but the person's community group signed itself up and is still
    /// waiting for the directory team (said only to someone who knows the password).
    #[error("{AWAITING_APPROVAL}")]
    AwaitingApproval,
    /// Too many attempts.
    #[error("too many attempts; try again in {0} minutes")]
    TooMany(u64),
    /// The database failed (kept whole, so a lost database is a 503, not a 500).
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// A token could not be signed.
    #[error("token: {0}")]
    Token(String),
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: CurrentUser,
    /// The access token.
    pub token: String,
    /// When it expires (seconds since the epoch).
    pub expires_at: i64,
}

/// What the person typed: the API's login body and the sign-in page's form alike.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
    /// TOTP code, when asked.
    #[serde(default)]
    pub code: Option<String>,
}

/// Never the password or the code, so a stray `{:?}` cannot log them.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("email", &self.email).finish_non_exhaustive()
    }
}

/// Checks the credentials, writes the audit row (success or failure) and issues a token.
pub fn sign_in(
    conn: &mut DbConnection,
    credentials: &Credentials,
    ip: Option<&str>,
    keys: &TokenKeys,
    limits: &SignInLimits,
    settings: &Settings,
) -> Result<Session, SignInError> {
    let email = users::normalise_email(&credentials.email);
    let ip_key = ip.unwrap_or("unknown");
    let minutes = |d: std::time::Duration| d.as_secs().div_ceil(60).max(1);
    if let Some(wait) = limits.per_ip.take(conn, ip_key)? {
        return Err(SignInError::TooMany(minutes(wait)));
    }
    // Every attempt is counted before the password is checked, and a success forgets them:
    // parallel guesses (on one instance or several) cannot all pass while none has failed yet.
    if let Some(wait) = limits.per_account.take(conn, &email)? {
        return Err(SignInError::TooMany(minutes(wait)));
    }

    let user = users::by_email(conn, &email)?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // Verify against a dummy hash when there is no account, so timing tells nothing.
    let password_ok =
        password::verify(&credentials.password, hash.as_deref().unwrap_or(password::dummy_hash())) && hash.is_some();
    let current = match (&user, password_ok) {
        (Some(row), true) => users::current(conn, row)?,
        _ => None,
    };
    let fail = |conn: &mut DbConnection, detail: &str| -> Result<Session, SignInError> {
        let actor = user.as_ref().map(|u| u.id.as_str());
        audit::record(
            conn,
            &Event {
                actor_id: actor,
                action: "sign_in.failure",
                outcome: "denied",
                ip,
                detail: Some(detail),
                ..Default::default()
            },
        )?;
        Err(SignInError::Refused)
    };
    let Some(current) = current else {
        if let (Some(row), true) = (&user, password_ok) {
            let organisation = organisations::get(conn, &row.organization_id)?;
            if organisation.is_some_and(|o| o.status == OrgStatus::Pending.as_str()) {
                audit::record(
                    conn,
                    &Event {
                        actor_id: Some(&row.id),
                        action: "sign_in.failure",
                        outcome: "denied",
                        ip,
                        detail: Some("organisation_pending"),
                        ..Default::default()
                    },
                )?;
                return Err(SignInError::AwaitingApproval);
            }
        }
        let detail = match (&user, password_ok) {
            (None, _) => "unknown_account",
            (Some(_), false) => "wrong_password",
            (Some(_), true) => "account_not_active",
        };
        return fail(conn, detail);
    };
    let row = user.as_ref().ok_or(SignInError::Refused)?;
    if row.totp_enabled {
        match credentials.code.as_deref().filter(|c| !c.trim().is_empty()) {
            None => {
                // The password was right: this round asks for the code and costs no attempt
                // (the code itself is counted when it comes, so codes cannot be guessed freely).
                limits.per_account.give_back(conn, &email)?;
                limits.per_ip.give_back(conn, ip_key)?;
                return Err(SignInError::CodeNeeded);
            }
            Some(code) => {
                let secret = row.totp_secret.as_deref().unwrap_or("");
                if !totp::verify(secret, code, Utc::now().timestamp().max(0) as u64) {
                    return fail(conn, "wrong_code");
                }
            }
        }
    } else if settings.totp_required(current.role) {
        audit::record(
            conn,
            &Event::by(&current, "sign_in.failure", ip).outcome("denied").detail("second_factor_not_set_up"),
        )?;
        return Err(SignInError::SecondFactorRequired);
    }
    limits.per_account.clear(conn, &email)?;
    let now = Utc::now().timestamp();
    let (token, expires_at) =
        keys.issue(&current.id, row.token_version, now, now).map_err(|e| SignInError::Token(e.to_string()))?;
    audit::record(conn, &Event::by(&current, "sign_in.success", ip).on("user", &current.id))?;
    Ok(Session { user: current, token, expires_at })
}
