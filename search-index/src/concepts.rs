//! Domain knowledge kept as data: filler words (`data/filler.txt`), which weigh little and never
//! make a match on their own, and needs mapped to categories and audiences
//! (`data/concepts.txt`), so a listing of the right kind fits words its text does not use.

use std::collections::{HashMap, HashSet};

use tantivy::tokenizer::TextAnalyzer;

use crate::analysis::analyze;

const FILLER_TXT: &str = include_str!("../data/filler.txt");
const CONCEPTS_TXT: &str = include_str!("../data/concepts.txt");

/// Facet terms (`category/...`, `audience/...`) that a phrase of stems stands for.
#[derive(Debug, Default)]
pub(crate) struct Concepts {
    filler: HashSet<String>,
    by_phrase: HashMap<Vec<String>, Vec<String>>,
    max_len: usize,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Concepts {
    /// Parses the built-in lists with the index's analyzer.
    pub(crate) fn load(analyzer: &mut TextAnalyzer) -> Self {
        let mut concepts = Concepts::default();
        for line in data_lines(FILLER_TXT) {
            concepts.filler.extend(analyze(analyzer, line).into_iter().map(|(_, t)| t));
        }
        for line in data_lines(CONCEPTS_TXT) {
            let Some((phrases, targets)) = line.split_once("=>") else { continue };
            let facets: Vec<String> = targets
                .split_whitespace()
                .filter_map(|t| match t.split_once(':') {
                    Some(("category", slug)) => Some(format!("category/{slug}")),
                    Some(("audience", slug)) => Some(format!("audience/{slug}")),
                    _ => None,
                })
                .collect();
            for phrase in phrases.split(',') {
                let stems: Vec<String> = analyze(analyzer, phrase).into_iter().map(|(_, t)| t).collect();
                if stems.is_empty() {
                    continue;
                }
                concepts.max_len = concepts.max_len.max(stems.len());
                let entry = concepts.by_phrase.entry(stems).or_default();
                for facet in &facets {
                    if !entry.contains(facet) {
                        entry.push(facet.clone());
                    }
                }
            }
        }
        concepts
    }

    /// Whether a stem is a filler word.
    pub(crate) fn is_filler(&self, stem: &str) -> bool {
        self.filler.contains(stem)
    }

    /// Every run of the query's stems that names categories or audiences: (first index, length,
    /// facet terms). Longer runs first, and a stem inside a longer match is not matched again.
    pub(crate) fn find(&self, stems: &[String]) -> Vec<(usize, usize, &[String])> {
        let mut used = vec![false; stems.len()];
        let mut out = Vec::new();
        for len in (1..=self.max_len.min(stems.len())).rev() {
            for start in 0..=stems.len() - len {
                if used[start..start + len].iter().any(|u| *u) {
                    continue;
                }
                if let Some(facets) = self.by_phrase.get(&stems[start..start + len]) {
                    used[start..start + len].iter_mut().for_each(|u| *u = true);
                    out.push((start, len, facets.as_slice()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::english_analyzer;

    fn stems(a: &mut TextAnalyzer, text: &str) -> Vec<String> {
        analyze(a, text).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn needs_map_to_categories_and_audiences() {
        let mut a = english_analyzer();
        let concepts = Concepts::load(&mut a);
        for (query, facet) in [
            ("grief", "category/bereavement"),
            ("help with bills", "category/debt-advice"),
            ("help with bills", "category/benefits-advice"),
            ("computer help", "category/digital-inclusion"),
            ("new mums", "category/parents-and-families"),
            ("new mums", "audience/new-parents"),
            ("over 60s", "audience/older-people"),
        ] {
            let q = stems(&mut a, query);
            let found: Vec<&String> = concepts.find(&q).into_iter().flat_map(|(_, _, f)| f).collect();
            assert!(found.iter().any(|f| f.as_str() == facet), "{query}: {found:?}");
        }
    }

    #[test]
    fn filler_words_are_known_after_stemming() {
        let mut a = english_analyzer();
        let concepts = Concepts::load(&mut a);
        for word in ["groups", "club", "support", "sessions", "people", "local", "help"] {
            let stem = stems(&mut a, word);
            assert!(concepts.is_filler(&stem[0]), "{word}");
        }
        for word in ["walking", "diabetes", "grief", "garden"] {
            assert!(!concepts.is_filler(&stems(&mut a, word)[0]), "{word}");
        }
    }
}
