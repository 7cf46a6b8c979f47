//! A group answers an introduction from the link in its e-mail, without signing in: we can
//! take them, waiting list, or we can't (with a reason). The link is checked (signature,
//! expiry), then the connection must still be introduced and at the version the link was
//! made for: the first answer wins and every link for the introduction stops working. The
//! answer is a connection event (by the editor the link was sent to, or nobody for the
//! group's contact address) and an audit row, in one transaction.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::links::{verify, AnswerClaims, LinkError};
use crate::accounts::audit::{self, Event};
use crate::db::schema::{connection_events, connections, organizations, referral_restrictions, referrals, services};
use crate::db::{self, DbConnection};
use crate::domain::connection_status::ConnectionStatus;
use crate::error::AppError;

/// The answer as sent from the page.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkAnswer {
    /// `accepted`, `waitlisted` or `declined`.
    pub answer: String,
    /// Why the group cannot take the person (required to decline).
    pub reason: Option<String>,
}

/// The introduction as the link's page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedIntroduction {
    /// The group's listing.
    pub service_name: String,
    /// The link worker service introducing.
    pub link_worker_service: String,
    /// The person's first name, only with their consent to share it.
    pub first_name: Option<String>,
    /// Where it stands now.
    pub status: String,
}

const NOT_VALID: &str = "This link is not valid. It may not have been copied in full: try the link in the e-mail \
                         again, or sign in to see your group's introductions. Nothing has been changed.";
const EXPIRED: &str = "This link has expired. Sign in to answer the introduction, or ask the link worker to send \
                       it again. Nothing has been changed.";

fn check(key: &[u8; 32], token: &str) -> Result<AnswerClaims, AppError> {
    verify(key, token, Utc::now().timestamp()).map_err(|e| match e {
        LinkError::Altered => AppError::not_found(NOT_VALID),
        LinkError::Expired => AppError::Conflict { message: EXPIRED.into(), allowed: Vec::new() },
    })
}

type Row = (String, i32, String, String, bool, String, String);

fn load(conn: &mut DbConnection, claims: &AnswerClaims) -> Result<(Row, LinkedIntroduction), AppError> {
    let row: Option<Row> = connections::table
        .inner_join(services::table)
        .inner_join(referrals::table.on(referrals::id.eq(connections::referral_id)))
        .filter(connections::id.eq(&claims.connection_id))
        .filter(referrals::status.ne("entered_in_error"))
        .filter(diesel::dsl::not(
            referrals::id.eq_any(referral_restrictions::table.select(referral_restrictions::referral_id)),
        ))
        .select((
            connections::status,
            connections::version,
            services::name,
            referrals::service_id,
            referrals::consent_share,
            referrals::given_name,
            services::organization_id,
        ))
        .first(conn)
        .optional()?;
    let row = row.ok_or_else(|| AppError::not_found(NOT_VALID))?;
    let link_worker_service: String = organizations::table.find(&row.3).select(organizations::name).first(conn)?;
    let view = LinkedIntroduction {
        service_name: row.2.clone(),
        link_worker_service,
        first_name: row.4.then(|| row.5.clone()),
        status: row.0.clone(),
    };
    Ok((row, view))
}

fn answered_already(view: &LinkedIntroduction) -> AppError {
    let said = match view.status.as_str() {
        "accepted" => "that you can take them",
        "waitlisted" => "that they are on your waiting list",
        "declined" => "that you cannot take them",
        _ => "and the link worker has moved it on",
    };
    AppError::Conflict {
        message: format!(
            "This introduction has already been answered: {said}. Nothing has been changed. \
             Sign in to see your group's introductions."
        ),
        allowed: Vec::new(),
    }
}

/// What the link opens: the introduction, if the link still works.
pub fn open(conn: &mut DbConnection, key: &[u8; 32], token: &str) -> Result<LinkedIntroduction, AppError> {
    let claims = check(key, token)?;
    let ((status, version, ..), view) = load(conn, &claims)?;
    if status != ConnectionStatus::Introduced.as_str() || version != claims.version {
        return Err(answered_already(&view));
    }
    Ok(view)
}

/// Answers the introduction.
pub fn answer(
    conn: &mut DbConnection,
    key: &[u8; 32],
    token: &str,
    form: &LinkAnswer,
    ip: Option<&str>,
) -> Result<LinkedIntroduction, AppError> {
    let claims = check(key, token)?;
    let to = match form.answer.trim() {
        "accepted" => ConnectionStatus::Accepted,
        "waitlisted" => ConnectionStatus::Waitlisted,
        "declined" => ConnectionStatus::Declined,
        _ => return Err(AppError::invalid("answer", "choose one of the three answers")),
    };
    let reason = form.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if to == ConnectionStatus::Declined && reason.is_none() {
        return Err(AppError::invalid("reason", "say why the group cannot take this person"));
    }
    if reason.is_some_and(|r| r.chars().count() > 2000) {
        return Err(AppError::invalid("reason", "at most 2000 characters"));
    }
    let ((status, version, .., group_org), mut view) = load(conn, &claims)?;
    if status != ConnectionStatus::Introduced.as_str() || version != claims.version {
        return Err(answered_already(&view));
    }
    let now = Utc::now().naive_utc();
    let id = claims.connection_id.as_str();
    // The editor the link went to must still be one of the group's editors.
    let actor = match &claims.user_id {
        Some(user) => crate::db::schema::users::table
            .find(user)
            .filter(crate::db::schema::users::organization_id.eq(&group_org))
            .select(crate::db::schema::users::id)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    db::write(conn, |conn| -> Result<(), AppError> {
        let updated = diesel::update(
            connections::table
                .filter(connections::id.eq(id))
                .filter(connections::version.eq(claims.version))
                .filter(connections::status.eq(ConnectionStatus::Introduced.as_str())),
        )
        .set((
            connections::status.eq(to.as_str()),
            connections::version.eq(claims.version + 1),
            connections::answered_at.eq(Some(now)),
            connections::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(AppError::Conflict {
                message: "This introduction was answered a moment ago. Nothing has been changed.".into(),
                allowed: Vec::new(),
            });
        }
        diesel::insert_into(connection_events::table)
            .values((
                connection_events::connection_id.eq(id),
                connection_events::at.eq(now),
                connection_events::actor_id.eq(actor.as_deref()),
                connection_events::from_status.eq(Some(ConnectionStatus::Introduced.as_str())),
                connection_events::to_status.eq(to.as_str()),
                connection_events::reason.eq(reason),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &Event {
                actor_id: actor.as_deref(),
                actor_role: actor.as_ref().map(|_| "group_editor"),
                action: "connection.answer_link",
                record_type: Some("connection"),
                record_id: Some(id),
                outcome: "ok",
                ip,
                detail: Some(to.as_str()),
            },
        )?;
        Ok(())
    })?;
    tracing::info!(connection.id = %id, answer = to.as_str(), "introduction answered from an e-mailed link");
    view.status = to.as_str().to_string();
    Ok(view)
}
