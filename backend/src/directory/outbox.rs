//! The search outbox: every write that changes what a listing looks like in search adds a row
//! here in the same transaction, and the indexer applies the rows in order. The index can
//! therefore never miss a committed change, whatever crashes when.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::schema::search_outbox;
use crate::db::DbConnection;

/// Records that a service must be re-indexed. Call inside the transaction that changed it.
pub fn enqueue(conn: &mut DbConnection, service_id: &str) -> QueryResult<()> {
    diesel::insert_into(search_outbox::table)
        .values((search_outbox::service_id.eq(service_id), search_outbox::created_at.eq(Utc::now().naive_utc())))
        .execute(conn)?;
    Ok(())
}

/// Rows after `after`, oldest first: (outbox id, service id).
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<(i64, String)>> {
    search_outbox::table
        .filter(search_outbox::id.gt(after))
        .order(search_outbox::id)
        .limit(limit)
        .select((search_outbox::id, search_outbox::service_id))
        .load(conn)
}

/// Rows with exactly these ids (to re-check gaps a concurrent PostgreSQL transaction may fill).
pub fn with_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    search_outbox::table
        .filter(search_outbox::id.eq_any(ids))
        .order(search_outbox::id)
        .select((search_outbox::id, search_outbox::service_id))
        .load(conn)
}

/// The highest id so far (0 when empty).
pub fn max_id(conn: &mut DbConnection) -> QueryResult<i64> {
    Ok(search_outbox::table.select(diesel::dsl::max(search_outbox::id)).first::<Option<i64>>(conn)?.unwrap_or(0))
}
