//! People who sign in: reading them as a [`CurrentUser`], creating (invited), enabling and
//! disabling, and the token version that revokes every earlier token.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::{CurrentUser, OrgKind, Role};
use crate::db::schema::{organizations, practice_services, users};
use crate::db::DbConnection;

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Organisation.
    pub organization_id: String,
    /// Sign-in e-mail, lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// argon2id PHC string; none until the invitation is accepted.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// TOTP secret (base32).
    #[serde(skip)]
    pub totp_secret: Option<String>,
    /// Whether TOTP is required at sign-in.
    pub totp_enabled: bool,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// Bumped to revoke every earlier token.
    #[serde(skip)]
    pub token_version: i32,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Normalises an e-mail for lookups: trimmed, lower case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks an e-mail address enough to catch typing mistakes.
pub fn valid_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        && !domain.contains('@')
}

/// A user by e-mail.
pub fn by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table.filter(users::email.eq(normalise_email(email))).select(UserRow::as_select()).first(conn).optional()
}

/// A user by id.
pub fn by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).optional()
}

/// The signed-in view of an active user, or `None` (unknown, not active, organisation gone).
pub fn current(conn: &mut DbConnection, user: &UserRow) -> QueryResult<Option<CurrentUser>> {
    if user.status != "active" {
        return Ok(None);
    }
    let org: Option<(String, String, String)> = organizations::table
        .find(&user.organization_id)
        .select((organizations::name, organizations::kind, organizations::status))
        .first(conn)
        .optional()?;
    let Some((organisation_name, kind, org_status)) = org else { return Ok(None) };
    let (Some(role), Some(organisation_kind)) = (Role::parse(&user.role), OrgKind::parse(&kind)) else {
        return Ok(None);
    };
    if org_status != "active" {
        return Ok(None);
    }
    let served_by = if organisation_kind == OrgKind::GpPractice {
        practice_services::table
            .find(&user.organization_id)
            .select(practice_services::service_id)
            .first(conn)
            .optional()?
    } else {
        None
    };
    Ok(Some(CurrentUser {
        id: user.id.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
        role,
        organisation_id: user.organization_id.clone(),
        organisation_name,
        organisation_kind,
        served_by,
        totp_enabled: user.totp_enabled,
    }))
}

/// Creates a user (status `invited` until they set a password, or `active` with a hash).
pub fn create(
    conn: &mut DbConnection,
    organisation_id: &str,
    email: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
) -> QueryResult<String> {
    let id = crate::ids::new_id();
    let now = Utc::now().naive_utc();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::organization_id.eq(organisation_id),
            users::email.eq(normalise_email(email)),
            users::name.eq(name.trim()),
            users::role.eq(role.as_str()),
            users::password_hash.eq(password_hash),
            users::status.eq(if password_hash.is_some() { "active" } else { "invited" }),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Sets a new password, activates an invited user, and revokes earlier tokens.
pub fn set_password(conn: &mut DbConnection, id: &str, hash: &str) -> QueryResult<()> {
    let status: String = users::table.find(id).select(users::status).first(conn)?;
    let status = if status == "invited" { "active".to_string() } else { status };
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(Some(hash)),
            users::status.eq(status),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Enables or disables a user; disabling revokes every token at once.
pub fn set_active(conn: &mut DbConnection, id: &str, active: bool) -> QueryResult<()> {
    let has_password: Option<String> = users::table.find(id).select(users::password_hash).first(conn)?;
    let status = match (active, has_password.is_some()) {
        (false, _) => "disabled",
        (true, true) => "active",
        (true, false) => "invited",
    };
    diesel::update(users::table.find(id))
        .set((
            users::status.eq(status),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every account of an organisation, by name.
pub fn in_organisation(conn: &mut DbConnection, organisation_id: &str) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::organization_id.eq(organisation_id))
        .order((users::name, users::id))
        .select(UserRow::as_select())
        .load(conn)
}

/// Revokes every token issued so far (sign out everywhere).
pub fn revoke_tokens(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(users::token_version.eq(users::token_version + 1)).execute(conn)?;
    Ok(())
}

/// Stores a TOTP secret (not yet enabled) or enables/disables it.
pub fn set_totp(conn: &mut DbConnection, id: &str, secret: Option<&str>, enabled: bool) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::totp_secret.eq(secret),
            users::totp_enabled.eq(enabled),
            users::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A user with their organisation's name, for admin lists.
#[derive(Debug, Clone, Serialize)]
pub struct UserListing {
    /// The user.
    #[serde(flatten)]
    pub user: UserRow,
    /// Their organisation's name.
    pub organisation_name: String,
}

/// Every user, by organisation then name.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<UserListing>> {
    let rows: Vec<(UserRow, String)> = users::table
        .inner_join(organizations::table)
        .order((organizations::name, users::name))
        .select((UserRow::as_select(), organizations::name))
        .load(conn)?;
    Ok(rows.into_iter().map(|(user, organisation_name)| UserListing { user, organisation_name }).collect())
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn emails() {
        for ok in ["jo@example.org", "a.b+c@nhs.net"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in ["", "jo", "jo@", "@example.org", "jo@example", "jo @example.org", "jo@.org", "<a>@b.org"] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
