//! Service areas (issue 19, item 3): a listing offered in postcode districts, a county, online
//! or by home visits within N km, with or without a venue, comes in through ORUK
//! `service_areas`; a search from a place its area covers includes it, labelled ("covers GL5")
//! and without a distance; a search from elsewhere does not; the listing page says where it is
//! offered; `/oruk` gives the areas back; and areas that cannot be searched by are named.

use std::time::{Duration, Instant};

use backend::interop::oruk::import::{self, DEFAULT_MAX_BYTES};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const ORG: &str = "0b6f7e0a-3f57-4b47-9d0e-7d5b1c6a2e71";

fn listing(id: &str, name: &str, word: &str, areas: &[&str], venue: Option<(f64, f64)>) -> Value {
    let mut record = json!({
        "id": id,
        "name": name,
        "description": format!("Friendly {word} for anyone who would like company."),
        "status": "active",
        "assured_date": chrono::Utc::now().date_naive().to_string(),
        "organization": {"id": ORG, "name": "Valley Areas Trust", "description": "Test trust"},
        "service_areas": areas.iter().enumerate().map(|(i, a)| json!({"id": format!("{id}-area-{i}"), "name": a})).collect::<Vec<_>>(),
    });
    if let Some((lat, lon)) = venue {
        record["service_at_locations"] = json!([{"id": format!("{id}-sal"), "location": {
            "id": format!("{id}-loc"), "location_type": "physical", "name": "Hall", "latitude": lat, "longitude": lon}}]);
    }
    record
}

fn import_all(app: &TestApp, records: Vec<Value>) -> import::ImportSummary {
    let mut conn = app.db();
    let actor = import::importer(&mut conn, "admin@demo.example.org").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("areas.json");
    std::fs::write(&path, serde_json::to_string(&records).unwrap()).unwrap();
    import::import_file(&mut conn, &actor, &path, DEFAULT_MAX_BYTES).unwrap()
}

fn search(app: &TestApp, query: &str) -> Value {
    let answer = app.get(&format!("/api/v1/services?{query}"));
    assert_eq!(answer.status, 200, "{query}: {}", answer.body);
    answer.json()
}

/// (name, covers, distance) of each result.
fn found(body: &Value) -> Vec<(String, Option<String>, Option<f64>)> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["covers"].as_str().map(str::to_string),
                r["distance_km"].as_f64(),
            )
        })
        .collect()
}

fn wait_until_searchable(app: &TestApp, query: &str, expected: usize) {
    let started = Instant::now();
    while search(app, query)["total"].as_u64().unwrap() < expected as u64 {
        assert!(started.elapsed() < Duration::from_secs(10), "the index did not follow the import");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_search_includes_listings_whose_area_covers_the_place() {
    let app = spawn_app();
    let summary = import_all(
        &app,
        vec![
            listing("areas-1", "Zephyr Phone Friends", "zephyrcalls", &["GL5, GL6"], None),
            listing("areas-2", "Zephyr Home Visitors", "zephyrcalls", &["home visits within 5 km of GL5 1HE"], None),
            listing("areas-3", "Zephyr County Advice", "zephyrcalls", &["Gloucestershire"], None),
            listing("areas-4", "Zephyr Online Circle", "zephyrcalls", &["online"], None),
            // A venue in Stroud and an area elsewhere: found by its venue near Stroud, by its
            // area in Gloucester.
            listing("areas-5", "Zephyr Hall Group", "zephyrcalls", &["GL1"], Some((51.7446, -2.2155))),
        ],
    );
    assert_eq!(summary.created(), 5, "{:?}", summary.records);
    for record in &summary.records {
        assert!(!record.warnings.iter().any(|w| w.contains("service_areas")), "{:?}", record.warnings);
    }
    wait_until_searchable(&app, "q=zephyrcalls", 5);

    // From Stroud (GL5 1HE): all five; the four by area labelled, without a distance; the hall
    // by its venue, with one.
    let body = search(&app, "q=zephyrcalls&near=GL5+1HE");
    assert_eq!(body["total"], 5, "{body}");
    let results = found(&body);
    let by =
        |name: &str| results.iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("{name} in {results:?}")).clone();
    assert_eq!(by("Zephyr Phone Friends").1.as_deref(), Some("covers GL5"));
    assert_eq!(by("Zephyr Home Visitors").1.as_deref(), Some("home visits within 5 km"));
    assert_eq!(by("Zephyr County Advice").1.as_deref(), Some("covers Gloucestershire"));
    assert_eq!(by("Zephyr Online Circle").1.as_deref(), Some("online"));
    for name in ["Zephyr Phone Friends", "Zephyr Home Visitors", "Zephyr County Advice", "Zephyr Online Circle"] {
        assert_eq!(by(name).2, None, "{name} is ranked without a distance");
    }
    let hall = by("Zephyr Hall Group");
    assert!(hall.1.is_none() && hall.2.is_some(), "found by its venue: {hall:?}");
    // Offered everywhere ranks after an equally fitting local listing.
    let position = |name: &str| results.iter().position(|r| r.0 == name).unwrap();
    assert!(position("Zephyr Online Circle") > position("Zephyr Phone Friends"), "{results:?}");

    // From Stroud by name (no postcode): the district is the nearest postcode's.
    let body = search(&app, "q=zephyrcalls&near=Stroud");
    assert_eq!(by_name(&body, "Zephyr Phone Friends").as_deref(), Some("covers GL5"), "{body}");

    // From Gloucester (GL1 1AD, about 14 km): not GL5, not within 5 km; the county, online, and
    // the hall's own area.
    let body = search(&app, "q=zephyrcalls&near=GL1+1AD&radius_km=5");
    let names: Vec<String> = found(&body).into_iter().map(|r| r.0).collect();
    assert!(
        !names.contains(&"Zephyr Phone Friends".to_string()) && !names.contains(&"Zephyr Home Visitors".to_string()),
        "{names:?}"
    );
    assert_eq!(by_name(&body, "Zephyr Hall Group").as_deref(), Some("covers GL1"));
    assert_eq!(by_name(&body, "Zephyr County Advice").as_deref(), Some("covers Gloucestershire"));

    // From Oxford: only the online one.
    let body = search(&app, "q=zephyrcalls&near=Oxford");
    let results = found(&body);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0].1.as_deref(), Some("online"));

    // Without a place, areas do not matter: all five, none labelled.
    let body = search(&app, "q=zephyrcalls");
    assert_eq!(body["total"], 5);
    assert!(found(&body).iter().all(|r| r.1.is_none()));

    // Pages add up: one a page gives the same listings as one page of all.
    let all: Vec<String> =
        found(&search(&app, "q=zephyrcalls&near=GL5+1HE&per_page=100")).into_iter().map(|r| r.0).collect();
    let mut paged = Vec::new();
    for page in 1..=5 {
        let body = search(&app, &format!("q=zephyrcalls&near=GL5+1HE&per_page=1&page={page}"));
        assert_eq!(body["total"], 5);
        paged.extend(found(&body).into_iter().map(|r| r.0));
    }
    assert_eq!(paged, all);
    // Sorted by distance: those with a distance first, the covering ones after.
    let body = search(&app, "q=zephyrcalls&near=GL5+1HE&sort=distance");
    let results = found(&body);
    assert_eq!(results[0].0, "Zephyr Hall Group");
    assert!(results[1..].iter().all(|r| r.1.is_some()));

    // The search page says it too.
    let page = app.get("/?q=zephyrcalls&near=GL5+1HE");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("covers GL5"), "the results page labels the covering listing");
}

fn by_name(body: &Value, name: &str) -> Option<String> {
    found(body).into_iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("{name} in {body}")).1
}

#[test]
fn the_listing_page_and_oruk_say_where_a_listing_is_offered() {
    let app = spawn_app();
    let summary = import_all(
        &app,
        vec![listing(
            "areas-6",
            "Quillon Helpers",
            "quillonhelp",
            &["GL5, GL6", "home visits within 10 km"],
            Some((51.7446, -2.2155)),
        )],
    );
    assert_eq!(summary.created(), 1, "{:?}", summary.records);
    let id = summary.records[0].id.clone().unwrap();
    let page = app.get(&format!("/services/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Offered also in:"), "{}", page.body);
    assert!(page.body.contains("GL5; GL6; Home visits within 10 km of"), "{}", page.body);
    let api = app.get(&format!("/api/v1/services/{id}")).json();
    let kinds: Vec<&str> =
        api["service_areas"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["postcode_district", "postcode_district", "home_visits"]);
    let oruk = app.get(&format!("/oruk/services/{id}")).json();
    let names: Vec<&str> =
        oruk["service_areas"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["GL5, GL6", "home visits within 10 km"]);
    // Importing the same again changes nothing; dropping the areas removes them.
    assert_eq!(
        import_all(
            &app,
            vec![listing(
                "areas-6",
                "Quillon Helpers",
                "quillonhelp",
                &["GL5, GL6", "home visits within 10 km"],
                Some((51.7446, -2.2155))
            )]
        )
        .unchanged(),
        1
    );
    let summary =
        import_all(&app, vec![listing("areas-6", "Quillon Helpers", "quillonhelp", &[], Some((51.7446, -2.2155)))]);
    assert_eq!(summary.updated(), 1);
    let api = app.get(&format!("/api/v1/services/{id}")).json();
    assert_eq!(api["service_areas"], json!([]));
    assert!(!app.get(&format!("/services/{id}")).body.contains("Offered also in"));
}

#[test]
fn areas_a_search_cannot_use_are_named_and_kept_as_written() {
    let app = spawn_app();
    let bad = [
        "home visits within 0 km of GL5 1HE",
        "home visits within 500 km of GL5 1HE",
        "home visits within 5 km of ZZ99 9ZZ",
        "home visits within 5 km",
        "home visits within lots",
        "the moon",
        "GL5 1HE",
        "GL5, the moon",
        "Atlantis county",
    ];
    let summary = import_all(&app, vec![listing("areas-7", "Mirelle Talks", "mirelletalk", &bad, None)]);
    assert_eq!(summary.created(), 1, "{:?}", summary.records);
    let warnings = summary.records[0].warnings.join("\n");
    for (i, line) in bad.iter().enumerate() {
        assert!(
            warnings.contains(&format!("service_areas[{i}]: ")),
            "service_areas[{i}] ({line}) named in:\n{warnings}"
        );
    }
    assert!(warnings.contains("at most 100 km"), "{warnings}");
    wait_until_searchable(&app, "q=mirelletalk", 1);
    // Nothing searchable: a search from Stroud does not include it.
    assert_eq!(search(&app, "q=mirelletalk&near=GL5+1HE")["total"], 0);
    // Each is still published as it came.
    let id = summary.records[0].id.clone().unwrap();
    let oruk = app.get(&format!("/oruk/services/{id}")).json();
    assert_eq!(oruk["service_areas"].as_array().unwrap().len(), bad.len());
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["service_areas"], json!([]));
}

#[test]
fn a_group_sets_where_else_its_listing_is_offered() {
    use crate::helpers::{assert_error, DEMO_PASSWORD};
    let app = spawn_app();
    let editor = app.login("garden.editor@demo.example.org", DEMO_PASSWORD);
    let id = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let version = |app: &TestApp| app.get(&format!("/api/v1/services/{id}")).json()["version"].as_i64().unwrap();
    let put =
        |body: Value| app.call("PUT", &format!("/api/v1/services/{id}/areas"), Some(&editor), Some(&body.to_string()));

    // Bad lines are refused by position, nothing saved.
    let v = version(&app);
    for (lines, field) in [
        (json!(["GL5", "the moon"]), "areas[1]"),
        (json!(["home visits within 0 km of GL5 1HE"]), "areas[0]"),
        (json!(["home visits within 5 km of ZZ99 9ZZ"]), "areas[0]"),
        (json!(["x".repeat(201)]), "areas[0]"),
        (json!(vec!["GL5"; 11]), "areas"),
    ] {
        assert_error(&put(json!({"version": v, "areas": lines})), 422, Some(field));
    }
    assert_error(&put(json!({"version": v, "areas": ["GL5"], "extra": 1})), 400, None);
    assert_error(&put(json!({"version": v, "areas": ["GL5\u{0}"]})), 422, None);
    assert_eq!(version(&app), v, "nothing saved");

    // Saved, versioned, searchable from Gloucester (GL1), where its venue is out of reach.
    let saved = put(json!({"version": v, "areas": ["GL1", "home visits within 3 km"]}));
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["version"], v + 1);
    let listing = app.get(&format!("/api/v1/services/{id}")).json();
    let labels: Vec<&str> =
        listing["service_areas"].as_array().unwrap().iter().map(|a| a["label"].as_str().unwrap()).collect();
    assert_eq!(labels[0], "GL1");
    assert!(labels[1].starts_with("Home visits within 3 km of "), "{labels:?}");
    let started = Instant::now();
    loop {
        let body = search(&app, "q=gardening&near=GL1+1AD&radius_km=3&per_page=100");
        if let Some(r) = body["results"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()) {
            assert_eq!(r["covers"], "covers GL1");
            assert!(r["distance_km"].is_null());
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "search did not follow the edit");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stale is refused; the same areas again change nothing.
    assert_error(&put(json!({"version": v, "areas": ["GL5"]})), 409, None);
    assert_eq!(put(json!({"version": v + 1, "areas": ["GL1", "home visits within 3 km"]})).json()["version"], v + 1);

    // The page form: what is saved is shown; a refused line comes back as typed (422).
    let mut browser = app.browser();
    browser.sign_in("garden.editor@demo.example.org", DEMO_PASSWORD);
    let page = browser.get("/my/listings");
    assert!(page.body.contains(&format!("action=\"/my/listings/{id}/areas\"")), "the form is there");
    let csrf = browser.csrf();
    let refused = browser.post(
        &format!("/my/listings/{id}/areas"),
        &[("csrf", &csrf), ("version", &(v + 1).to_string()), ("areas", "GL5\nthe moon")],
    );
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("GL5\nthe moon"), "typed lines kept");
    let ok = browser.post(
        &format!("/my/listings/{id}/areas"),
        &[("csrf", &csrf), ("version", &(v + 1).to_string()), ("areas", "GL5\r\nonline\r\n")],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    let labels: Vec<String> = app.get(&format!("/api/v1/services/{id}")).json()["service_areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["GL5", "Online"]);
    // Published in ORUK too, where another directory's import reads them back.
    let oruk = app.get(&format!("/oruk/services/{id}")).json();
    let names: Vec<&str> =
        oruk["service_areas"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["GL5", "Online"]);
    let history = app.call("GET", &format!("/api/v1/services/{id}/history"), Some(&editor), None);
    assert!(history.body.contains("service_areas"), "the history says the areas changed: {}", history.body);
}
