//! Community groups keep their listings true: edits (versioned, stale ones refused with the
//! other change named), "still accurate", history, needs review, the reminders export, and
//! search reflecting every change within a second.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, DEMO_PASSWORD};

const EDITOR: &str = "garden.editor@demo.example.org";

fn garden_club() -> String {
    backend::directory::seed::service_id("stroud-community-gardening-club-garden")
}

fn find(app: &crate::helpers::TestApp, id: &str) -> Option<Value> {
    let found = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10&per_page=50").json();
    found["results"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned()
}

fn rank(app: &crate::helpers::TestApp, id: &str) -> usize {
    let found = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10&per_page=50").json();
    found["results"].as_array().unwrap().iter().position(|r| r["id"] == id).expect("in the results")
}

#[test]
fn an_editor_refreshes_a_listing_and_search_follows_within_a_second() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let id = garden_club();
    // The listing last verified about eight months ago needs review.
    let mine = app.call("GET", "/api/v1/my/listings", Some(&editor), None).json();
    let listing = mine["listings"].as_array().unwrap().iter().find(|l| l["id"] == id.as_str()).unwrap().clone();
    assert_eq!(listing["freshness"], "needs_review");
    let before = find(&app, &id).expect("shown in search");
    assert_eq!(before["freshness"], "needs_review");
    let rank_before = rank(&app, &id);
    // Marks it "waiting list" and confirms it is still accurate.
    let edited = app.call(
        "PATCH",
        &format!("/api/v1/services/{id}"),
        Some(&editor),
        Some(&json!({"version": listing["version"], "capacity": "waitlist"}).to_string()),
    );
    assert_eq!(edited.status, 200, "{}", edited.body);
    // Updates the sessions: now Tuesdays and the last Saturday of the month.
    let sessions = json!({"version": edited.json()["version"], "sessions": [
        {"freq": "weekly", "days": ["TU"], "opens_at": "10:00", "closes_at": "12:30"},
        {"freq": "monthly", "days": ["SA"], "week_of_month": [-1], "opens_at": "09:30", "closes_at": "12:00", "notes": "Family work party"}
    ]});
    let replaced =
        app.call("PUT", &format!("/api/v1/services/{id}/sessions"), Some(&editor), Some(&sessions.to_string()));
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let bad = json!({"version": replaced.json()["version"], "sessions": [{"freq": "monthly", "days": ["TU"], "week_of_month": [5], "opens_at": "10:00", "closes_at": "12:00"}]});
    assert_error(
        &app.call("PUT", &format!("/api/v1/services/{id}/sessions"), Some(&editor), Some(&bad.to_string())),
        422,
        Some("sessions[0]"),
    );
    let backwards = json!({"version": replaced.json()["version"], "sessions": [{"freq": "weekly", "days": ["TU"], "opens_at": "12:00", "closes_at": "10:00"}]});
    assert_error(
        &app.call("PUT", &format!("/api/v1/services/{id}/sessions"), Some(&editor), Some(&backwards.to_string())),
        422,
        Some("sessions[0]"),
    );
    assert_eq!(app.call("POST", &format!("/api/v1/services/{id}/verify"), Some(&editor), None).status, 200);
    // The capacity filter is answered by the search index (listing fields come from the
    // database), so this waits for the index itself.
    let started = Instant::now();
    loop {
        let waitlisted = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10&capacity=waitlist").json();
        let saturdays = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10&day=SA").json();
        let has = |v: &Value| v["results"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str());
        // The last change (still accurate) shows as a better rank.
        if has(&waitlisted) && has(&saturdays) && rank(&app, &id) < rank_before {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "search did not follow all three changes");
        std::thread::sleep(Duration::from_millis(25));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    // The new sessions are searchable: a Saturday filter (answered by the index) finds it.
    let saturdays = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10&day=SA").json();
    let shown = saturdays["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .expect("found on Saturdays")
        .clone();
    let words: Vec<&str> =
        shown["schedules"].as_array().unwrap().iter().map(|s| s["description"].as_str().unwrap()).collect();
    assert_eq!(words, ["Every Tuesday, 10:00 to 12:30", "Last Saturday of the month, 09:30 to 12:00"]);
    // Fresh now (even with a waiting list), it ranks higher than before.
    let rank_after = rank(&app, &id);
    assert!(rank_after < rank_before, "rank {rank_before} -> {rank_after}");
    let history = app.call("GET", &format!("/api/v1/services/{id}/history"), Some(&editor), None).json();
    let kinds: Vec<&str> =
        history["versions"].as_array().unwrap().iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["verify", "edit", "edit"]);
    assert_eq!(history["versions"][2]["changes"]["capacity"], json!(["accepting", "waitlist"]));
    assert!(history["versions"][1]["changes"]["sessions"][1][1].as_str().unwrap().starts_with("Last Saturday"));
}

#[test]
fn bad_listing_edits_are_refused_by_field() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let id = garden_club();
    let path = format!("/api/v1/services/{id}");
    let version = app.call("GET", "/api/v1/my/listings", Some(&editor), None).json()["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id.as_str())
        .unwrap()["version"]
        .clone();
    for (body, field) in [
        (json!({"url": "javascript:alert(1)"}), "url"),
        (json!({"url": "data:text/html;base64,PHNjcmlwdD4="}), "url"),
        (json!({"url": "ftp://garden.example.org"}), "url"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"phone": "12345"}), "phone"),
        (json!({"minimum_age": 65, "maximum_age": 18}), "maximum_age"),
        (json!({"minimum_age": -3}), "minimum_age"),
        (json!({"name": "   "}), "name"),
        (json!({"capacity": "overflowing"}), "capacity"),
        (json!({"status": "defunct-ish"}), "status"),
    ] {
        let mut body = body;
        body["version"] = version.clone();
        assert_error(&app.call("PATCH", &path, Some(&editor), Some(&body.to_string())), 422, Some(field));
    }
    let huge = json!({"version": version, "description": "x".repeat(1_000_000)});
    assert_error(&app.call("PATCH", &path, Some(&editor), Some(&huge.to_string())), 413, None);
    // HTML is stored as text and shown escaped.
    let script = json!({"version": version, "summary": "<script>alert('hi')</script> Grow with us"});
    assert_eq!(app.call("PATCH", &path, Some(&editor), Some(&script.to_string())).status, 200);
    let page = app.get(&format!("/services/{id}"));
    assert!(page.body.contains("&lt;script&gt;") && !page.body.contains("<script>alert"), "escaped on the page");
    // Another organisation's listing is not found.
    let shed = backend::directory::seed::service_id("stroud-valleys-mens-shed-workshop");
    assert_error(
        &app.call(
            "PATCH",
            &format!("/api/v1/services/{shed}"),
            Some(&editor),
            Some(&json!({"version": 1, "capacity": "full"}).to_string()),
        ),
        404,
        None,
    );
    // A stale version is refused with the other person's change named; nothing overwritten.
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let current = app.call("GET", &format!("/api/v1/services/{id}/history"), Some(&admin), None).json()["versions"][0]
        ["version"]
        .clone();
    assert_eq!(
        app.call("PATCH", &path, Some(&admin), Some(&json!({"version": current, "phone": "01632 960777"}).to_string()))
            .status,
        200
    );
    let stale = app.call(
        "PATCH",
        &path,
        Some(&editor),
        Some(&json!({"version": current, "phone": "01632 960888"}).to_string()),
    );
    let body = assert_error(&stale, 409, None);
    assert!(body["error"]["message"].as_str().unwrap().contains("Avery Admin changed phone"), "{body}");
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["phone"], "01632 960777");
}

#[test]
fn the_directory_team_sees_what_needs_review_and_exports_reminders() {
    let app = spawn_app();
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let due = app.call("GET", "/api/v1/my/listings?view=needs_review", Some(&admin), None).json();
    let list = due["listings"].as_array().unwrap();
    assert!(list.len() >= 50, "{}", list.len());
    assert!(list.iter().all(|l| l["freshness"] != "fresh"));
    let csv = app.call("GET", "/api/v1/admin/reminders.csv", Some(&admin), None);
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv.body.starts_with("organisation,email,phone,listing,last_verified\r\n"));
    assert!(csv.body.contains("Stroud Community Gardening Club"));
    assert_eq!(csv.body.lines().count(), list.len() + 1, "one row per listing due");
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    assert_eq!(app.call("GET", "/api/v1/admin/reminders.csv", Some(&editor), None).status, 403);
}

#[test]
fn through_the_pages_the_editor_confirms_and_changes_places() {
    let app = spawn_app();
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(EDITOR, DEMO_PASSWORD).status, 303);
    let page = browser.get("/my/listings");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Stroud Community Gardening Club"));
    assert!(page.body.contains("needs review"));
    let id = garden_club();
    let csrf = browser.csrf();
    let version = page
        .body
        .split(&format!("action=\"/my/listings/{id}\""))
        .nth(1)
        .unwrap()
        .split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let saved = browser.post(
        &format!("/my/listings/{id}"),
        &[("csrf", &csrf), ("version", &version), ("capacity", "waitlist"), ("status", "active")],
    );
    assert_eq!(saved.header("location"), Some("/my/listings?done=Saved"));
    let confirmed = browser.post(&format!("/my/listings/{id}/verify"), &[("csrf", &csrf)]);
    assert_eq!(confirmed.status, 303);
    let after = browser.get(confirmed.header("location").unwrap());
    assert!(after.body.contains("still accurate"));
    let listing = app.get(&format!("/api/v1/services/{id}")).json();
    assert_eq!((listing["capacity"].as_str(), listing["freshness"].as_str()), (Some("waitlist"), Some("fresh")));
    // The session editor: every Tuesday 10-12 and the 2nd Thursday evening.
    let page = browser.get("/my/listings");
    let version = page
        .body
        .split(&format!("action=\"/my/listings/{id}/sessions\""))
        .nth(1)
        .unwrap()
        .split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let saved = browser.post(
        &format!("/my/listings/{id}/sessions"),
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("week", "every"),
            ("day", "TU"),
            ("opens", "10:00"),
            ("closes", "12:00"),
            ("notes", ""),
            ("week", "2"),
            ("day", "TH"),
            ("opens", "18:00"),
            ("closes", "19:30"),
            ("notes", "Term time only"),
            ("week", "every"),
            ("day", ""),
            ("opens", ""),
            ("closes", ""),
        ],
    );
    assert_eq!(saved.header("location"), Some("/my/listings?done=Sessions+saved"), "{}", saved.body);
    let words: Vec<String> = app.get(&format!("/api/v1/services/{id}")).json()["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["description"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(words, ["Every Tuesday, 10:00 to 12:00", "2nd Thursday of the month, 18:00 to 19:30"]);
    let fifth = browser.post(
        &format!("/my/listings/{id}/sessions"),
        &[("csrf", &csrf), ("version", "0"), ("week", "5"), ("day", "TU"), ("opens", "10:00"), ("closes", "12:00")],
    );
    assert_eq!(fifth.status, 422, "a 5th Tuesday is refused on the page, rows kept");
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["schedules"].as_array().unwrap().len(), 2);
    // A stale form comes back with what happened and what was typed, nothing overwritten.
    let stale = browser.post(
        &format!("/my/listings/{id}"),
        &[("csrf", &csrf), ("version", &version), ("capacity", "full"), ("status", "active")],
    );
    assert_eq!(stale.status, 422);
    assert!(stale.body.contains("this listing changed since you opened it"), "{}", stale.body);
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["capacity"], "waitlist");
}

fn new_listing() -> Value {
    json!({
        "name": "Stroud Seed Swap",
        "summary": "Swap seeds and seedlings with other growers.",
        "description": "Bring seeds to share, or just come and take some.",
        "categories": ["gardening"],
        "audiences": ["everyone"],
        "attending_type": "in_person",
        "email": "swap@stroud-growers.example.org",
        "phone": "01632 960321",
        "free": true,
        "how_to_access": ["self_referral"],
        "location": {"name": "Old Town Hall", "address": "The Shambles", "town": "Stroud", "postcode": "GL5 1AP", "accessibility": ["step-free"]},
        "sessions": [
            {"freq": "weekly", "days": ["TU"], "opens_at": "10:00", "closes_at": "12:00"},
            {"freq": "monthly", "days": ["TH"], "week_of_month": [2], "opens_at": "18:00", "closes_at": "19:30", "notes": "Not in August"}
        ]
    })
}

#[test]
fn a_new_listing_waits_for_approval_then_becomes_public() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let created = app.call("POST", "/api/v1/services", Some(&editor), Some(&new_listing().to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_error(&app.get(&format!("/api/v1/services/{id}")), 404, None);
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let pending = app.call("GET", "/api/v1/admin/pending", Some(&admin), None).json();
    assert!(pending["pending"].as_array().unwrap().iter().any(|p| p["id"] == id.as_str()));
    assert_eq!(app.call("POST", &format!("/api/v1/admin/services/{id}/approve"), Some(&admin), None).status, 204);
    assert_error(&app.call("POST", &format!("/api/v1/admin/services/{id}/approve"), Some(&admin), None), 409, None);
    let started = Instant::now();
    loop {
        let found = app.get("/api/v1/services?q=seed+swap&near=GL5%201HE").json();
        if found["results"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()) {
            let listing = app.get(&format!("/api/v1/services/{id}")).json();
            let sessions: Vec<&str> =
                listing["schedules"].as_array().unwrap().iter().map(|s| s["description"].as_str().unwrap()).collect();
            assert_eq!(sessions, ["Every Tuesday, 10:00 to 12:00", "2nd Thursday of the month, 18:00 to 19:30"]);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "not searchable after approval");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn bad_new_listings_name_the_field() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/sessions/0/closes_at", json!("09:00"), "sessions[0]"),
        ("/sessions/1/week_of_month", json!([5]), "sessions[1]"),
        ("/location/postcode", json!("ZZ99 9ZZ"), "location.postcode"),
        ("/url", json!("javascript:alert(1)"), "url"),
        ("/url", json!("data:text/html,hi"), "url"),
        ("/email", json!("nope"), "email"),
        ("/phone", json!("123"), "phone"),
        ("/minimum_age", json!(70), "maximum_age"),
        ("/categories", json!(["knitting-for-robots"]), "categories"),
        ("/name", json!(""), "name"),
        (
            "/sessions",
            json!([{"freq": "weekly", "days": ["MO"], "opens_at": "10:00", "closes_at": "11:00", "notes": "n".repeat(201)}]),
            "sessions[0]",
        ),
        (
            "/sessions",
            json!(vec![json!({"freq": "weekly", "days": ["MO"], "opens_at": "10:00", "closes_at": "11:00"}); 21]),
            "sessions",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut body = new_listing();
        if pointer == "/minimum_age" {
            body["minimum_age"] = value;
            body["maximum_age"] = json!(18);
        } else if pointer.matches('/').count() == 1 {
            body[&pointer[1..]] = value;
        } else {
            *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
        }
        assert_error(&app.call("POST", "/api/v1/services", Some(&editor), Some(&body.to_string())), 422, Some(field));
    }
    // A feature named twice is one feature, not a 409 "someone else saved this".
    let mut twice = new_listing();
    twice["location"]["accessibility"] = json!(["step-free", "step-free"]);
    let created = app.call("POST", "/api/v1/services", Some(&editor), Some(&twice.to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    let link_worker = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    assert_eq!(app.call("POST", "/api/v1/services", Some(&link_worker), Some(&new_listing().to_string())).status, 403);
}

#[test]
fn suggestions_revert_and_listings_nobody_keeps() {
    let app = spawn_app();
    let id = garden_club();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    // The public suggests a correction (limited per address); bad ones are named.
    let path = format!("/api/v1/services/{id}/suggestions");
    assert_error(&app.call("POST", &path, None, Some(&json!({"body": ""}).to_string())), 422, Some("body"));
    assert_error(
        &app.call("POST", &path, None, Some(&json!({"body": "x", "reply_to": "nope"}).to_string())),
        422,
        Some("reply_to"),
    );
    let made = app.call(
        "POST",
        &path,
        None,
        Some(&json!({"body": "<b>They meet on Wednesdays now</b>", "reply_to": "me@example.org"}).to_string()),
    );
    assert_eq!(made.status, 201);
    let suggestion = made.json()["id"].as_str().unwrap().to_string();
    let seen = app.call("GET", &path, Some(&editor), None).json();
    assert_eq!(seen["suggestions"][0]["body"], "<b>They meet on Wednesdays now</b>", "stored as text");
    assert_error(
        &app.call(
            "POST",
            &format!("/api/v1/suggestions/{suggestion}"),
            Some(&editor),
            Some(&json!({"action": "reply"}).to_string()),
        ),
        422,
        Some("answer"),
    );
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/v1/suggestions/{suggestion}"),
            Some(&editor),
            Some(&json!({"action": "reply", "answer": "Thank you, fixed."}).to_string())
        )
        .status,
        204
    );
    assert_error(
        &app.call(
            "POST",
            &format!("/api/v1/suggestions/{suggestion}"),
            Some(&admin),
            Some(&json!({"action": "dismiss"}).to_string()),
        ),
        409,
        None,
    );
    let mut limited = 0;
    for _ in 0..12 {
        if app.call("POST", &path, None, Some(&json!({"body": "spam"}).to_string())).status == 429 {
            limited += 1;
        }
    }
    assert!(limited >= 2, "the public is rate limited");

    // Revert: an admin takes a listing back to an earlier version.
    let v = app.call("GET", "/api/v1/my/listings", Some(&editor), None).json()["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id.as_str())
        .unwrap()["version"]
        .as_i64()
        .unwrap();
    let summary = app.get(&format!("/api/v1/services/{id}")).json()["summary"].clone();
    let edited = app.call(
        "PATCH",
        &format!("/api/v1/services/{id}"),
        Some(&editor),
        Some(&json!({"version": v, "summary": "Oops, wrong text"}).to_string()),
    );
    assert_eq!(edited.status, 200);
    assert_error(
        &app.call(
            "POST",
            &format!("/api/v1/services/{id}/revert"),
            Some(&editor),
            Some(&json!({"version": v}).to_string()),
        ),
        403,
        None,
    );
    assert_error(
        &app.call(
            "POST",
            &format!("/api/v1/services/{id}/revert"),
            Some(&admin),
            Some(&json!({"version": 0}).to_string()),
        ),
        422,
        Some("version"),
    );
    assert_eq!(
        app.call(
            "POST",
            &format!("/api/v1/services/{id}/revert"),
            Some(&admin),
            Some(&json!({"version": v}).to_string())
        )
        .status,
        200
    );
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["summary"], summary);
    let history = app.call("GET", &format!("/api/v1/services/{id}/history"), Some(&admin), None).json();
    assert_eq!(history["versions"][0]["kind"], "revert");

    // Listings nobody keeps: organisations without an active group editor.
    let unedited = app.call("GET", "/api/v1/admin/unedited", Some(&admin), None).json();
    let list = unedited["listings"].as_array().unwrap();
    assert!(list.len() > 300, "{}", list.len());
    assert!(!list.iter().any(|l| l["id"] == id.as_str()), "the gardening club has an editor");
}

#[test]
fn a_closed_listing_says_when_it_reopens_and_forgets_it_when_open() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let id = garden_club();
    let path = format!("/api/v1/services/{id}");
    let version = || app.get(&path).json()["version"].clone();
    let today = chrono::Utc::now().date_naive();
    let in_a_month = today + chrono::Days::new(30);
    let closed = "temporarily closed";
    for (body, field) in [
        (json!({"status": closed, "reopens_on": "next week"}), "reopens_on"),
        (json!({"status": closed, "reopens_on": "2027-02-30"}), "reopens_on"),
        (json!({"status": closed, "reopens_on": (today - chrono::Days::new(1)).to_string()}), "reopens_on"),
        (json!({"status": closed, "reopens_on": (today + chrono::Days::new(800)).to_string()}), "reopens_on"),
        (json!({"status": "active", "reopens_on": in_a_month.to_string()}), "reopens_on"),
    ] {
        let mut body = body;
        body["version"] = version();
        assert_error(&app.call("PATCH", &path, Some(&editor), Some(&body.to_string())), 422, Some(field));
    }
    assert!(app.get(&path).json()["reopens_on"].is_null(), "nothing saved by a refused edit");

    let body = json!({"version": version(), "status": closed, "reopens_on": in_a_month.to_string()});
    assert_eq!(app.call("PATCH", &path, Some(&editor), Some(&body.to_string())).status, 200);
    assert_eq!(app.get(&path).json()["reopens_on"], in_a_month.to_string());
    let page = app.get(&format!("/services/{id}"));
    let words = format!("temporarily closed and reopens on {}", in_a_month.format("%-d %B %Y"));
    assert!(page.body.contains(&words), "the public page says when: {words}");
    assert!(find(&app, &id).is_some(), "a closed listing with a date stays findable");
    let history = app.call("GET", &format!("{path}/history"), Some(&editor), None).json();
    assert!(history["versions"][0]["changes"].to_string().contains("reopens_on"), "{history}");

    let mut browser = app.browser();
    browser.sign_in(EDITOR, DEMO_PASSWORD);
    let editor_page = browser.get("/my/listings");
    assert!(editor_page.body.contains(&format!("name=\"reopens_on\" type=\"date\" value=\"{in_a_month}\"")));

    // Opening again clears the date, so the listing never claims a closure that has ended.
    let body = json!({"version": version(), "status": "active"});
    assert_eq!(app.call("PATCH", &path, Some(&editor), Some(&body.to_string())).status, 200);
    assert!(app.get(&path).json()["reopens_on"].is_null());
    assert!(!app.get(&format!("/services/{id}")).body.contains("reopens on"));
}

#[test]
fn a_refused_form_comes_back_with_what_was_typed() {
    let app = spawn_app();
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(EDITOR, DEMO_PASSWORD).status, 303);
    let id = garden_club();
    let page = browser.get("/my/listings");
    let csrf = browser.csrf();
    let version = app.get(&format!("/api/v1/services/{id}")).json()["version"].to_string();
    let form = format!("/my/listings/{id}");
    let refused = browser.post(
        &form,
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("capacity", "full"),
            ("status", "temporarily closed"),
            ("reopens_on", "2020-01-01"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Must be today or later"), "the error says why");
    assert!(refused.body.contains(&format!("id=\"reopens-{id}-error\"")), "next to the field it is about");
    assert!(refused.body.contains(&format!("href=\"#reopens-{id}\"")), "the summary links to the field");
    assert!(refused.body.contains(r#"name="reopens_on" type="date" value="2020-01-01""#), "the date typed is kept");
    let ours = refused.body.split(&format!("action=\"{form}\"")).nth(1).unwrap();
    assert!(ours.contains(r#"<option value="full" selected>"#), "the places chosen are kept");
    assert!(ours.contains(r#"<option value="temporarily closed" selected>"#), "closed stays chosen");
    assert_ne!(page.body, refused.body);
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["capacity"], "accepting", "nothing saved");

    let refused = browser.post(
        &format!("{form}/sessions"),
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("week", "2"),
            ("day", "TH"),
            ("opens", "19:30"),
            ("closes", "18:00"),
            ("notes", "Bring gloves"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let sessions = refused.body.split(&format!("action=\"{form}/sessions\"")).nth(1).unwrap();
    assert!(sessions.contains(r#"type="time" value="19:30""#) && sessions.contains(r#"value="Bring gloves""#));
    assert!(
        sessions.contains(r#"<option value="TH" selected>"#) && sessions.contains(r#"<option value="2" selected>"#)
    );
}

#[test]
fn an_admin_merges_a_duplicate_and_its_old_address_leads_to_the_one_kept() {
    let app = spawn_app();
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let keep = garden_club();
    let found = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=10&per_page=50").json();
    let duplicate = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .find(|id| *id != keep)
        .expect("another gardening listing near Stroud");
    let path = format!("/api/v1/services/{duplicate}/merge");
    let version = app.get(&format!("/api/v1/services/{duplicate}")).json()["version"].clone();
    let merge = |who: &str, body: Value| app.call("POST", &path, Some(who), Some(&body.to_string()));

    // Bad merges name the field and change nothing.
    assert_error(&merge(&admin, json!({"version": version, "into": duplicate})), 422, Some("into"));
    assert_error(&merge(&admin, json!({"version": version, "into": "not-an-id"})), 422, Some("into"));
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_error(&merge(&admin, json!({"version": version, "into": unknown})), 422, Some("into"));
    assert_error(&merge(&admin, json!({"into": keep})), 422, Some("version"));
    assert_error(&merge(&admin, json!({"version": 0, "into": keep})), 422, Some("version"));
    // Someone edits the duplicate meanwhile: a merge on the old view is refused, naming the change.
    let edit = json!({"version": version, "phone": "01632 960999"}).to_string();
    let edited = app.call("PATCH", &format!("/api/v1/services/{duplicate}"), Some(&admin), Some(&edit));
    assert_eq!(edited.status, 200, "{}", edited.body);
    let stale = assert_error(&merge(&admin, json!({"version": version, "into": keep})), 409, None);
    assert!(stale["error"]["message"].as_str().unwrap().contains("changed phone"), "{stale}");
    let version = edited.json()["version"].clone();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    assert_error(&merge(&editor, json!({"version": version, "into": keep})), 403, None);
    let nowhere = format!("/api/v1/services/{unknown}/merge");
    let body = json!({"version": 1, "into": keep}).to_string();
    assert_error(&app.call("POST", &nowhere, Some(&admin), Some(&body)), 404, None);
    assert_eq!(app.get(&format!("/api/v1/services/{duplicate}")).status, 200, "still shown after refusals");

    let merged = merge(&admin, json!({"version": version, "into": keep}));
    assert_eq!(merged.status, 200, "{}", merged.body);
    let gone = app.get(&format!("/api/v1/services/{duplicate}"));
    let body = assert_error(&gone, 404, None);
    assert!(body["error"]["message"].as_str().unwrap().contains(&keep), "the API says where it went: {body}");
    let page = app.get(&format!("/services/{duplicate}"));
    assert_eq!((page.status, page.header("location")), (301, Some(format!("/services/{keep}").as_str())));
    let print = app.get(&format!("/services/{duplicate}/print"));
    assert_eq!(print.header("location"), Some(format!("/services/{keep}/print").as_str()));
    let started = Instant::now();
    while find(&app, &duplicate).is_some() {
        assert!(started.elapsed() < Duration::from_secs(1), "search drops the duplicate within a second");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(find(&app, &keep).is_some(), "the one kept is still found");
    let history = app.call("GET", &format!("/api/v1/services/{duplicate}/history"), Some(&admin), None).json();
    assert!(history["versions"][0]["changes"].to_string().contains("merged_into"), "{history}");

    // Neither merged twice nor used as the one to keep.
    let again = app.get(&format!("/api/v1/services/{keep}")).json()["version"].clone();
    let version = history["versions"][0]["version"].clone();
    assert_error(&merge(&admin, json!({"version": version, "into": keep})), 422, Some("into"));
    let into_merged = json!({"version": again, "into": duplicate}).to_string();
    let answer = app.call("POST", &format!("/api/v1/services/{keep}/merge"), Some(&admin), Some(&into_merged));
    assert_error(&answer, 422, Some("into"));

    // The same through the admin page: pasted addresses, a refused form keeps what was typed.
    let mut browser = app.browser();
    assert_eq!(browser.sign_in("admin@demo.example.org", DEMO_PASSWORD).status, 303);
    browser.get("/admin");
    let csrf = browser.csrf();
    let other = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .find(|id| *id != keep && *id != duplicate)
        .expect("a third gardening listing");
    let refused =
        browser.post("/admin/listings/merge", &[("csrf", &csrf), ("duplicate", "the one in Stroud"), ("keep", &keep)]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("value=\"the one in Stroud\""), "what was typed is kept");
    let pasted = format!("http://localhost:8080/services/{other}/");
    let done = browser.post("/admin/listings/merge", &[("csrf", &csrf), ("duplicate", &pasted), ("keep", &keep)]);
    assert_eq!(done.header("location"), Some(format!("/services/{keep}").as_str()), "{}", done.body);
    assert_eq!(app.get(&format!("/services/{other}")).status, 301);
    // Keeping a listing that was merged away is refused on the field it concerns.
    let refused = browser.post("/admin/listings/merge", &[("csrf", &csrf), ("duplicate", &keep), ("keep", &other)]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("href=\"#keep\""), "the error links to the keep field");
}

#[test]
fn an_editor_changes_categories_and_audiences_and_search_follows() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let id = garden_club();
    let path = format!("/api/v1/services/{id}");
    let listing = app.get(&path).json();
    let slugs = |listing: &Value, field: &str| -> Vec<String> {
        listing[field].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap().to_string()).collect()
    };
    let categories_before = slugs(&listing, "categories");
    assert!(categories_before.iter().any(|s| s == "gardening"), "{categories_before:?}");
    let taxonomy = app.get("/api/v1/taxonomy").json();
    let arts = taxonomy["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"].as_str().unwrap().starts_with("arts"))
        .expect("an arts category")["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let audience = taxonomy["audiences"][0]["slug"].as_str().unwrap().to_string();
    for (body, field) in [
        (json!({"categories": []}), "categories"),
        (json!({"categories": ["underwater-basket-weaving"]}), "categories"),
        (json!({"categories": ["<script>"]}), "categories"),
        (json!({"audiences": ["martians"]}), "audiences"),
    ] {
        let mut body = body;
        body["version"] = listing["version"].clone();
        assert_error(&app.call("PATCH", &path, Some(&editor), Some(&body.to_string())), 422, Some(field));
    }
    assert_eq!(slugs(&app.get(&path).json(), "categories"), categories_before, "nothing changed by refusals");

    let body = json!({"version": listing["version"], "categories": [arts], "audiences": [audience]});
    let saved = app.call("PATCH", &path, Some(&editor), Some(&body.to_string()));
    assert_eq!(saved.status, 200, "{}", saved.body);
    let after = app.get(&path).json();
    assert_eq!(slugs(&after, "categories"), vec![arts.clone()]);
    assert_eq!(slugs(&after, "audiences"), vec![audience.clone()]);
    let in_category = |slug: &str| {
        let url = format!("/api/v1/services?category={slug}&near=GL5%201HE&radius_km=10&per_page=100");
        app.get(&url).json()["results"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str())
    };
    let started = Instant::now();
    while !in_category(&arts) || in_category("gardening") {
        assert!(started.elapsed() < Duration::from_secs(1), "search follows a category change within a second");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The history says what changed, and an admin can go back.
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let history = app.call("GET", &format!("{path}/history"), Some(&admin), None).json();
    assert!(history["versions"][0]["changes"]["categories"].is_array(), "{history}");
    let back = json!({"version": listing["version"]}).to_string();
    assert_eq!(app.call("POST", &format!("{path}/revert"), Some(&admin), Some(&back)).status, 200);
    let mut restored = slugs(&app.get(&path).json(), "categories");
    restored.sort();
    let mut expected = categories_before.clone();
    expected.sort();
    assert_eq!(restored, expected, "revert brings the categories back");
    let again = app.call("POST", &format!("{path}/revert"), Some(&admin), Some(&back));
    assert_error(&again, 422, Some("version"));
    let history = app.call("GET", &format!("{path}/history"), Some(&admin), None).json();
    assert_eq!(history["versions"][0]["kind"], "revert", "{history}");

    // Through the page: the checkboxes show what is chosen; none chosen is refused, kept as typed.
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(EDITOR, DEMO_PASSWORD).status, 303);
    let page = browser.get("/my/listings");
    let ours = page.body.split(&format!("action=\"/my/listings/{id}/terms\"")).nth(1).unwrap();
    assert!(ours.contains(&format!("id=\"cat-gardening-{id}\" name=\"categories\" value=\"gardening\" checked")));
    let csrf = browser.csrf();
    let version = app.get(&path).json()["version"].to_string();
    let terms = format!("/my/listings/{id}/terms");
    let refused = browser.post(&terms, &[("csrf", &csrf), ("version", &version), ("audiences", &audience)]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Choose at least one category"));
    assert!(refused.body.contains(&format!("id=\"cats-{id}-error\"")), "said by the categories");
    let ours = refused.body.split(&format!("action=\"{terms}\"")).nth(1).unwrap();
    assert!(!ours.contains("value=\"gardening\" checked"), "the form shows what was sent, not the old choice");
    assert!(ours.contains(&format!("value=\"{audience}\" checked")));
    let saved = browser.post(&terms, &[("csrf", &csrf), ("version", &version), ("categories", &arts)]);
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(slugs(&app.get(&path).json(), "categories"), vec![arts.clone()]);
    assert!(slugs(&app.get(&path).json(), "audiences").is_empty(), "unticking every audience means everyone");
}

#[test]
fn an_editor_moves_the_venue_and_changes_the_cost_and_an_admin_can_put_it_back() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let id = garden_club();
    let listing = app.get(&format!("/api/v1/services/{id}")).json();
    let version = listing["version"].as_i64().unwrap();
    let old_town = listing["locations"][0]["city"].clone();
    let patch =
        |body: Value| app.call("PATCH", &format!("/api/v1/services/{id}"), Some(&editor), Some(&body.to_string()));

    // Every bad part is named, and nothing is saved.
    let refused = patch(json!({"version": version,
        "location": {"name": "", "town": "Gloucester", "postcode": "ZZ99 9ZZ", "accessibility": ["levitation"]},
        "attending_type": "teleport", "how_to_access": ["magic"]}));
    let body = assert_error(&refused, 422, Some("location.postcode"));
    for field in ["location.name", "location.accessibility", "attending_type", "how_to_access"] {
        assert!(body["error"]["fields"][field].is_string(), "{field} named in {body}");
    }
    let html = patch(json!({"version": version,
        "location": {"name": "<script>alert(1)</script>", "town": "Gloucester", "postcode": "GL1 7QQ"}}));
    assert_error(&html, 422, Some("location.postcode"));
    assert_eq!(app.get(&format!("/api/v1/services/{id}")).json()["version"], version, "nothing saved");

    // Moves to a hall in Gloucester, starts charging, and takes phone sign-ups too.
    let moved = patch(json!({"version": version,
        "location": {"name": "St <Mary's> Hall", "address": "1 Abbey Road", "town": "Gloucester", "postcode": "gl12aa",
                     "accessibility": ["step-free", "hearing-loop"]},
        "free": false, "fees_description": "£3 a session", "attending_type": "hybrid",
        "how_to_access": ["self_referral", "link_worker"]}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    let now = app.get(&format!("/api/v1/services/{id}")).json();
    assert_eq!(now["locations"][0]["name"], "St <Mary's> Hall", "stored as text");
    assert_eq!(now["locations"][0]["postcode"], "GL1 2AA");
    assert_eq!(now["attending_type"], "hybrid");
    assert!(now["cost_options"].as_array().unwrap().iter().all(|c| c["amount"] != 0.0), "{}", now["cost_options"]);
    let page = app.get(&format!("/services/{id}"));
    assert!(page.body.contains("St &lt;Mary&#x27;s&gt; Hall") || page.body.contains("St &lt;Mary&#39;s&gt; Hall"));
    // Search follows: it is now found near Gloucester and no longer within 3 km of Stroud.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let near = app.get("/api/v1/services?q=gardening&near=GL1%202AA&radius_km=1&per_page=50").json();
        if near["results"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "the move reached search: {near}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let stroud = app.get("/api/v1/services?q=gardening&near=GL5%201HE&radius_km=3&per_page=50").json();
    assert!(stroud["results"].as_array().unwrap().iter().all(|r| r["id"] != id.as_str()));

    // The history says where it was; an admin puts the venue and the price back.
    let history = app.call("GET", &format!("/api/v1/services/{id}/history"), Some(&editor), None).json();
    let last = history["versions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["changes"]["location"][0]["town"], old_town, "{last}");
    assert_eq!(last["changes"]["free"], json!([true, false]));
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let reverted = app.call(
        "POST",
        &format!("/api/v1/services/{id}/revert"),
        Some(&admin),
        Some(&json!({"version": version}).to_string()),
    );
    assert_eq!(reverted.status, 200, "{}", reverted.body);
    let back = app.get(&format!("/api/v1/services/{id}")).json();
    assert_eq!(back["locations"][0]["city"], old_town);
    assert_eq!(back["attending_type"], listing["attending_type"]);
    assert!(back["cost_options"].as_array().unwrap().iter().any(|c| c["amount"] == 0.0), "free again");
}

#[test]
fn through_the_page_the_editor_changes_the_venue_and_a_refused_form_keeps_what_was_typed() {
    let app = spawn_app();
    let id = garden_club();
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(EDITOR, DEMO_PASSWORD).status, 303);
    let page = browser.get("/my/listings");
    assert!(page.body.contains("Where, what it costs and how to join"), "the venue form is on the page");
    let listing = app.get(&format!("/api/v1/services/{id}")).json();
    let version = listing["version"].to_string();
    let venue_path = format!("/my/listings/{id}/venue");
    let csrf = browser.csrf();
    let form = |postcode: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("version", version.clone()),
            ("venue_name", "Rodborough Community Hall".to_string()),
            ("address", "Walkley Hill".to_string()),
            ("town", "Stroud".to_string()),
            ("postcode", postcode.to_string()),
            ("free", "no".to_string()),
            ("fees_description", "£1 towards tea".to_string()),
            ("attending_type", "in_person".to_string()),
            ("how_to_access", "self_referral".to_string()),
        ]
    };
    let refused_fields = form("GL1 7QQ");
    let refused_form: Vec<(&str, &str)> = refused_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post(&venue_path, &refused_form);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("value=\"GL1 7QQ\"") && refused.body.contains("value=\"£1 towards tea\""),
        "typed values kept"
    );
    assert!(refused.body.contains("postcode"), "the problem is named");
    let good_fields = form("GL5 4JE");
    let good: Vec<(&str, &str)> = good_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = browser.post(&venue_path, &good);
    assert_eq!(saved.status, 303, "{}", saved.body);
    let now = app.get(&format!("/api/v1/services/{id}")).json();
    assert_eq!(now["locations"][0]["name"], "Rodborough Community Hall");
    assert_eq!(now["how_to_access"], json!(["self_referral"]));
    assert_eq!(now["fees_description"], "£1 towards tea");
    // The accessibility features the form does not show are kept.
    assert_eq!(now["locations"][0]["accessibility"], listing["locations"][0]["accessibility"]);
}
