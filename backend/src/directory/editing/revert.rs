//! Going back: an admin restores a listing's fields to an earlier version, saved as a new
//! version of kind `revert` through the same checks as an edit.

use diesel::prelude::*;
use serde_json::Value;

use super::edit::{save, Kind, ListingEdit};
use super::load_editable;
use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::db::schema::service_versions;
use crate::db::DbConnection;
use crate::directory::taxonomy::Taxonomy;
use crate::error::AppError;
use crate::ids::ServiceId;

/// Reverts a listing to an earlier version (admins): the fields changed since then get their
/// earlier values back, recorded as a new version of kind `revert`.
pub fn revert(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ServiceId,
    to_version: i32,
    taxonomy: &Taxonomy,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    // Checked where it came in; the queries below take its text.
    let id = id.as_str();
    if !allows(user, Action::Administer) {
        return Err(AppError::Forbidden("administrators revert listings".into()));
    }
    let row = load_editable(conn, user, id)?;
    if to_version < 1 || to_version >= row.version {
        return Err(AppError::invalid("version", format!("choose a version from 1 to {}", row.version - 1)));
    }
    let later: Vec<String> = service_versions::table
        .filter(service_versions::service_id.eq(id))
        .filter(service_versions::version.gt(to_version))
        .order(service_versions::version.desc())
        .select(service_versions::changes)
        .load(conn)?;
    // Walking back from the newest change, the earliest "before" of each field wins.
    let mut before = serde_json::Map::new();
    for changes in later {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&changes) {
            for (field, pair) in map {
                if let Some(old) = pair.get(0) {
                    before.insert(field, old.clone());
                }
            }
        }
    }
    let text = |f: &str| before.get(f).map(|v| v.as_str().unwrap_or("").to_string());
    let number = |f: &str| before.get(f).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
    let list = |f: &str| {
        before
            .get(f)
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
    };
    let edit = ListingEdit {
        version: row.version,
        name: text("name"),
        summary: text("summary"),
        description: text("description"),
        status: text("status"),
        reopens_on: text("reopens_on"),
        capacity: text("capacity"),
        url: text("url"),
        email: text("email"),
        phone: text("phone"),
        eligibility_description: text("eligibility_description"),
        fees_description: text("fees_description"),
        minimum_age: number("minimum_age"),
        maximum_age: number("maximum_age"),
        categories: list("categories"),
        audiences: list("audiences"),
        attending_type: text("attending_type"),
        how_to_access: list("how_to_access"),
        free: before.get("free").and_then(Value::as_bool),
        // A listing that had no venue keeps its current one: there is nothing to go back to.
        location: before.get("location").and_then(|v| serde_json::from_value(v.clone()).ok()),
    };
    let version = save(conn, user, id, &edit, taxonomy, ip, Kind::Revert)?;
    if version == row.version {
        return Err(AppError::invalid("version", "the listing already reads as it did then; nothing to go back"));
    }
    Ok(version)
}
