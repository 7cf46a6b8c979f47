//! The Open Referral UK 3.0 API (`/oruk`): every answer validates against the profile's JSON
//! Schemas (copied in `tests/schemas/oruk/`, CC BY-SA 4.0), the filters do what the profile
//! says, only public listings are published, masked addresses stay masked, and bad input is a
//! 4xx in the house error shape.

use std::path::PathBuf;

use diesel::prelude::*;
use serde_json::Value;

use crate::helpers::{assert_error, spawn_app, TestApp};

/// The profile's schemas, compiled once per test.
pub struct Schemas {
    pub service: jsonschema::Validator,
    pub service_list: jsonschema::Validator,
    service_at_location: jsonschema::Validator,
    service_at_location_list: jsonschema::Validator,
    taxonomy: jsonschema::Validator,
    taxonomy_term: jsonschema::Validator,
    phone: jsonschema::Validator,
}

fn schema_file(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/oruk").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    // Formats (uuid, uri, email, date-time) are checked too: the profile's ids must be UUIDs.
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .expect("the profile's schema compiles")
}

impl Schemas {
    /// Loads and compiles the schemas.
    pub fn load() -> Self {
        let term = schema_file("taxonomy_term.json");
        let mut taxonomy = schema_file("taxonomy.json");
        // taxonomy.json refers to taxonomy_term.json by a relative name: resolve it here.
        taxonomy["properties"]["taxonomy_terms"]["items"] = term.clone();
        let mut phone = schema_file("phone.json");
        phone["properties"]["languages"]["items"] = schema_file("language.json");
        Schemas {
            service: validator(&schema_file("service.json")),
            service_list: validator(&schema_file("service_list.json")),
            service_at_location: validator(&schema_file("service_at_location.json")),
            service_at_location_list: validator(&schema_file("service_at_location_list.json")),
            taxonomy: validator(&taxonomy),
            taxonomy_term: validator(&term),
            phone: validator(&phone),
        }
    }
}

/// Fails with every schema error, naming where.
pub fn assert_valid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path)).take(10).collect();
    assert!(errors.is_empty(), "{what} does not validate against the ORUK schema:\n{}\n{value:#}", errors.join("\n"));
}

/// Asserts the profile's page shape and its arithmetic; returns the contents.
pub fn assert_page(body: &Value, page: u64, per_page: u64) -> Vec<Value> {
    for field in ["total_items", "total_pages", "page_number", "size"] {
        assert!(body[field].is_u64(), "{field} in {body}");
    }
    for field in ["first_page", "last_page", "empty"] {
        assert!(body[field].is_boolean(), "{field} in {body}");
    }
    let contents = body["contents"].as_array().unwrap_or_else(|| panic!("contents in {body}")).clone();
    let total = body["total_items"].as_u64().unwrap();
    assert_eq!(body["page_number"], page);
    assert_eq!(body["size"].as_u64().unwrap(), contents.len() as u64);
    assert_eq!(body["total_pages"].as_u64().unwrap(), total.div_ceil(per_page));
    assert_eq!(body["first_page"], page == 1);
    assert_eq!(body["last_page"], page >= total.div_ceil(per_page));
    assert_eq!(body["empty"], contents.is_empty());
    let expected = total.saturating_sub((page - 1) * per_page).min(per_page);
    assert_eq!(contents.len() as u64, expected, "{body}");
    contents
}

fn get_json(app: &TestApp, path: &str) -> Value {
    let answer = app.get(path);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    assert!(answer.content_type.starts_with("application/json"), "{path}: {}", answer.content_type);
    answer.json()
}

/// Every public service id, through the paged list.
pub fn all_service_ids(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let body = get_json(app, &format!("/oruk/services?per_page=100&page={page}"));
        let contents = assert_page(&body, page, 100);
        ids.extend(contents.iter().map(|s| s["id"].as_str().unwrap().to_string()));
        if body["last_page"] == true {
            return ids;
        }
        page += 1;
    }
}

fn check_service_full(schemas: &Schemas, service: &Value) {
    assert_valid(&schemas.service, service, &format!("service {}", service["id"]));
    for phone in service["phones"].as_array().into_iter().flatten() {
        assert_valid(&schemas.phone, phone, "a service's phone");
    }
    for contact in service["contacts"].as_array().into_iter().flatten() {
        for phone in contact["phones"].as_array().into_iter().flatten() {
            assert_valid(&schemas.phone, phone, "a contact's phone");
        }
    }
}

#[test]
fn every_oruk_answer_validates_against_the_profile_schemas() {
    let app = spawn_app();
    let schemas = Schemas::load();

    let info = get_json(&app, "/oruk/");
    assert_eq!(info["version"], "3.0");
    assert!(info["openapi_url"].as_str().unwrap().starts_with("https://"));

    // Services: the list, a later page, and each service in full.
    let ids = all_service_ids(&app);
    assert!(ids.len() > 100, "the seeded directory publishes its services ({})", ids.len());
    let body = get_json(&app, "/oruk/services");
    for service in assert_page(&body, 1, 50) {
        assert_valid(&schemas.service_list, &service, "a /services item");
        assert!(service.get("schedules").is_none(), "list items have one-to-one fields only");
    }
    let body = get_json(&app, "/oruk/services?page=2&per_page=7");
    for service in assert_page(&body, 2, 7) {
        assert_valid(&schemas.service_list, &service, "a /services item");
    }
    let mut with_sessions = 0;
    let mut with_locations = 0;
    for id in &ids {
        let service = get_json(&app, &format!("/oruk/services/{id}"));
        check_service_full(&schemas, &service);
        assert_eq!(service["id"], id.as_str());
        // An empty list is left out, never sent as `[]`.
        with_sessions += usize::from(!service["schedules"].as_array().is_none_or(Vec::is_empty));
        with_locations += usize::from(!service["service_at_locations"].as_array().is_none_or(Vec::is_empty));
    }
    assert!(with_sessions > 0 && with_locations > 0, "sessions {with_sessions}, locations {with_locations}");

    // Filtered variants validate too (and find something).
    let terms = get_json(&app, "/oruk/taxonomy_terms?per_page=100");
    let gardening = assert_page(&terms, 1, 100)
        .into_iter()
        .find(|t| t["term"] == "gardening")
        .expect("the gardening category is published");
    let category_taxonomy = gardening["taxonomy_id"].as_str().unwrap().to_string();
    for query in [
        "search=garden".to_string(),
        format!("taxonomy_term_id={}", gardening["id"].as_str().unwrap()),
        format!("taxonomy_id={category_taxonomy}"),
        "day=TU".into(),
        "day=tuesday&start_time=09:00&end_time=17:00:00".into(),
        "minimum_age=18".into(),
        "maximum_age=120".into(),
    ] {
        let body = get_json(&app, &format!("/oruk/services?{query}"));
        let contents = assert_page(&body, 1, 50);
        assert!(!contents.is_empty(), "{query} finds something");
        for service in contents {
            assert_valid(&schemas.service_list, &service, &format!("a /services?{query} item"));
        }
    }

    // Service at locations: the list, near a postcode, and each of a page in full.
    let body = get_json(&app, "/oruk/service_at_locations?per_page=100");
    let sals = assert_page(&body, 1, 100);
    assert!(!sals.is_empty());
    for sal in &sals {
        assert_valid(&schemas.service_at_location_list, sal, "a /service_at_locations item");
    }
    for sal in sals.iter().take(30) {
        let full = get_json(&app, &format!("/oruk/service_at_locations/{}", sal["id"].as_str().unwrap()));
        assert_valid(&schemas.service_at_location, &full, "a service at location");
    }
    let body = get_json(&app, "/oruk/service_at_locations?postcode=GL5%201HE&proximity=10000&search=group");
    let near = assert_page(&body, 1, 50);
    assert!(!near.is_empty());
    for sal in &near {
        assert_valid(&schemas.service_at_location_list, sal, "a nearby service at location");
    }

    // Taxonomies and terms.
    let body = get_json(&app, "/oruk/taxonomies");
    let taxonomies = assert_page(&body, 1, 50);
    assert_eq!(taxonomies.len(), 3, "categories, audiences, accessibility features");
    for taxonomy in &taxonomies {
        assert_valid(&schemas.taxonomy, taxonomy, "a /taxonomies item");
        let full = get_json(&app, &format!("/oruk/taxonomies/{}", taxonomy["id"].as_str().unwrap()));
        assert_valid(&schemas.taxonomy, &full, "a taxonomy");
        assert!(!full["taxonomy_terms"].as_array().unwrap().is_empty());
    }
    let mut page = 1;
    loop {
        let body = get_json(&app, &format!("/oruk/taxonomy_terms?page={page}&per_page=40"));
        for term in assert_page(&body, page, 40) {
            assert_valid(&schemas.taxonomy_term, &term, "a /taxonomy_terms item");
            let one = get_json(&app, &format!("/oruk/taxonomy_terms/{}", term["id"].as_str().unwrap()));
            assert_valid(&schemas.taxonomy_term, &one, "a taxonomy term");
            assert_eq!(one, term);
        }
        if body["last_page"] == true {
            break;
        }
        page += 1;
    }
}

#[test]
fn oruk_schema_checks_catch_a_missing_required_field() {
    // The validation above is not vacuous: a service without its status fails it.
    let app = spawn_app();
    let schemas = Schemas::load();
    let id = all_service_ids(&app).remove(0);
    let mut service = get_json(&app, &format!("/oruk/services/{id}"));
    assert!(schemas.service.is_valid(&service));
    service.as_object_mut().unwrap().remove("status");
    assert!(!schemas.service.is_valid(&service), "a service without status must fail");
    let mut term = get_json(&app, "/oruk/taxonomy_terms?per_page=1")["contents"][0].clone();
    term["id"] = Value::from("not-a-uuid");
    assert!(!schemas.taxonomy_term.is_valid(&term), "ids are UUIDs");
}

#[test]
fn oruk_filters_do_what_the_profile_says() {
    let app = spawn_app();
    let all = get_json(&app, "/oruk/services?per_page=1")["total_items"].as_u64().unwrap();

    // A term: only services carrying it.
    let terms = get_json(&app, "/oruk/taxonomy_terms?per_page=100");
    let gardening = terms["contents"].as_array().unwrap().iter().find(|t| t["term"] == "gardening").unwrap().clone();
    let term_id = gardening["id"].as_str().unwrap();
    let body = get_json(&app, &format!("/oruk/services?taxonomy_term_id={term_id}&per_page=100"));
    let found = body["total_items"].as_u64().unwrap();
    assert!(found > 0 && found < all, "{found} of {all}");
    for service in body["contents"].as_array().unwrap() {
        let full = get_json(&app, &format!("/oruk/services/{}", service["id"].as_str().unwrap()));
        assert!(
            full["attributes"].as_array().unwrap().iter().any(|a| a["taxonomy_term_id"] == term_id),
            "{} lacks the term",
            service["name"]
        );
    }

    // Ages: as the profile words them (minimum age at least, maximum age at most).
    for service in get_json(&app, "/oruk/services?minimum_age=18&per_page=100")["contents"].as_array().unwrap() {
        assert!(service["minimum_age"].as_i64().unwrap() >= 18, "{service}");
    }
    for service in get_json(&app, "/oruk/services?maximum_age=25&per_page=100")["contents"].as_array().unwrap() {
        assert!(service["maximum_age"].as_i64().unwrap() <= 25, "{service}");
    }

    // Day and times: one session on that day within the times.
    let body = get_json(&app, "/oruk/services?day=TU&start_time=10:00&end_time=13:00&per_page=100");
    assert!(body["total_items"].as_u64().unwrap() > 0);
    for service in body["contents"].as_array().unwrap() {
        let full = get_json(&app, &format!("/oruk/services/{}", service["id"].as_str().unwrap()));
        let fits = full["schedules"].as_array().unwrap().iter().any(|s| {
            s["byday"].as_str().unwrap().contains("TU")
                && s["opens_at"].as_str().unwrap() >= "10:00:00"
                && s["closes_at"].as_str().unwrap() <= "13:00:00"
        });
        assert!(fits, "{} has no Tuesday session between 10 and 13", service["name"]);
    }

    // Search: fewer than all, and a word that is nowhere finds nothing (an empty page, not an error).
    let body = get_json(&app, "/oruk/services?search=GARDEN");
    let garden = body["total_items"].as_u64().unwrap();
    assert!(garden > 0 && garden < all);
    let body = get_json(&app, "/oruk/services?search=zzqqxx");
    assert_eq!(body["total_items"], 0);
    assert_eq!(body["empty"], true);
    assert_eq!(body["total_pages"], 0);

    // Paging: the pages add up, with no service twice; beyond the last page is empty.
    let mut seen = std::collections::BTreeSet::new();
    for page in 1..=all.div_ceil(40) {
        let body = get_json(&app, &format!("/oruk/services?per_page=40&page={page}"));
        assert_eq!(body["total_items"], all);
        for s in assert_page(&body, page, 40) {
            assert!(seen.insert(s["id"].as_str().unwrap().to_string()), "{} twice", s["id"]);
        }
    }
    assert_eq!(seen.len() as u64, all);
    let beyond = get_json(&app, &format!("/oruk/services?per_page=40&page={}", all.div_ceil(40) + 1));
    assert_eq!(beyond["empty"], true);
    assert_eq!(beyond["last_page"], true);

    // Near a postcode: nearest first, within the proximity (metres).
    let body = get_json(&app, "/oruk/service_at_locations?postcode=GL5+1HE&proximity=5000&per_page=100");
    let near = body["contents"].as_array().unwrap();
    assert!(!near.is_empty());
    let origin = get_json(&app, "/api/v1/geocode?q=GL5+1HE");
    let (lat0, lon0) = (origin["lat"].as_f64().unwrap(), origin["lon"].as_f64().unwrap());
    let mut last = 0.0;
    for sal in near {
        let (lat, lon) =
            (sal["location"]["latitude"].as_f64().unwrap(), sal["location"]["longitude"].as_f64().unwrap());
        let d = haversine_m(lat0, lon0, lat, lon);
        assert!(d <= 5000.0 + 50.0, "{} is {d:.0} m away", sal["location"]["name"]);
        assert!(d + 50.0 >= last, "not nearest first");
        last = d;
        assert!(sal["service"]["id"].is_string());
    }
    let wider = get_json(&app, "/oruk/service_at_locations?postcode=GL5+1HE&proximity=50000&per_page=1");
    assert!(wider["total_items"].as_u64().unwrap() > body["total_items"].as_u64().unwrap());
}

fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * a.sqrt().asin()
}

#[test]
fn oruk_publishes_only_public_listings_and_never_a_masked_address() {
    use backend::db::schema::{locations, service_at_locations, services};
    let app = spawn_app();
    let ids = all_service_ids(&app);
    let mut conn = app.db();

    // A listing pending approval, and one unverified for over a year, are not published.
    let (pending, stale) = (ids[0].clone(), ids[1].clone());
    diesel::update(services::table.find(&pending)).set(services::approval.eq("pending")).execute(&mut conn).unwrap();
    let old = chrono::Utc::now().naive_utc() - chrono::Duration::days(400);
    diesel::update(services::table.find(&stale)).set(services::last_verified.eq(old)).execute(&mut conn).unwrap();
    for id in [&pending, &stale] {
        assert_error(&app.get(&format!("/oruk/services/{id}")), 404, None);
    }
    let now = all_service_ids(&app);
    assert_eq!(now.len(), ids.len() - 2);
    assert!(!now.contains(&pending) && !now.contains(&stale));

    // A masked venue: no street address, no full postcode, coordinates rounded.
    let (sal_id, address, postcode): (String, String, Option<String>) = service_at_locations::table
        .inner_join(locations::table)
        .filter(locations::masked.eq(true))
        .filter(service_at_locations::service_id.eq_any(&now))
        .select((service_at_locations::id, locations::address_1, locations::postcode))
        .first(&mut conn)
        .expect("the seed has a masked venue");
    let answer = app.get(&format!("/oruk/service_at_locations/{sal_id}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!answer.body.contains(&address), "the masked address leaked: {}", answer.body);
    if let Some(postcode) = postcode {
        assert!(!answer.body.contains(&postcode), "the full postcode leaked");
    }
    let body = answer.json();
    assert!(body["location"].get("addresses").is_none(), "no address, so no `addresses`");
    assert!(body["location"]["name"].as_str().unwrap().contains("address given on request"));
    let lat = body["location"]["latitude"].as_f64().unwrap();
    assert!(((lat * 100.0).round() / 100.0 - lat).abs() < 1e-9, "rounded to 0.01°");
    let service = get_json(&app, &format!("/oruk/services/{}", body["service_id"].as_str().unwrap()));
    assert!(!service.to_string().contains(&address), "the masked address leaked through the service");
}

#[test]
fn oruk_bad_input_is_a_clear_4xx() {
    let app = spawn_app();
    for (path, field) in [
        ("/oruk/services?per_page=0", "per_page"),
        ("/oruk/services?per_page=10000", "per_page"),
        ("/oruk/services?page=-1", "page"),
        ("/oruk/services?page=abc", "page"),
        ("/oruk/taxonomies?per_page=0", "per_page"),
        ("/oruk/taxonomy_terms?page=abc", "page"),
        ("/oruk/services?taxonomy_term_id=6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f", "taxonomy_term_id"),
        ("/oruk/services?taxonomy_term_id=gardening", "taxonomy_term_id"),
        ("/oruk/services?taxonomy_id=6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f", "taxonomy_id"),
        ("/oruk/services?minimum_age=abc", "minimum_age"),
        ("/oruk/services?maximum_age=-3", "maximum_age"),
        ("/oruk/services?day=funday", "day"),
        ("/oruk/services?start_time=25:00", "start_time"),
        ("/oruk/service_at_locations?postcode=NOT+A+POSTCODE", "postcode"),
        ("/oruk/service_at_locations?postcode=GL5+1HE&proximity=far", "proximity"),
        ("/oruk/service_at_locations?proximity=1000", "proximity"),
        ("/oruk/service_at_locations?postcode=ZZ99+9ZZ", "postcode"),
    ] {
        let answer = app.get(path);
        let body = assert_error(&answer, 422, Some(field));
        assert_eq!(body["error"]["code"], "validation_failed", "{path}");
    }
    let per_page = assert_error(&app.get("/oruk/services?per_page=10000"), 422, Some("per_page"));
    assert!(per_page["error"]["fields"]["per_page"].as_str().unwrap().contains("100"), "the maximum is said");

    for path in [
        "/oruk/services/6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f",
        "/oruk/service_at_locations/6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f",
        "/oruk/taxonomies/6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f",
        "/oruk/taxonomy_terms/6f1c3e52-2b7a-4f0e-9c1d-2a3b4c5d6e7f",
    ] {
        assert_error(&app.get(path), 404, None);
    }
    for path in [
        "/oruk/services/not-a-uuid",
        "/oruk/service_at_locations/42",
        "/oruk/taxonomies/x",
        "/oruk/taxonomy_terms/%27%20OR%201=1",
    ] {
        assert_error(&app.get(path), 404, Some("id"));
    }
    assert_error(&app.get("/oruk/organizations"), 404, None);
    assert_error(&app.get("/oruk/services/"), 404, None);
}
