//! Imports that keep what they are given (issue 19, item 2): the profile's examples go through
//! `import-oruk` and come back out of `/oruk` with their fields, counted; the fields the
//! directory does not use itself (service areas, funding, accreditations, alert, assurer e-mail,
//! a schedule's dtstart, interval and attending type, a cost's dates, an organisation's logo,
//! uri, parent and identifiers) come back with their values; whatever does not come back is
//! named in a warning; and bad values in those fields are left out, named, never published.

use std::path::PathBuf;

use backend::db::schema::service_versions;
use backend::interop::oruk::import::{self, Outcome, DEFAULT_MAX_BYTES};
use backend::interop::oruk::kept::{dropped_fields, field_paths};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::oruk_api::{assert_valid, Schemas};

const EXAMPLE_ID: &str = "ac148810-d857-441c-9679-408f346de14b";

fn example(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/oruk").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The example as a directory would publish it today: its venue where a venue can be (the
/// example's own coordinates, 100 and 101, are off the globe) and confirmed today (so public).
fn publishable(mut service: Value) -> Value {
    service["assured_date"] = json!(chrono::Utc::now().date_naive().to_string());
    if let Some(location) = service.pointer_mut("/service_at_locations/0/location") {
        location["latitude"] = json!(51.7446);
        location["longitude"] = json!(-2.2178);
    }
    service
}

fn import_value(app: &TestApp, value: &Value) -> import::ImportSummary {
    let mut conn = app.db();
    let actor = import::importer(&mut conn, "admin@demo.example.org").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.json");
    std::fs::write(&path, serde_json::to_string(value).unwrap()).unwrap();
    import::import_file(&mut conn, &actor, &path, DEFAULT_MAX_BYTES).unwrap()
}

fn published(app: &TestApp, id: &str) -> Value {
    let answer = app.get(&format!("/oruk/services/{id}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// The value at a field path (`schedules[].dtstart`: the first item's).
fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(value, |v, part| match part.strip_suffix("[]") {
        Some(key) => &v[key][0],
        None => &v[part],
    })
}

/// The fields the issue names: each must come back with the value it went in with.
const KEPT: [&str; 25] = [
    "service_areas[].id",
    "service_areas[].name",
    "service_areas[].service_area",
    "service_areas[].extent",
    "service_areas[].extent_type",
    "service_areas[].uri",
    "funding[].id",
    "funding[].source",
    "accreditations",
    "alert",
    "assurer_email",
    "schedules[].dtstart",
    "schedules[].interval",
    "schedules[].attending_type",
    "schedules[].valid_from",
    "schedules[].valid_to",
    "cost_options[].valid_from",
    "cost_options[].valid_to",
    "organization.logo",
    "organization.uri",
    "organization.parent_organization_id",
    "organization.organization_identifiers[].id",
    "organization.organization_identifiers[].identifier_scheme",
    "organization.organization_identifiers[].identifier_type",
    "organization.organization_identifiers[].identifier",
];

/// What the directory does not hold, each named in the import's warning.
const NOT_KEPT: [&str; 23] = [
    "attributes[].id",
    "attributes[].link_type",
    "attributes[].taxonomy_term.description",
    "attributes[].taxonomy_term.id",
    "attributes[].taxonomy_term.name",
    "attributes[].taxonomy_term.parent_id",
    "attributes[].taxonomy_term.taxonomy",
    "attributes[].taxonomy_term.term",
    "attributes[].taxonomy_term.term_uri",
    "languages[].id",
    "schedules[].bymonthday",
    "schedules[].schedule_link",
    "service_at_locations[].location.accessibility[].accessibility",
    "service_at_locations[].location.accessibility[].description",
    "service_at_locations[].location.accessibility[].details",
    "service_at_locations[].location.accessibility[].id",
    "service_at_locations[].location.accessibility[].url",
    "service_at_locations[].location.addresses[].attention",
    "service_at_locations[].location.addresses[].region",
    "service_at_locations[].location.addresses[].state_province",
    "service_at_locations[].location.description",
    "service_at_locations[].location.external_identifier",
    "service_at_locations[].location.external_identifier_type",
];

#[test]
fn the_profile_examples_round_trip_with_their_fields_counted() {
    let app = spawn_app();
    let schemas = Schemas::load();
    let given = publishable(example("service_full.json"));
    let summary = import_value(&app, &given);
    assert_eq!(summary.created(), 1, "{:?}", summary.records);
    let warnings = summary.records[0].warnings.join("\n");
    let back = published(&app, EXAMPLE_ID);
    assert_valid(&schemas.service, &back, "the example, published back");

    let sent = field_paths(&given);
    let returned: Vec<&String> = sent.iter().filter(|p| field_paths(&back).contains(*p)).collect();
    let dropped = dropped_fields(&given, &back);
    eprintln!("service_full.json: {} of {} fields come back; {} not kept", returned.len(), sent.len(), dropped.len());
    assert_eq!(returned.len() + dropped.len(), sent.len());
    for field in KEPT {
        assert!(sent.contains(field), "the example has {field}");
        assert_eq!(at(&back, field), at(&given, field), "{field} comes back as it went in");
    }
    // The rest of what does not come back is exactly this, and the import said so by name.
    assert_eq!(dropped, NOT_KEPT, "fields not kept");
    let line = warnings.lines().find(|w| w.starts_with("not kept here")).expect("a warning names what is not kept");
    for field in NOT_KEPT {
        assert!(line.contains(field), "{field} named in: {line}");
    }
    assert_eq!(returned.len(), sent.len() - NOT_KEPT.len());
    assert_eq!((returned.len(), sent.len()), (67, 90), "fields that come back, of those sent");

    // A second import of the same file changes nothing, kept fields included.
    let again = import_value(&app, &given);
    assert_eq!((again.unchanged(), again.updated()), (1, 0), "{:?}", again.records);

    // The list example (one-to-one fields) comes back whole through /services.
    let mut list = example("service_list.json");
    list["contents"][0] = publishable(list["contents"][0].clone());
    let listed = import_value(&app, &list);
    assert_eq!(listed.skipped(), 0, "{:?}", listed.records);
    let page = app.get("/oruk/services?per_page=100&search=counselling").json();
    let item = page["contents"].as_array().unwrap().iter().find(|s| s["id"] == EXAMPLE_ID).unwrap().clone();
    assert_valid(&schemas.service_list, &item, "the list example, published back");
    let given_item = &list["contents"][0];
    let dropped = dropped_fields(given_item, &item);
    eprintln!("service_list.json: {} fields, {} not kept", field_paths(given_item).len(), dropped.len());
    assert!(dropped.is_empty(), "every field of the list example comes back: {dropped:?}");
}

#[test]
fn kept_fields_change_and_go_with_the_feed() {
    let app = spawn_app();
    let mut given = publishable(example("service_full.json"));
    assert_eq!(import_value(&app, &given).created(), 1);
    // The feed changes a funding source and drops its service areas and the logo.
    given["funding"][0]["source"] = json!("The county council");
    given.as_object_mut().unwrap().remove("service_areas");
    given["organization"].as_object_mut().unwrap().remove("logo");
    let summary = import_value(&app, &given);
    assert_eq!(summary.updated(), 1, "{:?}", summary.records);
    let back = published(&app, EXAMPLE_ID);
    assert_eq!(back["funding"][0]["source"], "The county council");
    assert!(back.get("service_areas").is_none());
    assert!(back["organization"].get("logo").is_none());
    assert_eq!(back["organization"]["uri"], "http://example.com");
    let changes: Vec<String> = service_versions::table
        .filter(service_versions::service_id.eq(EXAMPLE_ID))
        .order(service_versions::version.desc())
        .select(service_versions::changes)
        .load(&mut app.db())
        .unwrap();
    assert!(changes[0].contains("oruk_fields"), "the version history says the ORUK fields changed: {}", changes[0]);
}

#[test]
fn bad_values_in_kept_fields_are_left_out_by_name_and_never_published() {
    let app = spawn_app();
    let mut given = publishable(example("service_full.json"));
    given["assurer_email"] = json!("not an e-mail");
    given["alert"] = json!("x".repeat(2_001));
    given["funding"] = json!([{"id": "f-1"}, {"id": "f-2", "source": "Lottery"}]);
    given["service_areas"] = json!([
        {"id": "a-1", "name": "Stroud district", "extent_type": "shapefile", "uri": "javascript:alert(1)"},
        {"id": "a-2", "extent": "y".repeat(100_001)},
        {"id": "a-3", "name": "Cam\u{0}"}
    ]);
    given["schedules"][0]["dtstart"] = json!("2026-02-30");
    given["schedules"][0]["attending_type"] = json!(42);
    given["cost_options"][0]["valid_from"] = json!("2027-01-01");
    given["cost_options"][0]["valid_to"] = json!("2026-01-01");
    given["organization"]["logo"] = json!("file:///etc/passwd");
    given["organization"]["uri"] = json!("data:text/html,hi");
    given["organization"]["parent_organization_id"] = json!(given["organization"]["id"].clone());
    given["organization"]["organization_identifiers"] = json!([{"id": "i-1", "identifier_scheme": "GB-COH"}]);
    let summary = import_value(&app, &given);
    let record = &summary.records[0];
    assert!(matches!(record.outcome, Outcome::Created), "{record:?}");
    let warnings = record.warnings.join("\n");
    for field in [
        "assurer_email",
        "alert is over 2000 characters",
        "funding[0] has no source",
        "service_areas[0].extent_type",
        "service_areas[0].uri",
        "service_areas[1].extent is over 100000 characters",
        "schedules[0].dtstart",
        "cost_options[0].valid_to is before valid_from",
        "organization.logo",
        "organization.uri",
        "organization.organization_identifiers[0] needs an identifier",
        "service_areas[2].name holds control characters",
        "service_areas[2] says no area",
        "schedules[0].attending_type is not text",
    ] {
        assert!(warnings.contains(field), "{field} named in:\n{warnings}");
    }
    let back = published(&app, EXAMPLE_ID);
    assert_valid(&Schemas::load().service, &back, "the service with bad kept fields left out");
    let text = back.to_string();
    for leaked in ["not an e-mail", "javascript:", "file://", "data:text", "shapefile", "yyyyyyyyyy", "xxxxxxxxxx"] {
        assert!(!text.contains(leaked), "{leaked} was published");
    }
    assert_eq!(back["funding"].as_array().unwrap().len(), 1);
    assert_eq!(back["funding"][0]["source"], "Lottery");
    assert_eq!(back["service_areas"].as_array().unwrap().len(), 1, "a-1, by its name");
    assert_eq!(back["service_areas"][0]["name"], "Stroud district");
    assert!(back["organization"].get("parent_organization_id").is_none(), "not its own parent");
    assert!(back["schedules"][0].get("dtstart").is_none() && back["schedules"][0].get("attending_type").is_none());
    assert_eq!(back["schedules"][0]["interval"], 1);
    assert!(back["cost_options"][0].get("valid_from").is_none());
}
