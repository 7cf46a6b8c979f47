//! "Did you mean": the nearest spelling the directory knows for a word that matched nothing.

use tantivy::Searcher;

use crate::schema::Fields;

/// Edit distance between two short words (Levenshtein, with early exit past `max`).
fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return max + 1;
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether the word occurs in the spelling dictionary.
pub(crate) fn is_known(searcher: &Searcher, fields: &Fields, word: &str) -> bool {
    searcher.segment_readers().iter().any(|segment| {
        segment
            .inverted_index(fields.spell)
            .ok()
            .and_then(|inverted| inverted.terms().get(word.as_bytes()).ok().flatten())
            .is_some()
    })
}

/// Known words one edit from `word` that share its first letter (people rarely get the first
/// letter wrong, and allowing it makes "diving" find "living"), most common first, at most
/// `limit`. This is the typo tolerance of a query.
pub(crate) fn within_one_edit(searcher: &Searcher, fields: &Fields, word: &str, limit: usize) -> Vec<String> {
    let Some(first) = word.chars().next() else { return Vec::new() };
    let mut found: Vec<(u32, String)> = Vec::new();
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(fields.spell) else { continue };
        let mut prefix = [0u8; 4];
        let start = first.encode_utf8(&mut prefix).as_bytes().to_vec();
        let Ok(mut stream) = inverted.terms().range().ge(&start).into_stream() else { continue };
        while stream.advance() {
            let Ok(candidate) = std::str::from_utf8(stream.key()) else { continue };
            if !candidate.starts_with(first) {
                break;
            }
            if edit_distance(word, candidate, 1) == 1 {
                let doc_freq = stream.value().doc_freq;
                match found.iter_mut().find(|(_, w)| w == candidate) {
                    Some(entry) => entry.0 += doc_freq,
                    None => found.push((doc_freq, candidate.to_string())),
                }
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().take(limit).map(|(_, w)| w).collect()
}

/// The known word closest to `word` (at most two edits; the most common wins a tie), if any.
pub(crate) fn closest_known(searcher: &Searcher, fields: &Fields, word: &str) -> Option<String> {
    let max = if word.chars().count() >= 7 { 2 } else { 1 };
    let first = word.chars().next()?;
    let mut best: Option<(usize, u32, String)> = None;
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(fields.spell) else {
            continue;
        };
        let mut prefix = [0u8; 4];
        let start = first.encode_utf8(&mut prefix).as_bytes().to_vec();
        // People rarely get the first letter wrong: only scan words that share it.
        let Ok(mut stream) = inverted.terms().range().ge(&start).into_stream() else {
            continue;
        };
        while stream.advance() {
            let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if !candidate.starts_with(first) {
                break;
            }
            let distance = edit_distance(word, candidate, max);
            if distance == 0 || distance > max {
                continue;
            }
            let doc_freq = stream.value().doc_freq;
            let better = match &best {
                None => true,
                Some((d, f, _)) => distance < *d || (distance == *d && doc_freq > *f),
            };
            if better {
                best = Some((distance, doc_freq, candidate.to_string()));
            }
        }
    }
    best.map(|(_, _, w)| w)
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("gardning", "gardening", 2), 1);
        assert_eq!(edit_distance("diabetis", "diabetes", 2), 1);
        assert_eq!(edit_distance("walk", "walk", 2), 0);
        assert!(edit_distance("art", "bereavement", 2) > 2);
    }
}
