//! Text analysis and the text part of a query: stemming, stop words, synonyms, typo tolerance,
//! prefix matching for the word being typed, and a phrase boost.
//!
//! The user's words are never handed to tantivy's query parser: they are tokenized like the
//! indexed text and turned into term queries, so `:`, `^`, `~`, `[`, `*` and unbalanced quotes are
//! just characters and can never make a search fail.

use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::Term;

use crate::schema::Fields;
use crate::synonyms::Synonyms;

/// At most this many words of a query are used; the rest of a pasted essay is ignored.
pub(crate) const MAX_QUERY_TERMS: usize = 24;

/// Words shorter than this get no typo tolerance: "art" must not match "arc".
const FUZZY_MIN_LEN: usize = 5;

/// The analyzer for every free-text field: words, lower case, English stop words removed,
/// English (Snowball) stemming.
pub(crate) fn english_analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser);
    match StopWordFilter::new(Language::English) {
        Some(stop_words) => builder
            .filter(stop_words)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build(),
    }
}

/// The analyzer of the spelling field: words as written, lower-cased.
pub(crate) fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .build()
}

/// Runs the analyzer: (position, stemmed term) pairs.
pub(crate) fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push((token.position, token.text.clone()));
    }
    out
}

/// The lower-cased words of the text as typed (no stemming), for prefix matching.
fn raw_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Fields searched for text, with their weights.
fn weighted_fields(f: &Fields) -> [(Field, f32); 6] {
    [
        (f.name, 3.0),
        (f.keywords, 2.0),
        (f.taxonomy_text, 2.0),
        (f.summary, 1.5),
        (f.organisation, 1.0),
        (f.description, 1.0),
    ]
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, boost))
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
    AnalyzedQuery {
        terms,
        raw,
        last_is_prefix,
    }
}

/// Builds the text query, or `None` when nothing searchable is left (only punctuation or only
/// stop words): the caller then searches everything, ranked by distance and freshness.
pub(crate) fn build_text_query(
    f: &Fields,
    synonyms: &Synonyms,
    analyzed: &AnalyzedQuery,
) -> Option<Box<dyn Query>> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let terms = &analyzed.terms;
    let fields = weighted_fields(f);

    for (i, (_, term_text)) in terms.iter().enumerate() {
        let mut word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, weight) in fields {
            let term = Term::from_field_text(field, term_text);
            word.push((
                Occur::Should,
                boosted(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    weight,
                ),
            ));
            if term_text.chars().count() >= FUZZY_MIN_LEN - 1
                && raw_len_at(analyzed, i) >= FUZZY_MIN_LEN
            {
                word.push((
                    Occur::Should,
                    boosted(Box::new(FuzzyTermQuery::new(term, 1, true)), weight * 0.3),
                ));
            }
        }
        for synonym in synonyms.expand(std::slice::from_ref(term_text)) {
            word.push((Occur::Should, phrase_over_fields(&fields, &synonym, 0.6)));
        }
        clauses.push((Occur::Should, Box::new(BooleanQuery::new(word))));
    }

    // Multi-word synonyms in the query ("low mood" finds "depression").
    let stems: Vec<String> = terms.iter().map(|(_, t)| t.clone()).collect();
    for len in 2..=synonyms.max_phrase_len().min(stems.len()) {
        for window in stems.windows(len) {
            for synonym in synonyms.expand(window) {
                clauses.push((Occur::Should, phrase_over_fields(&fields, &synonym, 0.6)));
            }
        }
    }

    // The word being typed: prefix match on the unstemmed word ("gard" finds "gardening").
    if analyzed.last_is_prefix {
        if let Some(last) = analyzed.raw.last().filter(|w| w.chars().count() >= 3) {
            let mut prefix: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, weight) in [
                (f.name, 1.5),
                (f.keywords, 1.0),
                (f.taxonomy_text, 1.0),
                (f.summary, 0.8),
            ] {
                let term = Term::from_field_text(field, last);
                prefix.push((
                    Occur::Should,
                    boosted(
                        Box::new(FuzzyTermQuery::new_prefix(term, 0, true)),
                        weight * 0.4,
                    ),
                ));
            }
            clauses.push((Occur::Should, Box::new(BooleanQuery::new(prefix))));
        }
    }

    // Phrase boost: the words in order, in the name or the description.
    if terms.len() >= 2 {
        for (field, weight) in [(f.name, 4.0), (f.summary, 2.0), (f.description, 1.5)] {
            let positioned: Vec<(usize, Term)> = terms
                .iter()
                .map(|(pos, t)| (*pos - terms[0].0, Term::from_field_text(field, t)))
                .collect();
            clauses.push((
                Occur::Should,
                boosted(Box::new(PhraseQuery::new_with_offset(positioned)), weight),
            ));
        }
    }

    if clauses.is_empty() {
        None
    } else {
        Some(Box::new(BooleanQuery::new(clauses)))
    }
}

fn raw_len_at(analyzed: &AnalyzedQuery, index: usize) -> usize {
    // Stop words are dropped from `terms`, so positions index into the raw words.
    analyzed
        .terms
        .get(index)
        .and_then(|(pos, _)| analyzed.raw.get(*pos))
        .map_or(0, |w| w.chars().count())
}

/// A synonym (one word or a phrase) searched in every text field.
fn phrase_over_fields(fields: &[(Field, f32)], phrase: &[String], boost: f32) -> Box<dyn Query> {
    let clauses = fields
        .iter()
        .map(|(field, weight)| {
            let query: Box<dyn Query> = if phrase.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(*field, &phrase[0]),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                let terms = phrase
                    .iter()
                    .map(|t| Term::from_field_text(*field, t))
                    .collect();
                Box::new(PhraseQuery::new(terms))
            };
            (Occur::Should, boosted(query, weight * boost))
        })
        .collect();
    Box::new(BooleanQuery::new(clauses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_drops_stop_words() {
        let mut a = english_analyzer();
        let terms: Vec<String> = analyze(&mut a, "The Gardening Groups for the lonely")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(terms, vec!["garden", "group", "lone"]);
    }

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
            assert!(
                build_text_query(&fields, &synonyms, &analyzed).is_none(),
                "{q}"
            );
        }
    }

    #[test]
    fn long_queries_are_capped() {
        let mut a = english_analyzer();
        let q: String = (0..1000).map(|i| format!("word{i} ")).collect();
        assert_eq!(analyze_query(&mut a, &q).terms.len(), MAX_QUERY_TERMS);
    }
}
