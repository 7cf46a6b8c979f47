//! A person's own account: accepting an invitation or reset link, changing the password, and
//! setting up or removing the TOTP second factor.

use chrono::Utc;

use super::audit::{self, Event};
use super::links::{self, Purpose};
use super::{password, totp, users, CurrentUser};
use crate::db::{self, DbConnection};
use crate::error::AppError;

/// Sets the password from an invitation or reset link (used up); answers the user id.
pub fn accept_link(
    conn: &mut DbConnection,
    token: &str,
    purpose: Purpose,
    new_password: &str,
    confirm: &str,
    ip: Option<&str>,
) -> Result<String, AppError> {
    let user_id = links::peek(conn, token, purpose)?.ok_or_else(|| {
        AppError::not_found("this link has expired or was already used; ask an administrator for a new one")
    })?;
    let user = users::by_id(conn, &user_id)?.ok_or_else(|| AppError::not_found("no such account"))?;
    if user.status == "disabled" {
        return Err(AppError::not_found(
            "this link has expired or was already used; ask an administrator for a new one",
        ));
    }
    check_new_password(new_password, confirm, &user.email, &user.name)?;
    let hash = password::hash(new_password).map_err(AppError::Internal)?;
    db::write(conn, |conn| -> Result<String, AppError> {
        links::consume(conn, token, purpose)?.ok_or_else(|| AppError::not_found("this link was already used"))?;
        users::set_password(conn, &user_id, &hash)?;
        let action = if purpose == Purpose::Invitation { "user.accept_invitation" } else { "user.password_reset" };
        audit::record(
            conn,
            &Event {
                actor_id: Some(&user_id),
                actor_role: Some(&user.role),
                action,
                outcome: "ok",
                ip,
                record_type: Some("user"),
                record_id: Some(&user_id),
                detail: None,
            },
        )?;
        Ok(user_id.clone())
    })
}

fn check_new_password(new_password: &str, confirm: &str, email: &str, name: &str) -> Result<(), AppError> {
    password::check_new(new_password, email, name).map_err(|m| AppError::invalid("new_password", m))?;
    if new_password != confirm {
        return Err(AppError::invalid("confirm", "the two passwords are not the same"));
    }
    Ok(())
}

/// Changes the password (the current one required); every earlier token stops working.
pub fn change_password(
    conn: &mut DbConnection,
    user: &CurrentUser,
    current: &str,
    new_password: &str,
    confirm: &str,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let row = users::by_id(conn, &user.id)?.ok_or_else(|| AppError::SignInRequired("account gone".into()))?;
    if !row.password_hash.as_deref().is_some_and(|h| password::verify(current, h)) {
        return Err(AppError::invalid("current_password", "that is not your current password"));
    }
    check_new_password(new_password, confirm, &user.email, &user.name)?;
    let hash = password::hash(new_password).map_err(AppError::Internal)?;
    db::write(conn, |conn| -> Result<(), AppError> {
        users::set_password(conn, &user.id, &hash)?;
        audit::record(conn, &Event::by(user, "user.change_password", ip).on("user", &user.id))?;
        Ok(())
    })
}

/// Starts TOTP set-up: a new secret, stored but not yet required. Answers the secret.
pub fn start_totp(conn: &mut DbConnection, user: &CurrentUser) -> Result<String, AppError> {
    let secret = totp::new_secret();
    users::set_totp(conn, &user.id, Some(&secret), false)?;
    Ok(secret)
}

/// The secret being set up, if any.
pub fn pending_totp(conn: &mut DbConnection, user: &CurrentUser) -> Result<Option<String>, AppError> {
    let row = users::by_id(conn, &user.id)?.ok_or_else(|| AppError::SignInRequired("account gone".into()))?;
    Ok(row.totp_secret.filter(|_| !row.totp_enabled))
}

/// Confirms set-up with a code from the app; from then on sign-in asks for a code.
pub fn confirm_totp(conn: &mut DbConnection, user: &CurrentUser, code: &str, ip: Option<&str>) -> Result<(), AppError> {
    let secret = pending_totp(conn, user)?.ok_or_else(|| AppError::invalid("code", "start the set-up first"))?;
    if !totp::verify(&secret, code, Utc::now().timestamp().max(0) as u64) {
        return Err(AppError::invalid(
            "code",
            "that code is not right; check the time on your phone and try the next one",
        ));
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        users::set_totp(conn, &user.id, Some(&secret), true)?;
        audit::record(conn, &Event::by(user, "user.totp_enable", ip).on("user", &user.id))?;
        Ok(())
    })
}

/// Removes the second factor (password required; refused when the role requires one).
pub fn disable_totp(
    conn: &mut DbConnection,
    user: &CurrentUser,
    current: &str,
    required: bool,
    ip: Option<&str>,
) -> Result<(), AppError> {
    if required {
        return Err(AppError::invalid("current_password", "your role requires a second factor"));
    }
    let row = users::by_id(conn, &user.id)?.ok_or_else(|| AppError::SignInRequired("account gone".into()))?;
    if !row.password_hash.as_deref().is_some_and(|h| password::verify(current, h)) {
        return Err(AppError::invalid("current_password", "that is not your current password"));
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        users::set_totp(conn, &user.id, None, false)?;
        audit::record(conn, &Event::by(user, "user.totp_disable", ip).on("user", &user.id))?;
        Ok(())
    })
}

/// Signs out everywhere: every token issued so far stops working.
pub fn sign_out(conn: &mut DbConnection, user: &CurrentUser, ip: Option<&str>) -> Result<(), AppError> {
    db::write(conn, |conn| -> Result<(), AppError> {
        users::revoke_tokens(conn, &user.id)?;
        audit::record(conn, &Event::by(user, "sign_out", ip).on("user", &user.id))?;
        Ok(())
    })
}
