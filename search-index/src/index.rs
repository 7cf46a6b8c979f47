//! The index on disk: opening it (or deciding it must be rebuilt), the single writer, and search.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term};

use crate::collector::Params;
use crate::concepts::Concepts;
use crate::document::ServiceDocument;
use crate::engine::{self, Plan};
use crate::error::{Result, SearchError};
use crate::facts::FactsCache;
use crate::geo_cells::{covering_cells, Origin};
use crate::highlight::Highlighter;
use crate::ranking::{DAY_SECS, HIDDEN_AFTER_DAYS};
use crate::request::{Explanation, Facets, Hit, SearchRequest, SearchResponse, WiderSearch, ZeroResultHelp};
use crate::schema::Fields;
use crate::suggest;
use crate::synonyms::Synonyms;
use crate::text::{analyze_query, build_text_query, Matcher};

/// Radii tried, in km, when a radius search finds nothing.
const WIDER_RADII: &[f64] = &[5.0, 10.0, 25.0, 50.0, 100.0, 200.0];

/// How the index was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// An existing, healthy index of this schema version; replay the outbox from its payload.
    Opened {
        /// The payload of the last commit (the last applied outbox id).
        payload: String,
    },
    /// A new, empty index: the caller must rebuild it from the database. Says why.
    Created {
        /// Why the index was (re)created: missing, corrupt, old schema, never completed.
        reason: String,
    },
}

/// The directory search index: one per process, shared by every request.
pub struct SearchIndex {
    /// The index searches use now; a rebuild swaps in another.
    pub(crate) current: RwLock<Arc<Opened>>,
    pub(crate) fields: Fields,
    pub(crate) synonyms: Synonyms,
    pub(crate) concepts: Concepts,
    pub(crate) analyzer: TextAnalyzer,
    pub(crate) dir: PathBuf,
    /// Set when a search met damage (an error or a panic inside tantivy); the indexer rebuilds.
    pub(crate) damaged: AtomicBool,
}

/// One opened index on disk with its reader.
pub(crate) struct Opened {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    /// Per-segment listing facts, kept by the reader's warmer (the reader holds it weakly).
    pub(crate) facts: Arc<FactsCache>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// The single writer. tantivy allows one per index (a lock file enforces it); the backend's
    /// indexer task owns it. `heap_bytes` bounds the memory used before a segment is flushed.
    pub fn writer(&self, threads: usize, heap_bytes: usize) -> Result<IndexWriterHandle> {
        self.opened().writer(self.fields, threads, heap_bytes)
    }

    /// The index searches use now.
    pub(crate) fn opened(&self) -> Arc<Opened> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The payload of the last commit: the last outbox id the index reflects.
    pub fn committed_payload(&self) -> Result<Option<String>> {
        Ok(self.opened().index.load_metas()?.payload)
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.opened().reader.searcher().num_docs()
    }

    /// Bytes the index occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    /// Runs a search. Blocking: call it off the async runtime.
    ///
    /// Damage met on the way (an error from tantivy, or a panic inside it: a damaged file can
    /// do either) answers [`SearchError::Damaged`] and asks for a rebuild
    /// ([`Self::damage_reported`]), instead of a wrong answer or a dead worker.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        let opened = self.opened();
        let result = crate::open::guarded(|| {
            let searcher = opened.reader.searcher();
            let (mut response, _) = self.run(&searcher, &opened.facts, request, true, &[])?;
            if response.total == 0 {
                response.help = Some(self.zero_result_help(&searcher, &opened.facts, request)?);
            }
            Ok(response)
        });
        match result {
            Err(SearchError::Tantivy(e)) => Err(self.report_damage(e.to_string())),
            Err(SearchError::Io(e)) => Err(self.report_damage(e.to_string())),
            Err(SearchError::Damaged(what)) => Err(self.report_damage(what)),
            other => other,
        }
    }

    /// Runs one search; with `count_within`, also how many it finds within each of those radii
    /// (each at least the request's radius).
    fn run(
        &self,
        searcher: &tantivy::Searcher,
        facts: &FactsCache,
        request: &SearchRequest,
        with_page: bool,
        count_within: &'static [f64],
    ) -> Result<(SearchResponse, Vec<usize>)> {
        let mut analyzer = self.analyzer.clone();
        let analyzed = analyze_query(&mut analyzer, &request.text);
        let known = |stem: &str| self.is_known(searcher, stem);
        let corrections = |raw: &str| -> Vec<String> {
            let mut stemmer = self.analyzer.clone();
            suggest::within_one_edit(searcher, &self.fields, raw, 3)
                .into_iter()
                .flat_map(|w| crate::text::analyze(&mut stemmer, &w).into_iter().map(|(_, t)| t))
                .collect()
        };
        let text = build_text_query(&self.fields, &self.synonyms, &self.concepts, &analyzed, &known, &corrections);
        let has_text = !text.leaves.is_empty();
        let mut highlight = Vec::new();
        if has_text && with_page {
            for leaf in &text.leaves {
                let mut visit = |term: &Term| {
                    if term.field() == self.fields.all_text {
                        if let Some(text) = term.value().as_str() {
                            highlight.push(text.to_string());
                        }
                    }
                };
                match &leaf.matcher {
                    Matcher::Term(term) => visit(term),
                    Matcher::Facet(_) => {}
                    Matcher::Query { query, .. } => query.query_terms(&mut |term, _| visit(term)),
                }
            }
            highlight.sort();
            highlight.dedup();
        }

        let facet_filters = request
            .filters
            .iter()
            .map(|(dimension, values)| {
                values.iter().map(|v| Term::from_field_text(self.fields.facet, &format!("{dimension}/{v}"))).collect()
            })
            .collect();
        let circle = request.origin.zip(request.radius_km);
        let cells = circle
            .map(|(origin, radius)| {
                covering_cells(origin, radius)
                    .iter()
                    .map(|cell| Term::from_field_text(self.fields.geo_cell, cell))
                    .collect()
            })
            .unwrap_or_default();
        let plan = Plan { text, facet_filters, cells };
        let params = Params {
            origin: request.origin.map(Origin::new),
            radius_km: circle.map(|(_, radius)| radius),
            min_last_verified: request.public_only.then(|| request.now - HIDDEN_AFTER_DAYS * DAY_SECS),
            public_only: request.public_only,
            now: request.now,
            sort: request.sort,
            keep: if with_page { request.offset.saturating_add(request.limit) } else { 0 },
            // A count (the zero-result help's) needs no scores: the engine only finds matches.
            // Sorted by distance, name or date, words are still scored: each result says how
            // well it fits (close or partial), and filler words alone still match nothing.
            scored: has_text && with_page,
            facets: request.facets && with_page,
            count_within,
        };
        let collected = engine::execute(searcher, &plan, params, facts)?;

        let scored = params.scored;
        let mut hits = Vec::with_capacity(collected.hits.len());
        for ranked in collected.hits.into_iter().skip(request.offset) {
            let score = match ranked.key {
                crate::collector::SortKey::Number(n) => n,
                crate::collector::SortKey::Name(_) => 0.0,
            };
            let explain = if request.explain {
                Some(self.explain(searcher, facts, &plan, request, ranked.doc, ranked.distance_km, scored)?)
            } else {
                None
            };
            hits.push(Hit { id: ranked.id, score, distance_km: ranked.distance_km, fit: ranked.fit, explain });
        }
        let response = SearchResponse {
            total: collected.total,
            hits,
            facets: group_facets(collected.facets),
            help: None,
            highlight,
            close: collected.close,
        };
        Ok((response, collected.within))
    }

    /// A snippet of `text` (up to `max_chars`) around the words of `highlight` (from
    /// [`SearchResponse::highlight`]), HTML-escaped, matched words in `<b>`; `None` when none
    /// of them occur. For several results of one search, make one [`Self::highlighter`].
    pub fn snippet(&self, highlight: &[String], text: &str, max_chars: usize) -> Option<String> {
        self.highlighter(highlight, max_chars).snippet(text)
    }

    /// Makes snippets of up to `max_chars` around the words of `highlight` (from
    /// [`SearchResponse::highlight`]): made once a search and used for each of its results.
    pub fn highlighter(&self, highlight: &[String], max_chars: usize) -> Highlighter {
        Highlighter::new(highlight, self.analyzer.clone(), max_chars)
    }

    /// Why one hit ranks where it does (see [`Explanation`]).
    #[expect(clippy::too_many_arguments, reason = "the parts of one search, read once more")]
    fn explain(
        &self,
        searcher: &tantivy::Searcher,
        facts: &FactsCache,
        plan: &Plan,
        request: &SearchRequest,
        doc: tantivy::DocAddress,
        distance_km: Option<f64>,
        scored: bool,
    ) -> Result<Explanation> {
        let (evidence, bonus) =
            if scored { crate::explain::evidence(searcher, &plan.text, &self.fields, doc)? } else { (Vec::new(), 0.0) };
        let fit = evidence.iter().map(|e| e.weight * e.strength).sum::<f64>() + bonus;
        let fact = facts.get(searcher.segment_reader(doc.segment_ord))?.fact(doc.doc_id);
        Ok(Explanation {
            fit,
            evidence,
            distance: if request.origin.is_some() { crate::ranking::distance_factor(distance_km) } else { 1.0 },
            freshness: crate::ranking::Freshness::at(request.now).factor(fact.last_verified),
            availability: f64::from(fact.availability) / 1000.0,
        })
    }

    /// Whether a stemmed word occurs anywhere in the directory's text.
    fn is_known(&self, searcher: &tantivy::Searcher, stem: &str) -> bool {
        searcher.segment_readers().iter().any(|segment| {
            segment
                .inverted_index(self.fields.all_text)
                .ok()
                .and_then(|inverted| inverted.terms().get(stem.as_bytes()).ok().flatten())
                .is_some()
        })
    }

    /// Why nothing matched, and the nearest wider searches that would find something.
    fn zero_result_help(
        &self,
        searcher: &tantivy::Searcher,
        facts: &FactsCache,
        request: &SearchRequest,
    ) -> Result<ZeroResultHelp> {
        let mut wider = Vec::new();
        let count = |r: &SearchRequest| self.run(searcher, facts, r, false, &[]).map(|(resp, _)| resp.total);

        // Spelling: replace words the directory does not know with the closest ones it does.
        let words: Vec<String> = request.text.split_whitespace().map(str::to_string).collect();
        let mut corrected = Vec::with_capacity(words.len());
        let mut changed = false;
        for word in words.iter().take(crate::text::MAX_QUERY_TERMS) {
            let lower: String = word.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
            if lower.chars().count() >= 4 && !suggest::is_known(searcher, &self.fields, &lower) {
                if let Some(known) = suggest::closest_known(searcher, &self.fields, &lower) {
                    corrected.push(known);
                    changed = true;
                    continue;
                }
            }
            corrected.push(word.clone());
        }
        if changed {
            let text = corrected.join(" ");
            let total = count(&SearchRequest { text: text.clone(), ..request.clone() })?;
            if total > 0 {
                wider.push(WiderSearch::Spelling { text, total });
            }
        }
        if let (Some(_), Some(radius)) = (request.origin, request.radius_km) {
            // One search at the widest radius counts what each wider radius would find.
            let start = WIDER_RADII.iter().position(|r| *r > radius).unwrap_or(WIDER_RADII.len());
            let radii = &WIDER_RADII[start..];
            if let Some(widest) = radii.last() {
                let widest = SearchRequest { radius_km: Some(*widest), ..request.clone() };
                let (_, within) = self.run(searcher, facts, &widest, false, radii)?;
                if let Some((bigger, total)) = radii.iter().zip(within).find(|(_, total)| *total > 0) {
                    wider.push(WiderSearch::Radius { radius_km: *bigger, total });
                }
            }
        }
        for dimension in request.filters.keys() {
            let mut filters = request.filters.clone();
            filters.remove(dimension);
            let total = count(&SearchRequest { filters, ..request.clone() })?;
            if total > 0 {
                wider.push(WiderSearch::WithoutFilter { dimension: dimension.clone(), total });
            }
        }
        let reason = if changed && wider.iter().any(|w| matches!(w, WiderSearch::Spelling { .. })) {
            "No listing uses those words; a different spelling finds some.".to_string()
        } else if request.radius_km.is_some() && wider.iter().any(|w| matches!(w, WiderSearch::Radius { .. })) {
            "Nothing matches within that distance; there is something further away.".to_string()
        } else if !request.filters.is_empty() && !wider.is_empty() {
            "Nothing matches all the filters together.".to_string()
        } else if request.text.trim().is_empty() {
            "No listing matches.".to_string()
        } else {
            "No listing matches those words.".to_string()
        };
        Ok(ZeroResultHelp { reason, wider })
    }
}

fn group_facets(flat: std::collections::HashMap<String, u32>) -> Facets {
    let mut facets: Facets = BTreeMap::new();
    for (term, count) in flat {
        if let Some((dimension, value)) = term.split_once('/') {
            facets.entry(dimension.to_string()).or_default().insert(value.to_string(), count);
        }
    }
    facets
}

/// The one writer of the index, owned by the backend's indexer task.
pub struct IndexWriterHandle {
    pub(crate) writer: IndexWriter<TantivyDocument>,
    pub(crate) fields: Fields,
    pub(crate) reader: IndexReader,
}

impl IndexWriterHandle {
    /// Adds or replaces a service (delete by id, then add: tantivy's upsert).
    pub fn upsert(&mut self, doc: &ServiceDocument) -> Result<()> {
        let document = doc.to_tantivy(&self.fields)?;
        self.writer.delete_term(Term::from_field_text(self.fields.id, &doc.id.to_ascii_lowercase()));
        self.writer.add_document(document)?;
        Ok(())
    }

    /// Adds a service known not to be in the index: a rebuild after [`Self::delete_all`]. It
    /// skips the delete an upsert queues, which for a million listings is a million delete
    /// operations held until the commit.
    pub fn add_new(&mut self, doc: &ServiceDocument) -> Result<()> {
        self.writer.add_document(doc.to_tantivy(&self.fields)?)?;
        Ok(())
    }

    /// Removes a service.
    pub fn delete(&mut self, id: &str) {
        self.writer.delete_term(Term::from_field_text(self.fields.id, &id.to_ascii_lowercase()));
    }

    /// Removes everything (the first step of a rebuild; nothing is visible until commit).
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Commits what was added with `payload` (the last applied outbox id) and makes it
    /// searchable.
    pub fn commit(&mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(payload);
        prepared.commit()?;
        // The reader's warmer reads the new segments: a damaged one must not kill the caller.
        crate::open::guarded(|| Ok(self.reader.reload()?))
    }

    /// Waits for background merges to finish (before exiting, to leave a tidy index).
    pub fn finish(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
