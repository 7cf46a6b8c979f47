//! `GET /api/v1/services` and `/api/v1/services/{id}`: the search a new user tries first, every
//! filter, and every bad input answered with the JSON error shape naming the field.

use serde_json::Value;

use crate::helpers::{assert_error, spawn_app};

fn results(body: &Value) -> &Vec<Value> {
    body["results"].as_array().expect("results array")
}

fn has_category(result: &Value, slug: &str) -> bool {
    result["categories"].as_array().unwrap().iter().any(|c| c["slug"] == slug)
}

#[test]
fn gardening_near_stroud_within_10_km() {
    let app = spawn_app();
    let answer = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    let found = results(&body);
    assert!(found.len() >= 3, "expected gardening groups around Stroud, got {}", body["total"]);
    assert_eq!(body["origin"]["precision"], "postcode");
    assert_eq!(body["origin"]["label"], "GL5 1HE");
    for r in found {
        let d = r["distance_km"].as_f64().expect("distance_km with an origin");
        assert!(d <= 10.0, "{} is {d} km away", r["name"]);
    }
    // The best match is a gardening group, and the gardening groups come before the rest.
    assert!(has_category(&found[0], "gardening"), "top result {}", found[0]["name"]);
    let first_other = found.iter().position(|r| !has_category(r, "gardening")).unwrap_or(found.len());
    let gardening_after = found.iter().skip(first_other).filter(|r| has_category(r, "gardening")).count();
    assert!(
        gardening_after <= 1,
        "gardening groups should rank first: {:?}",
        found.iter().map(|r| &r["name"]).collect::<Vec<_>>()
    );

    // Sorted by distance, distances never decrease.
    let by_distance = app.get("/api/v1/services?q=gardening&near=gl51he&radius_km=10&sort=distance").json();
    let distances: Vec<f64> = results(&by_distance).iter().map(|r| r["distance_km"].as_f64().unwrap()).collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert_eq!(by_distance["total"], body["total"], "the same search in another order finds the same set");
}

#[test]
fn facets_filters_and_pagination() {
    let app = spawn_app();
    let all = app.get("/api/v1/services?near=Stroud&radius_km=25").json();
    let total = all["total"].as_u64().unwrap();
    assert!(total > 20, "{total}");
    let categories = all["facets"]["category"].as_array().unwrap();
    assert!(!categories.is_empty());
    // A facet count is exactly what filtering by it finds.
    let facet = &categories[0];
    let filtered = app
        .get(&format!("/api/v1/services?near=Stroud&radius_km=25&category={}", facet["value"].as_str().unwrap()))
        .json();
    assert_eq!(filtered["total"], facet["count"], "facet {facet}");
    for r in results(&filtered) {
        assert!(has_category(r, facet["value"].as_str().unwrap()));
    }
    // Free only.
    let free = app.get("/api/v1/services?near=Stroud&radius_km=25&cost=free").json();
    assert!(results(&free).iter().all(|r| r["free"] == true));
    assert!(free["total"].as_u64().unwrap() < total);
    // Day filter: every result has a session that day.
    let tuesday = app.get("/api/v1/services?near=Stroud&radius_km=25&day=TU").json();
    for r in results(&tuesday) {
        assert!(
            r["schedules"].as_array().unwrap().iter().any(|s| s["byday"].as_str().unwrap().contains("TU")),
            "{}",
            r["name"]
        );
    }
    // Pages do not overlap and cover the total.
    let p1 = app.get("/api/v1/services?near=Stroud&radius_km=25&per_page=10&page=1").json();
    let p2 = app.get("/api/v1/services?near=Stroud&radius_km=25&per_page=10&page=2").json();
    assert_eq!(results(&p1).len(), 10);
    let ids1: Vec<&Value> = results(&p1).iter().map(|r| &r["id"]).collect();
    assert!(results(&p2).iter().all(|r| !ids1.contains(&&r["id"])));
    assert_eq!(p1["pages"].as_u64().unwrap(), total.div_ceil(10));
}

#[test]
fn one_listing_in_full() {
    let app = spawn_app();
    let search = app.get("/api/v1/services?q=diabetes&near=Gloucester&radius_km=15").json();
    let first = &results(&search)[0];
    let id = first["id"].as_str().unwrap();
    let answer = app.get(&format!("/api/v1/services/{id}"));
    assert_eq!(answer.status, 200);
    let listing = answer.json();
    assert_eq!(listing["id"], id);
    for key in [
        "name",
        "summary",
        "description",
        "organisation",
        "locations",
        "schedules",
        "last_verified",
        "capacity",
        "categories",
    ] {
        assert!(!listing[key].is_null(), "{key} missing");
    }
}

#[test]
fn taxonomy_lists_every_vocabulary() {
    let app = spawn_app();
    let body = app.get("/api/v1/taxonomy").json();
    let categories = body["categories"].as_array().unwrap();
    assert!(categories.len() >= 15);
    assert!(categories.iter().any(|c| c["slug"] == "nature-and-outdoors"
        && c["children"].as_array().unwrap().iter().any(|k| k["slug"] == "gardening")));
    for key in ["audiences", "accessibility", "referral_reasons"] {
        assert!(!body[key].as_array().unwrap().is_empty(), "{key}");
    }
}

#[test]
fn bad_search_input_names_the_field() {
    let app = spawn_app();
    let long_q = "a".repeat(10_000);
    let cases: Vec<(String, u16, &str)> = vec![
        ("near=ZZ99%209ZZ".into(), 422, "near"),
        ("near=GL5%201H".into(), 422, "near"),
        ("near=12345".into(), 422, "near"),
        ("near=Atlantis".into(), 422, "near"),
        ("lat=91&lon=0".into(), 422, "lat"),
        ("lat=-95&lon=0".into(), 422, "lat"),
        ("lat=51&lon=200".into(), 422, "lon"),
        ("lat=abc&lon=1".into(), 422, "lat"),
        ("near=GL5%201HE&radius_km=0".into(), 422, "radius_km"),
        ("near=GL5%201HE&radius_km=-5".into(), 422, "radius_km"),
        ("near=GL5%201HE&radius_km=201".into(), 422, "radius_km"),
        ("near=GL5%201HE&radius_km=NaN".into(), 422, "radius_km"),
        ("radius_km=5".into(), 422, "radius_km"),
        ("page=0".into(), 422, "page"),
        ("page=-1".into(), 422, "page"),
        ("page=9999".into(), 422, "page"),
        ("per_page=101".into(), 422, "per_page"),
        ("per_page=0".into(), 422, "per_page"),
        (format!("q={long_q}"), 422, "q"),
        ("category=underwater-basket-weaving".into(), 422, "category"),
        ("audience=martians".into(), 422, "audience"),
        ("day=funday".into(), 422, "day"),
        ("cost=cheap".into(), 422, "cost"),
        ("sort=random".into(), 422, "sort"),
        ("sort=distance".into(), 422, "sort"),
    ];
    for (query, status, field) in cases {
        let answer = app.get(&format!("/api/v1/services?{query}"));
        let shown: String = query.chars().take(60).collect();
        assert_eq!(answer.status, status, "{shown}: {}", answer.body);
        assert_error(&answer, status, Some(field));
    }
}

#[test]
fn bad_ids_are_not_found() {
    let app = spawn_app();
    assert_error(&app.get("/api/v1/services/12345"), 404, Some("id"));
    assert_error(&app.get("/api/v1/services/not-an-id"), 404, Some("id"));
    assert_error(&app.get("/api/v1/services/00000000-0000-4000-8000-000000000000"), 404, None);
    assert_error(&app.get("/api/v1/no-such-route"), 404, None);
}

#[test]
fn query_syntax_typed_by_a_person_is_plain_text() {
    let app = spawn_app();
    for q in
        ["art:", "walk^2", "choir~", "[garden", "craft*", "\"unbalanced", "!!!", "the of and", "AND OR NOT", "(", "%"]
    {
        let answer = app.get(&format!(
            "/api/v1/services?q={}",
            q.replace('%', "%25").replace('"', "%22").replace(' ', "+").replace('[', "%5B").replace('^', "%5E")
        ));
        assert_eq!(answer.status, 200, "{q}: {}", answer.body);
    }
}
