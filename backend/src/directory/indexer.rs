//! The indexer thread: tails the search outbox into the index, and repairs the index by itself.
//!
//! It applies outbox rows in id order and commits at most every [`COMMIT_INTERVAL`], storing the
//! last applied outbox id as the commit payload; on start it replays from there. On PostgreSQL
//! an id can become visible after a higher one (two transactions committing out of order), so
//! ids skipped over are remembered as gaps and re-checked for a while, and the payload never
//! moves past the oldest open gap.
//!
//! Faults. Any error from the index writer throws the writer away: tantivy's indexing thread
//! may have died (a disk error while writing a segment), and a dead writer goes on accepting
//! edits and losing them. The indexer goes back to its last commit and replays the outbox with
//! a new writer, retrying with back-off while the disk refuses. Damage found by a search, a
//! panic here, or failing for longer than [`REBUILD_AFTER`] rebuilds the index from the
//! database beside the live one and swaps it in. [`IndexerHealth`] tells readiness how it goes.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use search_index::{IndexWriterHandle, SearchIndex};

use crate::db::{DbConnection, Pool};
use crate::directory::index_sync::{self, IndexSyncError};
use crate::directory::listing_cache::ListingCache;
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
/// Memory the writer may use before it flushes a segment.
pub const WRITER_HEAP: usize = 64 * 1024 * 1024;
/// Longest wait between two attempts while failing.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Failing this long without a recovery rebuilds the index from the database.
pub const REBUILD_AFTER: Duration = Duration::from_secs(60);
/// Least time between two rebuilds started because of failures.
const REBUILD_RETRY: Duration = Duration::from_secs(60);
/// How often the whole index is checked against its checksums (damage a search may not notice,
/// giving different answers rather than an error). About a second per 500 MB.
const VERIFY_EVERY: Duration = Duration::from_secs(600);
/// Failing this long makes the instance not ready.
pub const FAILING_GRACE: Duration = Duration::from_secs(5);
/// Edits seen but not searchable after this long make the indexer "behind".
const BEHIND_AFTER: Duration = Duration::from_secs(3);

/// How the indexer is doing, shared with readiness.
#[derive(Debug, Default)]
pub struct IndexerHealth {
    /// The highest outbox id searchable.
    applied: AtomicI64,
    /// The highest outbox id seen in the database.
    latest: AtomicI64,
    state: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    failing_since: Option<Instant>,
    /// An outbox id not yet searchable, and since when that has been so.
    waiting_for: Option<(i64, Instant)>,
    rebuilding: bool,
}

/// A snapshot of [`IndexerHealth`] for `/readyz`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexerReport {
    /// `ok`, `behind` or `failing`.
    pub status: &'static str,
    /// Outbox rows not yet searchable.
    pub behind_by: i64,
    /// Seconds the indexer has been failing (0 when it is not).
    pub failing_for_secs: u64,
    /// Whether a rebuild from the database is under way (searches use the old index).
    pub rebuilding: bool,
    /// False once the indexer has failed for longer than [`FAILING_GRACE`].
    #[serde(skip)]
    pub ready: bool,
}

impl IndexerHealth {
    fn state(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The indexer's state now.
    pub fn report(&self) -> IndexerReport {
        let now = Instant::now();
        let state = self.state();
        let behind_by = (self.latest.load(Ordering::Acquire) - self.applied.load(Ordering::Acquire)).max(0);
        let failing_for = state.failing_since.map(|since| now.duration_since(since));
        let behind =
            state.rebuilding || state.waiting_for.is_some_and(|(_, since)| now.duration_since(since) >= BEHIND_AFTER);
        IndexerReport {
            status: if failing_for.is_some() {
                "failing"
            } else if behind {
                "behind"
            } else {
                "ok"
            },
            behind_by,
            failing_for_secs: failing_for.map_or(0, |d| d.as_secs()),
            rebuilding: state.rebuilding,
            ready: failing_for.is_none_or(|d| d < FAILING_GRACE),
        }
    }

    /// Records the outbox's last id and what is searchable.
    fn observe(&self, latest: i64, applied: i64) {
        self.latest.store(latest, Ordering::Release);
        self.applied.store(applied, Ordering::Release);
        let mut state = self.state();
        state.waiting_for = match state.waiting_for {
            _ if applied >= latest => None,
            Some((target, since)) if applied < target => Some((target, since)),
            _ => Some((latest, Instant::now())),
        };
    }

    /// Records a failure; true when it is the first of a run.
    fn failed(&self) -> bool {
        let mut state = self.state();
        let first = state.failing_since.is_none();
        state.failing_since.get_or_insert_with(Instant::now);
        first
    }

    /// Records success; how long it had been failing, if it was.
    fn recovered(&self) -> Option<Duration> {
        self.state().failing_since.take().map(|since| since.elapsed())
    }

    fn set_rebuilding(&self, rebuilding: bool) {
        self.state().rebuilding = rebuilding;
    }
}

/// The running indexer thread.
pub struct Indexer {
    stop: Arc<AtomicBool>,
    health: Arc<IndexerHealth>,
    handle: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Starts tailing the outbox after `cursor`, owning the index's only writer.
    pub fn spawn(
        pool: Pool,
        taxonomy: Arc<RwLock<Arc<Taxonomy>>>,
        index: Arc<SearchIndex>,
        writer: IndexWriterHandle,
        cursor: i64,
        listings: Arc<ListingCache>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let health = Arc::new(IndexerHealth::default());
        health.applied.store(cursor, Ordering::Release);
        let mut worker = Worker {
            pool,
            taxonomy,
            index,
            listings,
            health: health.clone(),
            writer: Some(writer),
            tail: Tail::new(cursor),
            rebuild_wanted: false,
            next_rebuild: Instant::now(),
            last_verified: Instant::now(),
            failures: 0,
            index_failing_since: None,
        };
        let stop_flag = stop.clone();
        let handle =
            std::thread::Builder::new().name("search-indexer".into()).spawn(move || worker.run(&stop_flag)).ok();
        Self { stop, health, handle }
    }

    /// How the indexer is doing (for readiness).
    pub fn health(&self) -> Arc<IndexerHealth> {
        self.health.clone()
    }

    /// The outbox id the searchable index reflects (for tests).
    pub fn applied(&self) -> i64 {
        self.health.applied.load(Ordering::Acquire)
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

struct Worker {
    pool: Pool,
    taxonomy: Arc<RwLock<Arc<Taxonomy>>>,
    index: Arc<SearchIndex>,
    /// Cards of search results: dropped as their listings' changes are applied.
    listings: Arc<ListingCache>,
    health: Arc<IndexerHealth>,
    /// None after a failure: the next turn takes a new one.
    writer: Option<IndexWriterHandle>,
    tail: Tail,
    /// A panic here: rebuild at the next turn.
    rebuild_wanted: bool,
    next_rebuild: Instant,
    last_verified: Instant,
    /// Failures in a row, for the back-off.
    failures: u32,
    /// Since when the index itself (not the database) has kept failing: only that makes a
    /// rebuild worth doing, so a database outage never throws away a good index.
    index_failing_since: Option<Instant>,
}

impl Worker {
    /// The vocabularies; a lock poisoned by a panic elsewhere still holds them (an empty
    /// default would index every listing without its categories).
    fn taxonomy(&self) -> Arc<Taxonomy> {
        self.taxonomy.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether a search's report of damage holds: the files are checked against their
    /// checksums first, so a search that fails for another reason (a bug, an input tantivy
    /// refuses) cannot make anyone rebuild the whole index again and again. Called at most once
    /// per `REBUILD_RETRY`.
    fn damage_confirmed(&mut self) -> bool {
        if !self.index.damage_reported() {
            return false;
        }
        match self.index.verify() {
            Err(_) => true,
            Ok(()) => {
                tracing::error!("a search failed on an index whose files are sound: not rebuilding");
                self.index.clear_damage();
                self.next_rebuild = Instant::now() + REBUILD_RETRY;
                false
            }
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        loop {
            let stopping = stop.load(Ordering::Acquire);
            let outcome = catch_unwind(AssertUnwindSafe(|| self.turn(stopping)));
            let failure = match outcome {
                Ok(Ok(busy)) => {
                    if stopping && !self.tail.pending {
                        break;
                    }
                    if !busy {
                        std::thread::sleep(POLL_INTERVAL);
                    }
                    continue;
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => {
                    // tantivy panicked (the panic message is already logged): trust nothing.
                    self.writer = None;
                    self.tail = Tail::new(self.tail.committed);
                    self.rebuild_wanted = true;
                    "a panic inside the index".to_string()
                }
            };
            self.failures = self.failures.saturating_add(1);
            if self.health.failed() {
                tracing::warn!(error = %failure, "search indexer failing; searches use the index as it was; retrying");
            } else {
                tracing::debug!(error = %failure, "search indexer still failing");
            }
            if stopping {
                break;
            }
            let backoff = Duration::from_millis(250u64.saturating_mul(1 << self.failures.min(6)));
            std::thread::sleep(backoff.min(MAX_BACKOFF));
        }
        if let Some(writer) = self.writer.take() {
            if let Err(e) = writer.finish() {
                tracing::warn!(error = %e, "search index merge did not finish");
            }
        }
    }

    /// One poll (rebuilding first when needed); true when a full batch was read.
    fn turn(&mut self, stopping: bool) -> Result<bool, IndexSyncError> {
        let failing_long = self.index_failing_since.is_some_and(|since| since.elapsed() >= REBUILD_AFTER);
        if !stopping
            && Instant::now() >= self.next_rebuild
            && (self.rebuild_wanted || failing_long || self.damage_confirmed())
        {
            self.rebuild()?;
        }
        let taxonomy = self.taxonomy();
        let mut conn = self.pool.get()?;
        let writer = match self.writer.take() {
            Some(writer) => writer,
            None => self.index.writer(1, WRITER_HEAP)?,
        };
        let writer = self.writer.insert(writer);
        let busy = match self.tail.step(&mut conn, writer, &taxonomy, &self.listings, stopping) {
            Ok(busy) => busy,
            Err(e) => {
                if matches!(e, IndexSyncError::Search(_)) {
                    // Never reuse a writer that failed: go back to the last commit.
                    self.writer = None;
                    self.tail = Tail::new(self.tail.committed);
                    self.index_failing_since.get_or_insert_with(Instant::now);
                }
                return Err(e);
            }
        };
        let latest = outbox::max_id(&mut conn)?;
        self.health.observe(latest, self.tail.searchable);
        if !self.tail.pending && self.last_verified.elapsed() >= VERIFY_EVERY {
            self.last_verified = Instant::now();
            if let Err(e) = self.index.verify() {
                tracing::warn!(error = %e, "search index failed its checksum check; it will be rebuilt");
                self.rebuild_wanted = true;
            }
        }
        if !self.tail.pending {
            self.failures = 0;
            self.index_failing_since = None;
            if let Some(took) = self.health.recovered() {
                tracing::info!(failing_ms = took.as_millis() as u64, "search indexer recovered");
            }
        }
        Ok(busy)
    }

    /// Rebuilds the index from the database beside the live one and swaps it in.
    fn rebuild(&mut self) -> Result<(), IndexSyncError> {
        tracing::warn!("search index: rebuilding from the database in the background");
        self.next_rebuild = Instant::now() + REBUILD_RETRY;
        self.writer = None;
        self.health.set_rebuilding(true);
        let result = (|| {
            let mut rebuild = self.index.start_rebuild(WRITER_HEAP)?;
            let mut conn = self.pool.get()?;
            let taxonomy = self.taxonomy();
            let (_, position) = index_sync::rebuild(&mut conn, rebuild.writer(), &taxonomy, &mut std::io::sink())?;
            self.index.finish_rebuild(rebuild)?;
            self.listings.clear();
            Ok::<i64, IndexSyncError>(position)
        })();
        self.health.set_rebuilding(false);
        let position = result?;
        // Not past what was committed before: on PostgreSQL an outbox row below `position` may
        // still have been in flight when the rebuild read the outbox, and replaying is harmless.
        self.tail = Tail::new(self.tail.committed.min(position));
        self.rebuild_wanted = false;
        self.next_rebuild = Instant::now();
        Ok(())
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
    /// The payload of the last commit: replays start after it.
    committed: i64,
    /// The highest id searchable since the last commit (beyond `committed` while gaps are open).
    searchable: i64,
}

impl Tail {
    fn new(cursor: i64) -> Self {
        Self {
            cursor,
            gaps: BTreeMap::new(),
            pending: false,
            last_commit: Instant::now(),
            committed: cursor,
            searchable: cursor,
        }
    }

    /// One poll: apply new rows, commit when due. Returns true when a full batch was read.
    fn step(
        &mut self,
        conn: &mut DbConnection,
        writer: &mut IndexWriterHandle,
        taxonomy: &Taxonomy,
        listings: &ListingCache,
        flush: bool,
    ) -> Result<bool, IndexSyncError> {
        let mut rows = outbox::after(conn, self.cursor, BATCH)?;
        let full = rows.len() as i64 == BATCH;
        if !self.gaps.is_empty() {
            let wanted: Vec<i64> = self.gaps.keys().copied().collect();
            let filled = outbox::with_ids(conn, &wanted)?;
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
            index_sync::apply(conn, writer, taxonomy, &ids)?;
            listings.invalidate(&ids);
            self.cursor = self.cursor.max(rows.iter().map(|(id, _)| *id).max().unwrap_or(self.cursor));
            self.pending = true;
        }
        if self.pending && (flush || self.last_commit.elapsed() >= COMMIT_INTERVAL) {
            let watermark = self.gaps.keys().next().map_or(self.cursor, |first| first - 1);
            writer.commit(&watermark.to_string())?;
            self.committed = watermark;
            self.searchable = self.cursor;
            self.pending = false;
            self.last_commit = Instant::now();
        }
        Ok(full)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ago(d: Duration) -> Instant {
        Instant::now().checked_sub(d).unwrap()
    }

    #[test]
    fn readiness_follows_the_indexer() {
        let health = IndexerHealth::default();
        let report = health.report();
        assert_eq!((report.status, report.ready, report.behind_by), ("ok", true, 0));

        // Rows seen but not yet searchable: still "ok" for a moment, then "behind".
        health.observe(10, 4);
        assert_eq!((health.report().status, health.report().behind_by), ("ok", 6));
        health.state().waiting_for = Some((10, ago(BEHIND_AFTER)));
        assert_eq!(health.report().status, "behind");
        assert!(health.report().ready, "behind is not unready");
        health.observe(12, 10);
        assert_eq!(health.report().status, "ok", "the rows waited for are searchable");
        health.observe(12, 12);
        assert!(health.state().waiting_for.is_none());

        // Failing: reported at once, not ready after the grace period, ready again on recovery.
        assert!(health.failed());
        assert!(!health.failed(), "only the first failure of a run is news");
        assert_eq!((health.report().status, health.report().ready), ("failing", true));
        health.state().failing_since = Some(ago(FAILING_GRACE + Duration::from_secs(1)));
        let report = health.report();
        assert_eq!((report.status, report.ready), ("failing", false));
        assert!(report.failing_for_secs >= FAILING_GRACE.as_secs());
        assert!(health.recovered().is_some());
        assert!(health.recovered().is_none());
        assert_eq!((health.report().status, health.report().ready), ("ok", true));

        health.set_rebuilding(true);
        assert_eq!((health.report().status, health.report().rebuilding), ("behind", true));
    }
}
