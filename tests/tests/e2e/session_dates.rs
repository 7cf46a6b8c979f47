//! Sessions that run only between two dates ("this summer only"): set over the API and the
//! session editor, checked, versioned, said in plain words on the listing, counted in the next
//! session, and carried to the Open Referral UK feed as `valid_from` and `valid_to`.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, DEMO_PASSWORD};

const EDITOR: &str = "garden.editor@demo.example.org";

fn garden_club() -> String {
    backend::directory::seed::service_id("stroud-community-gardening-club-garden")
}

/// "Every Tuesday 10:00 to 12:00" between two dates (ISO, or anything typed).
fn tuesdays(from: &str, to: &str) -> Value {
    json!({"freq": "weekly", "days": ["TU"], "opens_at": "10:00", "closes_at": "12:00", "valid_from": from, "valid_to": to})
}

fn put_sessions(app: &TestApp, token: &str, id: &str, version: i64, sessions: Value) -> crate::helpers::Answer {
    let body = json!({"version": version, "sessions": sessions});
    app.call("PUT", &format!("/api/v1/services/{id}/sessions"), Some(token), Some(&body.to_string()))
}

fn words(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

#[test]
fn a_season_only_session_carries_its_dates_everywhere() {
    let app = spawn_app();
    let editor = app.login(EDITOR, DEMO_PASSWORD);
    let id = garden_club();
    let path = format!("/api/v1/services/{id}");
    let version = app.get(&path).json()["version"].as_i64().unwrap();
    // A season starting in about three months (relative, so the test never goes stale).
    let from = Utc::now().date_naive() + Duration::days(90);
    let to = from + Duration::days(60);
    let (from_iso, to_iso) = (from.to_string(), to.to_string());

    // Mistakes are named, and nothing is saved.
    for (bad_from, bad_to) in
        [(to_iso.as_str(), from_iso.as_str()), ("2027-13-01", ""), ("01/06/2027", ""), ("", "next summer")]
    {
        let refused = put_sessions(&app, &editor, &id, version, json!([tuesdays(bad_from, bad_to)]));
        assert_error(&refused, 422, Some("sessions[0]"));
    }
    assert_eq!(app.get(&path).json()["version"].as_i64(), Some(version), "nothing saved");

    let saved = put_sessions(&app, &editor, &id, version, json!([tuesdays(&from_iso, &to_iso)]));
    assert_eq!(saved.status, 200, "{}", saved.body);
    let version = saved.json()["version"].as_i64().unwrap();
    let listing = app.get(&path).json();
    let session = &listing["schedules"][0];
    assert_eq!(
        (session["valid_from"].as_str(), session["valid_to"].as_str()),
        (Some(from_iso.as_str()), Some(to_iso.as_str()))
    );
    let said = format!("Every Tuesday, 10:00 to 12:00, from {} until {}", words(from), words(to));
    assert_eq!(session["description"], said.as_str());
    // The next session is the season's first Tuesday, not next week's.
    let first_tuesday = (0..7).map(|d| from + Duration::days(d)).find(|d| d.weekday() == Weekday::Tue).unwrap();
    assert_eq!(listing["next_session"], format!("{first_tuesday}T10:00:00").as_str());
    // On the listing's page, in plain words.
    let page = app.get(&format!("/services/{id}")).body;
    assert!(page.contains(&said), "the listing page says when: {said}");
    // In the Open Referral UK feed.
    let oruk = app.get(&format!("/oruk/services/{id}")).json();
    let schedule = &oruk["schedules"][0];
    assert_eq!(
        (schedule["valid_from"].as_str(), schedule["valid_to"].as_str()),
        (Some(from_iso.as_str()), Some(to_iso.as_str()))
    );
    // Versioned: the history shows the dates arriving.
    let history = app.call("GET", &format!("{path}/history"), Some(&editor), None).json();
    let change = &history["versions"].as_array().unwrap().iter().find(|v| v["version"] == version).unwrap()["changes"]
        ["sessions"];
    assert!(!change[0].to_string().contains("until"), "before: {change}");
    assert_eq!(change[1][0], said.as_str());

    // Changing only the last date, or only the notes, is a change; saving the same is not.
    let later = (to + Duration::days(7)).to_string();
    let moved = put_sessions(&app, &editor, &id, version, json!([tuesdays(&from_iso, &later)]));
    assert_eq!(moved.json()["version"].as_i64(), Some(version + 1), "{}", moved.body);
    let mut with_notes = tuesdays(&from_iso, &later);
    with_notes["notes"] = json!("Bring gloves");
    let noted = put_sessions(&app, &editor, &id, version + 1, json!([with_notes.clone()]));
    assert_eq!(noted.json()["version"].as_i64(), Some(version + 2), "{}", noted.body);
    let same = put_sessions(&app, &editor, &id, version + 2, json!([with_notes]));
    assert_eq!(same.json()["version"].as_i64(), Some(version + 2), "nothing changed, no new version");
    // Clearing the dates: an every-week session again.
    let open = put_sessions(&app, &editor, &id, version + 2, json!([tuesdays("", "")]));
    assert_eq!(open.status, 200, "{}", open.body);
    let session = &app.get(&path).json()["schedules"][0];
    assert!(session["valid_from"].is_null() && session["valid_to"].is_null());
    assert_eq!(session["description"], "Every Tuesday, 10:00 to 12:00");
}

#[test]
fn the_session_editor_sets_dates_and_keeps_them_when_refused() {
    let app = spawn_app();
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(EDITOR, DEMO_PASSWORD).status, 303);
    let id = garden_club();
    browser.get("/my/listings");
    let csrf = browser.csrf();
    let version = app.get(&format!("/api/v1/services/{id}")).json()["version"].to_string();
    let form = format!("/my/listings/{id}/sessions");
    let row = |from: &'static str, to: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![("week", "every"), ("day", "SA"), ("opens", "09:30"), ("closes", "11:30"), ("from", from), ("to", to)]
    };
    let mut refused_form = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
    refused_form.extend(row("2031-08-31", "2031-06-01"));
    let refused = browser.post(&form, &refused_form);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("the last date must not be before the first"));
    let editor_form = refused.body.split(&format!("action=\"{form}\"")).nth(1).unwrap();
    assert!(
        editor_form.contains(r#"name="from" type="date" value="2031-08-31""#)
            && editor_form.contains(r#"name="to" type="date" value="2031-06-01""#),
        "the dates typed are kept"
    );
    let mut good_form = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
    good_form.extend(row("2031-06-01", "2031-08-31"));
    let saved = browser.post(&form, &good_form);
    assert_eq!(saved.status, 303, "{}", saved.body);
    let session = &app.get(&format!("/api/v1/services/{id}")).json()["schedules"][0];
    assert_eq!(session["description"], "Every Saturday, 09:30 to 11:30, from 1 June 2031 until 31 August 2031");
    let page = browser.get("/my/listings").body;
    let editor_form = page.split(&format!("action=\"{form}\"")).nth(1).unwrap();
    assert!(editor_form.contains(r#"name="from" type="date" value="2031-06-01""#), "the editor shows the saved dates");
}
