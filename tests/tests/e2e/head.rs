//! `HEAD` answers as `GET` does, without a body, on every `GET` route of the route table
//! (monitors and link checkers use it).

use backend::routes::{RouteSpec, API_ROUTES, ORUK_ROUTES, PAGE_ROUTES};

use crate::helpers::{spawn_app, DEMO_PASSWORD};
use crate::referrals::ADMIN;

#[test]
fn head_answers_as_get_without_a_body_on_every_get_route() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let services = app.get("/api/v1/services?q=gardening").json();
    let listing = services["results"][0]["id"].as_str().unwrap().to_string();
    let tables: [(&str, &[RouteSpec]); 3] = [("/api/v1", API_ROUTES), ("/oruk", ORUK_ROUTES), ("", PAGE_ROUTES)];
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (prefix, table) in tables {
        for spec in table.iter().filter(|s| s.method == "get") {
            let path = format!("{prefix}{}", spec.path)
                .replace("/services/{id}", &format!("/services/{listing}"))
                .replace("{id}", "00000000-0000-4000-8000-000000000000")
                .replace("{name}", "referrals-by-month")
                .replace("{token}", "a-made-up-token");
            let path = if path.starts_with("/static/") { "/static/site.css".to_string() } else { path };
            for token in [None, Some(admin.as_str())] {
                let get = app.call("GET", &path, token, None);
                let head = app.call("HEAD", &path, token, None);
                checked += 1;
                if head.status != get.status || !head.body.is_empty() {
                    wrong.push(format!(
                        "{path} (signed in: {}): GET {} HEAD {} with {} bytes",
                        token.is_some(),
                        get.status,
                        head.status,
                        head.body.len()
                    ));
                }
            }
        }
    }
    assert!(checked > 40, "{checked} routes checked");
    assert!(wrong.is_empty(), "HEAD differs from GET:\n{}", wrong.join("\n"));
    let home = app.call("HEAD", "/", None, None);
    assert_eq!(home.status, 200);
    assert!(home.header("content-type").is_some_and(|t| t.starts_with("text/html")));
}
