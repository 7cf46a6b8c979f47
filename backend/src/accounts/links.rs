//! Single-use, expiring links: invitations (a new person sets their password) and password
//! resets issued by an admin. Only a hash of the secret is stored; the link is shown once.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::secrets::{random_token, token_hash};
use crate::db::schema::account_links;
use crate::db::DbConnection;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new account: set a password.
    Invitation,
    /// An admin-issued password reset.
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// Creates a link for a user; returns the secret to put in the URL.
pub fn create(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: Purpose,
    days: i64,
    created_by: Option<&str>,
) -> QueryResult<String> {
    let token = random_token();
    let now = Utc::now().naive_utc();
    diesel::insert_into(account_links::table)
        .values((
            account_links::id.eq(crate::ids::new_id()),
            account_links::user_id.eq(user_id),
            account_links::purpose.eq(purpose.as_str()),
            account_links::token_hash.eq(token_hash(&token)),
            account_links::expires_at.eq(now + Duration::days(days)),
            account_links::created_by.eq(created_by),
            account_links::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The user a link is for, if it is unused and unexpired (without using it up).
pub fn peek(conn: &mut DbConnection, token: &str, purpose: Purpose) -> QueryResult<Option<String>> {
    if token.len() > 100 {
        return Ok(None);
    }
    let row: Option<(String, NaiveDateTime, Option<NaiveDateTime>)> = account_links::table
        .filter(account_links::token_hash.eq(token_hash(token)))
        .filter(account_links::purpose.eq(purpose.as_str()))
        .select((account_links::user_id, account_links::expires_at, account_links::used_at))
        .first(conn)
        .optional()?;
    Ok(row.filter(|(_, expires, used)| used.is_none() && *expires > Utc::now().naive_utc()).map(|(user, _, _)| user))
}

/// Uses a link up; returns the user when it was valid. Call in the transaction that acts on it.
pub fn consume(conn: &mut DbConnection, token: &str, purpose: Purpose) -> QueryResult<Option<String>> {
    let Some(user) = peek(conn, token, purpose)? else { return Ok(None) };
    let updated = diesel::update(
        account_links::table
            .filter(account_links::token_hash.eq(token_hash(token)))
            .filter(account_links::used_at.is_null()),
    )
    .set(account_links::used_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    Ok((updated == 1).then_some(user))
}
