//! The search index recovers from faults by itself: a disk error that kills tantivy's indexing
//! thread, damaged index files (at start and under a running server), and an index ahead of the
//! database (a database restored from a backup). Readiness says when the indexer is stuck.

use std::path::Path;
use std::time::{Duration, Instant};

use backend::db::schema::services;
use backend::directory::outbox;
use diesel::prelude::*;

use crate::helpers::{spawn_app, spawn_with, test_settings, TestApp};

fn wait_for(mut check: impl FnMut() -> bool, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Renames the `nth` listing the public finds by name and queues it for the indexer, as an
/// edit does.
fn rename_listing(app: &TestApp, nth: usize, name: &str) -> String {
    let mut conn = app.db();
    let public: Vec<String> = services::table.order(services::id).select(services::id).load(&mut conn).unwrap();
    let found = ids(app, "");
    let id = public.into_iter().filter(|id| found.contains(id)).nth(nth).unwrap();
    backend::db::write(&mut conn, |c| -> QueryResult<()> {
        diesel::update(services::table.find(&id)).set(services::name.eq(name)).execute(c)?;
        outbox::enqueue(c, &id)
    })
    .unwrap();
    id
}

fn total(app: &TestApp, query: &str) -> Option<u64> {
    let answer = app.get(&format!("/api/v1/services?q={query}"));
    (answer.status == 200).then(|| answer.json()["total"].as_u64()).flatten()
}

/// Whether a search answers with this listing first.
fn finds(app: &TestApp, query: &str, id: &str) -> bool {
    let answer = app.get(&format!("/api/v1/services?q={query}"));
    answer.status == 200 && answer.json()["results"][0]["id"] == id
}

/// Ids of a search, in order.
fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let body = app.get(&format!("/api/v1/services?q={query}&per_page=100")).json();
    body["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

fn copy_index(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != ".tantivy-writer.lock" && name != ".tantivy-meta.lock" {
            std::fs::copy(entry.path(), to.join(name)).unwrap();
        }
    }
}

/// The largest index file with this extension (the biggest segment's).
fn largest(dir: &Path, extension: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap_or_else(|| panic!("no .{extension} file in {}", dir.display()))
}

/// Overwrites `len` bytes in the middle of a file with pseudo-random ones.
fn scribble(file: &Path, len: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    let start = bytes.len() / 3;
    let mut x: u32 = 0x9E37_79B9;
    for b in bytes.iter_mut().skip(start).take(len) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    std::fs::write(file, bytes).unwrap();
}

/// The real failure behind "the index stops updating after one disk error": while the index
/// folder cannot take new files, tantivy's indexing thread dies at the next commit. Root is not
/// stopped by permissions, so the folder is moved aside and a plain file put at its path (every
/// file creation in it then fails with "not a directory"), for a few seconds, then put back.
#[test]
fn the_indexer_recovers_by_itself_after_a_disk_error_and_readiness_reports_it() {
    let app = spawn_app();
    let ready = app.get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["indexer"]["status"], "ok", "{}", ready.body);

    let index_dir = app.data_dir.path().join("search-index");
    let aside = app.data_dir.path().join("search-index.aside");
    std::fs::rename(&index_dir, &aside).unwrap();
    std::fs::write(&index_dir, b"not a folder").unwrap();

    let edited = rename_listing(&app, 0, "Quixotic Lighthouse Knitting Circle");
    // While the disk refuses, readiness first reports the indexer failing, then answers 503.
    let mut saw_failing = false;
    let saw_503 = wait_for(
        || {
            let ready = app.get("/readyz");
            let body = ready.json();
            saw_failing |= body["indexer"]["status"] == "failing";
            ready.status == 503 && body["indexer"]["status"] == "failing"
        },
        Duration::from_secs(30),
    );
    // Searches keep being answered from what is already open.
    assert_eq!(total(&app, "gardening").map(|n| n > 0), Some(true));

    std::fs::remove_file(&index_dir).unwrap();
    std::fs::rename(&aside, &index_dir).unwrap();
    let found = wait_for(|| finds(&app, "quixotic+lighthouse", &edited), Duration::from_secs(30));
    assert!(found, "the edit made during the disk error never became searchable");
    // Later edits are applied too (the writer is a working one, not the dead one).
    let later = rename_listing(&app, 1, "Zephyrous Accordion Afternoon");
    assert!(wait_for(|| finds(&app, "zephyrous+accordion", &later), Duration::from_secs(10)));
    assert!(saw_failing, "readiness never reported the indexer failing");
    assert!(saw_503, "readiness never answered 503 while the indexer kept failing");
    let recovered = wait_for(
        || {
            let ready = app.get("/readyz");
            ready.status == 200 && ready.json()["indexer"]["status"] == "ok"
        },
        Duration::from_secs(10),
    );
    assert!(recovered, "readiness did not come back: {}", app.get("/readyz").body);
}

/// Damage done to an index folder.
type Damage = fn(&Path);

/// Each kind of damage the operator test found, made to a copy of a working index and started
/// on: the server starts, every search answers 200, and the answers are the undamaged ones.
#[test]
fn a_damaged_index_file_is_found_at_start_and_rebuilt() {
    let app = spawn_app();
    let expected = ids(&app, "gardening");
    assert!(!expected.is_empty());
    let damages: [(&str, Damage); 4] = [
        ("a .pos file cut in half", |dir| {
            let file = largest(dir, "pos");
            let len = std::fs::metadata(&file).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(len / 2).unwrap();
        }),
        ("random bytes in a .fast file", |dir| scribble(&largest(dir, "fast"), 64)),
        ("random bytes in an .idx file", |dir| scribble(&largest(dir, "idx"), 64)),
        ("random bytes in a .term file", |dir| scribble(&largest(dir, "term"), 64)),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let index_dir = dir.path().join("search-index");
        copy_index(&app.data_dir.path().join("search-index"), &index_dir);
        damage(&index_dir);
        let settings = test_settings(dir.path(), &app.database);
        let second = spawn_with(settings, dir, app.database.clone());
        for query in ["gardening", "walking", "choir", "art"] {
            let answer = second.get(&format!("/api/v1/services?q={query}"));
            assert_eq!(answer.status, 200, "{what}: search {query}: {}", answer.body);
        }
        assert_eq!(ids(&second, "gardening"), expected, "{what}: answers differ from the undamaged index");
    }
}

/// Damage under a running server: a search that meets it answers 503 (never a 500, never a
/// crash), and the indexer rebuilds the index from the database in the background and swaps it
/// in, after which searches answer as before.
#[test]
fn damage_found_by_a_search_answers_503_and_the_index_is_rebuilt_in_the_background() {
    let app = spawn_app();
    let expected = ids(&app, "gardening");
    let index_dir = app.data_dir.path().join("search-index");
    // Replace the term dictionary of every segment with garbage of the same length (in place:
    // the server's memory maps see it).
    for entry in std::fs::read_dir(&index_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "term" || e == "pos" || e == "idx") {
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            std::io::Write::write_all(&mut file, &vec![0xA5; len]).unwrap();
        }
    }
    let mut statuses = Vec::new();
    let healed = wait_for(
        || {
            let answer = app.get("/api/v1/services?q=gardening&per_page=100");
            statuses.push(answer.status);
            assert!(answer.status == 200 || answer.status == 503, "{}: {}", answer.status, answer.body);
            answer.status == 200 && ids(&app, "gardening") == expected
        },
        Duration::from_secs(30),
    );
    assert!(statuses.contains(&503), "no search noticed the damage: {statuses:?}");
    assert!(healed, "the index was not rebuilt: last statuses {:?}", &statuses[statuses.len().saturating_sub(5)..]);
    // The rebuilt index keeps taking edits.
    let edited = rename_listing(&app, 2, "Xylophonic Pebble Painting");
    assert!(wait_for(|| finds(&app, "xylophonic+pebble", &edited), Duration::from_secs(10)));
}

/// A database restored from a backup while the index was kept: the index's commit payload is
/// beyond the outbox's last id. It is rebuilt at start, so it shows the database's listings
/// (not edits the backup never saw) and applies new edits.
#[test]
fn an_index_ahead_of_the_database_is_rebuilt_at_start() {
    let later = spawn_app();
    let mut edited = String::new();
    for word in ["Alpha", "Bravo", "Charlie"] {
        edited = rename_listing(&later, 3, &format!("Vanished Quokka Society {word}"));
    }
    assert!(wait_for(|| finds(&later, "vanished+quokka+charlie", &edited), Duration::from_secs(10)));
    // The backup: a database as it was before those edits.
    let backup = spawn_app();
    let dir = tempfile::tempdir().unwrap();
    copy_index(&later.data_dir.path().join("search-index"), &dir.path().join("search-index"));
    let restored = spawn_with(test_settings(dir.path(), &backup.database), dir, backup.database.clone());
    assert_eq!(total(&restored, "vanished+quokka"), Some(0), "the index shows edits the database does not have");
    let edited = rename_listing(&restored, 4, "Jubilant Walrus Reading Group");
    assert!(
        wait_for(|| finds(&restored, "jubilant+walrus", &edited), Duration::from_secs(10)),
        "an edit after the restore was never applied"
    );
}
