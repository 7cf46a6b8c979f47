//! Listings in memory for search results: a search's page of cards comes from here, and only the
//! listings not held are loaded from the database ([`listing::load_many`]).
//!
//! Correctness before speed:
//! - An entry is dropped when the indexer applies an outbox row for its listing (every instance's
//!   indexer reads every row of the shared outbox, so an edit on one instance reaches the caches
//!   of all), and the whole cache when the index is rebuilt. A load that began before such a drop
//!   is not kept (a generation count), so an answer read before an edit cannot outlive it.
//! - Entries expire after [`TTL`]: what changes without an outbox row (an organisation's name)
//!   is at most that old in search results. One listing's own page and the editors read the
//!   database, never this.
//! - What depends on the clock is worked out per request from what is held: `next_session` from
//!   the parsed sessions, `freshness` from `last_verified`.
//! - The vocabularies (term names on the cards) are loaded once at start; whatever replaces
//!   them at run time must call [`ListingCache::clear`].
//! - Memory is bounded: at most [`CAPACITY`] entries (expired ones go first, then the oldest).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use diesel::QueryResult;

use crate::db::DbConnection;
use crate::directory::listing::{self, Listing, SessionRow};
use crate::directory::taxonomy::Taxonomy;
use crate::domain::schedule::Schedule;

/// How long an entry is used.
pub const TTL: Duration = Duration::from_secs(30);
/// Most entries held (a listing card is a few KiB).
pub const CAPACITY: usize = 10_000;

struct Entry {
    listing: Listing,
    /// The listing's sessions as rules, for `next_session`.
    sessions: Vec<Option<Schedule>>,
    loaded: Instant,
}

/// Listing cards by id; see the module documentation.
pub struct ListingCache {
    entries: RwLock<HashMap<String, Entry>>,
    /// Bumped by every drop: a load that saw another value at its start is not kept.
    generation: AtomicU64,
    ttl: Duration,
    capacity: usize,
}

impl Default for ListingCache {
    fn default() -> Self {
        Self::new(TTL, CAPACITY)
    }
}

impl ListingCache {
    /// A cache holding up to `capacity` listings for `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { entries: RwLock::new(HashMap::new()), generation: AtomicU64::new(0), ttl, capacity }
    }

    /// Listings by id, in the order given, as [`listing::load_many`] answers them (unknown ids
    /// are left out), taking those held from memory.
    pub fn load_many(&self, conn: &mut DbConnection, ids: &[String], taxonomy: &Taxonomy) -> QueryResult<Vec<Listing>> {
        self.load_many_at(conn, ids, taxonomy, Utc::now().naive_utc())
    }

    /// [`ListingCache::load_many`] with held cards as of `now` (for tests of the clock's fields;
    /// cards loaded from the database are as of the real time).
    pub fn load_many_at(
        &self,
        conn: &mut DbConnection,
        ids: &[String],
        taxonomy: &Taxonomy,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<Listing>> {
        let mut found: Vec<Option<Listing>> = Vec::with_capacity(ids.len());
        let mut missing: Vec<String> = Vec::new();
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            for id in ids {
                match entries.get(id) {
                    Some(entry) if entry.loaded.elapsed() < self.ttl => {
                        found.push(Some(entry.card(now)));
                    }
                    _ => {
                        found.push(None);
                        missing.push(id.clone());
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = listing::load_many(conn, &missing, taxonomy)?;
        let mut by_id: HashMap<String, Listing> = HashMap::with_capacity(loaded.len());
        {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            // Dropped meanwhile (an edit applied, a rebuild): answer it, but do not keep it.
            let keep = self.generation.load(Ordering::Acquire) == generation;
            if keep && entries.len() + loaded.len() > self.capacity {
                entries.retain(|_, e| e.loaded.elapsed() < self.ttl);
                if entries.len() + loaded.len() > self.capacity {
                    let mut ages: Vec<Instant> = entries.values().map(|e| e.loaded).collect();
                    ages.sort_unstable();
                    let cut = ages[(ages.len() / 2).min(ages.len().saturating_sub(1))];
                    entries.retain(|_, e| e.loaded > cut);
                }
            }
            for listing in loaded {
                if keep && entries.len() < self.capacity {
                    let entry = Entry::new(listing.clone());
                    entries.insert(listing.id.clone(), entry);
                }
                by_id.insert(listing.id.clone(), listing);
            }
        }
        Ok(ids.iter().zip(found).filter_map(|(id, held)| held.or_else(|| by_id.remove(id))).collect())
    }

    /// Drops these listings (the indexer applied a change to them).
    pub fn invalidate(&self, ids: &[String]) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            entries.remove(id);
        }
    }

    /// Drops everything (the index was rebuilt from the database).
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Listings held (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Entry {
    fn new(listing: Listing) -> Self {
        let sessions = listing
            .schedules
            .iter()
            .map(|s| {
                SessionRow {
                    id: String::new(),
                    freq: s.freq.clone(),
                    byday: s.byday.clone(),
                    week_of_month: s.week_of_month.clone(),
                    opens_at: s.opens_at.clone(),
                    closes_at: s.closes_at.clone(),
                    valid_from: s.valid_from,
                    valid_to: s.valid_to,
                    notes: None,
                }
                .schedule()
            })
            .collect();
        Self { listing, sessions, loaded: Instant::now() }
    }

    /// The card as of `now`: the fields that depend on the clock worked out afresh, as
    /// [`listing::load_many`] works them out.
    fn card(&self, now: NaiveDateTime) -> Listing {
        let mut listing = self.listing.clone();
        listing.next_session = self.sessions.iter().filter_map(|s| s.as_ref()?.next_after(now)).min();
        listing.freshness = listing::freshness(now, listing.last_verified);
        listing
    }
}
