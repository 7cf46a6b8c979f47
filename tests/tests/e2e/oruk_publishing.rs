//! Publishing ORUK properly (issue 19, item 1): every `/oruk` answer may be read by a web page
//! on another site (`Access-Control-Allow-Origin: *`, `OPTIONS` preflights answered), an
//! optional field with no value is left out (never `""` or `[]`), and `/oruk/services` takes
//! HSDS's `modified_after` and `organization_id`, with bad values a 422 naming the parameter.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::helpers::{assert_error, spawn_app, TestApp};
use crate::oruk_api::{all_service_ids, assert_page, assert_valid, Schemas};

fn get_json(app: &TestApp, path: &str) -> Value {
    let answer = app.get(path);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json()
}

/// A request with extra headers (a browser's preflight).
fn call_with(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut request = agent.request(method, &format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.to_ascii_lowercase(), v.to_string())))
        .collect();
    (response.status(), headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn every_oruk_answer_may_be_read_by_a_page_elsewhere_and_preflights_are_answered() {
    let app = spawn_app();
    let id = all_service_ids(&app).remove(0);
    // Successes, the bare `/oruk`, a 422 and a 404 all carry the header: a finder in a browser
    // must be able to read the error too.
    for (path, status) in [
        ("/oruk", 200),
        ("/oruk/", 200),
        ("/oruk/services?per_page=2", 200),
        (&format!("/oruk/services/{id}") as &str, 200),
        ("/oruk/taxonomies", 200),
        ("/oruk/taxonomy_terms?per_page=1", 200),
        ("/oruk/service_at_locations?per_page=1", 200),
        ("/oruk/services?per_page=0", 422),
        ("/oruk/services?modified_after=soon", 422),
        ("/oruk/services/6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f", 404),
        ("/oruk/organizations", 404),
    ] {
        let (got, headers) = call_with(&app, "GET", path, &[("Origin", "https://finder.example.org")]);
        assert_eq!(got, status, "{path}");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"), "{path}: {headers:?}");
    }
    // A preflight, as a browser sends it before a request with a custom header.
    for path in ["/oruk", "/oruk/", "/oruk/services", &format!("/oruk/services/{id}"), "/oruk/service_at_locations"] {
        let (status, headers) = call_with(
            &app,
            "OPTIONS",
            path,
            &[
                ("Origin", "https://finder.example.org"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "accept, x-requested-with"),
            ],
        );
        assert_eq!(status, 204, "OPTIONS {path}");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"), "OPTIONS {path}");
        let methods = header(&headers, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("GET") && !methods.contains("POST"), "OPTIONS {path}: {methods}");
        assert_eq!(header(&headers, "access-control-allow-headers"), Some("accept, x-requested-with"));
        assert!(header(&headers, "access-control-max-age").is_some());
    }
    // A preflight without the request headers is still answered, and nothing else widens:
    // the ORUK API stays read-only, and the private API does not gain the header.
    let (status, headers) = call_with(&app, "OPTIONS", "/oruk/taxonomies", &[]);
    assert_eq!(status, 204);
    assert!(header(&headers, "access-control-allow-headers").is_none());
    let (status, _) = call_with(&app, "POST", "/oruk/services", &[]);
    assert!(status == 404 || status == 405, "POST is not a route: {status}");
    let (_, headers) = call_with(&app, "GET", "/api/v1/services?q=garden", &[("Origin", "https://elsewhere.example")]);
    assert!(header(&headers, "access-control-allow-origin").is_none(), "the private API is not opened");
}

/// Fields the profile requires: these must be sent even when we hold nothing for them.
const REQUIRED_EVEN_IF_EMPTY: [&str; 6] =
    ["contents", "description", "state_province", "address_1", "city", "postal_code"];

/// Every `""` or `[]` in a value, by path, except under required names.
fn empties(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                let empty = v.as_str().is_some_and(|s| s.trim().is_empty()) || v.as_array().is_some_and(Vec::is_empty);
                if empty && !REQUIRED_EVEN_IF_EMPTY.contains(&key.as_str()) {
                    found.push(here.clone());
                }
                empties(v, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                empties(v, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn optional_fields_with_no_value_are_left_out() {
    let app = spawn_app();
    let schemas = Schemas::load();
    let ids = all_service_ids(&app);
    // A listing with nothing optional: no sessions, venues, costs, contacts, languages, phone,
    // web page or e-mail, and an organisation description that is required but empty.
    let bare = ids[3].clone();
    {
        use backend::db::schema::{
            contacts, cost_options, schedules, service_at_locations, service_taxonomy, services,
        };
        let mut conn = app.db();
        diesel::delete(schedules::table.filter(schedules::service_id.eq(&bare))).execute(&mut conn).unwrap();
        diesel::delete(service_at_locations::table.filter(service_at_locations::service_id.eq(&bare)))
            .execute(&mut conn)
            .unwrap();
        diesel::delete(cost_options::table.filter(cost_options::service_id.eq(&bare))).execute(&mut conn).unwrap();
        diesel::delete(contacts::table.filter(contacts::service_id.eq(&bare))).execute(&mut conn).unwrap();
        diesel::delete(service_taxonomy::table.filter(service_taxonomy::service_id.eq(&bare)))
            .execute(&mut conn)
            .unwrap();
        diesel::update(services::table.find(&bare))
            .set((
                services::languages.eq(""),
                services::phone.eq(Some("")),
                services::url.eq(Some(" ")),
                services::email.eq(None::<String>),
                services::fees_description.eq(Some("")),
                services::description.eq(""),
                services::summary.eq(""),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let service = get_json(&app, &format!("/oruk/services/{bare}"));
    assert_valid(&schemas.service, &service, "the bare service");
    for field in [
        "schedules",
        "service_at_locations",
        "cost_options",
        "contacts",
        "languages",
        "phones",
        "attributes",
        "url",
        "email",
        "fees",
        "description",
    ] {
        assert!(service.get(field).is_none(), "{field} has no value and is left out: {service:#}");
    }
    for field in ["id", "name", "status", "organization"] {
        assert!(service.get(field).is_some(), "{field} is required and sent");
    }

    // Across the whole published directory (services in full, a page of each list, every
    // service at location in full): no `""` and no `[]` outside the required fields.
    let mut found = Vec::new();
    for id in &ids {
        empties(&get_json(&app, &format!("/oruk/services/{id}")), &format!("service {id}"), &mut found);
    }
    for path in
        ["/oruk/services?per_page=100", "/oruk/service_at_locations?per_page=100", "/oruk/taxonomy_terms?per_page=100"]
    {
        let body = get_json(&app, path);
        empties(&body, path, &mut found);
        if path.contains("service_at_locations") {
            for sal in body["contents"].as_array().unwrap() {
                let id = sal["id"].as_str().unwrap();
                empties(&get_json(&app, &format!("/oruk/service_at_locations/{id}")), id, &mut found);
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} empty optional fields sent, e.g.:\n{}",
        found.len(),
        found[..found.len().min(20)].join("\n")
    );
    // An empty page still says so with `contents: []` (the page's own required field).
    let none = get_json(&app, "/oruk/services?search=zzzznothingmatcheszzzz");
    assert_eq!(none["contents"], serde_json::json!([]));
}

fn modified(service: &Value) -> NaiveDateTime {
    let text = service["last_modified"].as_str().unwrap();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3fZ").unwrap()
}

fn every_service(app: &TestApp, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let body = get_json(app, &format!("/oruk/services?per_page=100&page={page}&{query}"));
        all.extend(assert_page(&body, page, 100));
        if body["last_page"] == true {
            return all;
        }
        page += 1;
    }
}

#[test]
fn services_filter_by_modified_after_and_organization_id() {
    use backend::db::schema::services;
    let app = spawn_app();
    let schemas = Schemas::load();
    let all = every_service(&app, "");
    // Two listings changed later than the rest (as an edit would).
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::days(2);
    let changed: Vec<String> = all[..2].iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    diesel::update(services::table.filter(services::id.eq_any(&changed)))
        .set(services::updated_at.eq(later))
        .execute(&mut app.db())
        .unwrap();
    let since = (later - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let found = every_service(&app, &format!("modified_after={since}"));
    let mut found_ids: Vec<String> = found.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    found_ids.sort();
    let mut expected = changed.clone();
    expected.sort();
    assert_eq!(found_ids, expected, "only what changed on or after {since}");
    for service in &found {
        assert_valid(&schemas.service_list, service, "a modified_after item");
    }
    // "On or after": the exact moment counts; a date means its midnight; an offset is honoured.
    let exact = later.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    assert_eq!(every_service(&app, &format!("modified_after={exact}")).len(), 2, "on the moment itself");
    let same_instant = (later - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S+01:00").to_string();
    assert_eq!(every_service(&app, &format!("modified_after={}", same_instant.replace('+', "%2B"))).len(), 2);
    assert_eq!(every_service(&app, "modified_after=2000-01-01").len(), all.len(), "everything since 2000");
    let midnight = later.date().format("%Y-%m-%d").to_string();
    for service in every_service(&app, &format!("modified_after={midnight}")) {
        assert!(modified(&service).date() >= later.date());
    }
    assert!(every_service(&app, "modified_after=2999-01-01T00:00:00Z").is_empty());

    // organization_id: exactly the services the organisation runs, any case.
    let org = all[0]["organization_id"].as_str().unwrap().to_string();
    let runs = all.iter().filter(|s| s["organization_id"] == org.as_str()).count();
    let by_org = every_service(&app, &format!("organization_id={}", org.to_uppercase()));
    assert_eq!(by_org.len(), runs);
    assert!(by_org.iter().all(|s| s["organization_id"] == org.as_str() && s["organization"]["id"] == org.as_str()));
    // Both filters together, and an organisation that runs nothing here.
    let both = every_service(&app, &format!("organization_id={org}&modified_after={since}"));
    assert!(both
        .iter()
        .all(|s| s["organization_id"] == org.as_str() && changed.contains(&s["id"].as_str().unwrap().to_string())));
    assert!(every_service(&app, "organization_id=6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f").is_empty());
    // The filters apply where services are listed by place too.
    let sals = get_json(&app, &format!("/oruk/service_at_locations?per_page=100&organization_id={org}"));
    for sal in sals["contents"].as_array().unwrap() {
        assert_eq!(sal["service"]["organization_id"], org.as_str());
    }
}

#[test]
fn bad_modified_after_or_organization_id_is_a_clear_422() {
    let app = spawn_app();
    for (query, field) in [
        ("modified_after=yesterday", "modified_after"),
        ("modified_after=2026-02-30", "modified_after"),
        ("modified_after=2026-01-31T25:00:00Z", "modified_after"),
        ("modified_after=31%2F01%2F2026", "modified_after"),
        ("modified_after=1706691600", "modified_after"),
        ("modified_after=%00", "modified_after"),
        ("organization_id=42", "organization_id"),
        ("organization_id=%27%20OR%201%3D1", "organization_id"),
        ("organization_id=6f1c3e52-2b7a-4f0e-9c1d", "organization_id"),
    ] {
        for list in ["/oruk/services", "/oruk/service_at_locations"] {
            let path = format!("{list}?{query}");
            let body = assert_error(&app.get(&path), 422, Some(field));
            assert_eq!(body["error"]["code"], "validation_failed", "{path}");
            assert!(!body["error"]["fields"][field].as_str().unwrap().is_empty(), "{path} says what is expected");
        }
    }
    // A very long value is refused the same way, without echoing it back.
    let long = "9".repeat(5_000);
    let answer = app.get(&format!("/oruk/services?modified_after={long}"));
    assert_error(&answer, 422, Some("modified_after"));
    assert!(!answer.body.contains(&long));
    // An empty value means "not given", as for the other parameters.
    assert_eq!(app.get("/oruk/services?modified_after=&organization_id=").status, 200);
}
