//! The referral workflow: a GP practice refers a person to its link worker service; link
//! workers contact them, talk about what matters, connect them with community assets and record
//! outcomes; the practice sees what happened and gets a message back at the end.
//!
//! Every read and write of a referral is audited in the same transaction. The person's details
//! never reach a log line; the audit trail holds ids and codes only.

pub mod case_search;
pub mod connections;
pub mod create;
pub mod demo;
pub mod matching;
pub mod meeting;
pub mod message;
pub mod model;
pub mod risk_flags;
pub mod routing;
pub mod self_referral;
pub mod transitions;
pub mod triage;
pub mod view;
pub mod work;

use diesel::prelude::*;

use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, Role};
use crate::db::schema::referrals;
use crate::db::DbConnection;
use crate::domain::referral_status::Mover;
pub use crate::domain::Thresholds;
use crate::error::AppError;
use model::ReferralRow;

/// Loads a referral the caller may see, or answers 404 (never 403: its existence is private).
pub fn load_visible(conn: &mut DbConnection, user: &CurrentUser, id: &str) -> Result<ReferralRow, AppError> {
    let row: Option<ReferralRow> = referrals::table.find(id).select(ReferralRow::as_select()).first(conn).optional()?;
    match row {
        Some(row)
            if allows(user, Action::ViewReferral { practice_id: &row.practice_id, service_id: &row.service_id }) =>
        {
            Ok(row)
        }
        _ => Err(AppError::not_found("no referral with that id")),
    }
}

/// Loads a referral the caller may work on (link workers of its service): 404 when they may
/// not see it, 403 when they may see it but not work on it (the referring practice), 409 when
/// it is restricted at the person's request (read-only until lifted).
pub fn load_workable(conn: &mut DbConnection, user: &CurrentUser, id: &str) -> Result<ReferralRow, AppError> {
    let row = load_visible(conn, user, id)?;
    if allows(user, Action::WorkReferral { service_id: &row.service_id }) {
        crate::data_rights::check_not_restricted(conn, id)?;
        Ok(row)
    } else {
        Err(AppError::Forbidden("only the link worker service can do this".into()))
    }
}

/// How a person moves a referral.
pub fn mover(user: &CurrentUser) -> Option<Mover> {
    match user.role {
        Role::Referrer => Some(Mover::Referrer),
        Role::LinkWorker | Role::LinkWorkerLead => Some(Mover::LinkWorker),
        Role::Admin => Some(Mover::Admin),
        Role::GroupEditor => None,
    }
}

/// Checks free text: required or not, and at most `max` characters.
pub fn text_field(
    errors: &mut crate::domain::FieldErrors,
    name: &str,
    value: Option<&str>,
    required: bool,
    max: usize,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => {
            errors.insert(name.into(), "this is required".into());
            None
        }
        Some(v) if v.chars().count() > max => {
            errors.insert(name.into(), format!("at most {max} characters"));
            None
        }
        other => other.map(str::to_string),
    }
}
