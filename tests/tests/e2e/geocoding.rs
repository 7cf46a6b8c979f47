//! Geocoding: postcodes in any spacing and case, outward codes, towns and villages; and
//! importing Code-Point Open files.

use std::io::Write;

use backend::db::migrations;
use backend::directory::{geocode, postcodes};

use crate::helpers::{assert_error, empty_database, spawn_app};

#[test]
fn geocode_api_accepts_postcodes_outward_codes_and_places() {
    let app = spawn_app();
    for q in ["GL5 1HE", "gl51he", "  Gl5   1hE "] {
        let body = app.get(&format!("/api/v1/geocode?q={}", q.replace(' ', "%20"))).json();
        assert_eq!(body["label"], "GL5 1HE", "{q}");
        assert_eq!(body["precision"], "postcode");
        assert!((body["lat"].as_f64().unwrap() - 51.7436).abs() < 0.001);
        assert!((body["lon"].as_f64().unwrap() + 2.2068).abs() < 0.001);
    }
    let outward = app.get("/api/v1/geocode?q=gl5").json();
    assert_eq!(outward["precision"], "outward_code");
    assert!((outward["lat"].as_f64().unwrap() - 51.74).abs() < 0.05, "{outward}");
    let town = app.get("/api/v1/geocode?q=stroud").json();
    assert_eq!(town["precision"], "place");
    assert!(town["label"].as_str().unwrap().starts_with("Stroud"));
    let village = app.get("/api/v1/geocode?q=Bishops%20Cleeve").json();
    assert_eq!(village["precision"], "place", "{village}");
}

#[test]
fn geocode_bad_input() {
    let app = spawn_app();
    assert_error(&app.get("/api/v1/geocode?q=ZZ99%209ZZ"), 404, Some("q"));
    assert_error(&app.get("/api/v1/geocode?q=Atlantis"), 404, Some("q"));
    assert_error(&app.get("/api/v1/geocode?q=XY9"), 404, Some("q"));
    assert_error(&app.get("/api/v1/geocode?q=GL5%201H"), 422, Some("q"));
    assert_error(&app.get("/api/v1/geocode?q="), 422, Some("q"));
    assert_error(&app.get("/api/v1/geocode"), 422, Some("q"));
    assert_error(&app.get(&format!("/api/v1/geocode?q={}", "x".repeat(500))), 422, Some("q"));
}

#[test]
fn import_codepoint_counts_loaded_and_skipped_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = empty_database(dir.path()).connect().unwrap();
    migrations::run_pending(&mut conn).unwrap();
    let csv = dir.path().join("gl.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "GL5 1HE,10,385817,205005").unwrap();
    writeln!(f, "GL5 1ZZ,90,0,0").unwrap();
    writeln!(f, "not a postcode,10,1,2").unwrap();
    writeln!(f, "GL7 1AA,10,402268,201778").unwrap();
    drop(f);
    let mut progress = Vec::new();
    let summary = postcodes::import_codepoint(&mut conn, dir.path(), &mut progress).unwrap();
    assert_eq!((summary.loaded, summary.skipped, summary.files), (2, 2, 1));
    assert!(String::from_utf8(progress).unwrap().contains("2 loaded, 2 skipped"));
    let found = geocode::geocode(&mut conn, "gl7 1aa").unwrap();
    assert!((found.lat - 51.71).abs() < 0.05, "{found:?}");
    // A second import replaces, never duplicates.
    let again = postcodes::import_codepoint(&mut conn, &csv, &mut std::io::sink()).unwrap();
    assert_eq!(again.loaded, 2);
    assert_eq!(postcodes::count(&mut conn).unwrap(), 2);
    // A missing path is a clear error.
    let err = postcodes::import_codepoint(&mut conn, &dir.path().join("nope"), &mut std::io::sink()).unwrap_err();
    assert!(err.to_string().contains("nope"));
}

#[test]
fn import_a_real_codepoint_area_when_shared_data_is_present() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/codepoint-open/gl.csv.gz");
    if !shared.exists() {
        eprintln!(
            "skipped: {} is not present (the shared data folder is only beside the development checkout)",
            shared.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut conn = empty_database(dir.path()).connect().unwrap();
    migrations::run_pending(&mut conn).unwrap();
    let summary = postcodes::import_codepoint(&mut conn, &shared, &mut std::io::sink()).unwrap();
    assert!(summary.loaded > 20_000, "{summary:?}");
    assert_eq!(postcodes::count(&mut conn).unwrap() as u64, summary.loaded);
    let stroud = geocode::geocode(&mut conn, "GL5 1HE").unwrap();
    assert!((stroud.lat - 51.7436).abs() < 0.001);
}
