//! The search-index crate on its own: recall against a brute-force scan, text relevance
//! features, sorts, facets, pagination, zero-result help and recovery from a damaged index.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use search_index::{
    distance_km, GeoPoint, OpenOutcome, SearchIndex, SearchRequest, ServiceDocument, Sort, Visibility, WiderSearch,
};

const NOW: i64 = 1_790_000_000;
const DAY: i64 = 86_400;

/// Listing ids are UUIDs; tests name them and map back.
fn uid(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

const SAMPLE_NAMES: &[&str] = &[
    "garden",
    "befriend",
    "choir",
    "diabetes",
    "debt",
    "walk",
    "stale-garden",
    "ageing-garden",
    "pending",
    "full-garden",
];

fn name_of(id: &str) -> String {
    SAMPLE_NAMES.iter().find(|n| uid(n) == id).map_or_else(|| id.to_string(), |n| n.to_string())
}

fn doc(id: &str, name: &str, description: &str, category: &str, lat: f64, lon: f64) -> ServiceDocument {
    ServiceDocument {
        id: uid(id),
        name: name.into(),
        summary: String::new(),
        description: description.into(),
        keywords: vec![],
        organisation: "Test Org".into(),
        categories: vec![category.into()],
        taxonomy_names: vec![],
        audiences: vec![],
        accessibility: vec![],
        days: vec!["TU".into()],
        free: true,
        attendance: "in_person".into(),
        capacity: "accepting".into(),
        status: "active".into(),
        visibility: Visibility::Public,
        locations: vec![GeoPoint::new(lat, lon).unwrap()],
        last_verified: NOW - 10 * DAY,
        areas: vec![],
    }
}

fn build(docs: &[ServiceDocument]) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let (index, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert!(matches!(outcome, OpenOutcome::Created { .. }));
    let mut writer = index.writer(1, 20_000_000).unwrap();
    for d in docs {
        writer.upsert(d).unwrap();
    }
    writer.commit("0").unwrap();
    (dir, index)
}

fn request(text: &str) -> SearchRequest {
    SearchRequest { text: text.into(), limit: 20, now: NOW, public_only: true, facets: true, ..Default::default() }
}

fn ids(index: &SearchIndex, req: &SearchRequest) -> Vec<String> {
    index.search(req).unwrap().hits.into_iter().map(|h| name_of(&h.id)).collect()
}

/// A tiny deterministic generator, so the recall test needs no extra crate.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn text_and_radius_results_equal_a_brute_force_scan_in_any_id_order() {
    // Words in every third listing, the rest plain: text scoring inside a circle reads a
    // word's postings block by block and jumps between candidates; in map order (as a rebuild
    // adds listings) and in random order, it must find exactly what a scan finds.
    let mut rng = Lcg(7);
    let mut docs: Vec<ServiceDocument> = (0..4000)
        .map(|i| {
            let lat = 50.0 + rng.next() * 4.0;
            let lon = -4.0 + rng.next() * 5.0;
            let text = if i % 3 == 0 { "a gardening club" } else { "a friendly group" };
            doc(&format!("t{i}"), &format!("Club {i}"), text, "social-groups", lat, lon)
        })
        .collect();
    for in_map_order in [false, true] {
        if in_map_order {
            docs.sort_by_key(|d| d.locations[0].map_order());
        }
        let (_dir, index) = build(&docs);
        for _ in 0..40 {
            let origin = GeoPoint::new(50.5 + rng.next() * 3.0, -3.5 + rng.next() * 4.0).unwrap();
            let radius = [2.0, 10.0, 25.0, 60.0][(rng.next() * 4.0) as usize % 4];
            let mut expected: Vec<String> = docs
                .iter()
                .filter(|d| d.description.contains("gardening") && distance_km(origin, d.locations[0]) <= radius)
                .map(|d| d.id.clone())
                .collect();
            expected.sort();
            let req =
                SearchRequest { origin: Some(origin), radius_km: Some(radius), limit: 5000, ..request("gardening") };
            let found = index.search(&req).unwrap();
            assert_eq!(found.total, expected.len(), "radius {radius} at {origin:?}, map order {in_map_order}");
            let mut got: Vec<String> = found.hits.iter().map(|h| h.id.clone()).collect();
            got.sort();
            assert_eq!(got, expected, "radius {radius} at {origin:?}, map order {in_map_order}");
        }
    }
}

#[test]
fn radius_results_equal_a_brute_force_haversine_scan() {
    let mut rng = Lcg(42);
    let docs: Vec<ServiceDocument> = (0..3000)
        .map(|i| {
            let lat = 50.0 + rng.next() * 4.0;
            let lon = -4.0 + rng.next() * 5.0;
            doc(&format!("s{i}"), &format!("Group {i}"), "a friendly group", "social-groups", lat, lon)
        })
        .collect();
    let (_dir, index) = build(&docs);
    for _ in 0..60 {
        let origin = GeoPoint::new(50.5 + rng.next() * 3.0, -3.5 + rng.next() * 4.0).unwrap();
        let radius = [0.5, 2.0, 5.0, 10.0, 25.0, 60.0, 150.0][(rng.next() * 7.0) as usize % 7];
        let mut expected: Vec<String> =
            docs.iter().filter(|d| distance_km(origin, d.locations[0]) <= radius).map(|d| d.id.clone()).collect();
        expected.sort();
        let req = SearchRequest {
            origin: Some(origin),
            radius_km: Some(radius),
            limit: 5000,
            sort: Sort::Distance,
            ..request("")
        };
        let found = index.search(&req).unwrap();
        assert_eq!(found.total, expected.len(), "radius {radius} at {origin:?}");
        let mut got: Vec<String> = found.hits.iter().map(|h| h.id.clone()).collect();
        got.sort();
        assert_eq!(got, expected, "radius {radius} at {origin:?}");
        for hit in &found.hits {
            assert!(hit.distance_km.unwrap() <= radius);
        }
        let distances: Vec<f64> = found.hits.iter().map(|h| h.distance_km.unwrap()).collect();
        assert!(distances.windows(2).all(|w| w[0] <= w[1]));
    }
}

fn sample() -> Vec<ServiceDocument> {
    let stroud = (51.7436, -2.2068);
    let mut docs = vec![
        doc(
            "garden",
            "Stroud Community Gardening Club",
            "We grow vegetables on our allotment every Tuesday.",
            "gardening",
            stroud.0,
            stroud.1,
        ),
        doc(
            "befriend",
            "Telephone Befriending",
            "A weekly call from a volunteer for people who feel isolated.",
            "befriending",
            stroud.0 + 0.01,
            stroud.1,
        ),
        doc("choir", "Nailsworth Community Choir", "Singing for fun, no auditions.", "choirs", 51.695, -2.22),
        doc(
            "diabetes",
            "Gloucester Diabetes Education Group",
            "Learn to manage type 2 diabetes with a nurse.",
            "diabetes-education",
            51.864,
            -2.244,
        ),
        doc(
            "debt",
            "Money Advice Stroud",
            "Free help with debt and benefits.",
            "debt-advice",
            stroud.0,
            stroud.1 + 0.01,
        ),
        doc(
            "walk",
            "Cirencester Strollers Walking Group",
            "Gentle walks for older men and women.",
            "walking-groups",
            51.718,
            -1.968,
        ),
    ];
    let mut stale = doc("stale-garden", "Old Gardening Society", "Gardening talks.", "gardening", stroud.0, stroud.1);
    stale.last_verified = NOW - 400 * DAY;
    docs.push(stale);
    let mut ageing =
        doc("ageing-garden", "Painswick Gardening Friends", "Gardening in the village.", "gardening", 51.786, -2.194);
    ageing.last_verified = NOW - 240 * DAY;
    docs.push(ageing);
    let mut hidden = doc("pending", "Pending Gardening Listing", "Not yet approved.", "gardening", stroud.0, stroud.1);
    hidden.visibility = Visibility::Hidden;
    docs.push(hidden);
    let mut full = doc("full-garden", "Full Gardening Group", "Gardening every week.", "gardening", stroud.0, stroud.1);
    full.capacity = "full".into();
    docs.push(full);
    docs
}

#[test]
fn stemming_synonyms_typos_and_prefixes_find_the_right_listing() {
    let (_dir, index) = build(&sample());
    for (query, expected) in [
        ("gardens", "garden"),
        ("gardning", "garden"),
        ("gard", "garden"),
        ("lonely", "befriend"),
        ("loneliness", "befriend"),
        ("singing", "choir"),
        ("choirs", "choir"),
        ("diabetic", "diabetes"),
        ("money", "debt"),
        ("diabetis", "diabetes"),
        ("walking group older men", "walk"),
    ] {
        let found = ids(&index, &request(query));
        assert_eq!(found.first().map(String::as_str), Some(expected), "{query}: {found:?}");
    }
}

#[test]
fn every_result_explains_the_fit_it_ranked_by() {
    // The explanation reads each word back from the index on its own: it must agree with the
    // engine, and must not trip over a listing before a word's first posting (it panicked on
    // "exercise for older people" in the seed region).
    let (_dir, index) = build(&sample());
    for query in [
        "walking group older men",
        "choir gardening",
        "gardening choir diabetes",
        "diabetis",
        "gard",
        "lonely people",
        "art",
        "zzz",
    ] {
        let req = SearchRequest { explain: true, ..request(query) };
        let found = index.search(&req).unwrap_or_else(|e| panic!("{query}: {e}"));
        for hit in &found.hits {
            let explain = hit.explain.as_ref().expect("asked for");
            assert!(
                (explain.fit - hit.fit).abs() < 1e-4,
                "{query}: {} explained {} ranked {}",
                name_of(&hit.id),
                explain.fit,
                hit.fit
            );
        }
    }
}

#[test]
fn public_searches_hide_pending_and_year_old_listings_and_rank_fresh_open_ones_first() {
    let (_dir, index) = build(&sample());
    let found = ids(&index, &request("gardening"));
    assert!(!found.contains(&"pending".to_string()));
    assert!(!found.contains(&"stale-garden".to_string()));
    let pos = |id: &str| found.iter().position(|f| f == id).unwrap();
    assert!(pos("garden") < pos("ageing-garden"), "{found:?}");
    assert!(pos("garden") < pos("full-garden"), "{found:?}");
    let staff = SearchRequest { public_only: false, ..request("gardening") };
    let all = ids(&index, &staff);
    assert!(all.contains(&"pending".to_string()) && all.contains(&"stale-garden".to_string()));
}

#[test]
fn sorts_facets_and_pages() {
    let (_dir, index) = build(&sample());
    let by_name = ids(&index, &SearchRequest { sort: Sort::Name, ..request("") });
    // Cirencester, Full, Gloucester, Money, Nailsworth, Painswick, Stroud, Telephone.
    assert_eq!(by_name, ["walk", "full-garden", "diabetes", "debt", "choir", "ageing-garden", "garden", "befriend"]);
    assert_eq!(by_name.first().map(String::as_str), Some("walk"));
    assert_eq!(by_name.last().map(String::as_str), Some("befriend"));
    let by_verified =
        index.search(&SearchRequest { sort: Sort::LastVerified, public_only: false, ..request("gardening") }).unwrap();
    assert_eq!(by_verified.hits.last().map(|h| name_of(&h.id)), Some("stale-garden".to_string()));

    let all = index.search(&request("")).unwrap();
    assert_eq!(all.facets["category"]["gardening"], 3);
    assert_eq!(all.facets["day"]["TU"], all.total as u32);
    let filters = BTreeMap::from([("category".to_string(), vec!["gardening".to_string(), "choirs".to_string()])]);
    let filtered = index.search(&SearchRequest { filters, ..request("") }).unwrap();
    assert_eq!(filtered.total, 4);

    let page1 = index.search(&SearchRequest { limit: 3, sort: Sort::Name, ..request("") }).unwrap();
    let page2 = index.search(&SearchRequest { limit: 3, offset: 3, sort: Sort::Name, ..request("") }).unwrap();
    assert_eq!(page1.total, 8);
    assert_eq!(page1.hits.len(), 3);
    assert!(page2.hits.iter().all(|h| !page1.hits.contains(h)));
    let beyond = index.search(&SearchRequest { offset: 100, ..request("") }).unwrap();
    assert!(beyond.hits.is_empty());
}

#[test]
fn snippets_highlight_matched_words_and_their_synonyms() {
    let (_dir, index) = build(&sample());
    let found = index.search(&request("allotment")).unwrap();
    let text = "We grow vegetables on our allotment every Tuesday; the garden is step-free.";
    let snippet = index.snippet(&found.highlight, text, 180).unwrap();
    assert!(snippet.contains("<b>allotment</b>"), "{snippet}");
    assert!(snippet.contains("<b>garden</b>"), "synonyms are highlighted too: {snippet}");
    let escaped = index.snippet(&found.highlight, "<script>allotment</script>", 180).unwrap();
    assert!(escaped.contains("&lt;script&gt;"), "{escaped}");
    assert_eq!(index.snippet(&found.highlight, "nothing relevant here", 180), None);
}

#[test]
fn zero_results_say_why_and_offer_a_wider_search() {
    let (_dir, index) = build(&sample());
    let stroud = GeoPoint::new(51.7436, -2.2068).unwrap();
    let near = SearchRequest { origin: Some(stroud), radius_km: Some(2.0), ..request("walking") };
    let found = index.search(&near).unwrap();
    assert_eq!(found.total, 0);
    let help = found.help.unwrap();
    assert!(
        help.wider
            .iter()
            .any(|w| matches!(w, WiderSearch::Radius { radius_km, total } if *radius_km == 25.0 && *total == 1)),
        "{help:?}"
    );

    // Two edits away: too far for typo tolerance, near enough for "did you mean".
    let typo = index.search(&request("alotmment")).unwrap();
    assert_eq!(typo.total, 0);
    let help = typo.help.unwrap();
    assert!(
        help.wider
            .iter()
            .any(|w| matches!(w, WiderSearch::Spelling { text, total } if text == "allotment" && *total >= 1)),
        "{help:?}"
    );
    let filters = BTreeMap::from([("category".to_string(), vec!["choirs".to_string()])]);
    let none = index.search(&SearchRequest { filters, ..request("diabetes") }).unwrap();
    assert_eq!(none.total, 0);
    assert!(none
        .help
        .unwrap()
        .wider
        .iter()
        .any(|w| matches!(w, WiderSearch::WithoutFilter { dimension, .. } if dimension == "category")));
}

#[test]
fn user_typed_syntax_never_errors() {
    let (_dir, index) = build(&sample());
    let thousand: String = (0..1000).map(|i| format!("term{i} ")).collect();
    for q in [
        "!!!",
        "...",
        "the and of",
        "\"unbalanced",
        "art:",
        "walk^2",
        "choir~1",
        "[a TO z]",
        "garden*",
        "-",
        "(((",
        "AND",
        thousand.as_str(),
    ] {
        index.search(&request(q)).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    // Only stop words or punctuation search everything rather than nothing.
    assert_eq!(index.search(&request("the and of")).unwrap().total, 8);
}

#[test]
fn ids_must_be_uuids() {
    let (_dir, index) = build(&sample());
    let mut writer = index.writer(1, 20_000_000).unwrap();
    let mut bad = sample()[0].clone();
    bad.id = "not-a-uuid".into();
    assert!(matches!(writer.upsert(&bad), Err(search_index::SearchError::InvalidId(_))));
}

#[test]
fn upsert_replaces_and_delete_removes() {
    let docs = sample();
    let (dir, index) = build(&docs);
    let mut writer = index.writer(1, 20_000_000).unwrap();
    let mut renamed = docs[0].clone();
    renamed.name = "Stroud Allotment Society".into();
    writer.upsert(&renamed).unwrap();
    writer.delete(&uid("choir"));
    writer.commit("7").unwrap();
    assert_eq!(index.search(&request("")).unwrap().total, 7);
    assert!(ids(&index, &request("choir")).is_empty());
    assert_eq!(index.committed_payload().unwrap().as_deref(), Some("7"));
    drop(writer);
    drop(index);
    let (reopened, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened { payload: "7".into() });
    assert_eq!(reopened.num_docs(), 9);
}

#[test]
fn damaged_or_old_indexes_are_recreated() {
    let (dir, index) = build(&sample());
    drop(index);
    std::fs::write(dir.path().join("meta.json"), b"garbage").unwrap();
    let (_, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert!(matches!(outcome, OpenOutcome::Created { ref reason } if reason.contains("unreadable")), "{outcome:?}");

    let (dir, index) = build(&sample());
    drop(index);
    std::fs::write(dir.path().join("schema_version"), b"0").unwrap();
    let (recreated, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert!(matches!(outcome, OpenOutcome::Created { ref reason } if reason.contains("schema version")), "{outcome:?}");
    assert_eq!(recreated.num_docs(), 0);

    let empty = tempfile::tempdir().unwrap();
    let (_, outcome) = SearchIndex::open_or_create(&empty.path().join("missing")).unwrap();
    assert!(matches!(outcome, OpenOutcome::Created { .. }));
}

/// The largest index file with this extension.
fn largest(dir: &std::path::Path, extension: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

#[test]
fn damaged_files_are_found_at_open_by_their_checksums() {
    for (extension, cut) in [("pos", true), ("fast", false), ("idx", false), ("term", false), ("store", false)] {
        let (dir, index) = build(&sample());
        drop(index);
        let file = largest(dir.path(), extension);
        let mut bytes = std::fs::read(&file).unwrap();
        if cut {
            bytes.truncate(bytes.len() / 2);
        } else {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x5A;
        }
        std::fs::write(&file, bytes).unwrap();
        let (index, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
        assert!(
            matches!(outcome, OpenOutcome::Created { ref reason } if reason.contains("damaged")),
            ".{extension}: {outcome:?}"
        );
        assert_eq!(index.num_docs(), 0, ".{extension}: recreated empty, for a rebuild");
    }
    // A missing segment file too.
    let (dir, index) = build(&sample());
    drop(index);
    std::fs::remove_file(largest(dir.path(), "fieldnorm")).unwrap();
    let (_, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert!(matches!(outcome, OpenOutcome::Created { ref reason } if reason.contains("missing")), "{outcome:?}");
}

#[test]
fn a_search_that_meets_damage_says_so_and_a_rebuild_is_swapped_in() {
    let docs = sample();
    let (dir, index) = build(&docs);
    let before = ids(&index, &request("garden"));
    assert!(!before.is_empty());
    assert!(index.verify().is_ok());
    // Garbage over the term dictionaries and postings, in place, under the open index.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "term" || e == "idx" || e == "pos") {
            // Same length, without truncating: the open maps stay valid.
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            std::io::Write::write_all(&mut file, &vec![0xA5; len]).unwrap();
        }
    }
    let error = index.search(&request("garden")).unwrap_err();
    assert!(matches!(error, search_index::SearchError::Damaged(_)), "{error:?}");
    assert!(index.damage_reported());
    assert!(index.verify().is_err());

    let mut rebuild = index.start_rebuild(20_000_000).unwrap();
    for d in &docs {
        rebuild.writer().add_new(d).unwrap();
    }
    rebuild.writer().commit("42").unwrap();
    // Until the swap, searches use the old index.
    assert!(index.damage_reported());
    index.finish_rebuild(rebuild).unwrap();
    assert!(!index.damage_reported());
    assert_eq!(ids(&index, &request("garden")), before);
    assert_eq!(index.committed_payload().unwrap().as_deref(), Some("42"));
    // The new index takes a writer, and is what is on disk.
    let mut writer = index.writer(1, 20_000_000).unwrap();
    writer.delete(&uid("choir"));
    writer.commit("43").unwrap();
    assert!(ids(&index, &request("choir")).is_empty());
    drop(writer);
    drop(index);
    let (reopened, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened { payload: "43".into() });
    assert_eq!(reopened.num_docs(), docs.len() as u64 - 1);
}

#[test]
fn typos_keep_the_first_letter() {
    let docs = vec![doc(
        "garden",
        "Living with Pain Group",
        "Support for living well with persistent pain.",
        "chronic-pain",
        51.7,
        -2.2,
    )];
    let (_dir, index) = build(&docs);
    assert_eq!(ids(&index, &request("livng")), ["garden"], "one edit, same first letter");
    assert!(ids(&index, &request("diving")).is_empty(), "\"diving\" is not a typo of \"living\"");
}

#[test]
fn a_rebuild_that_cannot_open_leaves_the_index_that_was_there() {
    let docs = sample();
    let (dir, index) = build(&docs);
    let before = ids(&index, &request("garden"));
    let payload = index.committed_payload().unwrap();
    let mut rebuild = index.start_rebuild(20_000_000).unwrap();
    rebuild.writer().add_new(&docs[0]).unwrap();
    rebuild.writer().commit("99").unwrap();
    // The rebuilt folder loses a file it needs to open (a disk fault, a full disk).
    let mut built = dir.path().file_name().unwrap().to_os_string();
    built.push(".rebuild");
    std::fs::remove_file(dir.path().with_file_name(built).join("schema_version")).unwrap();
    assert!(index.finish_rebuild(rebuild).is_err());
    // Searches and the folder on disk are still the old index, whole.
    assert_eq!(ids(&index, &request("garden")), before);
    drop(index);
    let (reopened, outcome) = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened { payload: payload.unwrap_or_default() });
    assert_eq!(reopened.num_docs(), docs.len() as u64);
}
