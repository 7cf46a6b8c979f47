//! "Still accurate" from the reminder e-mail, without signing in. The link is signed like an
//! answer link (a key of its own): the listing, its version when the reminder was sent, the
//! editor it was sent to, and its expiry. Confirming is the editor's own "still accurate" (the
//! same use-case, audited as `listing.verify_link`), only while the listing is still at that
//! version: so the link works once, and not after anyone changed or confirmed the listing, and
//! not for someone who is no longer one of its group's editors.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::links::{listing_key, verify, AnswerClaims, LinkError};
use crate::accounts::users;
use crate::db::schema::services;
use crate::db::DbConnection;
use crate::directory::editing;
use crate::error::AppError;
use crate::ids::ServiceId;

/// The listing as the link's page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedListing {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Last confirmed accurate.
    pub last_verified: NaiveDateTime,
}

const NOT_VALID: &str = "This link is not valid. It may not have been copied in full: try the link in the e-mail \
                         again, or sign in to check your group's listings. Nothing has been changed.";
const EXPIRED: &str = "This link has expired. Sign in to confirm your listing is still accurate. Nothing has been \
                       changed.";
const USED: &str = "This listing has been confirmed or changed since this link was sent, so the link no longer \
                    works. Nothing has been changed. Sign in to see the listing as it is now.";

fn check(answer_key: &[u8; 32], token: &str) -> Result<AnswerClaims, AppError> {
    verify(&listing_key(answer_key), token, Utc::now().timestamp()).map_err(|e| match e {
        LinkError::Altered => AppError::not_found(NOT_VALID),
        LinkError::Expired => AppError::Conflict { message: EXPIRED.into(), allowed: Vec::new() },
    })
}

fn load(conn: &mut DbConnection, claims: &AnswerClaims) -> Result<(LinkedListing, i32), AppError> {
    let row: Option<(String, String, NaiveDateTime, i32)> = services::table
        .find(&claims.connection_id)
        .select((services::id, services::name, services::last_verified, services::version))
        .first(conn)
        .optional()?;
    let (id, name, last_verified, version) = row.ok_or_else(|| AppError::not_found(NOT_VALID))?;
    Ok((LinkedListing { id, name, last_verified }, version))
}

/// What the link opens: the listing, if the link still works.
pub fn open(conn: &mut DbConnection, answer_key: &[u8; 32], token: &str) -> Result<LinkedListing, AppError> {
    let claims = check(answer_key, token)?;
    let (listing, version) = load(conn, &claims)?;
    if version != claims.version {
        return Err(AppError::Conflict { message: USED.into(), allowed: Vec::new() });
    }
    Ok(listing)
}

/// Confirms the listing still accurate, as the editor the link was sent to.
pub fn confirm(
    conn: &mut DbConnection,
    answer_key: &[u8; 32],
    token: &str,
    ip: Option<&str>,
) -> Result<LinkedListing, AppError> {
    let claims = check(answer_key, token)?;
    let (listing, _) = load(conn, &claims)?;
    let editor = match claims.user_id.as_deref() {
        Some(id) => match users::by_id(conn, id)? {
            Some(row) => users::current(conn, &row)?,
            None => None,
        },
        None => None,
    };
    let Some(editor) = editor else {
        return Err(AppError::Conflict {
            message: "This link was sent to someone who can no longer edit this listing. Nothing has been changed."
                .into(),
            allowed: Vec::new(),
        });
    };
    let id = ServiceId::parse(&listing.id).ok_or_else(|| AppError::not_found(NOT_VALID))?;
    editing::verify_version(conn, &editor, &id, Some(claims.version), "listing.verify_link", ip).map_err(
        |e| match e {
            AppError::Conflict { .. } => AppError::Conflict { message: USED.into(), allowed: Vec::new() },
            // Not one of the group's editors any more (load_editable's 404).
            AppError::NotFound { .. } => AppError::Conflict {
                message: "This link was sent to someone who can no longer edit this listing. Nothing has been changed."
                    .into(),
                allowed: Vec::new(),
            },
            other => other,
        },
    )?;
    tracing::info!(service.id = %listing.id, "listing confirmed still accurate from an e-mailed link");
    let (listing, _) = load(conn, &claims)?;
    Ok(listing)
}
