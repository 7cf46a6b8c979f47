//! The directory team's side of a community group's sign-up ([`super::sign_up`]): the groups
//! waiting, with what they sent; approving one (the organisation and its editors' accounts
//! become active) or turning it down with a reason (the organisation is `rejected`, its
//! accounts disabled and every token revoked). Each decision and its audit rows commit together.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::audit::{self, Event};
use super::organisations::{self, OrgStatus};
use super::policy::{allows, Action};
use super::{users, CurrentUser, Role};
use crate::accounts::organisations::OrganisationView;
use crate::db::schema::organizations;
use crate::db::{self, DbConnection};
use crate::error::AppError;
use crate::ids::OrganisationId;

/// Longest reason for turning a group down.
const MAX_REASON: usize = 500;

/// A person who signed a group up.
#[derive(Debug, Clone, Serialize)]
pub struct Applicant {
    /// Their account.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail: how the directory team gets in touch.
    pub email: String,
}

/// A community group waiting for approval, with what it sent.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingGroup {
    /// The organisation as it described itself (its fields at the top level).
    #[serde(flatten)]
    pub organisation: OrganisationView,
    /// When it signed up.
    pub submitted_at: NaiveDateTime,
    /// Who signed it up.
    pub people: Vec<Applicant>,
}

fn require(user: &CurrentUser) -> Result<(), AppError> {
    if allows(user, Action::ManageOrganisations) {
        Ok(())
    } else {
        Err(AppError::Forbidden("administrators approve community groups".into()))
    }
}

/// The groups waiting for approval, oldest first (admins).
pub fn waiting(conn: &mut DbConnection, by: &CurrentUser) -> Result<Vec<WaitingGroup>, AppError> {
    require(by)?;
    let rows: Vec<(OrganisationView, NaiveDateTime)> = organizations::table
        .filter(organizations::status.eq(OrgStatus::Pending.as_str()))
        .order((organizations::created_at, organizations::id))
        .select((OrganisationView::as_select(), organizations::created_at))
        .load(conn)?;
    let mut groups = Vec::with_capacity(rows.len());
    // One query per waiting group: a handful at a time, seen by the directory team only.
    for (organisation, submitted_at) in rows {
        let people = users::in_organisation(conn, &organisation.id)?
            .into_iter()
            .map(|u| Applicant { id: u.id, name: u.name, email: u.email })
            .collect();
        groups.push(WaitingGroup { organisation, submitted_at, people });
    }
    Ok(groups)
}

/// Why a group is turned down: the API's body and the admin page's form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// In the directory team's words (kept with the organisation).
    #[serde(default)]
    pub reason: String,
}

/// What the directory team decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// The group is real and may list its activities.
    Approve,
    /// Not listed, for this reason (kept with the organisation).
    Reject {
        /// Why, in the directory team's words.
        reason: &'a str,
    },
}

/// Approves a waiting group or turns it down. 404 for an unknown organisation, 409 for one
/// that is not waiting (already decided, or never signed itself up).
pub fn decide(
    conn: &mut DbConnection,
    by: &CurrentUser,
    organisation_id: &OrganisationId,
    decision: Decision<'_>,
    ip: Option<&str>,
) -> Result<(), AppError> {
    // Checked where it came in; the queries below take its text.
    let organisation_id = organisation_id.as_str();
    require(by)?;
    let reason = match decision {
        Decision::Approve => None,
        Decision::Reject { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
                return Err(AppError::invalid(
                    "reason",
                    format!("say why, in up to {MAX_REASON} characters (kept on record)"),
                ));
            }
            Some(reason)
        }
    };
    let organisation = organisations::get(conn, organisation_id)?
        .ok_or_else(|| AppError::not_found("no organisation with that id"))?;
    if organisation.status != OrgStatus::Pending.as_str() {
        return Err(AppError::Conflict {
            message: format!(
                "this organisation is {}: only groups waiting for approval can be approved or turned down",
                organisation.status
            ),
            allowed: Vec::new(),
        });
    }
    let (to, action, account_action) = match decision {
        Decision::Approve => (OrgStatus::Active, "organisation.approve", "user.enable"),
        Decision::Reject { .. } => (OrgStatus::Rejected, "organisation.reject", "user.disable"),
    };
    db::write(conn, |conn| -> Result<(), AppError> {
        if !organisations::change_status(conn, organisation_id, OrgStatus::Pending, to, reason)? {
            return Err(AppError::Conflict {
                message: "another administrator decided on this group at the same moment".into(),
                allowed: Vec::new(),
            });
        }
        audit::record(conn, &Event::by(by, action, ip).on("organisation", organisation_id))?;
        for account in users::in_organisation(conn, organisation_id)? {
            let change = match decision {
                // Only the group's editors held back by the sign-up; anyone else stays as they are.
                Decision::Approve => account.role == Role::GroupEditor.as_str() && account.status == "disabled",
                // Every account, and every token any of them holds, stops working.
                Decision::Reject { .. } => true,
            };
            if change {
                users::set_active(conn, &account.id, decision == Decision::Approve)?;
                audit::record(conn, &Event::by(by, account_action, ip).on("user", &account.id).detail(to.as_str()))?;
            }
        }
        crate::notifications::events::group_decided(conn, organisation_id, reason)?;
        Ok(())
    })?;
    tracing::info!(organisation.id = %organisation_id, decision = to.as_str(), "community group sign-up decided");
    Ok(())
}
