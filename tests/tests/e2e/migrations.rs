//! Both migration folders hold the same migrations, and up, down, up works on the engine in use.

use std::collections::BTreeSet;
use std::path::Path;

use backend::db::migrations;
use diesel::prelude::*;

use crate::helpers::{empty_database, engine};

fn names(engine: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(engine);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| {
            for file in ["up.sql", "down.sql"] {
                assert!(e.path().join(file).exists(), "{} has no {file}", e.path().display());
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn both_engines_have_the_same_migrations() {
    let sqlite = names("sqlite");
    let postgres = names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must hold the same migrations");
}

#[test]
fn up_down_up_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = empty_database(dir.path()).connect().unwrap();
    let applied = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(applied.len(), names("sqlite").len(), "on {}", engine());
    let reverted = migrations::revert_all(&mut conn).unwrap();
    assert_eq!(reverted, applied.len());
    assert!(
        backend::db::schema::services::table.count().get_result::<i64>(&mut conn).is_err(),
        "tables must be gone after down"
    );
    migrations::run_pending(&mut conn).unwrap();
    let services: i64 = backend::db::schema::services::table.count().get_result(&mut conn).unwrap();
    assert_eq!(services, 0);
    assert!(migrations::run_pending(&mut conn).unwrap().is_empty(), "nothing pending after up");
}
