//! The domain synonym list (`data/synonyms.txt`), kept as data so the directory team can read
//! and extend it without reading code.

use std::collections::HashMap;

use tantivy::tokenizer::TextAnalyzer;

use crate::analysis::analyze;

const SYNONYMS_TXT: &str = include_str!("../data/synonyms.txt");

/// One synonym: a single stemmed term or a phrase of stemmed terms.
pub(crate) type Phrase = Vec<String>;

/// Synonym groups, indexed by every phrase they contain.
#[derive(Debug, Default)]
pub(crate) struct Synonyms {
    groups: Vec<Vec<Phrase>>,
    by_phrase: HashMap<Phrase, Vec<usize>>,
}

impl Synonyms {
    /// Parses the built-in list with the index's analyzer, so entries match as indexed text does.
    pub(crate) fn load(analyzer: &mut TextAnalyzer) -> Self {
        let mut synonyms = Synonyms::default();
        for line in SYNONYMS_TXT.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut group: Vec<Phrase> = line
                .split(',')
                .map(|entry| analyze(analyzer, entry).into_iter().map(|(_, t)| t).collect::<Phrase>())
                .filter(|phrase: &Phrase| !phrase.is_empty())
                .collect();
            group.sort();
            group.dedup();
            let index = synonyms.groups.len();
            for phrase in &group {
                synonyms.by_phrase.entry(phrase.clone()).or_default().push(index);
            }
            synonyms.groups.push(group);
        }
        synonyms
    }

    /// The other phrases of every group that contains `phrase`.
    pub(crate) fn expand(&self, phrase: &[String]) -> Vec<Phrase> {
        let mut out: Vec<Phrase> = Vec::new();
        if let Some(groups) = self.by_phrase.get(phrase) {
            for &g in groups {
                for other in &self.groups[g] {
                    if other.as_slice() != phrase && !out.contains(other) {
                        out.push(other.clone());
                    }
                }
            }
        }
        out
    }

    /// Longest phrase length in the list, so the query side knows how far to look.
    pub(crate) fn max_phrase_len(&self) -> usize {
        self.by_phrase.keys().map(Vec::len).max().unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::english_analyzer;

    #[test]
    fn lonely_finds_befriending_and_isolation() {
        let mut analyzer = english_analyzer();
        let synonyms = Synonyms::load(&mut analyzer);
        let lonely: Vec<String> = analyze(&mut analyzer, "lonely").into_iter().map(|(_, t)| t).collect();
        let expanded = synonyms.expand(&lonely);
        let flat: Vec<String> = expanded.into_iter().flatten().collect();
        assert!(flat.iter().any(|t| t.starts_with("befriend")), "{flat:?}");
        assert!(flat.iter().any(|t| t.starts_with("isol")), "{flat:?}");
    }

    #[test]
    fn phrases_are_kept_as_phrases() {
        let mut analyzer = english_analyzer();
        let synonyms = Synonyms::load(&mut analyzer);
        let low_mood: Vec<String> = analyze(&mut analyzer, "low mood").into_iter().map(|(_, t)| t).collect();
        assert_eq!(low_mood.len(), 2);
        assert!(!synonyms.expand(&low_mood).is_empty());
        assert!(synonyms.max_phrase_len() >= 2);
    }
}
