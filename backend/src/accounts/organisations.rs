//! Organisations as accounts see them: GP practices (each served by one link worker service),
//! link worker services, community organisations and directory teams; and their status, which
//! for a community group that signed itself up starts as `pending` until the directory team
//! decides.

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;

use super::OrgKind;
use crate::db::schema::{organizations, practice_services};
use crate::db::DbConnection;

/// Where an organisation stands. Its people can sign in only while it is active (checked on
/// every request by `users::current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    /// In use.
    Active,
    /// Switched off by the directory team.
    Disabled,
    /// Signed itself up; waiting for the directory team.
    Pending,
    /// Signed itself up and was turned down (the reason is kept).
    Rejected,
}

impl OrgStatus {
    /// Every status (the migrations allow exactly these).
    pub const ALL: [OrgStatus; 4] = [OrgStatus::Active, OrgStatus::Disabled, OrgStatus::Pending, OrgStatus::Rejected];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Disabled => "disabled",
            OrgStatus::Pending => "pending",
            OrgStatus::Rejected => "rejected",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        OrgStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// An organisation for admin lists.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// `active`, `disabled`, `pending` or `rejected` ([`OrgStatus`]).
    pub status: String,
    /// Why the directory team turned a sign-up down.
    pub review_note: Option<String>,
}

type OrgColumns =
    (organizations::id, organizations::name, organizations::kind, organizations::status, organizations::review_note);
const ORG_COLUMNS: OrgColumns =
    (organizations::id, organizations::name, organizations::kind, organizations::status, organizations::review_note);

/// Every organisation of the given kinds (all when empty), by name.
pub fn list(conn: &mut DbConnection, kinds: &[OrgKind]) -> QueryResult<Vec<OrgRow>> {
    let mut query = organizations::table.select(ORG_COLUMNS).into_boxed();
    if !kinds.is_empty() {
        query = query.filter(organizations::kind.eq_any(kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()));
    }
    query.order(organizations::name).load(conn)
}

/// One organisation.
pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrgRow>> {
    organizations::table.find(id).select(ORG_COLUMNS).first(conn).optional()
}

/// Creates an organisation; a GP practice must name the link worker service serving it.
pub fn create(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    kind: OrgKind,
    served_by: Option<&str>,
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::name.eq(name.trim()),
            organizations::kind.eq(kind.as_str()),
            organizations::created_at.eq(now),
            organizations::updated_at.eq(now),
        ))
        .execute(conn)?;
    if let Some(service) = served_by {
        diesel::insert_into(practice_services::table)
            .values((practice_services::practice_id.eq(id), practice_services::service_id.eq(service)))
            .execute(conn)?;
    }
    Ok(())
}

/// What a community group says about itself when it signs up (checked by the caller).
#[derive(Debug, Clone, Copy)]
pub struct GroupDetails<'a> {
    /// Name.
    pub name: &'a str,
    /// What it does, in a few sentences.
    pub description: &'a str,
    /// Web site (http or https).
    pub website: Option<&'a str>,
    /// The group's e-mail.
    pub email: Option<&'a str>,
    /// The group's phone.
    pub phone: Option<&'a str>,
}

/// Creates a community organisation that signed itself up: `pending` until the directory team
/// decides.
pub fn create_pending(conn: &mut DbConnection, id: &str, group: &GroupDetails<'_>) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::name.eq(group.name),
            organizations::description.eq(group.description),
            organizations::website.eq(group.website),
            organizations::email.eq(group.email),
            organizations::phone.eq(group.phone),
            organizations::kind.eq(OrgKind::CommunityOrg.as_str()),
            organizations::status.eq(OrgStatus::Pending.as_str()),
            organizations::created_at.eq(now),
            organizations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves an organisation from one status to another with an optional note; answers whether it
/// moved (false when it was no longer in `from`: of two admins deciding at once, one wins).
pub fn change_status(
    conn: &mut DbConnection,
    id: &str,
    from: OrgStatus,
    to: OrgStatus,
    note: Option<&str>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        organizations::table.filter(organizations::id.eq(id)).filter(organizations::status.eq(from.as_str())),
    )
    .set((
        organizations::status.eq(to.as_str()),
        organizations::review_note.eq(note),
        organizations::updated_at.eq(Utc::now().naive_utc()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The public face of an organisation: what a listing shows of who runs it (also what an Open
/// Referral UK import plans to store).
#[derive(Debug, Clone, PartialEq, Serialize, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct OrganisationView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// About the organisation.
    pub description: String,
    /// Website.
    pub website: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Registered charity number.
    pub charity_number: Option<String>,
}
