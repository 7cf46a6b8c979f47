//! One pass over the matching documents: exact radius check, freshness cut-off, facet counts,
//! and the top of the requested order. A custom collector because the radius must be applied
//! before counting (facets and totals are of listings really inside the circle), and because
//! distance is both a filter and a ranking signal.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::geo_cells::{distance_km, GeoPoint};
use crate::ranking::blend;
use crate::request::Sort;

/// The sort key of a hit: numbers sort descending, names ascending.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    Number(f64),
    Name(String),
}

/// A collected hit, before snippets and ids are read.
#[derive(Debug, Clone)]
pub(crate) struct RankedHit {
    pub id: String,
    pub key: SortKey,
    pub doc: DocAddress,
    pub distance_km: Option<f64>,
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

/// What the collector gives back.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub total: usize,
    pub hits: Vec<RankedHit>,
    pub facets: HashMap<String, u32>,
}

/// The collector's parameters.
pub(crate) struct SearchCollector {
    pub origin: Option<GeoPoint>,
    pub radius_km: Option<f64>,
    pub min_last_verified: Option<i64>,
    pub public_only: bool,
    pub now: i64,
    pub sort: Sort,
    pub keep: usize,
    pub scored: bool,
    pub facets: bool,
}

impl Collector for SearchCollector {
    type Fruit = Collected;
    type Child = SearchSegmentCollector;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let fast = reader.fast_fields();
        let facet = if self.facets { fast.str("facet")? } else { None };
        let facet_counts = vec![0; facet.as_ref().map_or(0, |c| c.num_terms())];
        Ok(SearchSegmentCollector {
            segment,
            origin: self.origin,
            radius_km: self.radius_km,
            min_last_verified: self.min_last_verified,
            public: self.public_only.then(|| fast.u64("public")).transpose()?,
            now: self.now,
            sort: self.sort,
            keep: self.keep,
            scored: self.scored,
            points: fast.u64("points")?,
            last_verified: fast.i64("last_verified")?,
            availability: fast.u64("availability")?,
            name_sort: if self.sort == Sort::Name { fast.str("name_sort")? } else { None },
            id_hi: fast.u64("id_hi")?,
            id_lo: fast.u64("id_lo")?,
            facet,
            facet_counts,
            total: 0,
            heap: BinaryHeap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Collected>) -> tantivy::Result<Collected> {
        let mut merged = Collected::default();
        for fruit in fruits {
            merged.total += fruit.total;
            merged.hits.extend(fruit.hits);
            for (k, v) in fruit.facets {
                *merged.facets.entry(k).or_default() += v;
            }
        }
        merged.hits.sort_by(|a, b| b.rank_cmp(a));
        merged.hits.truncate(self.keep);
        Ok(merged)
    }
}

/// Heap entry: the worst kept hit on top, so a better one can replace it.
struct Worst {
    key: f64,
    doc: DocId,
    distance_km: Option<f64>,
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

/// Per-segment state of [`SearchCollector`].
pub(crate) struct SearchSegmentCollector {
    segment: SegmentOrdinal,
    origin: Option<GeoPoint>,
    radius_km: Option<f64>,
    min_last_verified: Option<i64>,
    /// Set for public searches: the listing's public flag.
    public: Option<Column<u64>>,
    now: i64,
    sort: Sort,
    keep: usize,
    scored: bool,
    points: Column<u64>,
    last_verified: Column<i64>,
    availability: Column<u64>,
    name_sort: Option<StrColumn>,
    id_hi: Column<u64>,
    id_lo: Column<u64>,
    facet: Option<StrColumn>,
    facet_counts: Vec<u32>,
    total: usize,
    heap: BinaryHeap<Worst>,
}

impl SearchSegmentCollector {
    fn nearest_km(&self, doc: DocId) -> Option<f64> {
        let origin = self.origin?;
        self.points
            .values_for_doc(doc)
            .map(|packed| distance_km(origin, GeoPoint::unpack(packed)))
            .min_by(f64::total_cmp)
    }
}

impl SegmentCollector for SearchSegmentCollector {
    type Fruit = Collected;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.public.as_ref().is_some_and(|public| public.first(doc) != Some(1)) {
            return;
        }
        let last_verified = self.last_verified.first(doc).unwrap_or(0);
        if self.min_last_verified.is_some_and(|min| last_verified < min) {
            return;
        }
        let distance = self.nearest_km(doc);
        if let Some(radius) = self.radius_km {
            match distance {
                Some(d) if d <= radius => {}
                _ => return,
            }
        }
        self.total += 1;
        if let Some(facet) = &self.facet {
            for ord in facet.term_ords(doc) {
                if let Some(count) = self.facet_counts.get_mut(ord as usize) {
                    *count += 1;
                }
            }
        }
        if self.keep == 0 {
            return;
        }
        let key = match self.sort {
            Sort::Relevance => {
                let text = if self.scored { f64::from(score) } else { 1.0 };
                let availability = self.availability.first(doc).unwrap_or(1000);
                blend(text, distance, self.origin.is_some(), self.now, last_verified, availability)
            }
            Sort::Distance => -distance.unwrap_or(f64::MAX),
            Sort::LastVerified => last_verified as f64,
            Sort::Name => {
                let ord = self.name_sort.as_ref().and_then(|c| c.term_ords(doc).next()).unwrap_or(u64::MAX);
                -(ord as f64)
            }
        };
        let entry = Worst { key, doc, distance_km: distance };
        if self.heap.len() < self.keep {
            self.heap.push(entry);
        } else if let Some(worst) = self.heap.peek() {
            if entry.cmp(worst) == Ordering::Less {
                self.heap.pop();
                self.heap.push(entry);
            }
        }
    }

    fn harvest(self) -> Collected {
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
            .into_iter()
            .map(|w| {
                let key = match (self.sort, &self.name_sort) {
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
                RankedHit { id, key, doc: DocAddress::new(self.segment, w.doc), distance_km: w.distance_km }
            })
            .collect();
        Collected { total: self.total, hits, facets }
    }
}
