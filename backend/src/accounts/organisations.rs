//! Organisations as accounts see them: GP practices (each served by one link worker service),
//! link worker services, community organisations and directory teams.

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;

use super::OrgKind;
use crate::db::schema::{organizations, practice_services};
use crate::db::DbConnection;

/// An organisation for admin lists.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// `active` or `disabled`.
    pub status: String,
}

/// Every organisation of the given kinds (all when empty), by name.
pub fn list(conn: &mut DbConnection, kinds: &[OrgKind]) -> QueryResult<Vec<OrgRow>> {
    let mut query = organizations::table
        .select((organizations::id, organizations::name, organizations::kind, organizations::status))
        .into_boxed();
    if !kinds.is_empty() {
        query = query.filter(organizations::kind.eq_any(kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()));
    }
    query.order(organizations::name).load(conn)
}

/// One organisation.
pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrgRow>> {
    organizations::table
        .find(id)
        .select((organizations::id, organizations::name, organizations::kind, organizations::status))
        .first(conn)
        .optional()
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
