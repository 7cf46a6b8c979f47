//! Snippets of result descriptions with the query's words in bold, made once a search.
//!
//! tantivy's `SnippetGenerator` does the same, but a generator per result copied the analyzer
//! twice (its stem cache with it) and stemmed every word of the description afresh: about a
//! quarter of the server's time per search. A [`Highlighter`] is made once a search and keeps
//! one analyzer, whose stem cache then serves every result's description. The fragment chosen
//! and the HTML are tantivy's (0.22) to the byte: the same fragments, the same choice among
//! them, the same escaping (a unit test compares the two).

use std::collections::HashSet;
use std::ops::Range;

use tantivy::tokenizer::{TextAnalyzer, TokenStream};

/// Highlights one search's words (stemmed, as in [`crate::SearchResponse::highlight`]) in the
/// descriptions of its results.
pub struct Highlighter {
    terms: HashSet<String>,
    analyzer: TextAnalyzer,
    max_chars: usize,
    /// Scratch: the lower-cased token text when it was not lower case already.
    lower: String,
}

/// A run of text that could be the snippet: its words of the query and where they are.
struct Fragment {
    /// How many words of the query it holds (tantivy's score: 1.0 a word).
    score: usize,
    start: usize,
    stop: usize,
    highlighted: Vec<Range<usize>>,
}

impl Fragment {
    fn new(start: usize) -> Self {
        Self { score: 0, start, stop: start, highlighted: Vec::new() }
    }
}

impl Highlighter {
    pub(crate) fn new(terms: &[String], analyzer: TextAnalyzer, max_chars: usize) -> Self {
        Self { terms: terms.iter().cloned().collect(), analyzer, max_chars, lower: String::new() }
    }

    /// A snippet of `text` (up to `max_chars`) around the search's words, HTML-escaped, matched
    /// words in `<b>`; `None` when none of them occur.
    pub fn snippet(&mut self, text: &str) -> Option<String> {
        if self.terms.is_empty() {
            return None;
        }
        // tantivy's `search_fragments`: cut the text into runs of at most `max_chars` bytes at
        // word boundaries, keeping those with a word of the query.
        let mut best: Option<Fragment> = None;
        let mut fragment = Fragment::new(0);
        let keep = |fragment: Fragment, best: &mut Option<Fragment>| {
            // The best scores most; among equals the first (tantivy's `max_by` with the
            // reversed offsets as tie-break picks the earliest).
            if fragment.score > 0 && best.as_ref().is_none_or(|b| fragment.score > b.score) {
                *best = Some(fragment);
            }
        };
        let mut stream = self.analyzer.token_stream(text);
        while stream.advance() {
            let token = stream.token();
            if token.offset_to - fragment.start > self.max_chars {
                let next = Fragment::new(token.offset_from);
                keep(std::mem::replace(&mut fragment, next), &mut best);
            }
            fragment.stop = token.offset_to;
            // tantivy looks the token up lower-cased (it already is, after the analyzer).
            let word = if token.text.chars().any(char::is_uppercase) {
                self.lower.clear();
                self.lower.push_str(&token.text.to_lowercase());
                self.lower.as_str()
            } else {
                token.text.as_str()
            };
            if self.terms.contains(word) {
                fragment.score += 1;
                fragment.highlighted.push(token.offset_from..token.offset_to);
            }
        }
        drop(stream);
        keep(fragment, &mut best);
        let best = best?;
        Some(to_html(&text[best.start..best.stop], best.start, &best.highlighted))
    }
}

/// tantivy's `Snippet::to_html`: the fragment escaped, overlapping highlights merged.
fn to_html(fragment: &str, offset: usize, highlighted: &[Range<usize>]) -> String {
    let mut html = String::with_capacity(fragment.len() + 16 * highlighted.len());
    let mut from = 0;
    let mut ranges = highlighted.iter().map(|r| r.start - offset..r.end - offset);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(highlighted.len());
    if let Some(first) = ranges.next() {
        let mut current = first.clone();
        // As tantivy's `collapse_overlapped_ranges`, which compares the first range with itself
        // too (no effect).
        for range in std::iter::once(first).chain(ranges) {
            if current.end > range.start {
                current = current.start..current.end.max(range.end);
            } else {
                merged.push(current);
                current = range;
            }
        }
        merged.push(current);
    }
    for range in merged {
        escape(&mut html, &fragment[from..range.start]);
        html.push_str("<b>");
        escape(&mut html, &fragment[range.clone()]);
        html.push_str("</b>");
        from = range.end;
    }
    escape(&mut html, &fragment[from..]);
    html
}

/// `htmlescape::encode_minimal`, as tantivy uses it.
fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#x27;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tantivy::SnippetGenerator;

    use super::*;
    use crate::text::english_analyzer;

    /// tantivy's snippet, as `SearchIndex::snippet` made it before.
    fn tantivys(terms: &[String], text: &str, max_chars: usize) -> Option<String> {
        let (_, fields) = crate::schema::build();
        let map: BTreeMap<String, f32> = terms.iter().map(|t| (t.clone(), 1.0)).collect();
        let snippet = SnippetGenerator::new(map, english_analyzer(), fields.all_text, max_chars).snippet(text);
        (!snippet.is_empty()).then(|| snippet.to_html())
    }

    #[test]
    fn snippets_are_tantivys_to_the_byte() {
        // Every seed listing's description (and name), under queries of one to several words,
        // with the highlighter reused from text to text as a search does.
        let services = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../seed-data/services.json"))
            .expect("seed services");
        let mut texts: Vec<String> = services
            .split("\"description\": \"")
            .skip(1)
            .chain(services.split("\"name\": \"").skip(1))
            .filter_map(|s| s.split_once("\",").or_else(|| s.split_once("\"\n")).map(|(t, _)| t.replace("\\n", "\n")))
            .collect();
        texts.extend(
            [
                "",
                "<script>allotment</script> & 'garden' \"walks\"",
                "Walking walking WALKING, walk; walks — gardening & gardens <b>",
                "Café für Ältere: gardening ÉCOLE naïve walking",
            ]
            .map(String::from),
        );
        assert!(texts.len() > 100, "{} texts", texts.len());
        let queries: &[&[&str]] = &[
            &["walk"],
            &["garden", "allot", "veget"],
            &["group", "support", "social"],
            &["lone", "isol", "befriend", "friend"],
            &["men", "shed", "wood"],
            &["dementia", "memori", "carer", "care", "cafe", "café"],
            &["music", "sing", "choir", "danc", "exercis", "older", "peopl"],
            &["school", "ecol", "naïv", "ältere"],
            &["zzzz"],
        ];
        let mut compared = 0;
        for words in queries {
            let terms: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            for max_chars in [180, 40] {
                let mut highlighter = Highlighter::new(&terms, english_analyzer(), max_chars);
                for text in &texts {
                    assert_eq!(highlighter.snippet(text), tantivys(&terms, text, max_chars), "{words:?} in {text:?}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 1000);
        assert_eq!(Highlighter::new(&[], english_analyzer(), 180).snippet("walking"), None);
    }
}
