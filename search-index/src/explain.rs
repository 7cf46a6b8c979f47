//! Why a result ranks where it does: for one listing of the page, each word of the need with the
//! evidence that covers it, read back from the index the way the engine scored it. Only asked
//! for a page of results (admins, the evaluation), so it looks each listing up on its own.

use tantivy::query::{Bm25Weight, EnableScoring};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocSet, Searcher, Term, TERMINATED};

use crate::request::Evidence;
use crate::schema::Fields;
use crate::text::{quality, LeafKind, Matcher, TextQuery, PHRASE_BONUS};

/// A term's (frequency) in one listing, or `None` when it lacks the term.
fn freq_in(searcher: &Searcher, doc: DocAddress, term: &Term) -> tantivy::Result<Option<u32>> {
    let segment = searcher.segment_reader(doc.segment_ord);
    let inverted = segment.inverted_index(term.field())?;
    let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::WithFreqs)? else { return Ok(None) };
    // Postings start at their first listing: one past `doc` means it lacks the term (and
    // seeking backwards is not allowed: tantivy asserts it in debug builds).
    if postings.doc() <= doc.doc_id && postings.seek(doc.doc_id) == doc.doc_id {
        use tantivy::postings::Postings;
        Ok(Some(postings.term_freq().max(1)))
    } else {
        Ok(None)
    }
}

fn label(kind: LeafKind, term: Option<&Term>, f: &Fields) -> String {
    let text: String = term.and_then(|t| t.value().as_str().map(str::to_string)).unwrap_or_default();
    match kind {
        LeafKind::Name => "name".into(),
        LeafKind::Tags => "keywords or category names".into(),
        LeafKind::Text => "text".into(),
        LeafKind::Spelling => format!("spelling {text}"),
        LeafKind::Prefix => "completion".into(),
        LeafKind::Synonym if term.is_some_and(|t| t.field() == f.all_text) => format!("synonym {text}"),
        LeafKind::Synonym => "synonym phrase".into(),
        LeafKind::Facet => text.replacen('/', " ", 1),
        LeafKind::Phrase => "phrase".into(),
    }
}

/// Each word of the need with its best evidence in the listing `doc`, and the phrase bonus.
pub(crate) fn evidence(
    searcher: &Searcher,
    query: &TextQuery,
    f: &Fields,
    doc: DocAddress,
) -> tantivy::Result<(Vec<Evidence>, f64)> {
    let segment = searcher.segment_reader(doc.segment_ord);
    let mut out: Vec<Evidence> = query
        .concepts
        .iter()
        .map(|c| Evidence {
            word: c.stem.clone(),
            weight: f64::from(c.weight),
            specific: c.specific,
            by: None,
            strength: 0.0,
        })
        .collect();
    let mut bonus = 0.0;
    for leaf in &query.leaves {
        let (strength, term) = match &leaf.matcher {
            Matcher::Term(term) => {
                let Some(freq) = freq_in(searcher, doc, term)? else { continue };
                let bm25 = Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?;
                let norm = segment.get_fieldnorms_reader(term.field())?.fieldnorm_id(doc.doc_id);
                let strength = (bm25.score(norm, freq) / bm25.max_score().max(f32::MIN_POSITIVE)).min(1.0);
                (
                    quality(leaf.kind) * (crate::engine::PRESENCE + (1.0 - crate::engine::PRESENCE) * strength),
                    Some(term),
                )
            }
            Matcher::Facet(term) => {
                if freq_in(searcher, doc, term)?.is_none() {
                    continue;
                }
                (quality(leaf.kind), Some(term))
            }
            Matcher::Query { query: q, .. } => {
                let weight = q.weight(EnableScoring::enabled_from_searcher(searcher))?;
                let mut scorer = weight.scorer(segment, 1.0)?;
                if scorer.doc() > doc.doc_id || (scorer.doc() < doc.doc_id && scorer.seek(doc.doc_id) != doc.doc_id) {
                    continue;
                }
                if scorer.doc() == TERMINATED {
                    continue;
                }
                if leaf.covers.is_empty() {
                    bonus = f64::from(PHRASE_BONUS);
                    continue;
                }
                (quality(leaf.kind), None)
            }
        };
        for c in leaf.covers.clone() {
            if let Some(e) = out.get_mut(c) {
                if f64::from(strength) > e.strength {
                    e.strength = f64::from(strength);
                    e.by = Some(label(leaf.kind, term, f));
                }
            }
        }
    }
    Ok((out, bonus))
}
