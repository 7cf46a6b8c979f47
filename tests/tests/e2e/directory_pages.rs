//! The public pages: search, results, a listing and its print view, readable error pages.

use crate::helpers::spawn_app;

#[test]
fn search_page_shows_the_same_results_as_the_api() {
    let app = spawn_app();
    let page = app.get("/?q=gardening&near=GL5+1HE&radius_km=10");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    let api = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10").json();
    let names: Vec<String> = api["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().replace('\'', "&#x27;"))
        .collect();
    assert!(!names.is_empty());
    let mut last = 0;
    for name in &names {
        let at = page.body[last..]
            .find(name.as_str())
            .unwrap_or_else(|| panic!("{name} missing or out of order on the page"));
        last += at + name.len();
    }
    assert!(page.body.contains(" km"), "distances shown");
    assert!(page.body.contains("Last checked"));
    // Accessible form: every input has a label.
    for id in ["q", "near", "radius_km", "category", "sort"] {
        assert!(page.body.contains(&format!("for=\"{id}\"")), "label for {id}");
    }
}

#[test]
fn empty_search_page_is_a_form() {
    let app = spawn_app();
    let page = app.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form"));
    assert!(page.body.contains("Find community groups"));
    assert!(!page.body.contains("results for"));
}

#[test]
fn listing_and_print_pages() {
    let app = spawn_app();
    let api = app.get("/api/v1/services?q=walking&near=Cirencester&radius_km=10").json();
    let first = &api["results"][0];
    let id = first["id"].as_str().unwrap();
    let page = app.get(&format!("/services/{id}"));
    assert_eq!(page.status, 200);
    let name = first["name"].as_str().unwrap().replace('\'', "&#x27;");
    assert!(page.body.contains(&name));
    assert!(page.body.contains("How to get in touch"));
    assert!(
        page.body.contains("Every ")
            || page.body.contains("of the month")
            || page.body.contains("Get in touch to arrange")
    );
    let print = app.get(&format!("/services/{id}/print"));
    assert_eq!(print.status, 200);
    assert!(print.body.contains(&name));
    assert!(!print.body.contains("<form"));
}

#[test]
fn bad_input_on_pages_is_a_readable_page() {
    let app = spawn_app();
    let page = app.get("/?q=art&near=ZZ99+9ZZ");
    assert_eq!(page.status, 422);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("There is a problem"));
    assert!(page.body.contains("ZZ99 9ZZ"), "names the postcode");
    assert!(page.body.contains("value=\"art\""), "keeps what was typed");
    let page = app.get("/?near=GL5+1HE&radius_km=500");
    assert_eq!(page.status, 422);
    assert!(page.body.contains("radius_km"));
    let missing = app.get("/services/not-an-id");
    assert_eq!(missing.status, 404);
    assert!(missing.content_type.starts_with("text/html"));
    assert!(missing.body.contains("Page not found"));
    let missing = app.get("/no/such/page");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("<h1>"));
}

#[test]
fn html_in_data_is_escaped_on_pages() {
    let app = spawn_app();
    let page = app.get("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"), "query echoed unescaped");
    assert!(page.body.contains("&lt;script&gt;"));
}
