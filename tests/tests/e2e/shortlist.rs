//! A visitor's shortlist without an account: added from listings' pages, kept in a signed
//! cookie, printed as one sheet and e-mailed to themselves; a changed cookie is refused whole.

use crate::answer_links::{outbox, quick};
use crate::helpers::spawn_app_with;

#[test]
fn a_visitor_keeps_a_list_prints_it_and_emails_it_to_themselves_without_an_account() {
    let app = spawn_app_with(quick);
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let shed = backend::directory::seed::service_id("stroud-valleys-mens-shed-workshop");
    let mut visitor = app.browser();
    let page = visitor.get(&format!("/services/{garden}"));
    assert!(page.body.contains("Add to my list"), "{}", page.body);
    let csrf = visitor.csrf();
    let added = visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", &garden)]);
    assert_eq!(added.status, 303);
    assert_eq!(added.header("location"), Some(format!("/services/{garden}?shortlist=added#shortlist").as_str()));
    assert!(visitor
        .get(&format!("/services/{garden}?shortlist=added"))
        .body
        .contains("Added to <a href=\"/shortlist\">your list</a>"));
    assert_eq!(visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", &shed)]).status, 303);
    assert_eq!(
        visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", &garden)]).status,
        303,
        "twice is once"
    );

    let list = visitor.get("/shortlist");
    assert_eq!(list.status, 200);
    let (g, s) = (list.body.find("Stroud Community Gardening Club").unwrap(), list.body.find("Men").unwrap());
    assert!(g < s, "in the order added");
    assert!(list.body.contains("2 of 30"), "{}", list.body);
    let sheet = visitor.get("/shortlist/print");
    assert!(sheet.body.contains("Printed") && sheet.body.contains("Gardening"), "{}", sheet.body);
    assert!(!sheet.body.contains("<form"), "a clean sheet");

    // E-mailed to themselves: a bad address is refused by the field; a good one gets the list.
    let bad = visitor.post("/shortlist/email", &[("csrf", &csrf), ("email", "not-an-address")]);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("email-error") && bad.body.contains("Error:"), "{}", bad.body);
    let sent = visitor.post("/shortlist/email", &[("csrf", &csrf), ("email", "me@example.org")]);
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("We have sent your list to me@example.org"));
    let mail = outbox(&app, "shortlist-", 1).into_iter().find(|(n, _)| n.starts_with("shortlist-")).unwrap().1;
    assert!(mail.contains("Gardening") && mail.contains(&format!("/services/{shed}")), "{mail}");
    let admin = app.login(crate::referrals::ADMIN, crate::helpers::DEMO_PASSWORD);
    let listed = app.call("GET", "/api/v1/admin/notifications", Some(&admin), None).body;
    assert!(!listed.contains("me@example.org"), "admins do not see a visitor's address");

    // Taken off, bad ids, no token.
    assert_eq!(visitor.post("/shortlist/remove", &[("csrf", &csrf), ("service_id", &shed)]).status, 303);
    assert!(!visitor.get("/shortlist").body.contains("Men&#x27;s Shed"));
    assert_eq!(visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", "not-an-id")]).status, 404);
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", unknown)]).status, 404);
    assert_eq!(visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", "a\u{0}b")]).status, 422);
    assert_eq!(visitor.post("/shortlist/add", &[("service_id", &shed)]).status, 403);

    // A cookie someone changed is refused whole, said once, and replaced.
    let cookie = visitor.cookie("cg-shortlist").unwrap();
    visitor.set_cookie("cg-shortlist", &cookie.replacen(&garden[..8], "deadbeef", 1));
    let tampered = visitor.get("/shortlist");
    assert_eq!(tampered.status, 200);
    assert!(tampered.body.contains("could not be read") && tampered.body.contains("Your list is empty"));
    assert!(!visitor.get("/shortlist").body.contains("could not be read"), "said once");

    // Thirty at most.
    let found = app.get("/api/v1/services?near=GL5+1HE&radius_km=50&per_page=50").json();
    let ids: Vec<String> =
        found["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.len() > 30, "{} public listings", ids.len());
    for id in &ids[..30] {
        assert_eq!(visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", id)]).status, 303);
    }
    let full = visitor.post("/shortlist/add", &[("csrf", &csrf), ("service_id", &ids[30])]);
    assert_eq!(full.status, 422);
    assert!(full.body.contains("Your list is full"), "{}", full.body);
    assert!(visitor.get("/shortlist").body.contains("30 of 30"));
    assert_eq!(visitor.post("/shortlist/clear", &[("csrf", &csrf)]).status, 303);
    assert!(visitor.get("/shortlist").body.contains("Your list is empty"));
}
