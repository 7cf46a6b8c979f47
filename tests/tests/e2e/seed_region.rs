//! The seed region: big enough, varied, fictional contacts, real postcodes, and loading twice
//! leaves one copy.

use backend::db::schema::{
    locations, organizations, places, postcodes, schedules, service_taxonomy, services, taxonomy_terms,
};
use backend::directory::seed;
use backend::directory::taxonomy::{term_id, Vocabulary};
use chrono::Utc;
use diesel::prelude::*;

use crate::helpers::spawn_app;

fn count_in_category(conn: &mut backend::db::DbConnection, slug: &str) -> i64 {
    service_taxonomy::table
        .filter(service_taxonomy::term_id.eq(term_id(Vocabulary::Category, slug)))
        .count()
        .get_result(conn)
        .unwrap()
}

#[test]
fn seed_region_is_big_enough_and_varied() {
    let app = spawn_app();
    let mut conn = app.db();
    let orgs: i64 = organizations::table.count().get_result(&mut conn).unwrap();
    let svcs: i64 = services::table.count().get_result(&mut conn).unwrap();
    let tops: i64 = taxonomy_terms::table
        .filter(taxonomy_terms::vocabulary.eq("category"))
        .filter(taxonomy_terms::parent_id.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(orgs >= 120, "{orgs} organisations");
    assert!(svcs >= 300, "{svcs} services");
    assert!(tops >= 15, "{tops} top-level categories");
    for slug in ["peer-support", "diabetes-education", "gardening", "arts-and-creativity"] {
        let n = count_in_category(&mut conn, slug);
        assert!(n >= 10, "{slug}: {n}");
    }
    // Every top-level category is used.
    let top_slugs: Vec<String> = taxonomy_terms::table
        .filter(taxonomy_terms::vocabulary.eq("category"))
        .filter(taxonomy_terms::parent_id.is_null())
        .select(taxonomy_terms::slug)
        .load(&mut conn)
        .unwrap();
    for slug in top_slugs {
        assert!(count_in_category(&mut conn, &slug) > 0, "category {slug} has no services");
    }
    // Both systems of the region are covered.
    let gl: i64 = locations::table.filter(locations::postcode.like("GL%")).count().get_result(&mut conn).unwrap();
    let bob: i64 = locations::table
        .filter(locations::postcode.like("OX%").or(locations::postcode.like("HP%")).or(locations::postcode.like("RG%")))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(gl >= 100 && bob >= 80, "Gloucestershire {gl}, BOB {bob}");
    // Freshness varies: recently verified, about 8 months, over a year.
    let now = Utc::now().naive_utc();
    let verified: Vec<chrono::NaiveDateTime> = services::table.select(services::last_verified).load(&mut conn).unwrap();
    let ages: Vec<i64> = verified.iter().map(|v| (now - *v).num_days()).collect();
    assert!(ages.iter().filter(|d| **d <= 60).count() >= 100);
    assert!(ages.iter().filter(|d| (200..=300).contains(*d)).count() >= 30);
    assert!(ages.iter().filter(|d| **d > 365).count() >= 20);
    // Sessions exist.
    let sessions: i64 = schedules::table.count().get_result(&mut conn).unwrap();
    assert!(sessions >= 250, "{sessions} sessions");
}

#[test]
fn seed_contacts_are_fictional_and_postcodes_real() {
    let orgs = seed::organisations().unwrap();
    let svcs = seed::services().unwrap();
    assert!(!orgs.is_empty() && !svcs.is_empty());
    let app = spawn_app();
    let mut conn = app.db();
    let emails: Vec<Option<String>> = services::table.select(services::email).load(&mut conn).unwrap();
    let org_emails: Vec<Option<String>> = organizations::table.select(organizations::email).load(&mut conn).unwrap();
    for email in emails.iter().chain(&org_emails).flatten() {
        assert!(email.ends_with("example.org"), "{email}");
    }
    let phones: Vec<Option<String>> = services::table.select(services::phone).load(&mut conn).unwrap();
    for phone in phones.iter().flatten() {
        assert!(phone.starts_with("01632 960"), "{phone}");
    }
    let urls: Vec<Option<String>> = services::table.select(services::url).load(&mut conn).unwrap();
    for url in urls.iter().flatten() {
        assert!(url.starts_with("https://") && url.contains("example.org"), "{url}");
    }
    // Every location sits at a real postcode whose coordinates it carries.
    let located: Vec<(Option<String>, Option<f64>)> =
        locations::table.select((locations::postcode, locations::latitude)).load(&mut conn).unwrap();
    for (postcode, lat) in located {
        let postcode = postcode.expect("seeded locations have postcodes");
        let found: f64 = postcodes::table.find(&postcode).select(postcodes::latitude).first(&mut conn).unwrap();
        assert_eq!(Some(found), lat, "{postcode}");
    }
}

#[test]
fn loading_the_seed_twice_leaves_one_copy() {
    let app = spawn_app();
    let mut conn = app.db();
    let count = |conn: &mut backend::db::DbConnection| -> [i64; 6] {
        [
            services::table.count().get_result(conn).unwrap(),
            organizations::table.count().get_result(conn).unwrap(),
            locations::table.count().get_result(conn).unwrap(),
            schedules::table.count().get_result(conn).unwrap(),
            places::table.count().get_result(conn).unwrap(),
            postcodes::table.count().get_result(conn).unwrap(),
        ]
    };
    let before = count(&mut conn);
    let summary = seed::load_all(&mut conn, true, &mut std::io::sink()).unwrap();
    assert_eq!(summary.services as i64, before[0]);
    assert_eq!(count(&mut conn), before, "services, organisations, locations, schedules, places, postcodes");
}
