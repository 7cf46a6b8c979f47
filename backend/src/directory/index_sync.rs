//! Keeping the search index in step with the database: documents from listings, the full
//! rebuild, and the indexer thread that tails the search outbox.
//!
//! The index is derived data. The indexer applies outbox rows in id order and commits at most
//! every [`COMMIT_INTERVAL`], storing the last applied outbox id as the commit payload; on start
//! it replays from there. On PostgreSQL an id can become visible after a higher one (two
//! transactions committing out of order), so ids skipped over are remembered as gaps and
//! re-checked for a while, and the payload never moves past the oldest open gap.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use search_index::{IndexWriterHandle, SearchIndex, ServiceDocument, Visibility};

use crate::db::{DbConnection, Pool};
use crate::directory::listing::{self, Listing};
use crate::directory::outbox;
use crate::directory::taxonomy::Taxonomy;

/// Longest time between an edit and its commit to the index (plus one poll).
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// How often the outbox is polled when idle.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a gap in outbox ids is waited for before it is taken for a rolled-back insert.
const GAP_PATIENCE: Duration = Duration::from_secs(60);
/// Outbox rows read per poll.
const BATCH: i64 = 1_000;

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

/// The running indexer thread.
pub struct Indexer {
    stop: Arc<AtomicBool>,
    applied: Arc<AtomicI64>,
    handle: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Starts tailing the outbox after `cursor`, owning the index's only writer.
    pub fn spawn(
        pool: Pool,
        taxonomy: Arc<std::sync::RwLock<Arc<Taxonomy>>>,
        mut writer: IndexWriterHandle,
        cursor: i64,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let applied = Arc::new(AtomicI64::new(cursor));
        let (stop_flag, applied_out) = (stop.clone(), applied.clone());
        let handle = std::thread::Builder::new()
            .name("search-indexer".into())
            .spawn(move || {
                let mut tail = Tail::new(cursor);
                loop {
                    let stopping = stop_flag.load(Ordering::Acquire);
                    let taxonomy = taxonomy.read().map(|t| t.clone()).unwrap_or_default();
                    match tail.step(&pool, &mut writer, &taxonomy, stopping) {
                        Ok(busy) => {
                            applied_out.store(tail.committed, Ordering::Release);
                            if stopping && !tail.pending {
                                break;
                            }
                            if !busy {
                                std::thread::sleep(POLL_INTERVAL);
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "search indexer step failed; retrying");
                            if stopping {
                                break;
                            }
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                }
                if let Err(e) = writer.finish() {
                    tracing::warn!(error = %e, "search index merge did not finish");
                }
            })
            .ok();
        Self { stop, applied, handle }
    }

    /// The outbox id the searchable index reflects (for readiness and tests).
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Applies what is left, commits and stops.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The indexer's position in the outbox.
struct Tail {
    /// Highest outbox id applied.
    cursor: i64,
    /// Ids below the cursor not yet seen, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    /// Applied but not committed.
    pending: bool,
    last_commit: Instant,
    /// The payload of the last commit.
    committed: i64,
}

impl Tail {
    fn new(cursor: i64) -> Self {
        Self { cursor, gaps: BTreeMap::new(), pending: false, last_commit: Instant::now(), committed: cursor }
    }

    /// One poll: apply new rows, commit when due. Returns true when a full batch was read.
    fn step(
        &mut self,
        pool: &Pool,
        writer: &mut IndexWriterHandle,
        taxonomy: &Taxonomy,
        flush: bool,
    ) -> Result<bool, IndexSyncError> {
        let mut conn = pool.get()?;
        let mut rows = outbox::after(&mut conn, self.cursor, BATCH)?;
        let full = rows.len() as i64 == BATCH;
        if !self.gaps.is_empty() {
            let wanted: Vec<i64> = self.gaps.keys().copied().collect();
            let filled = outbox::with_ids(&mut conn, &wanted)?;
            for (id, _) in &filled {
                self.gaps.remove(id);
            }
            rows.extend(filled);
        }
        let mut expected = self.cursor + 1;
        for (id, _) in rows.iter().filter(|(id, _)| *id > self.cursor) {
            for missing in expected..*id {
                self.gaps.insert(missing, Instant::now());
            }
            expected = id + 1;
        }
        let now = Instant::now();
        self.gaps.retain(|_, since| now.duration_since(*since) < GAP_PATIENCE);
        if !rows.is_empty() {
            let mut ids: Vec<String> = rows.iter().map(|(_, s)| s.clone()).collect();
            ids.sort();
            ids.dedup();
            apply(&mut conn, writer, taxonomy, &ids)?;
            self.cursor = self.cursor.max(rows.iter().map(|(id, _)| *id).max().unwrap_or(self.cursor));
            self.pending = true;
        }
        if self.pending && (flush || self.last_commit.elapsed() >= COMMIT_INTERVAL) {
            let watermark = self.gaps.keys().next().map_or(self.cursor, |first| first - 1);
            writer.commit(&watermark.to_string())?;
            self.committed = watermark;
            self.pending = false;
            self.last_commit = Instant::now();
        }
        Ok(full)
    }
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
    let mut writer = index.writer(1, 64 * 1024 * 1024)?;
    let cursor = match outcome {
        search_index::OpenOutcome::Opened { payload } => match payload.parse::<i64>() {
            Ok(cursor) => cursor,
            Err(_) => rebuild(conn, &mut writer, taxonomy, progress)?.1,
        },
        search_index::OpenOutcome::Created { reason } => {
            let _ = writeln!(progress, "Building the search index ({reason})");
            rebuild(conn, &mut writer, taxonomy, progress)?.1
        }
    };
    Ok((index, writer, cursor))
}
