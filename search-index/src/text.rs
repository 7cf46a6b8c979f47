//! The text part of a query: synonyms, typo tolerance, prefix matching for the word being typed
//! and a phrase boost, over the terms of [`crate::analysis`] (stemming, stop words).
//!
//! The user's words are never handed to tantivy's query parser: they are tokenized like the
//! indexed text and turned into term queries, so `:`, `^`, `~`, `[`, `*` and unbalanced quotes are
//! just characters and can never make a search fail.

use tantivy::query::{FuzzyTermQuery, PhraseQuery, Query};
use tantivy::schema::Field;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;

pub(crate) use crate::analysis::{analyze, english_analyzer, plain_analyzer};
use crate::schema::Fields;
use crate::synonyms::Synonyms;

/// At most this many words of a query are used; the rest of a pasted essay is ignored.
pub(crate) const MAX_QUERY_TERMS: usize = 24;

/// Words shorter than this get no typo tolerance: "art" must not match "arc".
const FUZZY_MIN_LEN: usize = 5;

/// The lower-cased words of the text as typed (no stemming), for prefix matching.
fn raw_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// One scored part of the text query. A listing matches when any leaf matches it, and its text
/// score is the sum of its leaves' scores (what tantivy's boolean "should" computes), so the
/// leaves can be scored one at a time against a set of candidates.
pub(crate) enum Leaf {
    /// One indexed word in one field, scored by BM25, weighted.
    Term {
        /// The word as indexed.
        term: Term,
        /// Weight.
        boost: f32,
    },
    /// A phrase or prefix expansion, scored by tantivy, weighted.
    Query {
        /// The query.
        query: Box<dyn Query>,
        /// Weight.
        boost: f32,
        /// Words (of the same field) every listing it matches has: a phrase's words, so it is
        /// only looked for where they all are. Empty for a prefix.
        required: Vec<Term>,
    },
}

fn term(field: Field, text: &str, boost: f32) -> Leaf {
    Leaf::Term { term: Term::from_field_text(field, text), boost }
}

/// Terms of a user's query as the index sees them, for snippets and suggestions.
pub(crate) struct AnalyzedQuery {
    /// (position, stemmed term) of every kept word.
    pub terms: Vec<(usize, String)>,
    /// The query as typed, lower-cased words.
    pub raw: Vec<String>,
    /// True when the last word is still being typed (no trailing space).
    pub last_is_prefix: bool,
}

/// Analyzes the user's text, keeping at most [`MAX_QUERY_TERMS`] words.
pub(crate) fn analyze_query(analyzer: &mut TextAnalyzer, q: &str) -> AnalyzedQuery {
    let mut raw = raw_words(q);
    raw.truncate(MAX_QUERY_TERMS);
    let joined = raw.join(" ");
    let mut terms = analyze(analyzer, &joined);
    terms.truncate(MAX_QUERY_TERMS);
    let last_is_prefix = !q.ends_with(char::is_whitespace) && !raw.is_empty();
    AnalyzedQuery { terms, raw, last_is_prefix }
}

/// Builds the text query's leaves; none when nothing searchable is left (only punctuation or
/// only stop words): the caller then searches everything, ranked by distance and freshness.
///
/// Each word matches the whole listing (`all_text`), with extra weight in the name and the
/// tags. Typo tolerance (`corrections`: known words one edit away, as stems) and prefix
/// completion are only added for words the directory does not know (`known`): a correctly
/// spelled word never pays for them, which keeps common searches fast and precise.
pub(crate) fn build_text_query(
    f: &Fields,
    synonyms: &Synonyms,
    analyzed: &AnalyzedQuery,
    known: &dyn Fn(&str) -> bool,
    corrections: &dyn Fn(&str) -> Vec<String>,
) -> Vec<Leaf> {
    let mut leaves = Vec::new();
    let terms = &analyzed.terms;

    for (i, (_, text)) in terms.iter().enumerate() {
        leaves.push(term(f.all_text, text, 1.0));
        leaves.push(term(f.name, text, 2.0));
        leaves.push(term(f.tags, text, 1.5));
        let is_last_prefix = analyzed.last_is_prefix && i + 1 == terms.len();
        if !known(text) && raw_len_at(analyzed, i) >= FUZZY_MIN_LEN {
            // Typo tolerance: the words one edit away that the directory knows.
            for correction in corrections(analyzed.raw.get(terms[i].0).map_or(text.as_str(), String::as_str)) {
                leaves.push(term(f.all_text, &correction, 0.5));
            }
        }
        if is_last_prefix {
            // The word being typed: complete it from the words as written ("gard" finds
            // "gardening", "walkin" finds "walking").
            if let Some(raw) = analyzed.raw.get(terms[i].0).filter(|w| w.chars().count() >= 3 && !known(text)) {
                let prefix = FuzzyTermQuery::new_prefix(Term::from_field_text(f.spell, raw), 0, true);
                leaves.push(Leaf::Query { query: Box::new(prefix), boost: 0.5, required: Vec::new() });
            }
        }
        for synonym in synonyms.expand(std::slice::from_ref(text)) {
            leaves.push(synonym_leaf(f, &synonym));
        }
    }

    // Multi-word synonyms in the query ("low mood" finds "depression").
    let stems: Vec<String> = terms.iter().map(|(_, t)| t.clone()).collect();
    for len in 2..=synonyms.max_phrase_len().min(stems.len()) {
        for window in stems.windows(len) {
            for synonym in synonyms.expand(window) {
                leaves.push(synonym_leaf(f, &synonym));
            }
        }
    }

    // Phrase boost: the words in order in the name. (A phrase over the whole listing costs a
    // position check on every listing holding the words, for little gain.)
    if terms.len() >= 2 {
        let positioned: Vec<(usize, Term)> =
            terms.iter().map(|(pos, t)| (*pos - terms[0].0, Term::from_field_text(f.name, t))).collect();
        let required = positioned.iter().map(|(_, term)| term.clone()).collect();
        let phrase = Box::new(PhraseQuery::new_with_offset(positioned));
        leaves.push(Leaf::Query { query: phrase, boost: 3.0, required });
    }
    leaves
}

fn raw_len_at(analyzed: &AnalyzedQuery, index: usize) -> usize {
    // Stop words are dropped from `terms`, so positions index into the raw words.
    analyzed.terms.get(index).and_then(|(pos, _)| analyzed.raw.get(*pos)).map_or(0, |w| w.chars().count())
}

/// A synonym (one word or a phrase), anywhere in the listing, weighted below the word typed.
fn synonym_leaf(f: &Fields, phrase: &[String]) -> Leaf {
    if phrase.len() == 1 {
        term(f.all_text, &phrase[0], 0.6)
    } else {
        let terms: Vec<Term> = phrase.iter().map(|t| Term::from_field_text(f.all_text, t)).collect();
        Leaf::Query { query: Box::new(PhraseQuery::new(terms.clone())), boost: 0.6, required: terms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_characters_are_plain_text() {
        let mut a = english_analyzer();
        let q = analyze_query(&mut a, "art: ^2 ~ [class* \"free");
        let terms: Vec<String> = q.terms.into_iter().map(|(_, t)| t).collect();
        assert_eq!(terms, vec!["art", "2", "class", "free"]);
    }

    #[test]
    fn only_punctuation_or_stop_words_gives_no_text_query() {
        let (_, fields) = crate::schema::build();
        let mut a = english_analyzer();
        let synonyms = Synonyms::load(&mut a);
        for q in ["!!! ??? ...", "the and of to", ""] {
            let analyzed = analyze_query(&mut a, q);
            assert!(build_text_query(&fields, &synonyms, &analyzed, &|_| true, &|_| Vec::new()).is_empty(), "{q}");
        }
    }

    #[test]
    fn long_queries_are_capped() {
        let mut a = english_analyzer();
        let q: String = (0..1000).map(|i| format!("word{i} ")).collect();
        assert_eq!(analyze_query(&mut a, &q).terms.len(), MAX_QUERY_TERMS);
    }
}
