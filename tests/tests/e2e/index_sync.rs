//! The search index follows the database: an edit is searchable within a second, and a missing,
//! corrupt or old index is rebuilt at start.

use std::time::{Duration, Instant};

use backend::db::schema::services;
use backend::directory::outbox;
use diesel::prelude::*;

use crate::helpers::{spawn_app, spawn_with, test_settings};

fn wait_for(mut check: impl FnMut() -> bool, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

#[test]
fn an_edit_is_searchable_within_a_second() {
    let app = spawn_app();
    let mut conn = app.db();
    let id: String =
        services::table.filter(services::status.eq("active")).select(services::id).first(&mut conn).unwrap();
    backend::db::write(&mut conn, |c| -> QueryResult<()> {
        diesel::update(services::table.find(&id))
            .set(services::name.eq("Zanzibar Marmalade Appreciation Society"))
            .execute(c)?;
        outbox::enqueue(c, &id)
    })
    .unwrap();
    let took = wait_for(
        || app.get("/api/v1/services?q=zanzibar+marmalade").json()["total"].as_u64() == Some(1),
        Duration::from_secs(5),
    );
    let took = took.expect("the edit never became searchable");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

#[test]
fn a_corrupt_index_is_rebuilt_at_start() {
    let app = spawn_app();
    // Stop using this app; start a second server on a copy of its folder with a damaged index.
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("search-index");
    std::fs::create_dir_all(&index_dir).unwrap();
    std::fs::write(index_dir.join("meta.json"), b"{ this is not an index").unwrap();
    std::fs::write(index_dir.join("schema_version"), b"3").unwrap();
    let database = app.database.clone();
    let second = spawn_with(test_settings(dir.path(), &database), dir, database);
    let body = second.get("/api/v1/services?q=gardening").json();
    assert!(body["total"].as_u64().unwrap() > 0, "rebuilt index serves searches: {body}");
}

#[test]
fn an_index_of_another_schema_version_is_rebuilt() {
    let app = spawn_app();
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("search-index");
    std::fs::create_dir_all(&index_dir).unwrap();
    std::fs::write(index_dir.join("schema_version"), b"1").unwrap();
    let database = app.database.clone();
    let second = spawn_with(test_settings(dir.path(), &database), dir, database);
    assert!(second.get("/api/v1/services?q=choir").json()["total"].as_u64().unwrap() > 0);
    let version = std::fs::read_to_string(second.data_dir.path().join("search-index/schema_version")).unwrap();
    assert_eq!(version.trim(), search_index::SCHEMA_VERSION.to_string());
}
