//! Keeping the search index in step with the database: documents from listings, the full
//! rebuild, and opening the index at start (rebuilt when missing, damaged, of another schema, or
//! ahead of the database). The indexer thread that tails the search outbox is in
//! [`crate::directory::indexer`].

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::time::Instant;

use chrono::Utc;
use search_index::{IndexWriterHandle, SearchIndex, ServiceDocument, Visibility};

use crate::db::DbConnection;
use crate::directory::listing::{self, Listing};
use crate::directory::outbox;
use crate::directory::taxonomy::Taxonomy;

pub use crate::directory::indexer::{Indexer, COMMIT_INTERVAL};

/// Errors of indexing: the database or the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexSyncError {
    /// Reading listings failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// The index refused.
    #[error(transparent)]
    Search(#[from] search_index::SearchError),
    /// No connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
}

/// The search document of a listing.
pub fn document(listing: &Listing) -> ServiceDocument {
    let mut taxonomy_names: Vec<String> = listing.categories.iter().map(|t| t.name.clone()).collect();
    taxonomy_names.extend(listing.audiences.iter().map(|t| t.name.clone()));
    let mut accessibility: Vec<String> = Vec::new();
    let mut points = Vec::new();
    for location in &listing.locations {
        for feature in &location.accessibility {
            accessibility.push(feature.slug.clone());
            taxonomy_names.push(feature.name.clone());
        }
        if let (Some(lat), Some(lon)) = (location.latitude, location.longitude) {
            if let Ok(point) = search_index::GeoPoint::new(lat, lon) {
                points.push(point);
            }
        }
    }
    accessibility.sort();
    accessibility.dedup();
    let mut days: Vec<String> =
        listing.schedules.iter().flat_map(|s| s.byday.split(',').map(|d| d.trim().to_string())).collect();
    days.sort();
    days.dedup();
    let public = listing.approval == crate::domain::Approval::Approved && listing.status.is_shown();
    ServiceDocument {
        id: listing.id.clone(),
        name: listing.name.clone(),
        summary: listing.summary.clone(),
        description: listing.description.clone(),
        keywords: listing.keywords.clone(),
        organisation: listing.organisation.name.clone(),
        categories: listing.categories.iter().map(|t| t.slug.clone()).collect(),
        taxonomy_names,
        audiences: listing.audiences.iter().map(|t| t.slug.clone()).collect(),
        accessibility,
        days,
        free: listing.free,
        attendance: listing.attending_type.to_string(),
        capacity: listing.capacity.to_string(),
        status: listing.status.to_string(),
        visibility: if public { Visibility::Public } else { Visibility::Hidden },
        locations: points,
        last_verified: listing.last_verified.and_utc().timestamp(),
        areas: listing.service_areas.iter().map(|a| a.facet_value(&listing.id)).collect(),
    }
}

/// Re-reads the given services and upserts them (or deletes those that no longer exist, and
/// merged duplicates, which no search should offer, staff's included).
pub fn apply(
    conn: &mut DbConnection,
    writer: &mut IndexWriterHandle,
    taxonomy: &Taxonomy,
    ids: &[String],
) -> Result<(), IndexSyncError> {
    let listings = listing::load_many(conn, ids, taxonomy)?;
    let listings: Vec<_> = listings.into_iter().filter(|l| l.merged_into.is_none()).collect();
    let found: BTreeSet<&str> = listings.iter().map(|l| l.id.as_str()).collect();
    for listing in &listings {
        writer.upsert(&document(listing))?;
    }
    for id in ids.iter().filter(|id| !found.contains(id.as_str())) {
        writer.delete(id);
    }
    Ok(())
}

/// Rebuilds the whole index from the database, printing progress. Returns the listings indexed
/// and the outbox id the index now reflects.
pub fn rebuild(
    conn: &mut DbConnection,
    writer: &mut IndexWriterHandle,
    taxonomy: &Taxonomy,
    progress: &mut dyn Write,
) -> Result<(usize, i64), IndexSyncError> {
    // Read the outbox position first: anything written after it is replayed by the indexer.
    let position = outbox::max_id(conn)?;
    let ids = listing::all_ids_in_map_order(conn)?;
    let started = Instant::now();
    writer.delete_all()?;
    for (n, chunk) in ids.chunks(500).enumerate() {
        // After delete_all nothing is in the index: add without queueing a delete per listing,
        // in the map order of `ids`.
        let mut listings = listing::load_many(conn, chunk, taxonomy)?;
        let position: HashMap<&str, usize> = chunk.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        listings.sort_by_key(|l| position.get(l.id.as_str()).copied().unwrap_or(usize::MAX));
        for listing in listings.iter().filter(|l| l.merged_into.is_none()) {
            writer.add_new(&document(listing))?;
        }
        let done = (n * 500 + chunk.len()).min(ids.len());
        if n % 20 == 19 || done == ids.len() {
            let _ = writeln!(progress, "  indexed {done}/{} listings", ids.len());
        }
    }
    writer.commit(&position.to_string())?;
    tracing::info!(listings = ids.len(), duration_ms = started.elapsed().as_millis() as u64, "search index rebuilt");
    Ok((ids.len(), position))
}

/// "Now" for search freshness.
pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// Opens the index and brings it up to date: rebuilt when missing, corrupt or of an old schema
/// (with progress), otherwise replayed from its payload by the indexer. Returns the index, its
/// writer and the outbox position to tail from.
pub fn open_index(
    conn: &mut DbConnection,
    dir: &std::path::Path,
    taxonomy: &Taxonomy,
    progress: &mut dyn Write,
) -> Result<(SearchIndex, IndexWriterHandle, i64), IndexSyncError> {
    let (index, outcome) = SearchIndex::open_or_create(dir)?;
    let mut writer = index.writer(1, crate::directory::indexer::WRITER_HEAP)?;
    let cursor = match outcome {
        search_index::OpenOutcome::Opened { payload } => {
            let last = outbox::max_id(conn)?;
            match payload.parse::<i64>() {
                // Beyond the outbox's last id: the database was restored from a backup and the
                // index holds edits it never saw (and would skip the ids it reuses).
                Ok(cursor) if cursor > last => {
                    tracing::warn!(index = cursor, outbox = last, "search index is ahead of the database; rebuilding");
                    let _ = writeln!(progress, "Building the search index (it is ahead of the database)");
                    rebuild(conn, &mut writer, taxonomy, progress)?.1
                }
                Ok(cursor) => cursor,
                Err(_) => rebuild(conn, &mut writer, taxonomy, progress)?.1,
            }
        }
        search_index::OpenOutcome::Created { reason } => {
            let _ = writeln!(progress, "Building the search index ({reason})");
            rebuild(conn, &mut writer, taxonomy, progress)?.1
        }
    };
    Ok((index, writer, cursor))
}
