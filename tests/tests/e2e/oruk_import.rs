//! `commonground import-oruk`: the profile's example is added once and a second run changes
//! nothing; invalid records are reported and skipped; a file that is not JSON or too large
//! writes nothing; and a round trip (export every service, import into an empty directory,
//! export again) gives the same services.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backend::accounts::{organisations, users, CurrentUser, OrgKind, Role};
use backend::db::schema::{audit_events, cost_options, schedules, search_outbox, service_versions, services};
use backend::db::DbConnection;
use backend::interop::oruk::import::{self, ImportError, Outcome, DEFAULT_MAX_BYTES};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{empty_database, spawn_app, spawn_with, test_settings, TestApp};
use crate::oruk_api::{all_service_ids, assert_valid, Schemas};

const EXAMPLE_ID: &str = "ac148810-d857-441c-9679-408f346de14b";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/oruk").join(name)
}

fn admin(conn: &mut DbConnection) -> CurrentUser {
    import::importer(conn, "admin@demo.example.org").unwrap()
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

fn count_services(conn: &mut DbConnection) -> i64 {
    services::table.count().get_result(conn).unwrap()
}

fn count_outbox(conn: &mut DbConnection) -> i64 {
    search_outbox::table.count().get_result(conn).unwrap()
}

fn summary_text(summary: &import::ImportSummary) -> String {
    let mut out = Vec::new();
    summary.write_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_profile_example_is_added_once_and_a_second_import_changes_nothing() {
    let app = spawn_app();
    let mut conn = app.db();
    let actor = admin(&mut conn);
    let outbox_before = count_outbox(&mut conn);

    let first = import::import_file(&mut conn, &actor, &fixture("service_full.json"), DEFAULT_MAX_BYTES).unwrap();
    let text = summary_text(&first);
    assert_eq!((first.created(), first.updated(), first.unchanged(), first.skipped()), (1, 0, 0, 0), "{text}");
    assert!(text.contains("1 record(s): 1 created, 0 updated, 0 unchanged, 0 skipped"), "{text}");
    let report = &first.records[0];
    assert_eq!(report.id.as_deref(), Some(EXAMPLE_ID));
    // Its venue's coordinates (100, 101) are out of range: the venue is left out, said so.
    assert!(report.warnings.iter().any(|w| w.contains("latitude") && w.contains("left out")), "{text}");
    // Its assured date (2005) is over a year old: kept, and the listing stays hidden until confirmed.
    assert!(report.warnings.iter().any(|w| w.contains("12 months")), "{text}");
    // The example's taxonomy term is not one of ours: reported, not fatal.
    assert!(report.warnings.iter().any(|w| w.contains("taxonomy term")), "{text}");

    let (name, approval, org, min, max): (String, String, String, Option<i32>, Option<i32>) = services::table
        .find(EXAMPLE_ID)
        .select((
            services::name,
            services::approval,
            services::organization_id,
            services::minimum_age,
            services::maximum_age,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(name, "Community Counselling");
    assert_eq!(approval, "approved");
    assert_eq!(org, "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610");
    assert_eq!((min, max), (Some(12), Some(100)));
    let amount: Option<f64> = cost_options::table
        .filter(cost_options::service_id.eq(EXAMPLE_ID))
        .select(cost_options::amount)
        .first(&mut conn)
        .unwrap();
    assert_eq!(amount, Some(35.0));
    let (byday, opens): (String, String) = schedules::table
        .filter(schedules::service_id.eq(EXAMPLE_ID))
        .select((schedules::byday, schedules::opens_at))
        .first(&mut conn)
        .unwrap();
    assert_eq!((byday.as_str(), opens.as_str()), ("TH,FR", "10:00"));
    // Written like any other change: an outbox row, a version row and an audit row.
    let outbox_after = count_outbox(&mut conn);
    assert_eq!(outbox_after, outbox_before + 1);
    let versions: i64 = service_versions::table
        .filter(service_versions::service_id.eq(EXAMPLE_ID))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(versions, 1);
    let audits: i64 = audit_events::table
        .filter(audit_events::action.eq("listing.import"))
        .filter(audit_events::record_id.eq(EXAMPLE_ID))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(audits, 1);

    // The second run: unchanged, nothing written.
    let second = import::import_file(&mut conn, &actor, &fixture("service_full.json"), DEFAULT_MAX_BYTES).unwrap();
    assert_eq!((second.created(), second.updated(), second.unchanged(), second.skipped()), (0, 0, 1, 0));
    assert_eq!(count_outbox(&mut conn), outbox_after);
    let versions_again: i64 = service_versions::table
        .filter(service_versions::service_id.eq(EXAMPLE_ID))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(versions_again, 1);
    let services_named: i64 =
        services::table.filter(services::name.eq("Community Counselling")).count().get_result(&mut conn).unwrap();
    assert_eq!(services_named, 1, "nothing duplicated");

    // Hidden while its assured date is old; a newer one makes it public, indexed within seconds.
    assert_eq!(app.get(&format!("/oruk/services/{EXAMPLE_ID}")).status, 404);
    let mut example: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("service_full.json")).unwrap()).unwrap();
    example["assured_date"] = json!(chrono::Utc::now().date_naive().to_string());
    let dir = tempfile::tempdir().unwrap();
    let third =
        import::import_file(&mut conn, &actor, &write_json(dir.path(), "fresh.json", &example), DEFAULT_MAX_BYTES)
            .unwrap();
    assert_eq!(third.updated(), 1, "{}", summary_text(&third));
    let answer = app.get(&format!("/oruk/services/{EXAMPLE_ID}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_valid(&Schemas::load().service, &answer.json(), "the imported example");
    let started = Instant::now();
    loop {
        let found = app.get("/api/v1/services?q=counselling").json();
        if found["results"].as_array().unwrap().iter().any(|r| r["id"] == EXAMPLE_ID) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the index did not follow the import");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn invalid_records_are_reported_and_skipped_and_the_rest_imported() {
    let app = spawn_app();
    let mut conn = app.db();
    let actor = admin(&mut conn);
    let org = json!({"id": "0b6f7e0a-3f57-4b47-9d0e-7d5b1c6a2e01", "name": "Valley Walkers", "description": "Walks"});
    let good = |id: &str, name: &str| json!({"id": id, "name": name, "status": "active", "organization": org});
    let mut far = good("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d02", "Far Away Walk");
    far["service_at_locations"] = json!([{"id": "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d03",
        "location": {"id": "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d04", "location_type": "physical", "name": "Pole", "latitude": 95.0, "longitude": 10.0}}]);
    let mut min_over_max = good("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d05", "Odd Ages");
    min_over_max["minimum_age"] = json!(60);
    min_over_max["maximum_age"] = json!(18);
    let mut negative = good("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d06", "Negative Age");
    negative["minimum_age"] = json!(-1);
    let mut bad_status = good("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d07", "Open Maybe");
    bad_status["status"] = json!("open");
    let file = json!({
        "total_items": 9, "total_pages": 1, "page_number": 1, "size": 9, "first_page": true, "last_page": true, "empty": false,
        "contents": [
            good("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d01", "Riverside Walk"),
            {"id": "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d08", "status": "active", "organization": org},
            good("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d01", "Riverside Walk Again"),
            bad_status,
            negative,
            min_over_max,
            far,
            {"id": "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d09", "name": "No Organisation", "status": "active"},
            "not a record",
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let summary =
        import::import_file(&mut conn, &actor, &write_json(dir.path(), "page.json", &file), DEFAULT_MAX_BYTES).unwrap();
    let text = summary_text(&summary);
    assert_eq!((summary.created(), summary.skipped()), (2, 7), "{text}");
    let reason = |position: usize| match &summary.records[position - 1].outcome {
        Outcome::Skipped(reasons) => reasons.join("; "),
        other => panic!("#{position} was {other:?}: {text}"),
    };
    assert!(reason(2).contains("name is missing"), "{text}");
    assert!(reason(3).contains("duplicate id"), "{text}");
    assert!(reason(4).contains("status"), "{text}");
    assert!(reason(5).contains("minimum_age"), "{text}");
    assert!(reason(6).contains("above maximum_age"), "{text}");
    assert!(reason(8).contains("organization"), "{text}");
    assert!(reason(9).contains("not a JSON object"), "{text}");
    assert!(summary.records[6].warnings.iter().any(|w| w.contains("latitude")), "{text}");
    for id in [
        "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d05",
        "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d06",
        "5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d07",
    ] {
        assert_eq!(services::table.find(id).count().get_result::<i64>(&mut conn).unwrap(), 0, "{id} was written");
    }
    let kept: String =
        services::table.find("5a0e0b8e-0b0c-4c51-9c55-7f3b0a1e0d01").select(services::name).first(&mut conn).unwrap();
    assert_eq!(kept, "Riverside Walk", "the first of two records with one id wins");
    // An account that is not an administrator cannot import.
    assert!(matches!(import::importer(&mut conn, "garden.editor@demo.example.org"), Err(ImportError::NotAllowed(_))));
}

#[test]
fn a_file_that_is_not_json_or_too_large_writes_nothing() {
    let app = spawn_app();
    let mut conn = app.db();
    let actor = admin(&mut conn);
    let before = count_services(&mut conn);
    let dir = tempfile::tempdir().unwrap();

    let not_json = dir.path().join("services.json");
    std::fs::write(&not_json, "<html>not json</html>").unwrap();
    let e = import::import_file(&mut conn, &actor, &not_json, DEFAULT_MAX_BYTES).unwrap_err();
    assert!(matches!(e, ImportError::NotJson { .. }), "{e}");
    assert!(e.to_string().contains("is not JSON"), "{e}");

    let not_oruk = write_json(dir.path(), "other.json", &json!({"hello": "world"}));
    let e = import::import_file(&mut conn, &actor, &not_oruk, DEFAULT_MAX_BYTES).unwrap_err();
    assert!(matches!(e, ImportError::NotOruk { .. }), "{e}");

    // The limit is checked before reading: a valid file over it is refused whole.
    let e = import::import_file(&mut conn, &actor, &fixture("service_full.json"), 1024).unwrap_err();
    assert!(matches!(e, ImportError::TooLarge { limit: 1024, .. }), "{e}");
    assert!(e.to_string().contains("over the import limit"), "{e}");

    let missing = import::import_file(&mut conn, &actor, &dir.path().join("nope.json"), DEFAULT_MAX_BYTES).unwrap_err();
    assert!(matches!(missing, ImportError::Read { .. }), "{missing}");
    assert_eq!(count_services(&mut conn), before, "nothing written");
}

/// Drops what cannot survive a move between directories: when a record last changed here.
fn normalised(mut service: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("last_modified");
                map.values_mut().for_each(strip);
            }
            Value::Array(list) => list.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut service);
    service
}

#[test]
fn exported_services_import_into_an_empty_directory_and_export_the_same() {
    let source = spawn_app();
    let ids = all_service_ids(&source);
    let exported: Vec<Value> =
        ids.iter().map(|id| normalised(source.get(&format!("/oruk/services/{id}")).json())).collect();

    // An empty directory: migrated, reference data (vocabularies, postcodes), one administrator.
    let dir = tempfile::tempdir().unwrap();
    let database = empty_database(dir.path());
    let mut conn = database.connect().unwrap();
    backend::db::migrations::run_pending(&mut conn).unwrap();
    backend::directory::seed::load_all(&mut conn, false, &mut std::io::sink()).unwrap();
    let team = backend::ids::new_id();
    organisations::create(&mut conn, &team, "Directory team", OrgKind::AdminBody, None).unwrap();
    users::create(&mut conn, &team, "importer@example.org", "Importer", Role::Admin, Some("not-a-real-hash")).unwrap();
    assert_eq!(count_services(&mut conn), 0);
    let actor = import::importer(&mut conn, "importer@example.org").unwrap();

    let file = write_json(dir.path(), "export.json", &Value::Array(exported.clone()));
    let summary = import::import_file(&mut conn, &actor, &file, DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(summary.created(), ids.len(), "{}", summary_text(&summary));
    let again = import::import_file(&mut conn, &actor, &file, DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(again.unchanged(), ids.len(), "{}", summary_text(&again));
    drop(conn);

    let settings = test_settings(dir.path(), &database);
    let target: TestApp = spawn_with(settings, dir, database);
    let mut target_ids = all_service_ids(&target);
    let mut source_ids = ids.clone();
    target_ids.sort();
    source_ids.sort();
    assert_eq!(target_ids, source_ids, "the same services are public");
    for before in &exported {
        let id = before["id"].as_str().unwrap();
        let after = normalised(target.get(&format!("/oruk/services/{id}")).json());
        assert_eq!(&after, before, "service {id} differs after the round trip");
    }
}
