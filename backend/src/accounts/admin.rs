//! Admin use-cases: organisations and accounts. Each change and its audit row commit together.

use serde::{Deserialize, Serialize};

use super::audit::{self, Event};
use super::links::{self, Purpose};
use super::{organisations, users, CurrentUser, OrgKind, Role};
use crate::db::{self, DbConnection};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::ids::UserId;

/// A new organisation.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// Name.
    pub name: String,
    /// `gp_practice`, `link_worker_service`, `community_org` or `admin_body`.
    pub kind: String,
    /// For GP practices: the link worker service that serves it.
    #[serde(default)]
    pub served_by: Option<String>,
}

/// An invitation.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// Their e-mail.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// Their organisation.
    pub organisation_id: String,
}

fn field(errors: &mut FieldErrors, name: &str, message: &str) {
    errors.entry(name.to_string()).or_insert_with(|| message.to_string());
}

/// Creates an organisation; returns its id.
pub fn create_organisation(
    conn: &mut DbConnection,
    by: &CurrentUser,
    new: &NewOrganisation,
    ip: Option<&str>,
) -> Result<String, AppError> {
    let mut errors = FieldErrors::new();
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        field(&mut errors, "name", "enter a name of up to 200 characters");
    }
    let kind = OrgKind::parse(&new.kind).filter(|k| k.creatable());
    if kind.is_none() {
        let kinds: Vec<&str> = OrgKind::ALL.iter().filter(|k| k.creatable()).map(|k| k.as_str()).collect();
        field(&mut errors, "kind", &format!("must be one of {}", kinds.join(", ")));
    }
    let served_by = new.served_by.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match (kind, served_by) {
        (Some(OrgKind::GpPractice), None) => {
            field(&mut errors, "served_by", "choose the link worker service that serves this practice")
        }
        (Some(OrgKind::GpPractice), Some(service)) => {
            let ok = organisations::get(conn, service)?.is_some_and(|o| o.kind == OrgKind::LinkWorkerService.as_str());
            if !ok {
                field(&mut errors, "served_by", "not a link worker service");
            }
        }
        (Some(_), Some(_)) => field(&mut errors, "served_by", "only GP practices are served by a link worker service"),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let kind = kind.ok_or_else(|| AppError::invalid("kind", "unknown"))?;
    let id = crate::ids::new_id();
    db::write(conn, |conn| -> Result<(), AppError> {
        organisations::create(conn, &id, name, kind, served_by)?;
        audit::record(conn, &Event::by(by, "organisation.create", ip).on("organisation", &id).detail(kind.as_str()))?;
        Ok(())
    })?;
    Ok(id)
}

/// Invites a person; returns their id and the secret for the invitation link.
pub fn invite(
    conn: &mut DbConnection,
    by: &CurrentUser,
    invite: &InviteRequest,
    link_days: i64,
    ip: Option<&str>,
) -> Result<(String, String), AppError> {
    let mut errors = FieldErrors::new();
    if !users::valid_email(&invite.email) {
        field(&mut errors, "email", "enter an e-mail address like name@example.org");
    } else if users::by_email(conn, &invite.email)?.is_some() {
        field(&mut errors, "email", "there is already an account with this e-mail address");
    }
    let name = invite.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        field(&mut errors, "name", "enter a name of up to 120 characters");
    }
    let role = Role::parse(&invite.role);
    if role.is_none() {
        field(&mut errors, "role", "must be referrer, link_worker, link_worker_lead, group_editor or admin");
    }
    let organisation = if crate::ids::is_id(&invite.organisation_id) {
        organisations::get(conn, &invite.organisation_id)?
    } else {
        None
    };
    match (&organisation, role) {
        (None, _) => field(&mut errors, "organisation_id", "no such organisation"),
        (Some(org), Some(role)) if !OrgKind::parse(&org.kind).is_some_and(|k| k.creatable() && role.belongs_in(k)) => {
            field(
                &mut errors,
                "role",
                &if role == Role::Referrer {
                    "a referrer belongs to a GP practice or an agency that refers (housing, adult social care, ...)"
                        .into()
                } else {
                    format!(
                        "a {} belongs to a {}",
                        role.label().to_lowercase(),
                        role.organisation_kind().label().to_lowercase()
                    )
                },
            )
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let role = role.ok_or_else(|| AppError::invalid("role", "unknown"))?;
    db::write(conn, |conn| -> Result<(String, String), AppError> {
        let id = users::create(conn, &invite.organisation_id, &invite.email, name, role, None)?;
        let token = links::create(conn, &id, Purpose::Invitation, link_days, Some(&by.id))?;
        audit::record(conn, &Event::by(by, "user.invite", ip).on("user", &id).detail(role.as_str()))?;
        Ok((id, token))
    })
}

/// What an admin does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Disable (every token revoked at once).
    Disable,
    /// Enable again.
    Enable,
    /// Issue a password-reset link.
    ResetLink,
}

/// Disables, enables or issues a reset link; answers the link secret for resets.
pub fn change_user(
    conn: &mut DbConnection,
    by: &CurrentUser,
    target: &UserId,
    action: UserAction,
    link_days: i64,
    ip: Option<&str>,
) -> Result<Option<String>, AppError> {
    // Checked where it came in; the queries below take its text.
    let target = target.as_str();
    if users::by_id(conn, target)?.is_none() {
        return Err(AppError::not_found("no such account"));
    }
    if target == by.id && matches!(action, UserAction::Disable) {
        return Err(AppError::invalid("id", "you cannot disable your own account"));
    }
    db::write(conn, |conn| -> Result<Option<String>, AppError> {
        let (name, token) = match action {
            UserAction::Disable => {
                users::set_active(conn, target, false)?;
                ("user.disable", None)
            }
            UserAction::Enable => {
                users::set_active(conn, target, true)?;
                ("user.enable", None)
            }
            UserAction::ResetLink => (
                "user.password_reset_link",
                Some(links::create(conn, target, Purpose::PasswordReset, link_days, Some(&by.id))?),
            ),
        };
        audit::record(conn, &Event::by(by, name, ip).on("user", target))?;
        Ok(token)
    })
}
