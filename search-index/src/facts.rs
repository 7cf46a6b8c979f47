//! What ranking and filtering need to know about every listing, held in memory per segment.
//!
//! A search reads the location, freshness, availability and visibility of every listing it
//! considers. Read from tantivy's columnar fast fields that costs four column lookups per listing,
//! which dominated wide radius searches; here they are decoded once per segment into one flat
//! array (16 bytes a listing, 16 MB for a million) when a reader loads the segment. Segments never
//! change once written (deletes are a separate bitset), so the array stays true for the segment's
//! life and is dropped with it.
//!
//! The decoding runs in tantivy's reader warmer, on the thread that commits and reloads, so no
//! search waits for it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tantivy::{DocId, Searcher, SearcherGeneration, SegmentId, SegmentReader, Warmer};

use crate::geo_cells::GeoPoint;

/// A listing without a location.
const NO_POINT: u64 = u64::MAX;

/// One listing's facts: 24 bytes, read together.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fact {
    /// First location, packed (see [`GeoPoint::pack`]); [`NO_POINT`] when it has none.
    point: u64,
    /// Last verified, seconds since the epoch.
    pub last_verified: i64,
    /// Ranking multiplier for capacity and status, in thousandths.
    pub availability: u16,
    /// Whether the public may see the listing.
    pub public: bool,
    /// Whether it has more than one location (see [`SegmentFacts::points`]).
    more_points: bool,
}

/// The facts of one segment.
#[derive(Debug, Default)]
pub(crate) struct SegmentFacts {
    facts: Vec<Fact>,
    /// Locations after the first, for the few listings that have several.
    more_points: HashMap<DocId, Vec<u64>>,
}

impl SegmentFacts {
    fn read(segment: &SegmentReader) -> tantivy::Result<Self> {
        let fast = segment.fast_fields();
        let points = fast.u64("points")?;
        let last_verified = fast.i64("last_verified")?;
        let availability = fast.u64("availability")?;
        let public = fast.u64("public")?;
        let max_doc = segment.max_doc();
        let mut out = SegmentFacts { facts: Vec::with_capacity(max_doc as usize), more_points: HashMap::new() };
        for doc in 0..max_doc {
            let mut all = points.values_for_doc(doc);
            let point = all.next().unwrap_or(NO_POINT);
            let rest: Vec<u64> = all.collect();
            let more_points = !rest.is_empty();
            if more_points {
                out.more_points.insert(doc, rest);
            }
            let availability = availability.first(doc).unwrap_or(1000).min(u64::from(u16::MAX));
            out.facts.push(Fact {
                point,
                last_verified: last_verified.first(doc).unwrap_or(0),
                availability: u16::try_from(availability).unwrap_or(u16::MAX),
                public: public.first(doc) == Some(1),
                more_points,
            });
        }
        Ok(out)
    }

    /// The facts of a listing.
    #[inline]
    pub fn fact(&self, doc: DocId) -> Fact {
        self.facts[doc as usize]
    }

    /// Every location of a listing (`fact` is its [`SegmentFacts::fact`]).
    #[inline]
    pub fn points(&self, doc: DocId, fact: Fact) -> impl Iterator<Item = GeoPoint> + '_ {
        let rest = if fact.more_points { self.more_points.get(&doc).map(Vec::as_slice) } else { None };
        std::iter::once(fact.point)
            .filter(|p| *p != NO_POINT)
            .chain(rest.unwrap_or(&[]).iter().copied())
            .map(GeoPoint::unpack)
    }
}

/// The facts of every live segment, filled by the reader's warmer.
#[derive(Default)]
pub(crate) struct FactsCache {
    segments: RwLock<HashMap<SegmentId, Arc<SegmentFacts>>>,
}

impl FactsCache {
    /// The facts of a segment, read now if the warmer has not (an index opened before the
    /// warmer was registered).
    pub fn get(&self, segment: &SegmentReader) -> tantivy::Result<Arc<SegmentFacts>> {
        let id = segment.segment_id();
        if let Some(found) = self.segments.read().map_err(poisoned)?.get(&id) {
            return Ok(Arc::clone(found));
        }
        let facts = Arc::new(SegmentFacts::read(segment)?);
        self.segments.write().map_err(poisoned)?.insert(id, Arc::clone(&facts));
        Ok(facts)
    }
}

fn poisoned<T>(_: T) -> tantivy::TantivyError {
    tantivy::TantivyError::InternalError("search facts cache lock poisoned".into())
}

impl Warmer for FactsCache {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for segment in searcher.segment_readers() {
            self.get(segment)?;
        }
        Ok(())
    }

    fn garbage_collect(&self, live_generations: &[&SearcherGeneration]) {
        let live: std::collections::HashSet<SegmentId> =
            live_generations.iter().flat_map(|generation| generation.segments().keys().copied()).collect();
        if let Ok(mut segments) = self.segments.write() {
            segments.retain(|id, _| live.contains(id));
        }
    }
}
