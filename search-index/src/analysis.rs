//! Text analysis: how indexed text and the user's words become terms (words, lower case,
//! English stop words removed, English stemming). Shared by the index, the synonym list and the
//! text query, and depending on none of them.

use std::collections::HashMap;

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter, TextAnalyzer, Token, TokenFilter,
    TokenStream, Tokenizer,
};

/// The analyzer for every free-text field: words, lower case, English stop words removed,
/// English (Snowball) stemming.
pub(crate) fn english_analyzer() -> TextAnalyzer {
    let builder =
        TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(40)).filter(LowerCaser);
    match StopWordFilter::new(Language::English) {
        Some(stop_words) => builder.filter(stop_words).filter(CachedStemmer).build(),
        None => TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(CachedStemmer)
            .build(),
    }
}

/// Most words a [`CachedStemmer`] remembers before it starts again (a few MB at most).
const STEM_CACHE_WORDS: usize = 50_000;

/// English (Snowball) stemming, as tantivy's `Stemmer` does, remembering each word's stem.
///
/// Stemming was a fifth of the time spent building the index: a directory's vocabulary is
/// small and its words repeat, so each analyzer (one per indexing thread and field) keeps the
/// stems it has computed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter { inner, stems: HashMap::new() }
    }
}

/// The tokenizer [`CachedStemmer`] makes.
#[derive(Clone)]
pub(crate) struct CachedStemmerFilter<T> {
    inner: T,
    stems: HashMap<String, String>,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stems: &mut self.stems,
            stemmer: rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English),
        }
    }
}

/// The token stream of [`CachedStemmerFilter`].
pub(crate) struct CachedStemmerStream<'a, T> {
    tail: T,
    stems: &'a mut HashMap<String, String>,
    stemmer: rust_stemmers::Stemmer,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if let Some(stem) = self.stems.get(&token.text) {
            token.text.clear();
            token.text.push_str(stem);
            return true;
        }
        let stem = self.stemmer.stem(&token.text).into_owned();
        if self.stems.len() >= STEM_CACHE_WORDS {
            self.stems.clear();
        }
        self.stems.insert(std::mem::replace(&mut token.text, stem.clone()), stem);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The analyzer of the spelling field: words as written, lower-cased.
pub(crate) fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(40)).filter(LowerCaser).build()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_drops_stop_words() {
        let mut a = english_analyzer();
        let terms: Vec<String> =
            analyze(&mut a, "The Gardening Groups for the lonely").into_iter().map(|(_, t)| t).collect();
        assert_eq!(terms, vec!["garden", "group", "lone"]);
    }

    #[test]
    fn cached_stems_are_tantivys_stems() {
        let mut cached = english_analyzer();
        let mut plain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(tantivy::tokenizer::Stemmer::new(Language::English))
            .build();
        let text = "Gardening gardens walking walkers befriending lonely loneliness choirs singing diabetic";
        // Twice: the second time every stem comes from the cache.
        for _ in 0..2 {
            let ours: Vec<String> = analyze(&mut cached, text).into_iter().map(|(_, t)| t).collect();
            let theirs: Vec<String> = analyze(&mut plain, text).into_iter().map(|(_, t)| t).collect();
            assert_eq!(ours, theirs);
        }
    }
}
