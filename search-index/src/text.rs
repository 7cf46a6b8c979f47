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
use crate::concepts::Concepts;
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

/// What a leaf looks for, for the explanation of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeafKind {
    /// The word typed, in the name.
    Name,
    /// The word typed, in the keywords or vocabulary names.
    Tags,
    /// The word typed, anywhere in the listing.
    Text,
    /// A known word one edit away from an unknown word typed.
    Spelling,
    /// Known words beginning with the word being typed.
    Prefix,
    /// A synonym from `data/synonyms.txt`.
    Synonym,
    /// The listing's category or audience, named by the words (`data/concepts.txt`).
    Facet,
    /// The words in order in the name.
    Phrase,
}

/// How well each kind of evidence shows that a listing covers a word of the need (0 to 1): the
/// word in the name or tags says more than a mention in the description; a synonym, a spelling
/// correction or a completion is a guess; a listing filed under the category the words name
/// fits them whatever its text says.
pub(crate) fn quality(kind: LeafKind) -> f32 {
    match kind {
        LeafKind::Name => 1.0,
        LeafKind::Tags => 0.95,
        LeafKind::Facet => 1.0,
        LeafKind::Text => 0.75,
        LeafKind::Spelling => 0.85,
        LeafKind::Synonym => 0.8,
        LeafKind::Prefix => 0.7,
        // Added on top of the coverage (see `PHRASE_BONUS`), not part of it.
        LeafKind::Phrase => 0.0,
    }
}

/// What the words in order in the name add to a listing's fit.
pub(crate) const PHRASE_BONUS: f32 = 0.05;

/// What a leaf matches.
pub(crate) enum Matcher {
    /// One indexed word in one field, scored by BM25.
    Term(Term),
    /// A facet term (`category/...`): present or not.
    Facet(Term),
    /// A phrase or prefix expansion, scored by tantivy.
    Query {
        /// The query.
        query: Box<dyn Query>,
        /// Words (of the same field) every listing it matches has: a phrase's words, so it is
        /// only looked for where they all are. Empty for a prefix.
        required: Vec<Term>,
    },
}

/// One part of the text query: evidence that a listing covers some words of the need.
pub(crate) struct Leaf {
    /// What it matches.
    pub matcher: Matcher,
    /// The words of the need (indexes into [`TextQuery::concepts`]) it is evidence for; empty
    /// for the phrase bonus.
    pub covers: std::ops::Range<usize>,
    /// What kind of evidence it is.
    pub kind: LeafKind,
}

/// One word of the need as typed (after stemming and stop words).
#[derive(Debug, Clone)]
pub(crate) struct Concept {
    /// The stem.
    pub stem: String,
    /// False for filler words ("group", "help"): they weigh little and never make a match alone.
    pub specific: bool,
    /// Its share of a perfect fit (see [`TextQuery::weigh`]).
    pub weight: f32,
}

/// Weight of a filler word next to a word that carries the need.
const FILLER_WEIGHT: f32 = 0.15;

/// The text query: the words of the need and the leaves that are evidence for them.
pub(crate) struct TextQuery {
    pub concepts: Vec<Concept>,
    pub leaves: Vec<Leaf>,
}

impl TextQuery {
    /// Sets each word's weight: a listing's fit is the weighted share of the need's words it
    /// covers, each by its best evidence. Words carrying the need weigh 1 and filler words
    /// little; the total is at least 1, so a query of filler words alone never fits closely.
    pub(crate) fn weigh(&mut self) {
        let raw = |c: &Concept| if c.specific { 1.0 } else { FILLER_WEIGHT };
        let total: f32 = self.concepts.iter().map(raw).sum::<f32>().max(1.0);
        for c in &mut self.concepts {
            c.weight = raw(c) / total;
        }
    }

    /// Whether a listing must match a word carrying the need to count as a match.
    pub(crate) fn has_specific(&self) -> bool {
        self.concepts.iter().any(|c| c.specific)
    }
}

fn term_leaf(field: Field, text: &str, at: usize, kind: LeafKind) -> Leaf {
    Leaf { matcher: Matcher::Term(Term::from_field_text(field, text)), covers: at..at + 1, kind }
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

/// Builds the text query; no leaves when nothing searchable is left (only punctuation or only
/// stop words): the caller then searches everything, ranked by distance and freshness.
///
/// Each word is looked for in the name, the tags and the whole listing, through its synonyms,
/// and through the categories and audiences it names. Typo tolerance (`corrections`: known
/// words one edit away, as stems) and prefix completion are only added for words the directory
/// does not know (`known`): a correctly spelled word never pays for them.
pub(crate) fn build_text_query(
    f: &Fields,
    synonyms: &Synonyms,
    concepts: &Concepts,
    analyzed: &AnalyzedQuery,
    known: &dyn Fn(&str) -> bool,
    corrections: &dyn Fn(&str) -> Vec<String>,
) -> TextQuery {
    let mut leaves = Vec::new();
    let terms = &analyzed.terms;
    let stems: Vec<String> = terms.iter().map(|(_, t)| t.clone()).collect();
    let mut words: Vec<Concept> =
        stems.iter().map(|s| Concept { stem: s.clone(), specific: !concepts.is_filler(s), weight: 0.0 }).collect();

    for (i, (_, text)) in terms.iter().enumerate() {
        leaves.push(term_leaf(f.name, text, i, LeafKind::Name));
        leaves.push(term_leaf(f.tags, text, i, LeafKind::Tags));
        leaves.push(term_leaf(f.all_text, text, i, LeafKind::Text));
        let is_last_prefix = analyzed.last_is_prefix && i + 1 == terms.len();
        if !known(text) && raw_len_at(analyzed, i) >= FUZZY_MIN_LEN {
            // Typo tolerance: the words one edit away that the directory knows. (Only in the
            // whole text, which holds the tags too: a spelling guess is worth the same there.)
            for correction in corrections(analyzed.raw.get(terms[i].0).map_or(text.as_str(), String::as_str)) {
                leaves.push(term_leaf(f.all_text, &correction, i, LeafKind::Spelling));
            }
        }
        if is_last_prefix {
            // The word being typed: complete it from the words as written ("gard" finds
            // "gardening", "walkin" finds "walking").
            if let Some(raw) = analyzed.raw.get(terms[i].0).filter(|w| w.chars().count() >= 3 && !known(text)) {
                let prefix = FuzzyTermQuery::new_prefix(Term::from_field_text(f.spell, raw), 0, true);
                let matcher = Matcher::Query { query: Box::new(prefix), required: Vec::new() };
                leaves.push(Leaf { matcher, covers: i..i + 1, kind: LeafKind::Prefix });
            }
        }
    }

    // Synonyms of single words and of runs of words ("low mood" finds "depression").
    for len in 1..=synonyms.max_phrase_len().min(stems.len()) {
        for (start, window) in stems.windows(len).enumerate() {
            for synonym in synonyms.expand(window) {
                leaves.push(synonym_leaf(f, &synonym, start..start + len));
            }
        }
    }

    // Categories and audiences the words name. A run of filler words that names a kind of
    // service ("support group") carries the need.
    for (start, len, facets) in concepts.find(&stems) {
        for facet in facets {
            let matcher = Matcher::Facet(Term::from_field_text(f.facet, facet));
            leaves.push(Leaf { matcher, covers: start..start + len, kind: LeafKind::Facet });
        }
        words[start..start + len].iter_mut().for_each(|w| w.specific = true);
    }

    // Phrase bonus: the words in order in the name. (A phrase over the whole listing costs a
    // position check on every listing holding the words, for little gain.)
    if terms.len() >= 2 {
        let positioned: Vec<(usize, Term)> =
            terms.iter().map(|(pos, t)| (*pos - terms[0].0, Term::from_field_text(f.name, t))).collect();
        let required = positioned.iter().map(|(_, term)| term.clone()).collect();
        let phrase = Box::new(PhraseQuery::new_with_offset(positioned));
        leaves.push(Leaf { matcher: Matcher::Query { query: phrase, required }, covers: 0..0, kind: LeafKind::Phrase });
    }
    let mut query = TextQuery { concepts: words, leaves };
    query.weigh();
    query
}

fn raw_len_at(analyzed: &AnalyzedQuery, index: usize) -> usize {
    // Stop words are dropped from `terms`, so positions index into the raw words.
    analyzed.terms.get(index).and_then(|(pos, _)| analyzed.raw.get(*pos)).map_or(0, |w| w.chars().count())
}

/// A synonym (one word or a phrase), anywhere in the listing.
fn synonym_leaf(f: &Fields, phrase: &[String], covers: std::ops::Range<usize>) -> Leaf {
    let matcher = if phrase.len() == 1 {
        Matcher::Term(Term::from_field_text(f.all_text, &phrase[0]))
    } else {
        let terms: Vec<Term> = phrase.iter().map(|t| Term::from_field_text(f.all_text, t)).collect();
        Matcher::Query { query: Box::new(PhraseQuery::new(terms.clone())), required: terms }
    };
    Leaf { matcher, covers, kind: LeafKind::Synonym }
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
        let concepts = Concepts::load(&mut a);
        for q in ["!!! ??? ...", "the and of to", ""] {
            let analyzed = analyze_query(&mut a, q);
            assert!(
                build_text_query(&fields, &synonyms, &concepts, &analyzed, &|_| true, &|_| Vec::new())
                    .leaves
                    .is_empty(),
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
