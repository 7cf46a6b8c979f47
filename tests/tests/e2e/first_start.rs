//! The first start on an empty database: a start killed (SIGKILL) at any point of the seed
//! leaves a database the next start completes, and two instances starting together on one
//! empty database both come up with the seed loaded once.
//!
//! The kill test runs the first start in a child process: this test binary again, filtered to
//! [`first_start_child`], which runs `startup::prepare` when `CHILD_SPEC` is set and prints the
//! seed's progress lines; the parent kills it after a chosen line (and delay).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use backend::db::schema::{organizations, places, postcodes, referrals, services, taxonomy_terms, users};
use backend::db::{DatabaseUrl, DbConnection};
use backend::startup;
use diesel::prelude::*;

use crate::helpers::{empty_database, engine, spawn_app, test_settings};

/// `database URL \n data folder` for the child.
const CHILD_SPEC: &str = "COMMONGROUND_FIRST_START_CHILD";

/// What a full seed holds: vocabulary, postcodes, places, organisations, listings, accounts,
/// referrals.
fn counts(conn: &mut DbConnection) -> [i64; 7] {
    [
        taxonomy_terms::table.count().get_result(conn).unwrap(),
        postcodes::table.count().get_result(conn).unwrap(),
        places::table.count().get_result(conn).unwrap(),
        organizations::table.count().get_result(conn).unwrap(),
        services::table.count().get_result(conn).unwrap(),
        users::table.count().get_result(conn).unwrap(),
        referrals::table.count().get_result(conn).unwrap(),
    ]
}

const NAMES: &str = "terms, postcodes, places, organisations, listings, accounts, referrals";

/// The counts of a complete first start (the test template's).
fn full_seed() -> [i64; 7] {
    let app = spawn_app();
    let full = counts(&mut app.db());
    assert!(full.iter().all(|&n| n > 0), "the template is fully seeded: {full:?} ({NAMES})");
    full
}

fn url_string(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => p.display().to_string(),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

/// Not a test of its own: the child process of the kill test (does nothing in a normal run).
#[test]
fn first_start_child() {
    let Ok(spec) = std::env::var(CHILD_SPEC) else { return };
    let (url, dir) = spec.split_once('\n').unwrap();
    let settings = test_settings(Path::new(dir), &DatabaseUrl::parse(url));
    let mut out = std::io::stdout();
    let prepared = startup::prepare(&settings, &mut out).unwrap();
    writeln!(out, "child: prepared").unwrap();
    drop(prepared);
}

/// Starts the child on `database` and kills it `delay` after the first progress line that
/// contains `after`. Answers whether the kill came before the child finished.
fn start_and_kill(database: &DatabaseUrl, dir: &Path, after: &str, delay: Duration) -> bool {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["first_start::first_start_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_SPEC, format!("{}\n{}", url_string(database), dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut finished = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("child: prepared") {
            finished = true;
            break;
        }
        if line.contains(after) {
            std::thread::sleep(delay);
            break;
        }
    }
    // SIGKILL: no destructor, no rollback, no goodbye to the database.
    let _ = child.kill();
    child.wait().unwrap();
    // Drain what was printed between the line and the kill, to know whether it had finished.
    for line in lines.map_while(Result::ok) {
        finished |= line.contains("child: prepared");
    }
    !finished
}

#[test]
fn a_first_start_killed_at_any_point_is_completed_by_the_next_start() {
    let full = full_seed();
    // After each progress line (the parts the old seed committed one by one), and part-way
    // through the longer parts.
    let kills: [(&str, u64); 8] = [
        ("First start", 0),
        ("vocabularies:", 0),
        ("vocabularies:", 150),
        ("postcodes:", 0),
        ("towns and villages:", 0),
        ("community assets:", 0),
        ("demo accounts:", 0),
        ("demo accounts:", 400),
    ];
    let mut killed_mid_seed = 0;
    for (after, delay_ms) in kills {
        let dir = tempfile::tempdir().unwrap();
        let database = empty_database(dir.path());
        let killed = start_and_kill(&database, dir.path(), after, Duration::from_millis(delay_ms));
        killed_mid_seed += usize::from(killed);
        let settings = test_settings(dir.path(), &database);
        let prepared = startup::prepare(&settings, &mut std::io::sink())
            .unwrap_or_else(|e| panic!("start after a kill at {after} +{delay_ms} ms: {e:#}"));
        drop(prepared);
        let after_restart = counts(&mut database.connect().unwrap());
        assert_eq!(
            after_restart,
            full,
            "{} after a kill at '{after}' +{delay_ms} ms and a normal start ({NAMES})",
            engine()
        );
    }
    assert!(killed_mid_seed >= 4, "only {killed_mid_seed} kills landed before the child finished");
}

#[test]
fn two_instances_starting_together_on_an_empty_database_both_start_and_seed_once() {
    let full = full_seed();
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    // One database (for SQLite, one file), two data folders (each instance has its own index).
    let database = empty_database(first.path());
    let barrier = Arc::new(Barrier::new(2));
    let started = Instant::now();
    let handles: Vec<_> = [first.path().to_path_buf(), second.path().to_path_buf()]
        .into_iter()
        .map(|dir| {
            let settings = test_settings(&dir, &database);
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                startup::prepare(&settings, &mut std::io::sink())
                    .map(|p| p.seeded.is_some())
                    .map_err(|e| format!("{e:#}"))
            })
        })
        .collect();
    let results: Vec<Result<bool, String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for result in &results {
        assert!(result.is_ok(), "both instances start on {}: {results:?}", engine());
    }
    let seeded = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(seeded, 1, "exactly one instance seeds: {results:?}");
    assert_eq!(counts(&mut database.connect().unwrap()), full, "seeded once ({NAMES})");
    println!("two instances started in {} ms on {}", started.elapsed().as_millis(), engine());
}
