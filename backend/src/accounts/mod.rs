//! Accounts: organisations and the people in them, signing in (passwords, TOTP, tokens),
//! invitations and password resets, community groups signing themselves up and the directory
//! team approving them, who may do what (`policy`), and the audit trail.

pub mod account;
pub mod admin;
pub mod approval;
pub mod audit;
pub mod common_passwords;
pub mod demo;
pub mod links;
pub mod organisations;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod secrets;
pub mod sign_in;
pub mod sign_up;
pub mod tokens;
pub mod totp;
pub mod users;

use serde::Serialize;

// Who does what, as types: in `domain` so configuration can name roles without a loop.
pub use crate::domain::roles::{OrgKind, Role};

/// The signed-in person, as every handler and the policy see them.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentUser {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Sign-in e-mail.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Their organisation.
    pub organisation_id: String,
    /// Its name.
    pub organisation_name: String,
    /// Its kind.
    pub organisation_kind: OrgKind,
    /// For referrers: the link worker service their practice is served by.
    pub served_by: Option<String>,
    /// Whether a TOTP second factor is set up.
    pub totp_enabled: bool,
}
