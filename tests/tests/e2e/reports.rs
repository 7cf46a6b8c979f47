//! Reports: what commissioners and leads read. The counts follow the data (a referral made
//! now is counted now), only paired measures count, small numbers are withheld, and every bad
//! filter is named.

use backend::db::schema::referrals;
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GARDEN_EDITOR, GP, LEAD, LINK_WORKER};

fn report(app: &TestApp, token: &str, path: &str) -> Value {
    let answer = app.call("GET", path, Some(token), None);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json()
}

fn row<'a>(report: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    report["rows"].as_array().unwrap().iter().find(|r| r[key] == value)
}

/// Creates referrals and moves them back to a day in March 2020, a month no demo referral
/// touches, so the report over that month counts only these.
fn referrals_in_march_2020(app: &TestApp, gp: &str, reasons: &[&[&str]]) -> Vec<String> {
    let mut conn = app.db();
    let mut ids = Vec::new();
    for (i, reasons) in reasons.iter().enumerate() {
        let mut body = referral_body();
        body["reasons"] = json!(reasons);
        body["nhs_number"] = json!(
            [
                "999 000 0018",
                "999 000 0026",
                "999 000 0034",
                "999 000 0042",
                "999 000 0050",
                "999 000 0069",
                "999 000 0077"
            ][i % 7]
        );
        let id = create(app, gp, &body);
        let day = NaiveDate::from_ymd_opt(2020, 3, 2 + i as u32).unwrap().and_hms_opt(10, 0, 0).unwrap();
        diesel::update(referrals::table.find(&id)).set(referrals::created_at.eq(day)).execute(&mut conn).unwrap();
        ids.push(id);
    }
    ids
}

const MARCH_2020: &str = "from=2020-03-01&to=2020-03-31";

#[test]
fn reports_count_what_happened_and_withhold_small_numbers() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);

    let list = report(&app, &admin, "/api/v1/reports");
    assert_eq!(list["reports"].as_array().unwrap().len(), backend::reports::REPORTS.len());

    // The demo year: the months add up to the referrals in the database (less entered in error).
    let by_month = report(&app, &admin, "/api/v1/reports/referrals-by-month");
    let counted: i64 = by_month["rows"].as_array().unwrap().iter().map(|r| r["referrals"].as_i64().unwrap()).sum();
    let mut conn = app.db();
    let since = (Utc::now().date_naive() - chrono::Duration::days(364)).and_hms_opt(0, 0, 0).unwrap();
    let in_db: i64 = referrals::table
        .filter(referrals::created_at.ge(since))
        .filter(referrals::status.ne("entered_in_error"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(in_db > 20, "the demo has a year of referrals");
    assert_eq!(counted, in_db);
    // A referral made now is in this month's bar.
    create(&app, &gp, &referral_body());
    let again = report(&app, &admin, "/api/v1/reports/referrals-by-month");
    let last = |r: &Value| r["rows"].as_array().unwrap().last().unwrap()["referrals"].as_i64().unwrap();
    assert_eq!(last(&again), last(&by_month) + 1);

    // The demo's headline figures are there for the admin to read.
    let contact = report(&app, &admin, "/api/v1/reports/first-contact");
    let all = row(&contact, "practice", "All practices").unwrap();
    assert!(all["median_days"].as_f64().unwrap() > 0.0, "{contact}");
    assert!(all["p90_days"].as_f64().unwrap() >= all["median_days"].as_f64().unwrap());
    let outcomes = report(&app, &admin, "/api/v1/reports/outcomes");
    let life = row(&outcomes, "measure", "ONS4 life satisfaction").unwrap();
    assert!(life["people"].as_i64().unwrap() >= 5 && life["mean_change"].as_f64().unwrap() > 0.0, "{outcomes}");

    // March 2020: six referrals for loneliness, one of them also for bereavement.
    let ids = referrals_in_march_2020(
        &app,
        &gp,
        &[
            &["loneliness", "bereavement"],
            &["loneliness"],
            &["loneliness"],
            &["loneliness"],
            &["loneliness"],
            &["loneliness"],
        ],
    );
    let reasons = report(&app, &admin, &format!("/api/v1/reports/referrals-by-reason?{MARCH_2020}"));
    assert_eq!(row(&reasons, "reason", "Loneliness and isolation").unwrap()["referrals"], 6, "{reasons}");
    assert_eq!(row(&reasons, "reason", "Bereavement").unwrap()["referrals"], Value::Null, "1 is withheld: {reasons}");
    let csv =
        app.call("GET", &format!("/api/v1/reports/referrals-by-reason?{MARCH_2020}&format=csv"), Some(&admin), None);
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains("referrals-by-reason-2020-03-01-to-2020-03-31.csv"));
    assert!(csv.body.starts_with("\"Reason\",\"Referrals\"\r\n"), "{}", csv.body);
    assert!(csv.body.contains("\"Loneliness and isolation\",6\r\n") && csv.body.contains("\"Bereavement\",\"<5\""));

    // Outcomes count paired measures only: four people measured twice are withheld, the fifth shows them.
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let measure = |id: &str, timepoint: &str, answers: [i64; 4]| {
        let body = json!({"instrument": "ons4", "timepoint": timepoint, "answers": answers});
        let answer =
            app.call("POST", &format!("/api/v1/referrals/{id}/measures"), Some(&worker), Some(&body.to_string()));
        assert!(answer.status == 201 || answer.status == 200, "{}", answer.body);
    };
    for id in &ids {
        let accepted = app.call(
            "POST",
            &format!("/api/v1/referrals/{id}/transitions"),
            Some(&worker),
            Some(&json!({"to": "accepted", "version": 1}).to_string()),
        );
        assert_eq!(accepted.status, 200, "{}", accepted.body);
    }
    for id in &ids[..4] {
        measure(id, "baseline", [3, 4, 3, 8]);
        measure(id, "follow_up", [6, 6, 5, 5]);
    }
    measure(&ids[5], "baseline", [0, 0, 0, 10]); // never followed up: not counted
    let outcomes = report(&app, &admin, &format!("/api/v1/reports/outcomes?{MARCH_2020}"));
    let life = row(&outcomes, "measure", "ONS4 life satisfaction").unwrap();
    assert_eq!((life["people"].clone(), life["mean_change"].clone()), (Value::Null, Value::Null), "{outcomes}");
    measure(&ids[4], "baseline", [3, 4, 3, 8]);
    measure(&ids[4], "follow_up", [6, 6, 5, 5]);
    let outcomes = report(&app, &admin, &format!("/api/v1/reports/outcomes?{MARCH_2020}"));
    let anxious = row(&outcomes, "measure", "ONS4 anxious yesterday").unwrap();
    assert_eq!(anxious["people"], 5);
    assert_eq!(anxious["mean_start"], 8.0);
    assert_eq!(anxious["mean_change"], -3.0, "{outcomes}");

    // The practice filter: the other demo practice made none of these.
    let practices: Vec<(String, String)> = backend::db::schema::organizations::table
        .filter(backend::db::schema::organizations::kind.eq("gp_practice"))
        .select((backend::db::schema::organizations::id, backend::db::schema::organizations::name))
        .load(&mut conn)
        .unwrap();
    let other = practices.iter().find(|(_, name)| name.starts_with("Locking")).unwrap();
    let theirs = report(&app, &admin, &format!("/api/v1/reports/referrals-by-month?{MARCH_2020}&practice={}", other.0));
    assert_eq!(theirs["rows"], json!([]));
    let ours = report(&app, &admin, &format!("/api/v1/reports/referrals-by-practice?{MARCH_2020}"));
    assert_eq!(ours["rows"].as_array().unwrap().len(), 1);
    assert_eq!(ours["rows"][0]["referrals"], 6);

    // The lead sees their own service's reports, which here are the same referrals.
    let lead = app.login(LEAD, DEMO_PASSWORD);
    let theirs = report(&app, &lead, &format!("/api/v1/reports/referrals-by-practice?{MARCH_2020}"));
    assert_eq!(theirs["rows"], ours["rows"]);
}

#[test]
fn unmet_need_comes_from_searches_inside_referrals_and_names_no_one() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    let today = Utc::now().date_naive();
    let range = format!("from={today}&to={today}");
    let search = || {
        let found = app.call(
            "GET",
            &format!("/api/v1/referrals/{id}/search?category=digital-inclusion&radius_km=1"),
            Some(&worker),
            None,
        );
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(found.json()["total"], 0, "nothing within 1 km");
    };
    search();
    let unmet = report(&app, &admin, &format!("/api/v1/reports/unmet-need?{range}"));
    let digital = row(&unmet, "category", "Digital inclusion").expect("the search is counted");
    assert_eq!(
        (digital["area"].as_str(), digital["found_nothing"].clone()),
        (Some("GL5"), Value::Null),
        "one is withheld"
    );
    for _ in 0..4 {
        search();
    }
    let unmet = report(&app, &admin, &format!("/api/v1/reports/unmet-need?{range}"));
    assert_eq!(row(&unmet, "category", "Digital inclusion").unwrap()["found_nothing"], 5, "{unmet}");
    let text = unmet.to_string();
    assert!(!text.contains("Margaret") && !text.contains("GL5 1HE"), "the area, never the person or postcode");
    // The demo's year shows the gaps a commissioner would act on.
    let year = report(&app, &admin, "/api/v1/reports/unmet-need");
    assert!(
        row(&year, "category", "Digital inclusion").is_some_and(|r| r["found_nothing"].as_i64() >= Some(5)),
        "{year}"
    );
}

#[test]
fn bad_report_requests_are_named_and_only_admins_and_leads_may_ask() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let path = "/api/v1/reports/first-contact";
    for (query, field) in [
        ("from=2026-05-01&to=2026-04-01", "to"),
        ("from=2006-01-01&to=2026-01-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("format=xml", "format"),
        ("practice=not-an-id", "practice"),
        ("practice=00000000-0000-4000-8000-000000000000", "practice"),
    ] {
        assert_error(&app.call("GET", &format!("{path}?{query}"), Some(&admin), None), 422, Some(field));
    }
    let unknown = app.call("GET", "/api/v1/reports/everything", Some(&admin), None);
    let body = assert_error(&unknown, 404, None);
    assert!(body["error"]["message"].as_str().unwrap().contains("referrals-by-month"), "names the reports");
    assert_error(&app.call("GET", path, None, None), 401, None);
    for who in [GP, LINK_WORKER, GARDEN_EDITOR] {
        let token = app.login(who, DEMO_PASSWORD);
        // Refused before the filter is read: a bad filter tells them nothing either.
        assert_error(&app.call("GET", &format!("{path}?format=xml"), Some(&token), None), 403, None);
    }
}

#[test]
fn the_demo_admin_reads_the_reports_page_and_downloads_a_csv() {
    let app = spawn_app();
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(ADMIN, DEMO_PASSWORD).status, 303);
    let page = browser.get("/reports");
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in
        ["Referrals by month", "Median days to first contact", "Wellbeing change", "Unmet need", "<svg class=\"chart\""]
    {
        assert!(page.body.contains(shown), "the overview shows {shown}");
    }
    assert_eq!(page.body.matches("role=\"img\"").count(), backend::reports::REPORTS.len(), "a chart per report");
    assert!(page.body.contains("<desc id=\"chart-referrals-by-month-desc\">"), "each chart has a text alternative");
    let csv = browser.get("/reports/referrals-by-month?format=csv");
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "\"Month\",\"Referrals\"");
    assert!(
        lines.len() > 6 && lines[1..].iter().all(|l| l.split(',').nth(1).is_some_and(|n| n.parse::<u32>().is_ok()))
    );
    let one = browser.get("/reports/outcomes?from=2025-01-01&to=2026-12-31");
    assert_eq!(one.status, 200);
    assert!(one.body.contains("ONS4 anxious yesterday") && one.body.contains("value=\"2025-01-01\""));
    // A refused range comes back with what was typed and the problem named.
    let refused = browser.get("/reports?from=2026-05-01&to=2026-04-01");
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("The end of the range is before its start")
            && refused.body.contains("value=\"2026-05-01\"")
    );
    let refused = browser.get("/reports/outcomes?format=xml");
    assert_eq!(refused.status, 422);
    // A group's editor is not shown reports.
    let mut editor = app.browser();
    editor.sign_in(GARDEN_EDITOR, DEMO_PASSWORD);
    assert_eq!(editor.get("/reports").status, 403);
}
