//! Running a search over the index, segment by segment.
//!
//! tantivy's boolean query would do this, but a radius search over a million listings spends most
//! of its time in the union of the query's word scorers being re-filled for every sparse
//! geographic candidate. Here the work is ordered by what is cheapest to know first:
//!
//! 1. **Filters as bitsets.** The grid cells covering the circle and the facet filters are read
//!    straight from their posting lists into bitsets (one bit a listing) and intersected.
//! 2. **Text, one leaf at a time.** A listing's text score is the sum of its leaves' scores (see
//!    [`Leaf`]). Each word's postings are read block by block: when the filter leaves few
//!    candidates, the word's skip list jumps to each candidate; otherwise the postings are
//!    scanned and only listings inside the filter are scored. Scores add up in one array.
//! 3. **Collection** ([`SegmentTop`]): visibility, freshness and the exact radius from the
//!    in-memory [`SegmentFacts`], facet counts, and the top of the requested order.
//!
//! Results are those of the boolean query it replaces: the same matches, the same BM25 scores
//! with the same weights, the same blend.

use std::cell::{OnceCell, RefCell};

use tantivy::query::{Bm25Weight, EnableScoring, Query, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Searcher, SegmentOrdinal, SegmentReader, Term, TERMINATED};

use crate::collector::{Collected, Params, SegmentTop, BATCH};
use crate::facts::FactsCache;
use crate::text::{quality, Matcher, TextQuery, PHRASE_BONUS};

/// When a filter leaves fewer candidates than a word's postings divided by this, the word's skip
/// list is used to jump to each candidate instead of scanning its postings: a jump costs about
/// a block decode, scanning about a few nanoseconds a posting.
const SEEK_RATIO: usize = 32;

/// The same for a phrase or prefix leaf, whose walk costs about what a jump does: a walk
/// intersects its words' postings and reads positions for every listing having them all.
const OTHER_SEEK_RATIO: usize = 2;

/// What to search for, independent of segments.
pub(crate) struct Plan {
    /// The text query; no leaves for a search without words.
    pub text: TextQuery,
    /// Facet filters: one list of terms per dimension; a listing must have one of each.
    pub facet_filters: Vec<Vec<Term>>,
    /// Grid cell terms covering the circle (empty without a radius).
    pub cells: Vec<Term>,
}

/// A leaf made ready for the segments: BM25 statistics are over the whole index.
enum Ready {
    /// A word, with its BM25 weight and the most that weight can give (to see how strongly a
    /// listing has the word, 0 to 1).
    Term {
        term: Term,
        bm25: Box<Bm25Weight>,
        max: f32,
        /// A listing having the word gets `presence + per_score × BM25` (at most `max`):
        /// [`PRESENCE`] and the leaf's quality folded in once a search, not per listing.
        presence: f32,
        per_score: f32,
    },
    /// A term whose presence is all that counts: a category or audience, or any word when
    /// only matches are wanted.
    Facet {
        term: Term,
    },
    Other {
        weight: Box<dyn Weight>,
        required: Vec<Term>,
    },
}

struct ReadyLeaf {
    ready: Ready,
    covers: std::ops::Range<usize>,
    quality: f32,
}

/// How much of a word's evidence is its mere presence; the rest grows with how strongly the
/// listing has the word (BM25 against its most). Mostly presence: a listing that says
/// "walking" once fits a walking need as well as one that says it five times.
pub(crate) const PRESENCE: f32 = 0.85;

/// Runs the plan over every segment.
pub(crate) fn execute(
    searcher: &Searcher,
    plan: &Plan,
    params: Params,
    facts: &FactsCache,
) -> tantivy::Result<Collected> {
    let ready = plan
        .text
        .leaves
        .iter()
        .map(|leaf| {
            let quality = quality(leaf.kind);
            let ready = match &leaf.matcher {
                // Only matches count: no BM25 statistics to read.
                Matcher::Term(term) if !params.scored => Ready::Facet { term: term.clone() },
                Matcher::Query { query, required } if !params.scored => Ready::Other {
                    weight: query.weight(EnableScoring::disabled_from_searcher(searcher))?,
                    required: required.clone(),
                },
                Matcher::Term(term) => {
                    let bm25 = Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?;
                    let max = bm25.max_score().max(f32::MIN_POSITIVE);
                    let (presence, per_score) = (quality * PRESENCE, quality * (1.0 - PRESENCE) / max);
                    Ready::Term { term: term.clone(), bm25: Box::new(bm25), max, presence, per_score }
                }
                Matcher::Facet(term) => Ready::Facet { term: term.clone() },
                Matcher::Query { query, required } => Ready::Other {
                    weight: query.weight(EnableScoring::enabled_from_searcher(searcher))?,
                    required: required.clone(),
                },
            };
            Ok(ReadyLeaf { ready, covers: leaf.covers.clone(), quality })
        })
        .collect::<tantivy::Result<Vec<ReadyLeaf>>>()?;
    let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let ord = SegmentOrdinal::try_from(ord).unwrap_or(SegmentOrdinal::MAX);
        fruits.push(search_segment(ord, segment, plan, &ready, params, facts)?);
    }
    Ok(Collected::merge(fruits, params.keep))
}

fn search_segment(
    ord: SegmentOrdinal,
    segment: &SegmentReader,
    plan: &Plan,
    ready: &[ReadyLeaf],
    params: Params,
    facts: &FactsCache,
) -> tantivy::Result<Collected> {
    let max_doc = segment.max_doc();
    let mut top = SegmentTop::new(params, ord, segment, facts.get(segment)?)?;
    let alive = |doc: DocId| segment.alive_bitset().is_none_or(|bits| bits.is_alive(doc));

    // 1. Filters.
    let mut filter: Option<BitSet> = None;
    if let Some(field) = plan.cells.first().map(Term::field) {
        filter = Some(BitSet::from_postings(segment, field, &plan.cells, max_doc)?);
    }
    for any_of in &plan.facet_filters {
        let Some(field) = any_of.first().map(Term::field) else { continue };
        let set = BitSet::from_postings(segment, field, any_of, max_doc)?;
        filter = Some(match filter {
            Some(mut f) => {
                f.intersect(&set);
                f
            }
            None => set,
        });
    }

    // 2. Text.
    if ready.is_empty() {
        match &filter {
            Some(f) => f.iter().filter(|&doc| alive(doc)).for_each(|doc| top.offer(doc, 0.0)),
            None => (0..max_doc).filter(|&doc| alive(doc)).for_each(|doc| top.offer(doc, 0.0)),
        }
        return Ok(top.harvest());
    }
    let count = filter.as_ref().map_or(usize::MAX, BitSet::len);
    let candidates = Candidates { filter: filter.as_ref(), count, listed: OnceCell::new() };
    if !params.scored {
        // Only which listings match counts (a count for the zero-result help, or an order
        // that is not relevance): no scores, no best evidence, no phrase bonus, and when a
        // word carries the need, no filler word at all (it can make no listing a match).
        let concepts = &plan.text.concepts;
        let needs_specific = plan.text.has_specific();
        let mut matched = BitSet::new(max_doc);
        for leaf in ready {
            if leaf.covers.is_empty() || (needs_specific && !leaf.covers.clone().any(|c| concepts[c].specific)) {
                continue;
            }
            match &leaf.ready {
                Ready::Term { term, .. } | Ready::Facet { term } => {
                    for_each_match(segment, term, &candidates, |doc, _| matched.insert(doc))?;
                }
                Ready::Other { weight, required } => {
                    for_each_other(segment, weight.as_ref(), required, &candidates, max_doc, |doc| {
                        matched.insert(doc)
                    })?;
                }
            }
        }
        collect(&mut top, &matched, filter.is_some(), alive, |_| 0.0);
        return Ok(top.harvest());
    }
    let mut scores = Scores::new(max_doc);
    // Listings having a word that carries the need: only they count as matches when the query
    // has such a word (a listing matching "group" alone is no answer to "walkin group"). Those
    // words are scored first, so this is what matched once they are done (a copy, taken when
    // the first filler word comes), and filler words and the phrase add no listing to it.
    let has_specific = plan.text.has_specific();
    let mut specific: Option<BitSet> = None;
    // Which listings have each word of the name phrase: recorded while the words are scored.
    let bonus: Vec<&ReadyLeaf> = ready.iter().filter(|l| l.covers.is_empty()).collect();
    let mut needed: Vec<(Term, BitSet)> = Vec::new();
    for leaf in &bonus {
        if let Ready::Other { required, .. } = &leaf.ready {
            for term in required {
                if !needed.iter().any(|(t, _)| t == term) {
                    needed.push((term.clone(), BitSet::new(max_doc)));
                }
            }
        }
    }
    // Each word of the need: its best evidence in each listing, weighted. Words carrying the
    // need come first: when there is one, a listing having only filler words is no match, so a
    // filler word ("group", "help") is only looked for in the listings that already matched,
    // not through its long postings.
    let mut order: Vec<usize> = (0..plan.text.concepts.len()).collect();
    order.sort_by_key(|&c| !plan.text.concepts[c].specific);
    for c in order {
        let concept = &plan.text.concepts[c];
        if has_specific && !concept.specific && specific.is_none() {
            specific = Some(scores.matched.copy());
        }
        {
            let restricted;
            let scope = match specific.as_ref() {
                Some(set) => {
                    restricted = Candidates { filter: Some(set), count: set.len(), listed: OnceCell::new() };
                    &restricted
                }
                _ => &candidates,
            };
            for leaf in ready.iter().filter(|l| l.covers.contains(&c)) {
                let quality = leaf.quality;
                match &leaf.ready {
                    Ready::Term { term, bm25, max, presence, per_score } => {
                        let fieldnorms = segment.get_fieldnorms_reader(term.field())?;
                        let evidence =
                            |doc, freq| presence + per_score * bm25.score(fieldnorms.fieldnorm_id(doc), freq).min(*max);
                        // Two loops, so the usual one (no phrase word to record) has no test a
                        // posting.
                        match needed.iter_mut().find(|(t, _)| t == term) {
                            Some((_, set)) => for_each_match(segment, term, scope, |doc, freq| {
                                scores.offer(doc, evidence(doc, freq));
                                set.insert(doc);
                            })?,
                            None => for_each_match(segment, term, scope, |doc, freq| {
                                scores.offer(doc, evidence(doc, freq))
                            })?,
                        }
                    }
                    Ready::Facet { term } => for_each_match(segment, term, scope, |doc, _| scores.offer(doc, quality))?,
                    Ready::Other { weight, required } => {
                        for_each_other(segment, weight.as_ref(), required, scope, max_doc, |doc| {
                            scores.offer(doc, quality);
                        })?;
                    }
                }
            }
        }
        scores.fold(concept.weight);
    }
    for (term, set) in &mut needed {
        if !ready.iter().any(|leaf| matches!(&leaf.ready, Ready::Term { term: t, .. } if t == term)) {
            for_each_match(segment, term, &candidates, |doc, _| set.insert(doc))?;
        }
    }
    for leaf in bonus {
        let Ready::Other { weight, required } = &leaf.ready else { continue };
        // A phrase can only match where all its words are: often far fewer listings than the
        // filter leaves, and a phrase's positions are the dearest thing to check.
        let mut within: Option<BitSet> = None;
        for term in required {
            let Some((_, set)) = needed.iter().find(|(t, _)| t == term) else { continue };
            match within.as_mut() {
                Some(w) => w.intersect(set),
                None => within = Some(set.copy()),
            }
        }
        let Some(within) = within else { continue };
        let narrowed = Candidates { filter: Some(&within), count: within.len(), listed: OnceCell::new() };
        score_other(segment, weight.as_ref(), &narrowed, |doc| scores.add(doc, PHRASE_BONUS))?;
    }

    // 3. Collection.
    // With a word carrying the need, `scores.matched` is `specific`: the filler words were
    // looked for only there, and the name phrase holds that word.
    let matched = &scores.matched;
    collect(&mut top, matched, filter.is_some(), alive, |doc| scores.score(doc));
    Ok(top.harvest())
}

/// Offers the live listings of `matched` with their scores. Matches inside a filter are
/// scattered over the segment: their facts are read in batches (see
/// `SegmentTop::offer_batch`). Without one they are dense, and read in order the processor
/// fetches ahead by itself.
fn collect(
    top: &mut SegmentTop,
    matched: &BitSet,
    filtered: bool,
    alive: impl Fn(DocId) -> bool,
    score: impl Fn(DocId) -> f32,
) {
    if filtered {
        let mut batch: Vec<(DocId, f32)> = Vec::with_capacity(BATCH);
        for doc in matched.iter().filter(|&doc| alive(doc)) {
            batch.push((doc, score(doc)));
            if batch.len() == BATCH {
                top.offer_batch(&batch);
                batch.clear();
            }
        }
        top.offer_batch(&batch);
    } else {
        for doc in matched.iter().filter(|&doc| alive(doc)) {
            top.offer(doc, score(doc));
        }
    }
}

/// Calls `found` for each candidate a synonym phrase (or prefix: no `required` words) matches,
/// looked for only where all its words are.
fn for_each_other(
    segment: &SegmentReader,
    weight: &dyn Weight,
    required: &[Term],
    candidates: &Candidates<'_>,
    max_doc: DocId,
    found: impl FnMut(DocId),
) -> tantivy::Result<()> {
    let mut within: Option<BitSet> = None;
    for term in required {
        let mut set = BitSet::new(max_doc);
        for_each_match(segment, term, candidates, |doc, _| set.insert(doc))?;
        match within.as_mut() {
            Some(w) => w.intersect(&set),
            None => within = Some(set),
        }
    }
    let narrowed = within.as_ref().map(|w| Candidates { filter: Some(w), count: w.len(), listed: OnceCell::new() });
    score_other(segment, weight, narrowed.as_ref().unwrap_or(candidates), found)
}

/// The listings the filters leave, if any filter applies.
struct Candidates<'f> {
    filter: Option<&'f BitSet>,
    /// How many (`usize::MAX` without a filter).
    count: usize,
    /// The same listings in order, listed when a leaf first needs them.
    listed: OnceCell<Vec<DocId>>,
}

impl Candidates<'_> {
    fn listed(&self) -> Option<&[DocId]> {
        self.filter.map(|f| self.listed.get_or_init(|| f.iter().collect()).as_slice())
    }
}

/// One listing's text score so far, and the best evidence of the word being scored (see
/// [`Scores::offer`]): side by side, so folding the one into the other touches the line the
/// offer just brought into cache.
#[derive(Clone, Copy, Default)]
struct Slot {
    score: f32,
    best: f32,
}

/// Text scores of one segment's listings, and which listings any leaf matched.
///
/// A word of the need is scored by offering each leaf's evidence ([`Scores::offer`]: each
/// listing keeps the best) and then folding the best, weighted, into the score
/// ([`Scores::fold`]). Offering is branch-free: a listing is written to `touched` every time
/// and the count moves only on its first offer, because whether a listing was seen is
/// unpredictable and a mispredicted branch a posting cost more than the rest of its work.
///
/// Its memory is reused from search to search on the same thread (see [`Scratch`]): a fresh
/// array for a million listings per search was mostly the kernel zeroing pages.
struct Scores {
    slots: Vec<Slot>,
    matched: BitSet,
    /// The listings offered since the last fold are `touched[..touched_len]`; one entry more
    /// than the segment's listings (a repeated offer writes past the count).
    touched: Vec<DocId>,
    touched_len: usize,
}

impl Scores {
    fn new(max_doc: DocId) -> Self {
        let (mut slots, mut touched) = SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            (std::mem::take(&mut s.slots), std::mem::take(&mut s.touched))
        });
        // Every slot is zero here, also past this segment's end: Drop puts back to zero what a
        // search wrote, and the arrays only grow (filling them again for each segment of a
        // different size cost a tenth of a text search).
        if slots.len() < max_doc as usize {
            slots.resize(max_doc as usize, Slot::default());
        }
        if touched.len() <= max_doc as usize {
            touched.resize(max_doc as usize + 1, 0);
        }
        Self { slots, matched: BitSet::new(max_doc), touched, touched_len: 0 }
    }

    /// Evidence for the word being scored: the listing keeps its best.
    #[inline]
    fn offer(&mut self, doc: DocId, value: f32) {
        if let Some(slot) = self.slots.get_mut(doc as usize) {
            let old = slot.best;
            if let Some(entry) = self.touched.get_mut(self.touched_len) {
                *entry = doc;
            }
            self.touched_len += usize::from(old == 0.0);
            // `old.max(value)` without its NaN checks: evidence is never NaN.
            slot.best = if value > old { value } else { old };
        }
    }

    /// Adds each offered listing's best evidence, times `weight`, to its score.
    fn fold(&mut self, weight: f32) {
        for &doc in &self.touched[..self.touched_len] {
            if let Some(slot) = self.slots.get_mut(doc as usize) {
                slot.score += weight * slot.best;
                slot.best = 0.0;
            }
            self.matched.insert(doc);
        }
        self.touched_len = 0;
    }

    #[inline]
    fn add(&mut self, doc: DocId, score: f32) {
        self.slots[doc as usize].score += score;
        self.matched.insert(doc);
    }

    #[inline]
    fn score(&self, doc: DocId) -> f32 {
        self.slots[doc as usize].score
    }
}

impl Drop for Scores {
    fn drop(&mut self) {
        let (slots, touched) = (std::mem::take(&mut self.slots), std::mem::take(&mut self.touched));
        // An array past the cap is freed, not kept (nor put back to zero).
        if slots.capacity() > KEEP_SCORES || touched.capacity() > KEEP_SCORES + 1 {
            return;
        }
        let mut slots = slots;
        for doc in self.matched.iter() {
            slots[doc as usize] = Slot::default();
        }
        SCRATCH.with(|s| {
            let mut scratch = s.borrow_mut();
            if scratch.slots.capacity() < slots.capacity() {
                scratch.slots = slots;
            }
            if scratch.touched.capacity() < touched.capacity() {
                scratch.touched = touched;
            }
        });
    }
}

/// Most score slots a thread keeps between searches (12 MiB with the touched list: a segment
/// of a million listings). Every search thread keeps its own scratch, so what one keeps is multiplied by the
/// threads there are; a larger segment's array is allocated per search and freed after it.
const KEEP_SCORES: usize = 1 << 20;

/// Most bit sets a thread keeps (a search uses a few), and the largest kept (128 KiB: a million
/// listings).
const KEEP_SETS: usize = 8;
const KEEP_SET_WORDS: usize = (1 << 20) / 64;

/// Memory a search thread keeps between searches, within [`KEEP_SCORES`], [`KEEP_SETS`] and
/// [`KEEP_SET_WORDS`]: at most 13 MiB a thread.
#[derive(Default)]
struct Scratch {
    /// All zeros between searches.
    slots: Vec<Slot>,
    /// Bit set words, contents undefined.
    words: Vec<Vec<u64>>,
    /// Contents undefined.
    touched: Vec<DocId>,
}

impl Scratch {
    /// Bytes kept.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.touched.capacity() * std::mem::size_of::<DocId>()
            + self.words.iter().map(|w| w.capacity() * std::mem::size_of::<u64>()).sum::<usize>()
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Calls `found(listing, term frequency)` for each candidate (every listing when no filter
/// applies) having the word, in order: jumping to each candidate through the word's skip list
/// when candidates are few, else reading every posting and keeping those inside the filter.
fn for_each_match(
    segment: &SegmentReader,
    term: &Term,
    candidates: &Candidates<'_>,
    mut found: impl FnMut(DocId, u32),
) -> tantivy::Result<()> {
    let inverted = segment.inverted_index(term.field())?;
    let Some(mut postings) = inverted.read_block_postings(term, IndexRecordOption::WithFreqs)? else {
        return Ok(());
    };
    let filter = candidates.filter;
    let few = candidates.count < postings.doc_freq() as usize / SEEK_RATIO;
    match if few { candidates.listed() } else { None } {
        Some(candidates) => {
            for &doc in candidates {
                if postings.docs().last().is_none_or(|&last| last < doc) {
                    postings.seek(doc);
                    if postings.docs().last().is_none_or(|&last| last < doc) {
                        break;
                    }
                }
                if let Ok(i) = postings.docs().binary_search(&doc) {
                    // A field indexed without frequencies (facets) has none: count one.
                    found(doc, postings.freqs().get(i).copied().unwrap_or(1));
                }
            }
        }
        None => loop {
            let (docs, freqs) = (postings.docs(), postings.freqs());
            if docs.is_empty() {
                break;
            }
            for (i, &doc) in docs.iter().enumerate() {
                if filter.is_none_or(|f| f.contains(doc)) {
                    found(doc, freqs.get(i).copied().unwrap_or(1));
                }
            }
            match (filter, docs.last()) {
                // Jump over the blocks holding no candidate (a circle's listings lie in runs
                // when ids follow the map, see `index_sync::rebuild`).
                (Some(f), Some(&last)) => match f.next_from(last + 1) {
                    Some(next) => {
                        postings.seek(next);
                        // Past the end the last block stays loaded: nothing more to find.
                        if postings.docs().last().is_none_or(|&last| last < next) {
                            break;
                        }
                    }
                    None => break,
                },
                _ => postings.advance(),
            }
        },
    }
    Ok(())
}

/// Calls `found` for each candidate a phrase or prefix leaf matches: jumping to each candidate
/// when they are few next to what the leaf may match, else walking its matches.
fn score_other(
    segment: &SegmentReader,
    weight: &dyn Weight,
    candidates: &Candidates<'_>,
    mut found: impl FnMut(DocId),
) -> tantivy::Result<()> {
    let mut scorer = weight.scorer(segment, 1.0)?;
    let few = candidates.count < scorer.size_hint() as usize / OTHER_SEEK_RATIO;
    match if few { candidates.listed() } else { None } {
        Some(candidates) => {
            for &doc in candidates {
                if scorer.doc() < doc && scorer.seek(doc) == TERMINATED {
                    break;
                }
                if scorer.doc() == doc {
                    found(doc);
                }
            }
        }
        None => {
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                if candidates.filter.is_none_or(|f| f.contains(doc)) {
                    found(doc);
                }
                doc = scorer.advance();
            }
        }
    }
    Ok(())
}

/// A set of listings of one segment, a bit each.
struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    fn new(max_doc: DocId) -> Self {
        let mut words = SCRATCH.with(|s| s.borrow_mut().words.pop()).unwrap_or_default();
        words.clear();
        words.resize((max_doc as usize).div_ceil(64), 0);
        Self { words }
    }

    /// The listings having any of `terms` (all in `field`).
    fn from_postings(segment: &SegmentReader, field: Field, terms: &[Term], max_doc: DocId) -> tantivy::Result<Self> {
        let mut set = Self::new(max_doc);
        let inverted = segment.inverted_index(field)?;
        for term in terms {
            let Some(mut postings) = inverted.read_block_postings(term, IndexRecordOption::Basic)? else { continue };
            loop {
                let docs = postings.docs();
                if docs.is_empty() {
                    break;
                }
                for &doc in docs {
                    set.insert(doc);
                }
                postings.advance();
            }
        }
        Ok(set)
    }

    #[inline]
    fn insert(&mut self, doc: DocId) {
        if let Some(word) = self.words.get_mut(doc as usize / 64) {
            *word |= 1 << (doc % 64);
        }
    }

    #[inline]
    fn contains(&self, doc: DocId) -> bool {
        self.words.get(doc as usize / 64).is_some_and(|word| word & (1 << (doc % 64)) != 0)
    }

    /// The first listing in the set at or after `doc`.
    fn next_from(&self, doc: DocId) -> Option<DocId> {
        let mut index = doc as usize / 64;
        let mut word = *self.words.get(index)? & (u64::MAX << (doc % 64));
        loop {
            if word != 0 {
                return Some((index * 64) as DocId + word.trailing_zeros());
            }
            index += 1;
            word = *self.words.get(index)?;
        }
    }

    /// A copy of the set.
    fn copy(&self) -> Self {
        let mut words = SCRATCH.with(|s| s.borrow_mut().words.pop()).unwrap_or_default();
        words.clear();
        words.extend_from_slice(&self.words);
        Self { words }
    }

    /// How many listings are in the set.
    fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn intersect(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// The listings in the set, in order.
    fn iter(&self) -> impl Iterator<Item = DocId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let base = (i * 64) as DocId;
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let offset = bits.trailing_zeros();
                bits &= bits - 1;
                Some(base + offset)
            })
        })
    }
}

impl Drop for BitSet {
    fn drop(&mut self) {
        let words = std::mem::take(&mut self.words);
        if words.capacity() > KEEP_SET_WORDS {
            return;
        }
        SCRATCH.with(|s| {
            let mut scratch = s.borrow_mut();
            if scratch.words.len() < KEEP_SETS {
                scratch.words.push(words);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitset_iterates_what_was_inserted_in_order() {
        // A set reuses a dropped one's memory: it must start empty all the same.
        let mut used = BitSet::new(300);
        used.insert(7);
        drop(used);
        let mut set = BitSet::new(300);
        assert_eq!(set.len(), 0);
        for doc in [299, 0, 64, 63, 128, 5] {
            set.insert(doc);
        }
        set.insert(1000); // beyond the segment: ignored, never a panic
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 5, 63, 64, 128, 299]);
        assert!(set.contains(63) && !set.contains(62) && !set.contains(1000));
        assert_eq!(set.next_from(0), Some(0));
        assert_eq!(set.next_from(6), Some(63));
        assert_eq!(set.next_from(64), Some(64));
        assert_eq!(set.next_from(129), Some(299));
        assert_eq!(set.next_from(300), None);
        assert_eq!(set.next_from(5000), None);
        assert_eq!(set.len(), 6);
        let mut other = BitSet::new(300);
        other.insert(64);
        other.insert(6);
        set.intersect(&other);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![64]);
    }

    #[test]
    fn scores_start_at_zero_when_their_memory_is_reused() {
        let mut first = Scores::new(1000);
        first.add(3, 1.5);
        first.add(999, 2.0);
        drop(first);
        let second = Scores::new(2000);
        assert!(second.slots.iter().all(|s| s.score == 0.0 && s.best == 0.0));
        assert_eq!(second.matched.len(), 0);
    }

    #[test]
    fn a_word_counts_its_best_evidence_once_per_listing() {
        let mut scores = Scores::new(100);
        for (doc, value) in [(7, 0.5), (3, 0.75), (7, 1.0), (7, 0.25), (99, 0.5)] {
            scores.offer(doc, value);
        }
        assert_eq!(&scores.touched[..scores.touched_len], &[7, 3, 99], "each listing once, in the order first offered");
        scores.fold(0.5);
        assert_eq!((scores.score(7), scores.score(3), scores.score(99)), (0.5, 0.375, 0.25));
        // The next word starts from nothing.
        scores.offer(3, 0.5);
        scores.fold(1.0);
        assert_eq!((scores.score(7), scores.score(3)), (0.5, 0.875));
        assert!(scores.slots.iter().all(|s| s.best == 0.0));
        assert_eq!(scores.matched.iter().collect::<Vec<_>>(), vec![3, 7, 99]);
    }

    #[test]
    fn a_thread_keeps_no_more_scratch_than_its_cap() {
        // A search over a segment larger than the cap uses a larger array, then frees it.
        let big = (2 * KEEP_SCORES) as DocId;
        let mut scores = Scores::new(big);
        scores.add(big - 1, 1.0);
        let mut sets: Vec<BitSet> = (0..KEEP_SETS + 2).map(|_| BitSet::new(big)).collect();
        sets[0].insert(big - 1);
        drop(sets);
        drop(scores);
        let kept = SCRATCH.with(|s| s.borrow().bytes());
        let cap = KEEP_SCORES * (std::mem::size_of::<Slot>() + 4) + 4 + KEEP_SETS * KEEP_SET_WORDS * 8;
        assert!(kept <= cap, "kept {kept} bytes, cap {cap}");
        // Within the cap, memory is still reused, and starts clean.
        let mut small = Scores::new(1000);
        small.add(999, 1.0);
        drop(small);
        let (scores_kept, sets_kept) = SCRATCH.with(|s| (s.borrow().slots.capacity(), s.borrow().words.len()));
        assert!(scores_kept >= 1000, "a small array is kept for the next search");
        assert!(sets_kept >= 1, "a small set is kept for the next search");
        let again = Scores::new(1000);
        assert!(again.slots.iter().all(|s| s.score == 0.0 && s.best == 0.0));
    }
}
