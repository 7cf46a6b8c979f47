//! Health, readiness, security headers and start-up on an empty folder.

use crate::helpers::{empty_database, spawn_app, spawn_with, test_settings};

#[test]
fn health_and_readiness() {
    let app = spawn_app();
    let health = app.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let ready = app.get("/readyz").json();
    assert_eq!(ready["status"], "ready");
    assert!(ready["indexed_listings"].as_u64().unwrap() >= 300);
}

#[test]
fn security_headers_on_every_response_including_errors() {
    let app = spawn_app();
    for path in ["/", "/api/v1/services?q=art", "/api/v1/services/bad", "/nope", "/static/site.css"] {
        let answer = app.get(path);
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{path}");
        let csp = answer.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(answer.header("referrer-policy").is_some(), "{path}");
    }
}

#[test]
fn first_start_on_an_empty_folder_seeds_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let database = empty_database(dir.path());
    let app = spawn_with(test_settings(dir.path(), &database), dir, database);
    let body = app.get("/api/v1/services?q=gardening&near=Stroud").json();
    assert!(body["total"].as_u64().unwrap() > 0, "{body}");
    assert!(app.data_dir.path().join("search-index/meta.json").exists());
}
