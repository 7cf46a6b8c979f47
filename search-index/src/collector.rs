//! The last step of a search, per segment: the visibility, freshness and exact radius checks,
//! facet counts, and the top of the requested order; then the segments' tops merged.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tantivy::columnar::StrColumn;
use tantivy::{DocAddress, DocId, SegmentOrdinal, SegmentReader};

use crate::facts::{Fact, SegmentFacts};
use crate::geo_cells::Origin;
use crate::ranking::{blend, close_fit, Freshness, PARTIAL_SINK};
use crate::request::Sort;

/// The sort key of a hit: numbers sort descending, names ascending.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    Number(f64),
    Name(String),
}

/// A collected hit.
#[derive(Debug, Clone)]
pub(crate) struct RankedHit {
    pub id: String,
    pub key: SortKey,
    pub doc: DocAddress,
    /// Exact distance to the nearest location.
    pub distance_km: Option<f64>,
    /// The text fit (0 to about 1; 0 without words).
    pub fit: f64,
}

impl RankedHit {
    /// Better hits compare greater.
    fn rank_cmp(&self, other: &Self) -> Ordering {
        let by_key = match (&self.key, &other.key) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Name(a), SortKey::Name(b)) => b.cmp(a),
            _ => Ordering::Equal,
        };
        // Ties go to the nearer listing, then to index order, so pages are stable.
        by_key
            .then_with(|| {
                let (a, b) = (self.distance_km.unwrap_or(f64::MAX), other.distance_km.unwrap_or(f64::MAX));
                b.total_cmp(&a)
            })
            .then_with(|| other.doc.cmp(&self.doc))
    }
}

/// What a search collected over every segment.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub total: usize,
    pub hits: Vec<RankedHit>,
    pub facets: HashMap<String, u32>,
    /// How many are within each of [`Params::count_within`].
    pub within: Vec<usize>,
    /// How many fit the words closely (all of them without words).
    pub close: usize,
}

impl Collected {
    /// Merges the segments' results, keeping the best `keep` hits.
    pub fn merge(fruits: Vec<Collected>, keep: usize) -> Collected {
        let mut merged = Collected::default();
        for fruit in fruits {
            merged.total += fruit.total;
            merged.close += fruit.close;
            merged.hits.extend(fruit.hits);
            merged.within.resize(merged.within.len().max(fruit.within.len()), 0);
            for (sum, count) in merged.within.iter_mut().zip(fruit.within) {
                *sum += count;
            }
            for (k, v) in fruit.facets {
                *merged.facets.entry(k).or_default() += v;
            }
        }
        merged.hits.sort_by(|a, b| b.rank_cmp(a));
        merged.hits.truncate(keep);
        merged
    }
}

/// What the collection needs from the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    pub origin: Option<Origin>,
    pub radius_km: Option<f64>,
    pub min_last_verified: Option<i64>,
    pub public_only: bool,
    pub now: i64,
    pub sort: Sort,
    /// Hits to keep (offset + limit); 0 when only the total is wanted.
    pub keep: usize,
    /// Whether text scores rank (relevance order with words typed).
    pub scored: bool,
    pub facets: bool,
    /// Radii (each at most `radius_km`) to count matches within, in one pass: what the
    /// zero-result help offers as a wider search.
    pub count_within: &'static [f64],
}

/// Heap entry: the worst kept hit on top, so a better one can replace it.
struct Worst {
    key: f64,
    doc: DocId,
    distance_km: Option<f64>,
    fit: f32,
}

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reverse: the max-heap's top is the lowest key (and, on ties, the later doc).
        other.key.total_cmp(&self.key).then_with(|| self.doc.cmp(&other.doc))
    }
}

/// Listings whose facts are read together (see [`SegmentTop::offer_batch`]).
pub(crate) const BATCH: usize = 64;

/// One segment's collection.
pub(crate) struct SegmentTop {
    params: Params,
    segment: SegmentOrdinal,
    facts: Arc<SegmentFacts>,
    name_sort: Option<StrColumn>,
    id_hi: tantivy::columnar::Column<u64>,
    id_lo: tantivy::columnar::Column<u64>,
    facet: Option<StrColumn>,
    facet_counts: Vec<u32>,
    total: usize,
    close: usize,
    close_fit: f32,
    within: Vec<usize>,
    heap: BinaryHeap<Worst>,
    freshness: Freshness,
}

impl SegmentTop {
    /// Starts collecting from a segment.
    pub fn new(
        params: Params,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
        facts: Arc<SegmentFacts>,
    ) -> tantivy::Result<Self> {
        let fast = reader.fast_fields();
        let facet = if params.facets { fast.str("facet")? } else { None };
        let facet_counts = vec![0; facet.as_ref().map_or(0, |c| c.num_terms())];
        Ok(Self {
            params,
            segment,
            facts,
            name_sort: if params.sort == Sort::Name { fast.str("name_sort")? } else { None },
            id_hi: fast.u64("id_hi")?,
            id_lo: fast.u64("id_lo")?,
            facet,
            facet_counts,
            total: 0,
            close: 0,
            close_fit: close_fit(),
            within: vec![0; params.count_within.len()],
            heap: BinaryHeap::new(),
            freshness: Freshness::at(params.now),
        })
    }

    /// The distance to the nearest location, approximate, when within the radius (exactly
    /// checked); `Err(())` when outside it.
    #[inline]
    fn distance(&self, doc: DocId, fact: Fact) -> Result<Option<f64>, ()> {
        let Some(origin) = self.params.origin else { return Ok(None) };
        let mut nearest: Option<f64> = None;
        let mut inside = self.params.radius_km.is_none();
        for point in self.facts.points(doc, fact) {
            let d = match self.params.radius_km {
                Some(radius) => {
                    let (within, approx) = origin.within(point, radius);
                    inside |= within;
                    approx
                }
                None => origin.approx_km(point),
            };
            nearest = Some(nearest.map_or(d, |n: f64| n.min(d)));
        }
        if inside {
            Ok(nearest)
        } else {
            Err(())
        }
    }

    fn exact_distance(&self, doc: DocId) -> Option<f64> {
        let origin = self.params.origin?;
        self.facts.points(doc, self.facts.fact(doc)).map(|p| origin.exact_km(p)).min_by(f64::total_cmp)
    }

    /// Weighs live listings that matched, with their text scores.
    ///
    /// Reading a listing's facts is a cache miss when matches are scattered over a large
    /// segment, and it was half the time of a wide radius search. Read together in a short loop
    /// with nothing else in it, the misses overlap instead of waiting for each other.
    pub fn offer_batch(&mut self, batch: &[(DocId, f32)]) {
        for chunk in batch.chunks(BATCH) {
            let mut facts = [Fact::default(); BATCH];
            for (fact, &(doc, _)) in facts.iter_mut().zip(chunk) {
                *fact = self.facts.fact(doc);
            }
            for (&(doc, score), fact) in chunk.iter().zip(facts) {
                self.offer_fact(doc, score, fact);
            }
        }
    }

    /// Weighs one live listing that matched (with its text score, 0 when unscored).
    #[inline]
    pub fn offer(&mut self, doc: DocId, score: f32) {
        self.offer_fact(doc, score, self.facts.fact(doc));
    }

    #[inline]
    fn offer_fact(&mut self, doc: DocId, score: f32, fact: Fact) {
        if self.params.public_only && !fact.public {
            return;
        }
        if self.params.min_last_verified.is_some_and(|min| fact.last_verified < min) {
            return;
        }
        let Ok(distance) = self.distance(doc, fact) else { return };
        self.total += 1;
        let close = !self.params.scored || score >= self.close_fit;
        self.close += usize::from(close);
        if let Some(origin) = self.params.origin {
            for (count, radius) in self.within.iter_mut().zip(self.params.count_within) {
                if self.facts.points(doc, fact).any(|p| origin.within(p, *radius).0) {
                    *count += 1;
                }
            }
        }
        if let Some(facet) = &self.facet {
            for ord in facet.term_ords(doc) {
                if let Some(count) = self.facet_counts.get_mut(ord as usize) {
                    *count += 1;
                }
            }
        }
        if self.params.keep == 0 {
            return;
        }
        let key = match self.params.sort {
            Sort::Relevance => {
                let text = if self.params.scored { f64::from(score) } else { 1.0 };
                let freshness = self.freshness.factor(fact.last_verified);
                let availability = u64::from(fact.availability);
                let full = self.heap.len() >= self.params.keep;
                let near = blend(text, None, false, freshness, availability);
                let most = near - if close { 0.0 } else { PARTIAL_SINK };
                if full && self.heap.peek().is_some_and(|worst| most < worst.key) {
                    // Even next door it would not make the page: skip the distance decay.
                    return;
                }
                // Without an origin there is no distance decay: the blend is the one just made.
                let blended = if self.params.origin.is_some() {
                    blend(text, distance, true, freshness, availability)
                } else {
                    near
                };
                // Partial matches come after every close one, apart (see `Blend::close_fit`).
                if close {
                    blended
                } else {
                    blended - PARTIAL_SINK
                }
            }
            Sort::Distance => -self.exact_distance(doc).unwrap_or(f64::MAX),
            Sort::LastVerified => fact.last_verified as f64,
            Sort::Name => {
                let ord = self.name_sort.as_ref().and_then(|c| c.term_ords(doc).next()).unwrap_or(u64::MAX);
                -(ord as f64)
            }
        };
        let entry = Worst { key, doc, distance_km: distance, fit: score };
        if self.heap.len() < self.params.keep {
            self.heap.push(entry);
        } else if let Some(worst) = self.heap.peek() {
            if entry.cmp(worst) == Ordering::Less {
                self.heap.pop();
                self.heap.push(entry);
            }
        }
    }

    /// The segment's total, facet counts and best hits (with exact distances).
    pub fn harvest(self) -> Collected {
        let mut facets = HashMap::new();
        if let Some(column) = &self.facet {
            let mut text = String::new();
            for (ord, &count) in self.facet_counts.iter().enumerate() {
                if count > 0 && column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                    facets.insert(text.clone(), count);
                }
            }
        }
        let hits = self
            .heap
            .iter()
            .map(|w| {
                let key = match (self.params.sort, &self.name_sort) {
                    (Sort::Name, Some(column)) => {
                        let mut name = String::new();
                        let ord = (-w.key) as u64;
                        if !column.ord_to_str(ord, &mut name).unwrap_or(false) {
                            name.clear();
                        }
                        SortKey::Name(name)
                    }
                    _ => SortKey::Number(w.key),
                };
                let (hi, lo) = (self.id_hi.first(w.doc).unwrap_or(0), self.id_lo.first(w.doc).unwrap_or(0));
                let id = uuid::Uuid::from_u64_pair(hi, lo).to_string();
                let distance_km = w.distance_km.and_then(|_| self.exact_distance(w.doc));
                let fit = if self.params.scored { f64::from(w.fit) } else { 0.0 };
                RankedHit { id, key, doc: DocAddress::new(self.segment, w.doc), distance_km, fit }
            })
            .collect();
        Collected { total: self.total, hits, facets, within: self.within, close: self.close }
    }
}
