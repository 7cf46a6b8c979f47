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

#[test]
fn production_needs_a_signing_secret_and_gets_no_demo_data() {
    use crate::helpers::start_server;
    let dir = tempfile::tempdir().unwrap();
    let database = empty_database(dir.path());
    let mut settings = test_settings(dir.path(), &database);
    settings.env = backend::config::Environment::Production;
    settings.public_url = Some("https://directory.example.nhs.uk".into());
    let refused = start_server(settings.clone()).unwrap_err();
    assert!(refused.contains("COMMONGROUND_JWT_SECRET"), "{refused}");
    settings.jwt_secret = Some(backend::config::Secret::new("short"));
    assert!(start_server(settings.clone()).unwrap_err().contains("at least 32"));
    settings.jwt_secret = Some(backend::config::Secret::new("a-production-secret-of-forty-characters!"));
    let port = start_server(settings).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let body: serde_json::Value =
        ureq::get(&format!("{base}/api/v1/services?q=gardening")).call().unwrap().into_json().unwrap();
    assert_eq!(body["total"], 0, "no demo directory in production");
    let geocoded: serde_json::Value =
        ureq::get(&format!("{base}/api/v1/geocode?q=GL5+1HE")).call().unwrap().into_json().unwrap();
    assert_eq!(geocoded["precision"], "postcode", "reference data is loaded");
    let login = ureq::post(&format!("{base}/api/v1/auth/login"))
        .send_json(serde_json::json!({"email": "admin@demo.example.org", "password": "green-valley-tea-party"}));
    assert!(matches!(login, Err(ureq::Error::Status(401, _))), "no demo accounts in production");
    assert!(!dir.path().join("jwt-secret").exists(), "production never writes a generated secret");
}
